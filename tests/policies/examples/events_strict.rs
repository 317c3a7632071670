//! A policy of one concern (world `events-policy`) that refuses every decision: it passes as
//! a component but fails the self-check, which asks the event rules to take a plain decision.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "events-policy",
    });

    use bachata::common::types::{AppError, ErrorKind, ValidationContext};
    use exports::bachata::common::events::{Decision, Feedback, Guest, Instant, Refusal};

    struct Strict;

    fn refusal(message: &str) -> AppError {
        AppError {
            kind: ErrorKind::Validation(ValidationContext {
                field: Some("input_song".to_string()),
                value: None,
            }),
            message: message.to_string(),
            error_code: "VALIDATION_ERROR".to_string(),
            details: vec![("field".to_string(), "input_song".to_string())],
        }
    }

    impl Guest for Strict {
        fn check_decisions(
            _events: Vec<Decision>,
            _now: Instant,
            _batch_start: Option<u32>,
        ) -> Result<Vec<Decision>, AppError> {
            Err(refusal("no decision is good enough"))
        }

        fn check_feedback(
            events: Vec<Feedback>,
            now: Instant,
            _batch_start: Option<u32>,
        ) -> Result<Vec<Feedback>, AppError> {
            Ok(events
                .into_iter()
                .map(|mut event| {
                    event.timestamp.get_or_insert(now);
                    event
                })
                .collect())
        }

        fn refused(_refusal: Refusal, _index: Option<u32>) -> AppError {
            refusal("refused")
        }
    }

    export!(Strict);
}
