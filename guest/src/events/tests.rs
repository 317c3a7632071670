//! The event rules on good and bad events.

use super::*;

const NOW: Instant = Instant {
    seconds: 1_795_694_400, // 2026-11-26T12:00:00Z
    nanoseconds: 0,
};

fn decision() -> Decision {
    Decision {
        decision_id: None,
        timestamp: None,
        user_id: None,
        input_song: "Obsesión".into(),
        recommended_moves: vec!["basic".into(), "spin".into()],
        recommendation_scores: vec![0.9, 0.4],
        algorithm_version: None,
        weights_used: Vec::new(),
        processing_time_ms: 12.5,
        song_features: Vec::new(),
        experiment_id: None,
        variation: None,
    }
}

fn feedback(kind: &str, value: Option<f64>) -> Feedback {
    Feedback {
        feedback_id: None,
        decision_id: "d-1".into(),
        timestamp: None,
        user_id: None,
        feedback_type: kind.into(),
        feedback_value: value,
        move_id: None,
        comments: None,
    }
}

fn context(error: AppError) -> ValidationContext {
    match error.kind {
        ErrorKind::Validation(context) => context,
        other => panic!("not a validation error: {other:?}"),
    }
}

fn field_of(error: AppError) -> Option<String> {
    context(error).field
}

#[test]
fn a_valid_decision_gets_a_time_and_the_default_version_but_no_id() {
    let d = check_decision(decision(), NOW).expect("valid");
    assert_eq!(d.algorithm_version.as_deref(), Some("1.0"));
    let time = d.timestamp.expect("filled in");
    assert_eq!(
        (time.seconds, time.nanoseconds),
        (NOW.seconds, NOW.nanoseconds)
    );
    assert_eq!(d.decision_id, None);
}

#[test]
fn maps_come_back_sorted_with_positive_zeros() {
    let d = check_decision(
        Decision {
            recommendation_scores: vec![-0.0, 1.0],
            weights_used: vec![("tempo".into(), -0.0), ("energy".into(), 0.5)],
            song_features: vec![
                ("key".into(), Feature::Text("A minor".into())),
                ("bpm".into(), Feature::Number(-0.0)),
            ],
            processing_time_ms: -0.0,
            ..decision()
        },
        NOW,
    )
    .expect("valid");
    assert!(d.recommendation_scores[0].is_sign_positive());
    assert_eq!(d.weights_used[0].0, "energy");
    assert!(d.weights_used[1].1.is_sign_positive());
    assert_eq!(d.song_features[0].0, "bpm");
    assert!(matches!(d.song_features[0].1, Feature::Number(n) if n.is_sign_positive()));
    assert!(d.processing_time_ms.is_sign_positive());
}

#[test]
fn bad_decisions_name_their_field() {
    let cases: Vec<(Decision, &str)> = vec![
        (
            Decision {
                recommendation_scores: vec![0.9],
                ..decision()
            },
            "recommendation_scores",
        ),
        (
            Decision {
                recommendation_scores: vec![0.9, f64::NAN],
                ..decision()
            },
            "recommendation_scores[1]",
        ),
        (
            Decision {
                processing_time_ms: -1.0,
                ..decision()
            },
            "processing_time_ms",
        ),
        (
            Decision {
                processing_time_ms: f64::INFINITY,
                ..decision()
            },
            "processing_time_ms",
        ),
        (
            Decision {
                decision_id: Some("../../etc".into()),
                ..decision()
            },
            "decision_id",
        ),
        (
            Decision {
                input_song: " ".into(),
                ..decision()
            },
            "input_song",
        ),
        (
            Decision {
                algorithm_version: Some("1 0".into()),
                ..decision()
            },
            "algorithm_version",
        ),
        (
            Decision {
                timestamp: Some(Instant {
                    seconds: NOW.seconds + 2 * 86_400,
                    nanoseconds: 0,
                }),
                ..decision()
            },
            "timestamp",
        ),
        (
            Decision {
                timestamp: Some(Instant {
                    seconds: -1,
                    nanoseconds: 0,
                }),
                ..decision()
            },
            "timestamp",
        ),
        (
            Decision {
                timestamp: Some(Instant {
                    seconds: i64::MAX,
                    nanoseconds: 0,
                }),
                ..decision()
            },
            "timestamp",
        ),
        (
            Decision {
                weights_used: vec![("w".into(), 1.0), ("w".into(), 2.0)],
                ..decision()
            },
            "weights_used",
        ),
        (
            Decision {
                weights_used: (0..257).map(|i| (format!("w{i}"), 1.0)).collect(),
                ..decision()
            },
            "weights_used",
        ),
        (
            Decision {
                song_features: vec![("bpm".into(), Feature::Number(1e16))],
                ..decision()
            },
            "song_features.bpm",
        ),
        (
            Decision {
                song_features: vec![("key".into(), Feature::Text("a\u{0}b".into()))],
                ..decision()
            },
            "song_features.key",
        ),
        (
            Decision {
                recommended_moves: vec!["m".into(); 1_001],
                recommendation_scores: vec![0.0; 1_001],
                ..decision()
            },
            "recommended_moves",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(
            field_of(check_decision(input, NOW).expect_err(field)).as_deref(),
            Some(field)
        );
    }
}

#[test]
fn a_day_of_skew_is_allowed_and_whole_seconds_count() {
    let at = |seconds, nanoseconds| Decision {
        timestamp: Some(Instant {
            seconds,
            nanoseconds,
        }),
        ..decision()
    };
    assert!(check_decision(at(NOW.seconds + 86_400, 999_999_999), NOW).is_ok());
    assert!(check_decision(at(NOW.seconds + 86_401, 0), NOW).is_err());
    assert!(check_decision(at(0, 0), NOW).is_ok());
}

#[test]
fn a_rejected_time_is_shown_in_rfc3339() {
    let error = check_decision(
        Decision {
            timestamp: Some(Instant {
                seconds: NOW.seconds + 3 * 86_400,
                nanoseconds: 500_000_000,
            }),
            ..decision()
        },
        NOW,
    )
    .expect_err("future");
    assert_eq!(
        context(error).value.as_deref(),
        Some("2026-11-29T12:00:00.500+00:00")
    );
}

#[test]
fn feedback_rules() {
    assert!(check_one_feedback(feedback("like", None), NOW).is_ok());
    assert!(check_one_feedback(feedback("rating", Some(5.0)), NOW).is_ok());
    for (input, field) in [
        (feedback("love", None), "feedback_type"),
        (feedback("rating", None), "feedback_value"),
        (feedback("rating", Some(9.0)), "feedback_value"),
        (feedback("rating", Some(0.5)), "feedback_value"),
        (feedback("like", Some(f64::NAN)), "feedback_value"),
        (
            Feedback {
                comments: Some("x".repeat(2_001)),
                ..feedback("like", None)
            },
            "comments",
        ),
        (
            Feedback {
                comments: Some("\u{1b}[31m".into()),
                ..feedback("like", None)
            },
            "comments",
        ),
        (
            Feedback {
                decision_id: "a/b".into(),
                ..feedback("like", None)
            },
            "decision_id",
        ),
    ] {
        assert_eq!(
            field_of(check_one_feedback(input, NOW).expect_err(field)).as_deref(),
            Some(field)
        );
    }
    let ok = Feedback {
        comments: Some("é".repeat(2_000)),
        ..feedback("like", None)
    };
    assert!(check_one_feedback(ok, NOW).is_ok());
}

#[test]
fn a_batch_error_names_the_event() {
    let bad = Feedback {
        feedback_type: "love".into(),
        ..feedback("like", None)
    };
    let error =
        check_feedback(vec![feedback("like", None), bad.clone()], NOW, Some(0)).expect_err("bad");
    assert!(error.message.starts_with("event 1: unknown feedback_type"));
    assert_eq!(field_of(error).as_deref(), Some("[1].feedback_type"));
    // A later part of a long batch names the event by its index in the whole batch.
    let error = check_feedback(vec![feedback("like", None), bad], NOW, Some(500)).expect_err("bad");
    assert!(
        error
            .message
            .starts_with("event 501: unknown feedback_type")
    );
    assert_eq!(field_of(error).as_deref(), Some("[501].feedback_type"));
    let alone = check_feedback(
        vec![Feedback {
            feedback_type: "love".into(),
            ..feedback("like", None)
        }],
        NOW,
        None,
    )
    .expect_err("bad");
    assert_eq!(field_of(alone).as_deref(), Some("feedback_type"));
}

#[test]
fn refusals_name_the_field_and_the_event() {
    let error = refused(Refusal::UnknownDecision("d-9".into()), None);
    assert_eq!(error.error_code, "VALIDATION_ERROR");
    assert_eq!(error.message, "no decision \"d-9\" is stored");
    let error = refused(
        Refusal::UnknownMove(MoveRef {
            decision_id: "d-1".into(),
            move_id: "dip".into(),
        }),
        Some(4),
    );
    assert_eq!(
        error.message,
        "event 4: \"dip\" is not one of decision \"d-1\"'s moves"
    );
    assert_eq!(field_of(error).as_deref(), Some("[4].move_id"));
    let error = refused(
        Refusal::Conflict(RepeatedId {
            field: "feedback_id".into(),
            id: "f-1".into(),
        }),
        None,
    );
    assert_eq!(
        error.message,
        "feedback_id \"f-1\" is already stored with other content"
    );
    assert_eq!(context(error).value.as_deref(), Some("f-1"));
}
