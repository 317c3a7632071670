//! The performance monitor through the library, on every engine available (SQLite always,
//! PostgreSQL when the run started one): events stored once, bad input storing nothing,
//! metrics computed by the policy from what was stored, retention, migrations, concurrency.

use std::sync::Arc;

use bachata_common::config::{Database, MonitorSettings};
use bachata_common::monitor::{DecisionInput, FeedbackInput, MetricsQuery, Monitor};
use bachata_common::{AppError, Error, Policy};
use bachata_common_tests::databases::{TestDatabase, databases};
use chrono::{Duration, Utc};

fn open(database: &TestDatabase) -> Monitor {
    Monitor::open(&settings(&database.url)).unwrap_or_else(|e| panic!("{}: {e}", database.engine))
}

fn settings(url: &str) -> MonitorSettings {
    MonitorSettings {
        database: Database::new(url),
        retention_days: 90,
    }
}

fn decision(id: &str, moves: &[&str], ms: f64) -> DecisionInput {
    DecisionInput {
        decision_id: Some(id.to_string()),
        input_song: "Obsesión - Aventura".into(),
        recommended_moves: moves.iter().map(|m| m.to_string()).collect(),
        recommendation_scores: (0..moves.len()).map(|i| 0.9 - 0.1 * i as f64).collect(),
        processing_time_ms: ms,
        ..Default::default()
    }
}

fn feedback(
    id: &str,
    decision: &str,
    kind: &str,
    value: Option<f64>,
    move_id: Option<&str>,
) -> FeedbackInput {
    FeedbackInput {
        feedback_id: Some(id.to_string()),
        decision_id: decision.to_string(),
        feedback_type: kind.to_string(),
        feedback_value: value,
        move_id: move_id.map(str::to_string),
        ..Default::default()
    }
}

fn field(error: &Error) -> Option<String> {
    match error {
        Error::App(AppError::Validation { field, .. }) => field.clone(),
        _ => None,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn events_are_stored_once_and_metrics_computed_from_them() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open(&database);
        let mut v2 = decision("d-3", &["basic", "dip"], 30.0);
        v2.algorithm_version = Some("2.0".into());
        let logged = monitor
            .log_decisions(
                &policy,
                vec![
                    decision("d-1", &["basic", "spin", "dip"], 10.0),
                    decision("d-2", &["spin", "basic", "body_roll"], 20.0),
                    v2,
                ],
            )
            .expect("decisions");
        assert!(logged.iter().all(|l| l.stored), "{}", database.engine);
        // A retry stores nothing new.
        let again = monitor
            .log_decision(&policy, decision("d-1", &["basic", "spin", "dip"], 10.0))
            .expect("retry");
        assert!(!again.stored);
        monitor
            .log_feedbacks(
                &policy,
                vec![
                    feedback("f-1", "d-1", "like", None, Some("spin")),
                    feedback("f-2", "d-1", "rating", Some(5.0), None),
                    feedback("f-3", "d-2", "skip", None, Some("spin")),
                    feedback("f-4", "d-3", "use", None, Some("basic")),
                ],
            )
            .expect("feedback");
        assert!(
            !monitor
                .log_feedback(&policy, feedback("f-1", "d-1", "like", None, Some("spin")))
                .expect("retry")
                .stored
        );

        let metrics = monitor
            .metrics(
                &policy,
                &MetricsQuery {
                    days: 7,
                    version: None,
                    k: 2,
                },
            )
            .expect("metrics");
        assert_eq!(metrics.total_recommendations, 3, "{}", database.engine);
        close(metrics.avg_processing_time_ms, 20.0);
        close(metrics.processing_time_ms.p50, 20.0);
        assert_eq!(metrics.feedback_count, 4);
        // like + use positive, skip negative, a 5 counts 1: (2 + 1) / 4.
        close(metrics.user_satisfaction_score, 0.75);
        assert_eq!(metrics.mean_rating, Some(5.0));
        let basic = metrics
            .recommendation_distribution
            .iter()
            .find(|s| s.name == "basic")
            .expect("basic");
        assert_eq!(basic.count, 3);
        // Ranking at k = 2: d-1 (spin liked at rank 2, rank 1 rated 5: both relevant),
        // d-2 (spin skipped: no relevant move), d-3 (basic used at rank 1).
        let r = &metrics.ranking;
        assert_eq!((r.judged_decisions, r.decisions_with_relevant), (3, 2));
        close(r.precision, (1.0 + 0.0 + 0.5) / 3.0);
        close(r.recall, 1.0);
        close(r.accuracy, 2.0 / 3.0);
        assert_eq!(metrics.by_version.len(), 2);
        assert_eq!(metrics.by_version["2.0"].total_recommendations, 1);
        assert_eq!(metrics.by_version["1.0"].ranking.judged_decisions, 2);

        let only = monitor
            .metrics(
                &policy,
                &MetricsQuery {
                    days: 7,
                    version: Some("2.0".into()),
                    k: 5,
                },
            )
            .expect("one version");
        assert_eq!(only.total_recommendations, 1);
        assert!(only.by_version.is_empty());
        close(only.user_satisfaction_score, 1.0);

        let report = monitor.report(&policy, 30).expect("report");
        assert_eq!(report.daily_metrics.len(), 30);
        assert_eq!(report.daily_metrics.last().map(|d| d.decisions), Some(3));
        assert_eq!(report.top_recommended_moves[0].name, "basic");
        assert!(report.top_recommended_moves.len() <= 10);
        assert_eq!(report.report_period.days, 30);
        let json = serde_json::to_value(&report).expect("json");
        for key in [
            "report_period",
            "overall_metrics",
            "daily_metrics",
            "top_recommended_moves",
            "feedback_trends",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}

#[test]
fn bad_input_is_a_validation_error_naming_the_field_and_stores_nothing() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open(&database);
        let mut bad = decision("d-2", &["basic", "spin"], 5.0);
        bad.recommendation_scores = vec![0.5];
        let error = monitor
            .log_decisions(&policy, vec![decision("d-1", &["basic"], 5.0), bad])
            .expect_err("lengths differ");
        assert_eq!(
            field(&error).as_deref(),
            Some("[1].recommendation_scores"),
            "{}",
            database.engine
        );
        let mut nan = decision("d-3", &["basic"], 5.0);
        nan.recommendation_scores = vec![f64::NAN];
        assert_eq!(
            field(&monitor.log_decision(&policy, nan).expect_err("NaN")).as_deref(),
            Some("recommendation_scores[0]")
        );
        assert_eq!(
            field(
                &monitor
                    .log_decision(&policy, decision("../../etc/passwd", &["basic"], 5.0))
                    .expect_err("hostile id")
            )
            .as_deref(),
            Some("decision_id")
        );
        let metrics = monitor
            .metrics(&policy, &MetricsQuery::default())
            .expect("metrics");
        assert_eq!(metrics.total_recommendations, 0, "nothing stored");

        monitor
            .log_decision(&policy, decision("d-1", &["basic", "spin"], 5.0))
            .expect("decision");
        let cases = [
            (
                feedback("f-1", "missing", "like", None, None),
                "decision_id",
            ),
            (feedback("f-1", "d-1", "like", None, Some("dip")), "move_id"),
            (
                feedback("f-1", "d-1", "rating", Some(9.0), None),
                "feedback_value",
            ),
            (feedback("f-1", "d-1", "love", None, None), "feedback_type"),
        ];
        for (input, expected) in cases {
            let error = monitor.log_feedback(&policy, input).expect_err(expected);
            assert_eq!(
                field(&error).as_deref(),
                Some(expected),
                "{}",
                database.engine
            );
        }
        // One bad event in a batch: the good one before it is not stored either.
        let error = monitor
            .log_feedbacks(
                &policy,
                vec![
                    feedback("f-2", "d-1", "like", None, None),
                    feedback("f-3", "nope", "like", None, None),
                ],
            )
            .expect_err("unknown decision");
        assert_eq!(field(&error).as_deref(), Some("[1].decision_id"));
        let metrics = monitor
            .metrics(&policy, &MetricsQuery::default())
            .expect("metrics");
        assert_eq!(metrics.feedback_count, 0);
        assert!(
            monitor.log_decisions(&policy, Vec::new()).is_err(),
            "empty batch"
        );
    }
}

#[test]
fn retention_prunes_old_events_and_windows_leave_them_out() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open(&database);
        let mut old = decision("old", &["basic"], 5.0);
        old.timestamp = Some(Utc::now() - Duration::days(100));
        let mut week = decision("week", &["spin"], 5.0);
        week.timestamp = Some(Utc::now() - Duration::days(10));
        monitor
            .log_decisions(&policy, vec![old, week, decision("now", &["dip"], 5.0)])
            .expect("decisions");
        let mut late = feedback("f-old", "old", "like", None, None);
        late.timestamp = Some(Utc::now() - Duration::days(99));
        monitor.log_feedback(&policy, late).expect("feedback");
        let days = |days| {
            monitor
                .metrics(
                    &policy,
                    &MetricsQuery {
                        days,
                        ..Default::default()
                    },
                )
                .expect("metrics")
                .total_recommendations
        };
        assert_eq!(
            (days(1), days(30), days(365)),
            (1, 2, 3),
            "{}",
            database.engine
        );
        let pruned = monitor.prune(Utc::now()).expect("prune");
        assert_eq!((pruned.decisions, pruned.feedback), (1, 1));
        assert_eq!(days(365), 2);
        assert_eq!(monitor.prune(Utc::now()).expect("again").decisions, 0);
    }
}

#[test]
fn a_second_monitor_on_the_same_database_sees_the_first_ones_events_and_migrations_run_once() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let first = open(&database);
        first
            .log_decision(&policy, decision("d-1", &["basic"], 5.0))
            .expect("decision");
        let second = open(&database);
        let metrics = second
            .metrics(&policy, &MetricsQuery::default())
            .expect("metrics");
        assert_eq!(metrics.total_recommendations, 1, "{}", database.engine);
        second
            .log_feedback(&policy, feedback("f-1", "d-1", "like", None, None))
            .expect("feedback on the other's decision");
        assert_eq!(
            first
                .metrics(&policy, &MetricsQuery::default())
                .expect("metrics")
                .feedback_count,
            1
        );
    }
}

#[test]
fn a_database_migrated_by_a_newer_host_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("m.sqlite3");
    drop(Monitor::open(&settings(&path.display().to_string())).expect("create"));
    let connection = rusqlite::Connection::open(&path).expect("open");
    connection
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (999, 'future', 0)",
            [],
        )
        .expect("record a future migration");
    drop(connection);
    let error = Monitor::open(&settings(&path.display().to_string())).expect_err("newer schema");
    assert!(
        error.to_string().contains("newer than this host knows"),
        "{error}"
    );
}

#[test]
fn concurrent_writers_lose_nothing() {
    let policy = Policy::shared().expect("policy");
    for database in databases() {
        // Two stores on one database, as two processes of a fleet would have.
        let writers: Vec<Arc<Monitor>> = (0..2).map(|_| Arc::new(open(&database))).collect();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let monitor = Arc::clone(&writers[t % 2]);
                std::thread::spawn(move || {
                    for batch in 0..10 {
                        let events = (0..25)
                            .map(|i| {
                                decision(
                                    &format!("t{t}-b{batch}-{i}"),
                                    &["basic", "spin"],
                                    1.0 + i as f64,
                                )
                            })
                            .collect();
                        monitor.log_decisions(policy, events).expect("batch");
                        // A retry of the same batch from the other store changes nothing.
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer");
        }
        let metrics = writers[0]
            .metrics(policy, &MetricsQuery::default())
            .expect("metrics");
        assert_eq!(
            metrics.total_recommendations,
            4 * 10 * 25,
            "{}",
            database.engine
        );
        let basic = metrics
            .recommendation_distribution
            .iter()
            .find(|s| s.name == "basic")
            .expect("basic");
        assert_eq!(basic.count, 1000);
    }
}
