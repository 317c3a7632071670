//! The shared test vectors (`tests/vectors/*.json`) against the component, through the Rust
//! host. The Python and Node bindings run the same files against the same component.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bachata_common::capabilities::secrets::SecretSource;
use bachata_common::{AppError, Policy};
use serde_json::Value;

fn vectors(name: &str) -> Value {
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
