//! A component built against `bachata:common@0.1.0`: the host must refuse it, naming both
//! versions.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        inline: "
            package bachata:common@0.1.0;

            interface errors {
                code-of-name: func(name: string) -> string;
            }

            world old {
                export errors;
            }
        ",
    });

    struct Old;

    impl exports::bachata::common::errors::Guest for Old {
        fn code_of_name(name: String) -> String {
            name
        }
    }

    export!(Old);
}
