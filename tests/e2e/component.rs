//! The real component, called through the host library, agrees with the same guest code
//! compiled natively.

use bachata_common::{AppError, Error, Policy, config};
use bachata_common_policy::{catalog, config as native_config, types};

/// Environment pairs.
type Env = Vec<(String, String)>;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A comparable rendering of a native outcome.
fn native_outcome(env: &[(String, String)], dotenv: Option<&str>) -> Vec<String> {
    match native_config::load(env, dotenv, &native_config::NoSecrets) {
        Ok(config) => config
            .settings
            .iter()
            .map(|s| {
                format!(
                    "{}={}@{}/{}",
                    s.name,
                    s.value,
                    format!("{:?}", s.source).trim_start_matches("Source::"),
                    s.secret
                )
            })
            .collect(),
        Err(error) => std::iter::once(error.error.message.clone())
            .chain(
                error
                    .problems
                    .iter()
                    .map(|p| format!("{}|{:?}|{}|{}", p.variable, p.value, p.expected, p.message)),
            )
            .collect(),
    }
}

/// The same rendering of the component's outcome.
fn component_outcome(
    policy: &Policy,
    env: &[(String, String)],
    dotenv: Option<&str>,
) -> Vec<String> {
    let file = dotenv.map(|text| config::DotenvFile {
        path: ".env".into(),
        text: text.to_string(),
    });
    match config::resolve(policy, env, file.as_ref()) {
        Ok(config) => config
            .settings
            .iter()
            .map(|s| {
                let source = match s.source {
                    config::Source::Default => "Default",
                    config::Source::Dotenv => "Dotenv",
                    config::Source::Environment => "Environment",
                    config::Source::SecretManager => "SecretManager",
                    config::Source::Derived => "Derived",
                };
                format!("{}={}@{source}/{}", s.name, s.value, s.secret)
            })
            .collect(),
        Err(Error::Config { error, problems }) => std::iter::once(error.message().to_string())
            .chain(
                problems
                    .iter()
                    .map(|p| format!("{}|{:?}|{}|{}", p.variable, p.value, p.expected, p.message)),
            )
            .collect(),
        Err(other) => panic!("unexpected failure: {other}"),
    }
}

#[test]
fn config_cases_agree_with_native() {
    let policy = Policy::embedded().expect("embedded policy");
    let cases: Vec<(Env, Option<&str>)> = vec![
        (pairs(&[]), None),
        (pairs(&[("ELASTICSEARCH_API_KEY", "k")]), None),
        (
            pairs(&[("ELASTICSEARCH_HOST", "env")]),
            Some("ELASTICSEARCH_HOST=dot\nYOLOV8_DEVICE=auto\n"),
        ),
        (
            pairs(&[
                ("ELASTICSEARCH_PORT", "70000"),
                ("YOLOV8_IOU_THRESHOLD", "x"),
                ("YOLOV8_MODEL", ""),
            ]),
            None,
        ),
        (pairs(&[("ENVIRONMENT", "cloud")]), None),
        (
            pairs(&[("ENVIRONMENT", "moon"), ("ELASTICSEARCH_PASSWORD", "pw")]),
            None,
        ),
        (pairs(&[]), Some("A=\"unterminated\n")),
    ];
    for (env, dotenv) in cases {
        assert_eq!(
            component_outcome(&policy, &env, dotenv),
            native_outcome(&env, dotenv),
            "env {env:?} dotenv {dotenv:?}"
        );
    }
}

#[test]
fn defaults_through_the_component() {
    let policy = Policy::embedded().expect("embedded policy");
    let config = config::resolve(&policy, &[], None).expect("defaults valid");
    assert_eq!(config.environment, config::Environment::Local);
    assert_eq!(config.elasticsearch.host, "localhost");
    assert_eq!(config.elasticsearch.port, 9200);
    assert_eq!(config.yolo.device, config::Device::Cpu);
    assert_eq!(config.yolo.confidence, 0.3);
}

#[test]
fn catalog_agrees_with_native() {
    let policy = Policy::embedded().expect("embedded policy");
    let through_wasm = policy.catalog().expect("catalog");
    let native = catalog::catalog();
    assert_eq!(through_wasm.len(), native.len());
    for (wasm, native) in through_wasm.iter().zip(&native) {
        assert_eq!(
            (
                &wasm.error_code,
                &wasm.error_type,
                &wasm.message,
                wasm.http_status
            ),
            (
                &native.error_code,
                &native.error_type,
                &native.message,
                native.http_status
            )
        );
        assert_eq!(
            policy
                .user_friendly_message(&wasm.error_code, &wasm.error_type)
                .expect("call"),
            native.message
        );
    }
    for (code, kind) in [("NOPE", "default"), ("VALIDATION_ERROR", "nope")] {
        assert_eq!(
            policy.user_friendly_message(code, kind).expect("call"),
            catalog::user_friendly_message(code, kind)
        );
    }
    for code in [
        "VALIDATION_ERROR",
        "MOVE_ANALYSIS_ERROR",
        "RESOURCE_ERROR",
        "X",
    ] {
        assert_eq!(
            policy.http_status(code).expect("call"),
            catalog::http_status(code)
        );
    }
}

#[test]
fn problem_json_agrees_with_native_and_round_trips_the_error() {
    let policy = Policy::embedded().expect("embedded policy");
    let error = AppError::YoutubeDownload {
        message: "HTTP 410 from YouTube".into(),
        url: Some("https://youtu.be/abc".into()),
        details: vec![("attempt".into(), "3".into())],
    };
    let through_wasm = policy
        .problem_json(&error, Some("video_unavailable"), Some("/v1/jobs/9"))
        .expect("call");
    let native_error = catalog::make_error(
        types::ErrorKind::YoutubeDownload(Some("https://youtu.be/abc".into())),
        "HTTP 410 from YouTube".into(),
        vec![("attempt".into(), "3".into())],
    );
    let native =
        catalog::problem_json(&native_error, Some("video_unavailable"), Some("/v1/jobs/9"));
    assert_eq!(through_wasm, native);
    let value: serde_json::Value = serde_json::from_str(&through_wasm).expect("json");
    assert_eq!(value["status"], 400);
    assert_eq!(value["details"]["url"], "https://youtu.be/abc");
    assert_eq!(value["details"]["attempt"], "3");
}

#[test]
fn user_message_on_the_error_enum_uses_the_catalog() {
    let error = AppError::MusicAnalysis {
        message: "12 s".into(),
        audio_path: None,
        details: vec![],
    };
    assert!(
        error
            .user_message("too_short")
            .expect("call")
            .contains("30 seconds")
    );
    assert_eq!(
        error.user_message("nope").expect("call"),
        "An error occurred: MUSIC_ANALYSIS_ERROR"
    );
}

#[test]
fn each_call_gets_a_fresh_instance() {
    // Many calls on one loaded policy: no state carries over and nothing accumulates.
    let policy = Policy::embedded().expect("embedded policy");
    for _ in 0..200 {
        assert_eq!(policy.http_status("VALIDATION_ERROR").expect("call"), 400);
    }
}
