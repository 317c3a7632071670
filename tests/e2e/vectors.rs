//! The shared test vectors (`tests/vectors/*.json`) against the component, through the Rust
//! host. The Python and Node bindings run the same files against the same component.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bachata_common::capabilities::secrets::SecretSource;
use bachata_common::{AppError, Policy, monitor};
use serde_json::Value;

mod events;

pub(crate) fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read vectors");
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|pair| (text(&pair[0]).expect("key"), text(&pair[1]).expect("value")))
                .collect()
        })
        .unwrap_or_default()
}

/// A secret store answering from the vector's `secrets` map, whatever the project.
struct VectorSecrets(HashMap<String, String>);

impl SecretSource for VectorSecrets {
    fn access(&self, _project: &str, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(name).cloned())
    }
}

/// The WIT name of a setting's source.
fn source_name(source: &bachata_common::config::Source) -> &'static str {
    use bachata_common::config::Source;
    match source {
        Source::Default => "default",
        Source::Dotenv => "dotenv",
        Source::Environment => "environment",
        Source::SecretManager => "secret-manager",
        Source::Derived => "derived",
    }
}

#[test]
fn config_vectors() {
    let cases = vectors("config.json");
    let cases = cases["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30, "the vectors are all there");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let env: Vec<(String, String)> = case["env"]
            .as_object()
            .expect("env")
            .iter()
            .map(|(key, value)| (key.clone(), text(value).expect("env value")))
            .collect();
        let dotenv = text(&case["dotenv"]);
        let secrets = case["secrets"]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(key, value)| (key.clone(), text(value).expect("secret")))
                    .collect()
            })
            .unwrap_or_default();
        let policy = Policy::shared()
            .expect("policy")
            .clone()
            .with_secrets(Arc::new(VectorSecrets(secrets)));
        let outcome = policy
            .load_config(&env, dotenv.as_deref())
            .unwrap_or_else(|error| panic!("{name}: the call failed: {error}"));
        let expect = &case["expect"];
        if let Some(settings) = expect["settings"].as_object() {
            let config = outcome.unwrap_or_else(|failure| {
                panic!("{name}: expected settings, got {:?}", failure.problems)
            });
            for (variable, wanted) in settings {
                let setting = config
                    .settings
                    .iter()
                    .find(|setting| &setting.name == variable)
                    .unwrap_or_else(|| panic!("{name}: no setting {variable}"));
                assert_eq!(setting.value, wanted["value"], "{name}: {variable} value");
                if let Some(source) = wanted["source"].as_str() {
                    assert_eq!(
                        source_name(&setting.source),
                        source,
                        "{name}: {variable} source"
                    );
                }
            }
        } else {
            let failure = match outcome {
                Ok(_) => panic!("{name}: expected an error, got a configuration"),
                Err(failure) => failure,
            };
            let wanted = &expect["error"];
            assert_eq!(
                failure.error.error_code(),
                wanted["error-code"],
                "{name}: code"
            );
            let problems = wanted["problems"].as_array().expect("problems");
            assert_eq!(
                failure.problems.len(),
                problems.len(),
                "{name}: {:?}",
                failure.problems
            );
            for (got, want) in failure.problems.iter().zip(problems) {
                let want = want.as_object().expect("problem");
                for (key, value) in want {
                    let actual = match key.as_str() {
                        "variable" => Value::from(got.variable.clone()),
                        "value" => got.value.clone().map_or(Value::Null, Value::from),
                        "expected" => Value::from(got.expected.clone()),
                        "message" => Value::from(got.message.clone()),
                        other => panic!("{name}: unknown problem key {other}"),
                    };
                    assert_eq!(&actual, value, "{name}: problem {key}");
                }
            }
        }
    }
}

/// The host error for a vector's `kind`, `message` and `details`.
fn app_error(kind: &Value, message: &str, details: Vec<(String, String)>) -> AppError {
    let message = message.to_string();
    let val = || text(&kind["val"]);
    match kind["tag"].as_str().expect("tag") {
        "generation" => AppError::Generation { message, details },
        "youtube-download" => AppError::YoutubeDownload {
            message,
            url: val(),
            details,
        },
        "music-analysis" => AppError::MusicAnalysis {
            message,
            audio_path: val(),
            details,
        },
        "move-analysis" => AppError::MoveAnalysis {
            message,
            video_path: val(),
            details,
        },
        "video-generation" => AppError::VideoGeneration { message, details },
        "validation" => AppError::Validation {
            message,
            field: text(&kind["val"]["field"]),
            value: text(&kind["val"]["value"]),
            details,
        },
        "resource" => AppError::Resource {
            message,
            resource_type: val(),
            details,
        },
        "service-unavailable" => AppError::ServiceUnavailable {
            message,
            service_name: val(),
            details,
        },
        other => panic!("unknown error kind {other}"),
    }
}

#[test]
fn error_vectors() {
    let vectors = vectors("errors.json");
    let policy = Policy::shared().expect("policy");
    for case in vectors["messages"].as_array().expect("messages") {
        let code = case["error-code"].as_str().expect("code");
        let kind = case["error-type"].as_str().expect("type");
        let message = policy.user_friendly_message(code, kind).expect("call");
        assert_eq!(message, case["message"], "{code}/{kind}");
    }
    for case in vectors["http-status"].as_array().expect("http-status") {
        let code = case["error-code"].as_str().expect("code");
        assert_eq!(
            policy.http_status(code).expect("call"),
            case["status"],
            "{code}"
        );
    }
    for case in vectors["make-error"].as_array().expect("make-error") {
        let message = case["message"].as_str().expect("message");
        let error = app_error(&case["kind"], message, pairs(&case["details"]));
        let built = policy.make_error(&error).expect("call");
        let expect = &case["expect"];
        assert_eq!(built.error_code, expect["error-code"], "{message}");
        assert_eq!(built.message, expect["message"], "{message}");
        assert_eq!(built.details, pairs(&expect["details"]), "{message}");
        for problem in case["problem"].as_array().expect("problem") {
            let document = policy
                .problem_json(
                    &built.error,
                    problem["error-type"].as_str(),
                    problem["instance"].as_str(),
                )
                .expect("call");
            let parsed: Value = serde_json::from_str(&document).expect("problem+json");
            assert_eq!(parsed, problem["json"], "{message}");
        }
    }
    let catalog = policy.catalog().expect("call");
    let expected = &vectors["catalog"];
    assert_eq!(catalog.len() as u64, expected["count"], "catalog size");
    for wanted in expected["contains"].as_array().expect("contains") {
        assert!(
            catalog
                .iter()
                .any(|entry| entry.error_code == wanted["error-code"]
                    && entry.error_type == wanted["error-type"]
                    && entry.message == wanted["message"]
                    && entry.http_status == wanted["http-status"]),
            "catalog lacks {wanted}"
        );
    }
}

/// A `u64` field of a vector record.
fn count(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is a count: {value}"))
}

/// An `f64` field of a vector record.
fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number: {value}"))
}

/// A `u32` field of a vector record.
fn small(value: &Value, key: &str) -> u32 {
    u32::try_from(count(value, key)).expect("a u32")
}

pub(crate) fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn feedback_totals(value: &Value) -> Vec<monitor::FeedbackTotals> {
    items(value)
        .iter()
        .map(|totals| monitor::FeedbackTotals {
            feedback_type: text(&totals["feedback-type"]).expect("feedback-type"),
            count: count(totals, "count"),
            valued: count(totals, "valued"),
            value_sum: number(totals, "value-sum"),
        })
        .collect()
}

fn decision_totals(value: &Value) -> monitor::DecisionTotals {
    monitor::DecisionTotals {
        decisions: count(value, "decisions"),
        processing_ms_sum: number(value, "processing-ms-sum"),
        scored: count(value, "scored"),
        score_sum: number(value, "score-sum"),
        latency: items(&value["latency"])
            .iter()
            .map(|bucket| monitor::LatencyBucket {
                count: count(bucket, "count"),
                min_ms: number(bucket, "min-ms"),
                max_ms: number(bucket, "max-ms"),
            })
            .collect(),
    }
}

fn window_totals(value: &Value) -> monitor::WindowTotals {
    monitor::WindowTotals {
        decisions: decision_totals(&value["decisions"]),
        feedback: feedback_totals(&value["feedback"]),
        moves: items(&value["moves"])
            .iter()
            .map(|totals| monitor::MoveTotals {
                move_id: text(&totals["move-id"]).expect("move-id"),
                recommended: count(totals, "recommended"),
                first: count(totals, "first"),
            })
            .collect(),
    }
}

fn ranking_totals(value: &Value) -> monitor::RankingTotals {
    if value.is_null() {
        return monitor::RankingTotals::default();
    }
    monitor::RankingTotals {
        judged: count(value, "judged"),
        with_relevant: count(value, "with-relevant"),
        precision_sum: number(value, "precision-sum"),
        recall_sum: number(value, "recall-sum"),
        hits: count(value, "hits"),
        reciprocal_rank_sum: number(value, "reciprocal-rank-sum"),
        ndcg_sum: number(value, "ndcg-sum"),
        first_relevant: count(value, "first-relevant"),
    }
}

fn judged_decisions(value: &Value) -> Vec<monitor::JudgedDecision> {
    items(value)
        .iter()
        .map(|decision| monitor::JudgedDecision {
            moves: small(decision, "moves"),
            judgments: items(&decision["judgments"])
                .iter()
                .map(|judgment| monitor::Judgment {
                    rank: small(judgment, "rank"),
                    feedback_type: text(&judgment["feedback-type"]).expect("feedback-type"),
                    value: judgment["value"].as_f64(),
                })
                .collect(),
        })
        .collect()
}

/// A host value as a vector writes it: serialized, its field names in kebab-case.
pub(crate) fn as_wit(value: impl serde::Serialize) -> Value {
    fn kebab(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, item)| (key.replace('_', "-"), kebab(item)))
                    .collect(),
            ),
            Value::Array(list) => Value::Array(list.into_iter().map(kebab).collect()),
            other => other,
        }
    }
    kebab(serde_json::to_value(value).expect("serializable"))
}

/// Whether `actual` is `expected`, floats within 1e-9 (see `tests/vectors/README.md`).
fn assert_close(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) if a.is_f64() || e.is_f64() => {
            let (a, e) = (a.as_f64().expect("f64"), e.as_f64().expect("f64"));
            assert!((a - e).abs() <= 1e-9, "{at}: {a} is not {e}");
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: {actual} is not {expected}");
            for (index, (a, e)) in a.iter().zip(e).enumerate() {
                assert_close(a, e, &format!("{at}[{index}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let (mut got, mut want): (Vec<_>, Vec<_>) = (a.keys().collect(), e.keys().collect());
            got.sort();
            want.sort();
            assert_eq!(got, want, "{at}: fields");
            for (key, e) in e {
                assert_close(&a[key], e, &format!("{at}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

#[test]
fn monitor_vectors() {
    let vectors = vectors("monitor.json");
    for function in ["satisfaction", "summarize", "relevance", "rank", "daily"] {
        assert!(
            !items(&vectors[function]).is_empty(),
            "{function} has cases"
        );
    }
    let policy = Policy::shared().expect("policy");

    for case in items(&vectors["satisfaction"]) {
        let name = case["name"].as_str().expect("name");
        let got = policy
            .satisfaction(&feedback_totals(&case["feedback"]))
            .expect("call");
        assert_close(&Value::from(got), &case["expect"], name);
    }

    for case in items(&vectors["summarize"]) {
        let name = case["name"].as_str().expect("name");
        let operational = policy
            .summarize(&window_totals(&case["window"]), small(case, "top"))
            .expect("call");
        let got = as_wit(operational);
        for (field, wanted) in case["expect"].as_object().expect("expect") {
            assert_close(&got[field], wanted, &format!("{name}: {field}"));
        }
    }

    for case in items(&vectors["relevance"]) {
        let kind = case["feedback-type"].as_str().expect("feedback-type");
        let value = case["value"].as_f64();
        let got = policy.relevance(kind, value).expect("call");
        assert_eq!(
            got.map_or(Value::Null, Value::from),
            case["expect"],
            "relevance({kind:?}, {value:?})"
        );
    }

    for case in items(&vectors["rank"]) {
        let name = case["name"].as_str().expect("name");
        let k = small(case, "k");
        let mut totals = ranking_totals(&case["totals"]);
        for page in items(&case["pages"]) {
            totals = policy
                .rank(k, totals, judged_decisions(page))
                .expect("call");
        }
        assert_close(
            &as_wit(totals),
            &case["expect"]["totals"],
            &format!("{name}: totals"),
        );
        let metrics = policy.ranking(k, totals).expect("call");
        assert_close(
            &as_wit(metrics),
            &case["expect"]["metrics"],
            &format!("{name}: metrics"),
        );
    }

    for case in items(&vectors["daily"]) {
        let name = case["name"].as_str().expect("name");
        let days: Vec<monitor::DayTotals> = items(&case["days"])
            .iter()
            .map(|day| monitor::DayTotals {
                day: text(&day["day"]).expect("day"),
                decisions: decision_totals(&day["decisions"]),
                feedback: feedback_totals(&day["feedback"]),
            })
            .collect();
        let got = policy.daily(&days).expect("call");
        assert_close(&as_wit(got), &case["expect"], name);
    }
}
