//! A/B experiments through the library on every engine available: definitions checked and
//! stored once, assignment with exposures logged once per unit, and an analysis whose sums
//! match what the test itself logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use bachata_common::config::{Database, MonitorSettings};
use bachata_common::experiments::{
    AssignmentReason, Correction, Definition, Experiments, Outcome, VerdictKind,
};
use bachata_common::monitor::{DecisionInput, FeedbackInput, Monitor};
use bachata_common::{AppError, Error, Policy};
use bachata_common_tests::databases::databases;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

fn open(url: &str) -> Experiments {
    let monitor = Monitor::open(&MonitorSettings {
        database: Database::new(url),
        retention_days: 90,
    })
    .expect("open the store");
    Experiments::new(Arc::new(monitor))
}

fn definition(changes: serde_json::Value) -> Definition {
    let now = Utc::now();
    let mut base = json!({
        "test_id": "ranker-v2",
        "test_name": "New ranker",
        "start_date": (now - Duration::days(1)).format("%Y-%m-%d").to_string(),
        "end_date": (now + Duration::days(30)).format("%Y-%m-%d").to_string(),
        "algorithm_versions": ["1.0", "2.0"],
        "traffic_split": {"1.0": 0.5, "2.0": 0.5},
        "success_metrics": ["like_rate", "user_satisfaction", "processing_time_ms", "decisions_per_unit"],
        "minimum_sample_size": 100
    });
    for (key, value) in changes.as_object().expect("an object") {
        base[key] = value.clone();
    }
    Definition::from_json(&base.to_string()).expect("a definition")
}

fn field(error: &Error) -> Option<String> {
    match error {
        Error::App(AppError::Validation { field, .. })
        | Error::Conflict(AppError::Validation { field, .. })
        | Error::NotFound(AppError::Validation { field, .. }) => field.clone(),
        _ => None,
    }
}

/// A deterministic "random" number in [0, 1) for unit `i` and draw `k`.
fn draw(i: u64, k: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Default)]
struct Expected {
    units: u64,
    decisions: f64,
    likes: f64,
    processing: f64,
    satisfied: f64,
    judged: f64,
}

/// Logs each unit's decisions and feedback after its exposure; one decision before it, which
/// the analysis must not count. Returns what each variation should sum to.
fn log_traffic(
    monitor: &Monitor,
    served: &[(String, String)],
    exposed_at: DateTime<Utc>,
) -> BTreeMap<String, Expected> {
    let policy = bachata_common::Policy::shared().expect("policy");
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for (i, (unit, version)) in served.iter().enumerate() {
        let i = i as u64;
        let treated = version == "2.0";
        let arm = expected.entry(version.clone()).or_default();
        arm.units += 1;
        // Before the exposure: never counted.
        monitor
            .log_decision(
                policy,
                DecisionInput {
                    timestamp: Some(exposed_at - Duration::minutes(30)),
                    user_id: Some(unit.clone()),
                    input_song: "Propuesta indecente".into(),
                    recommended_moves: vec!["basic".into()],
                    recommendation_scores: vec![0.5],
                    algorithm_version: Some(version.clone()),
                    processing_time_ms: 1_000.0,
                    ..Default::default()
                },
            )
            .expect("a decision");
        let count = 1 + i % 3;
        for k in 0..count {
            let processing = 40.0 + 20.0 * draw(i, 10 + k);
            let logged = monitor
                .log_decision(
                    policy,
                    DecisionInput {
                        timestamp: Some(exposed_at + Duration::minutes(1 + k as i64)),
                        user_id: Some(unit.clone()),
                        input_song: "Obsesión".into(),
                        recommended_moves: vec!["basic".into(), "cross_body_lead".into()],
                        recommendation_scores: vec![0.9, 0.8],
                        algorithm_version: Some(version.clone()),
                        processing_time_ms: processing,
                        experiment_id: Some("ranker-v2".into()),
                        variation: Some(version.clone()),
                        ..Default::default()
                    },
                )
                .expect("a decision");
            arm.decisions += 1.0;
            arm.processing += processing;
            let like_chance = if treated { 0.6 } else { 0.25 };
            if draw(i, 100 + k) < like_chance {
                monitor
                    .log_feedback(
                        policy,
                        FeedbackInput {
                            decision_id: logged.id.clone(),
                            feedback_type: "like".into(),
                            ..Default::default()
                        },
                    )
                    .expect("feedback");
                arm.likes += 1.0;
                arm.satisfied += 1.0;
                arm.judged += 1.0;
            } else if draw(i, 200 + k) < 0.5 {
                let rating = 1.0 + (draw(i, 300 + k) * 5.0).floor();
                monitor
                    .log_feedback(
                        policy,
                        FeedbackInput {
                            decision_id: logged.id.clone(),
                            feedback_type: "rating".into(),
                            feedback_value: Some(rating),
                            ..Default::default()
                        },
                    )
                    .expect("feedback");
                arm.satisfied += (rating - 1.0) / 4.0;
                arm.judged += 1.0;
            }
        }
    }
    expected
}

fn close(a: f64, b: f64, at: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{at}: {a} is not {b}"
    );
}

#[test]
fn an_experiment_from_definition_to_verdict() {
    let policy = Policy::shared().expect("policy");
    for database in databases() {
        let engine = database.engine;
        let experiments = open(&database.url);
        let monitor = Monitor::open(&MonitorSettings {
            database: Database::new(&database.url),
            retention_days: 90,
        })
        .expect("open");
        experiments
            .create(policy, definition(json!({})))
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
        // The same definition again changes nothing; another one is refused.
        experiments
            .create(policy, definition(json!({})))
            .expect("idempotent");
        let other = experiments.create(policy, definition(json!({"coverage": 0.5})));
        assert_eq!(
            field(&other.expect_err("conflict")).as_deref(),
            Some("test_id")
        );

        // Each unit: its variation, the same every time, exposed once.
        let exposed_at = Utc::now() - Duration::hours(2);
        let mut served = Vec::new();
        for i in 0..400 {
            let unit = format!("user-{i}");
            let first = experiments
                .assign_at(policy, "ranker-v2", &unit, exposed_at)
                .expect("assign");
            let again = experiments
                .assign(policy, "ranker-v2", &unit)
                .expect("assign");
            assert!(first.in_experiment);
            assert_eq!(first.reason, AssignmentReason::Assigned);
            assert_eq!(
                (first.variation, &first.version),
                (again.variation, &again.version)
            );
            served.push((unit, first.version));
        }
        let expected = log_traffic(&monitor, &served, exposed_at);

        // Four metrics: the family-wise error rate held by Holm–Bonferroni.
        let analysis = experiments
            .analyze(policy, "ranker-v2", Some(Correction::HolmBonferroni))
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(analysis.multi_exposed, 0);
        for arm in &analysis.arms {
            assert_eq!(arm.units, expected[&arm.version].units, "{engine}: units");
        }
        let (control, treated) = (&expected["1.0"], &expected["2.0"]);
        let value = |metric: &str, arm: &Expected| match metric {
            "like_rate" => arm.likes / arm.decisions,
            "user_satisfaction" => arm.satisfied / arm.judged,
            "processing_time_ms" => arm.processing / arm.decisions,
            _ => arm.decisions / arm.units as f64,
        };
        for comparison in &analysis.comparisons {
            let at = format!("{engine}: {}", comparison.metric);
            close(
                comparison.control_mean,
                value(&comparison.metric, control),
                &at,
            );
            close(comparison.mean, value(&comparison.metric, treated), &at);
        }
        let like = &analysis.comparisons[0];
        assert_eq!(like.metric, "like_rate");
        assert_eq!(like.outcome, Outcome::Better, "{engine}: {like:?}");
        assert_eq!(
            analysis.verdict.kind,
            VerdictKind::Wins,
            "{engine}: {:?}",
            analysis.verdict
        );
        assert!(analysis.verdict.headline.contains("2.0 wins on like_rate"));
        assert!(
            !analysis.sample_ratio.mismatch,
            "{engine}: {:?}",
            analysis.sample_ratio
        );

        // Once units are exposed, the versions cannot change (exposures name their place).
        let reordered = experiments.replace(
            policy,
            definition(json!({"algorithm_versions": ["2.0", "1.0"]})),
        );
        assert_eq!(
            field(&reordered.expect_err("refused")).as_deref(),
            Some("algorithm_versions")
        );
        // A new split moves some units to the other variation: exposed to two, they are
        // left out and counted.
        experiments
            .replace(
                policy,
                definition(json!({"traffic_split": {"1.0": 0.2, "2.0": 0.8}})),
            )
            .expect("replace");
        let mut moved = 0;
        for (unit, version) in &served {
            let now = experiments
                .assign(policy, "ranker-v2", unit)
                .expect("assign");
            moved += u64::from(&now.version != version);
        }
        assert!(moved > 0, "{engine}: some units change variation");
        let analysis = experiments
            .analyze(policy, "ranker-v2", None)
            .expect("analyze");
        assert_eq!(analysis.multi_exposed, moved, "{engine}");
        let counted: u64 = analysis.arms.iter().map(|arm| arm.units).sum();
        assert_eq!(counted + moved, 400, "{engine}");
        assert!(analysis.verdict.reasons[0].contains(&format!("{moved} units")));
    }
}

#[test]
fn units_outside_the_experiment_get_the_control_and_are_not_counted() {
    let policy = Policy::shared().expect("policy");
    for database in databases() {
        let experiments = open(&database.url);
        experiments
            .create(
                policy,
                definition(json!({"test_id": "nobody", "coverage": 0.0})),
            )
            .expect("create");
        let future = definition(json!({
            "test_id": "later",
            "start_date": (Utc::now() + Duration::days(2)).format("%Y-%m-%d").to_string(),
            "end_date": (Utc::now() + Duration::days(9)).format("%Y-%m-%d").to_string(),
        }));
        experiments.create(policy, future).expect("create");
        for (test_id, reason) in [
            ("nobody", AssignmentReason::NotInCoverage),
            ("later", AssignmentReason::NotStarted),
        ] {
            for i in 0..20 {
                let a = experiments
                    .assign(policy, test_id, &format!("user-{i}"))
                    .expect("assign");
                assert_eq!((a.variation, a.version.as_str()), (0, "1.0"));
                assert!(!a.in_experiment);
                assert_eq!(a.reason, reason);
            }
            let analysis = experiments.analyze(policy, test_id, None).expect("analyze");
            assert!(analysis.arms.iter().all(|arm| arm.units == 0), "{test_id}");
            assert_eq!(analysis.verdict.kind, VerdictKind::NotEnoughData);
        }
        // A hostile or unknown id: an error, nothing stored.
        let unknown = experiments.assign(policy, "../../etc/passwd", "user-1");
        assert_eq!(
            field(&unknown.expect_err("unknown")).as_deref(),
            Some("test_id")
        );
        let bad_unit = experiments.assign(policy, "nobody", "user\u{0}1");
        assert_eq!(
            field(&bad_unit.expect_err("control char")).as_deref(),
            Some("unit")
        );
    }
}

#[test]
fn bad_definitions_store_nothing() {
    let policy = Policy::shared().expect("policy");
    for database in databases() {
        let experiments = open(&database.url);
        let cases = [
            (
                json!({"traffic_split": {"1.0": 0.5, "2.0": 0.6}}),
                "traffic_split",
            ),
            (
                json!({"algorithm_versions": ["1.0"], "traffic_split": {"1.0": 1.0}}),
                "algorithm_versions",
            ),
            (
                json!({"algorithm_versions": ["1.0", "1.0"], "traffic_split": {"1.0": 1.0}}),
                "algorithm_versions",
            ),
            (
                json!({"start_date": "2026-12-10", "end_date": "2026-12-01"}),
                "end_date",
            ),
            (json!({"success_metrics": ["revenue"]}), "success_metrics"),
            (json!({"coverage": 2.0}), "coverage"),
            (json!({"test_id": "../../x"}), "test_id"),
            (json!({"minimum_sample_size": 0}), "minimum_sample_size"),
        ];
        for (change, wanted) in cases {
            let error = experiments
                .create(policy, definition(change.clone()))
                .expect_err("refused");
            assert_eq!(field(&error).as_deref(), Some(wanted), "{change}: {error}");
        }
        for text in [
            "{",
            r#"{"test_id": "x"}"#,
            r#"{"test_id":"x","test_name":"x","start_date":"soon","end_date":"2026-12-01","algorithm_versions":["a","b"],"traffic_split":{"a":0.5,"b":0.5},"success_metrics":["like_rate"]}"#,
            // A second definition after the first is refused, not ignored (found by fuzzing).
            r#"{"test_id":"x","test_name":"x","start_date":"2026-12-01","end_date":"2026-12-31","algorithm_versions":["a","b"],"traffic_split":{"a":0.5,"b":0.5},"success_metrics":["like_rate"]} {"test_id":"y"}"#,
        ] {
            assert!(Definition::from_json(text).is_err(), "{text}");
        }
        assert!(experiments.list().expect("list").is_empty());
    }
}
