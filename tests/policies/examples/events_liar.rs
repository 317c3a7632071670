//! A policy of one concern (world `events-policy`) whose event rules accept events the store
//! cannot hold, picked by the song of the first decision (or the comments of the first
//! feedback): an infinite processing time, a NaN score, a time past year 9999, an empty id, a
//! NUL in a move, scores that do not match the moves; the refusal of decision `outage` worded
//! as an outage.
//! The host must refuse each answer as the policy's fault and store nothing.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "events-policy",
    });

    use bachata::common::types::{AppError, ErrorKind, ValidationContext};
    use exports::bachata::common::events::{Decision, Feedback, Guest, Instant, Refusal};

    struct Liar;

    fn fill(mut decision: Decision, now: Instant) -> Decision {
        decision.timestamp.get_or_insert(now);
        decision
            .algorithm_version
            .get_or_insert_with(|| "1.0".to_string());
        decision
    }

    impl Guest for Liar {
        fn check_decisions(
            events: Vec<Decision>,
            now: Instant,
            _batch_start: Option<u32>,
        ) -> Result<Vec<Decision>, AppError> {
            let lie = events
                .first()
                .map(|e| e.input_song.clone())
                .unwrap_or_default();
            let mut events: Vec<Decision> = events.into_iter().map(|e| fill(e, now)).collect();
            if let Some(first) = events.first_mut() {
                match lie.as_str() {
                    "inf-time" => first.processing_time_ms = f64::INFINITY,
                    "negative-time" => first.processing_time_ms = -5.0,
                    "nan-score" => {
                        first.recommendation_scores = vec![f64::NAN; first.recommended_moves.len()]
                    }
                    "far-future" => {
                        first.timestamp = Some(Instant {
                            seconds: 8_000_000_000_000,
                            nanoseconds: 0,
                        })
                    }
                    "bad-nanos" => {
                        first.timestamp = Some(Instant {
                            seconds: now.seconds,
                            nanoseconds: 1_500_000_000,
                        })
                    }
                    "empty-id" => first.decision_id = Some(String::new()),
                    "nul-move" => {
                        first.recommended_moves =
                            vec!["a\0b".to_string(); first.recommendation_scores.len()]
                    }
                    "fewer-scores" => first.recommendation_scores.clear(),
                    "not-validation" => {
                        return Err(AppError {
                            kind: ErrorKind::Resource(Some("memory".to_string())),
                            message: "no".to_string(),
                            error_code: "RESOURCE_ERROR".to_string(),
                            details: Vec::new(),
                        });
                    }
                    _ => {}
                }
            }
            Ok(events)
        }

        fn check_feedback(
            events: Vec<Feedback>,
            now: Instant,
            _batch_start: Option<u32>,
        ) -> Result<Vec<Feedback>, AppError> {
            let lie = events
                .first()
                .and_then(|e| e.comments.clone())
                .unwrap_or_default();
            let mut events: Vec<Feedback> = events
                .into_iter()
                .map(|mut e| {
                    e.timestamp.get_or_insert(now);
                    e
                })
                .collect();
            if let Some(first) = events.first_mut() {
                match lie.as_str() {
                    "inf-value" => first.feedback_value = Some(f64::INFINITY),
                    "empty-id" => first.feedback_id = Some(String::new()),
                    "none" => events.clear(),
                    _ => {}
                }
            }
            Ok(events)
        }

        fn refused(refusal: Refusal, _index: Option<u32>) -> AppError {
            if matches!(&refusal, Refusal::UnknownDecision(id) if id == "outage") {
                return AppError {
                    kind: ErrorKind::ServiceUnavailable(Some("liar".to_string())),
                    message: "a refusal worded as an outage".to_string(),
                    error_code: "SERVICE_UNAVAILABLE_ERROR".to_string(),
                    details: Vec::new(),
                };
            }
            AppError {
                kind: ErrorKind::Validation(ValidationContext {
                    field: Some("event".to_string()),
                    value: None,
                }),
                message: "refused".to_string(),
                error_code: "VALIDATION_ERROR".to_string(),
                details: vec![("field".to_string(), "event".to_string())],
            }
        }
    }

    export!(Liar);
}
