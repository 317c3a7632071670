//! A policy of one concern: an error catalog (world `errors-policy`) where every code is a
//! teapot (HTTP 418). Built from the contract's WIT alone, without the stock crate: the host
//! takes every other concern from the stock policy.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "errors-policy",
    });

    use bachata::common::types::{AppError, ErrorKind};
    use exports::bachata::common::errors::{CatalogEntry, Guest};

    struct Teapot;

    impl Guest for Teapot {
        fn make_error(
            kind: ErrorKind,
            message: String,
            details: Vec<(String, String)>,
        ) -> AppError {
            AppError {
                kind,
                error_code: "TEAPOT_ERROR".to_string(),
                message,
                details,
            }
        }
        fn code_of(_kind: ErrorKind) -> String {
            "TEAPOT_ERROR".to_string()
        }
        fn user_friendly_message(error_code: String, _error_type: String) -> String {
            format!("I am a teapot ({error_code})")
        }
        fn catalog() -> Vec<CatalogEntry> {
            vec![CatalogEntry {
                error_code: "TEAPOT_ERROR".to_string(),
                error_type: "default".to_string(),
                message: "I am a teapot".to_string(),
                http_status: 418,
            }]
        }
        fn http_status(_error_code: String) -> u16 {
            418
        }
        fn problem_json(
            error: AppError,
            _error_type: Option<String>,
            _instance: Option<String>,
        ) -> String {
            format!("{{\"status\":418,\"title\":\"{}\"}}", error.error_code)
        }
    }

    export!(Teapot);
}
