//! The event rules on good and bad events.

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .map(|t| t.to_utc())
        .unwrap_or_default()
}

fn decision() -> DecisionInput {
    DecisionInput {
        input_song: "Obsesión".into(),
        recommended_moves: vec!["basic".into(), "spin".into()],
        recommendation_scores: vec![0.9, 0.4],
        processing_time_ms: 12.5,
        ..Default::default()
    }
}

fn field_of(error: AppError) -> Option<String> {
    match error {
        AppError::Validation { field, .. } => field,
        _ => None,
    }
}

#[test]
fn a_valid_decision_gets_an_id_a_time_and_the_default_version() {
    let d = decision().validate(now()).expect("valid");
    assert_eq!(d.algorithm_version, "1.0");
    assert_eq!(d.timestamp, now());
    assert_eq!(d.decision_id.len(), 36);
}

#[test]
fn bad_decisions_name_their_field() {
    let cases: Vec<(DecisionInput, &str)> = vec![
        (
            DecisionInput {
                recommendation_scores: vec![0.9],
                ..decision()
            },
            "recommendation_scores",
        ),
        (
            DecisionInput {
                recommendation_scores: vec![0.9, f64::NAN],
                ..decision()
            },
            "recommendation_scores[1]",
        ),
        (
            DecisionInput {
                processing_time_ms: -1.0,
                ..decision()
            },
            "processing_time_ms",
        ),
        (
            DecisionInput {
                processing_time_ms: f64::INFINITY,
                ..decision()
            },
            "processing_time_ms",
        ),
        (
            DecisionInput {
                decision_id: Some("../../etc".into()),
                ..decision()
            },
            "decision_id",
        ),
        (
            DecisionInput {
                input_song: " ".into(),
                ..decision()
            },
            "input_song",
        ),
        (
            DecisionInput {
                algorithm_version: Some("1 0".into()),
                ..decision()
            },
            "algorithm_version",
        ),
        (
            DecisionInput {
                timestamp: Some(now() + chrono::Duration::days(2)),
                ..decision()
            },
            "timestamp",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(
            field_of(input.validate(now()).expect_err(field)).as_deref(),
            Some(field)
        );
    }
}

fn feedback(kind: &str, value: Option<f64>) -> FeedbackInput {
    FeedbackInput {
        decision_id: "d-1".into(),
        feedback_type: kind.into(),
        feedback_value: value,
        ..Default::default()
    }
}

#[test]
fn feedback_rules() {
    assert!(feedback("like", None).validate(now()).is_ok());
    assert!(feedback("rating", Some(5.0)).validate(now()).is_ok());
    for (input, field) in [
        (feedback("love", None), "feedback_type"),
        (feedback("rating", None), "feedback_value"),
        (feedback("rating", Some(9.0)), "feedback_value"),
        (feedback("rating", Some(0.5)), "feedback_value"),
        (feedback("like", Some(f64::NAN)), "feedback_value"),
        (
            FeedbackInput {
                comments: Some("x".repeat(2_001)),
                ..feedback("like", None)
            },
            "comments",
        ),
        (
            FeedbackInput {
                decision_id: "a/b".into(),
                ..feedback("like", None)
            },
            "decision_id",
        ),
    ] {
        assert_eq!(
            field_of(input.validate(now()).expect_err(field)).as_deref(),
            Some(field)
        );
    }
    let ok = FeedbackInput {
        comments: Some("é".repeat(2_000)),
        ..feedback("like", None)
    };
    assert!(ok.validate(now()).is_ok());
}

#[test]
fn a_batch_error_names_the_event() {
    let error = in_batch(invalid("feedback_type", None, "bad"), 3);
    assert_eq!(field_of(error).as_deref(), Some("[3].feedback_type"));
}
