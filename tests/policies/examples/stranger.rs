//! A component of the contract's version that exports nothing a host calls: the host refuses
//! it, saying so.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        inline: "
            package bachata:common@1.0.0;

            interface greetings {
                hello: func() -> string;
            }

            world stranger {
                export greetings;
            }
        ",
    });

    struct Stranger;

    impl exports::bachata::common::greetings::Guest for Stranger {
        fn hello() -> String {
            "hello".to_string()
        }
    }

    export!(Stranger);
}
