//! A policy of one concern (world `errors-policy`) that keeps a counter in a global, to show
//! what a warm instance carries between calls. `user-friendly-message` counts its calls and
//! answers `call <n>`; asked for code `TRAP` it traps, for `STDERR` it writes to stderr
//! first, for `GROW` it allocates past any memory cap, for `SPIN` it loops forever, for `BIG`
//! it allocates 24 MiB and frees it.
//! `http-status` answers 200 plus the count, without counting.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "errors-policy",
    });

    use std::sync::atomic::{AtomicU32, Ordering};

    use bachata::common::types::{AppError, ErrorKind};
    use exports::bachata::common::errors::{CatalogEntry, Guest};

    static CALLS: AtomicU32 = AtomicU32::new(0);

    struct Stateful;

    impl Guest for Stateful {
        fn make_error(
            kind: ErrorKind,
            message: String,
            details: Vec<(String, String)>,
        ) -> AppError {
            AppError {
                kind,
                error_code: "STATEFUL_ERROR".to_string(),
                message,
                details,
            }
        }
        fn code_of(_kind: ErrorKind) -> String {
            "STATEFUL_ERROR".to_string()
        }
        fn user_friendly_message(error_code: String, _error_type: String) -> String {
            let count = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
            match error_code.as_str() {
                "TRAP" => panic!("asked to trap"),
                "STDERR" => eprintln!("a word on stderr"),
                "GROW" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(vec![1; 1 << 20]);
                        std::hint::black_box(&hoard);
                    }
                }
                "BIG" => {
                    let big = vec![1u8; 24 << 20];
                    std::hint::black_box(&big);
                }
                "SPIN" => {
                    let mut n: u64 = 0;
                    loop {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                }
                _ => {}
            }
            format!("call {count}")
        }
        fn catalog() -> Vec<CatalogEntry> {
            Vec::new()
        }
        fn http_status(_error_code: String) -> u16 {
            200 + CALLS.load(Ordering::Relaxed) as u16
        }
        fn problem_json(
            error: AppError,
            _error_type: Option<String>,
            _instance: Option<String>,
        ) -> String {
            format!("{{\"status\":500,\"title\":\"{}\"}}", error.error_code)
        }
    }

    export!(Stateful);
}
