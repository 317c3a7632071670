#![allow(
    clippy::result_large_err,
    reason = "mirrors the WIT export's signature"
)]

use std::cell::RefCell;
use std::collections::HashMap;

use super::*;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn local(items: &[(&str, &str)]) -> Result<ResolvedConfig, ConfigError> {
    load(&pairs(items), None, &NoSecrets)
}

fn problems(items: &[(&str, &str)]) -> Vec<Problem> {
    match local(items) {
        Ok(config) => panic!("expected problems, got {:?}", config.settings),
        Err(error) => {
            assert_eq!(error.error.error_code, catalog::VALIDATION_ERROR);
            error.problems
        }
    }
}

fn setting<'a>(config: &'a ResolvedConfig, name: &str) -> &'a Setting {
    config
        .settings
        .iter()
        .find(|setting| setting.name == name)
        .unwrap_or_else(|| panic!("{name} recorded"))
}

/// A fake Secret Manager that records which secrets were asked for.
#[derive(Default)]
struct FakeStore {
    values: HashMap<&'static str, &'static str>,
    failing: Option<&'static str>,
    asked: RefCell<Vec<String>>,
}

impl SecretStore for FakeStore {
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String> {
        assert_eq!(project, "my-project");
        self.asked.borrow_mut().push(name.to_string());
        if self.failing == Some(name) {
            return Err("connection refused".to_string());
        }
        Ok(self.values.get(name).map(|value| value.to_string()))
    }
}

fn full_store() -> FakeStore {
    FakeStore {
        values: HashMap::from([
            ("elasticsearch-host", "es.internal"),
            ("elasticsearch-port", "9243"),
            ("elasticsearch-username", "elastic"),
            ("elasticsearch-password", "s3cr3t-pw"),
            ("yolov8-model-name", "yolo11n-pose.onnx"),
        ]),
        ..FakeStore::default()
    }
}

#[test]
fn defaults() {
    let config = local(&[]).expect("defaults are valid");
    assert_eq!(config.environment, Environment::Local);
    assert_eq!(config.gcp_project_id, None);
    let es = &config.elasticsearch;
    assert_eq!(es.host, "localhost");
    assert_eq!(es.port, 9200);
    assert_eq!(es.index, "bachata_move_embeddings");
    assert_eq!(es.username, None);
    assert_eq!(es.password, None);
    assert_eq!(es.api_key, None);
    assert!(!es.use_ssl);
    assert!(es.verify_certs);
    assert_eq!(es.max_connections, 10);
    assert_eq!(es.timeout_secs, 30);
    assert!(es.retry_on_timeout);
    let yolo = &config.yolo;
    assert_eq!(yolo.model, "yolov8n-pose.pt");
    assert_eq!(yolo.confidence, 0.3);
    assert_eq!(yolo.device, Device::Cpu);
    assert_eq!(yolo.iou_threshold, 0.5);
    assert_eq!(yolo.max_det, 10);
    assert!(config.settings.iter().all(|s| s.source == Source::Default));
}

#[test]
fn explicit_values_are_parsed() {
    let config = local(&[
        ("ENVIRONMENT", "LOCAL"),
        ("ELASTICSEARCH_HOST", "es.example.com"),
        ("ELASTICSEARCH_PORT", "9201"),
        ("ELASTICSEARCH_INDEX", "moves"),
        ("ELASTICSEARCH_USERNAME", "elastic"),
        ("ELASTICSEARCH_PASSWORD", "pw"),
        ("ELASTICSEARCH_USE_SSL", "true"),
        ("ELASTICSEARCH_VERIFY_CERTS", "False"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "25"),
        ("ELASTICSEARCH_TIMEOUT", "60"),
        ("ELASTICSEARCH_RETRY_ON_TIMEOUT", "no"),
        ("YOLOV8_MODEL", "models/yolo11n-pose.onnx"),
        ("YOLOV8_CONFIDENCE", "0.45"),
        ("YOLOV8_DEVICE", "CUDA"),
        ("YOLOV8_IOU_THRESHOLD", "0.7"),
        ("YOLOV8_MAX_DET", "3"),
    ])
    .expect("valid");
    let es = &config.elasticsearch;
    assert_eq!(
        (es.host.as_str(), es.port, es.index.as_str()),
        ("es.example.com", 9201, "moves")
    );
    assert_eq!(es.username.as_deref(), Some("elastic"));
    assert_eq!(es.password.as_deref(), Some("pw"));
    assert!(es.use_ssl && !es.verify_certs && !es.retry_on_timeout);
    assert_eq!((es.max_connections, es.timeout_secs), (25, 60));
    assert_eq!(config.yolo.model, "models/yolo11n-pose.onnx");
    assert_eq!(config.yolo.confidence, 0.45);
    assert_eq!(config.yolo.device, Device::Cuda);
    assert_eq!(config.yolo.iou_threshold, 0.7);
    assert_eq!(config.yolo.max_det, 3);
    assert_eq!(
        setting(&config, "ELASTICSEARCH_PORT").source,
        Source::Environment
    );
}

#[test]
fn api_key_mode_forces_tls_and_port_443() {
    let config = local(&[
        ("ELASTICSEARCH_API_KEY", "key-123"),
        ("ELASTICSEARCH_USE_SSL", "false"),
        ("ELASTICSEARCH_VERIFY_CERTS", "false"),
    ])
    .expect("valid");
    let es = &config.elasticsearch;
    assert_eq!(es.api_key.as_deref(), Some("key-123"));
    assert_eq!(es.port, 443);
    assert!(es.use_ssl);
    assert!(es.verify_certs);
    assert_eq!(
        setting(&config, "ELASTICSEARCH_PORT").source,
        Source::Derived
    );
    assert_eq!(
        setting(&config, "ELASTICSEARCH_USE_SSL").source,
        Source::Derived
    );
    assert_eq!(setting(&config, "ELASTICSEARCH_API_KEY").value, REDACTED);

    let explicit_port = local(&[
        ("ELASTICSEARCH_API_KEY", "key-123"),
        ("ELASTICSEARCH_PORT", "9243"),
    ])
    .expect("valid");
    assert_eq!(explicit_port.elasticsearch.port, 9243);
}

#[test]
fn process_environment_beats_dotenv() {
    let config = load(
        &pairs(&[("ELASTICSEARCH_HOST", "from-env")]),
        Some("ELASTICSEARCH_HOST=from-dotenv\nYOLOV8_MAX_DET=4\n"),
        &NoSecrets,
    )
    .expect("valid");
    assert_eq!(config.elasticsearch.host, "from-env");
    assert_eq!(
        setting(&config, "ELASTICSEARCH_HOST").source,
        Source::Environment
    );
    assert_eq!(config.yolo.max_det, 4);
    assert_eq!(setting(&config, "YOLOV8_MAX_DET").source, Source::Dotenv);
}

#[test]
fn unknown_environment_names_variable_and_allowed_values() {
    let found = problems(&[("ENVIRONMENT", "production")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].variable, "ENVIRONMENT");
    assert_eq!(found[0].value.as_deref(), Some("production"));
    assert!(
        found[0].message.contains("`local` or `cloud`"),
        "{}",
        found[0].message
    );
}

#[test]
fn each_bad_value_is_a_problem_naming_variable_value_and_rule() {
    let cases: &[(&str, &str, &str)] = &[
        ("ELASTICSEARCH_HOST", "", "non-empty"),
        ("ELASTICSEARCH_PORT", "-1", "1 to 65535"),
        ("ELASTICSEARCH_PORT", "0", "1 to 65535"),
        ("ELASTICSEARCH_PORT", "65536", "1 to 65535"),
        ("ELASTICSEARCH_PORT", "92OO", "1 to 65535"),
        ("ELASTICSEARCH_INDEX", "", "non-empty"),
        ("ELASTICSEARCH_USE_SSL", "ture", "true or false"),
        ("ELASTICSEARCH_VERIFY_CERTS", "maybe", "true or false"),
        ("ELASTICSEARCH_RETRY_ON_TIMEOUT", "", "true or false"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "0", "from 1 to 10000"),
        ("ELASTICSEARCH_TIMEOUT", "thirty", "from 1 to 86400"),
        ("YOLOV8_MODEL", "", "non-empty"),
        ("YOLOV8_CONFIDENCE", "1.5", "between 0 and 1"),
        ("YOLOV8_CONFIDENCE", "-0.1", "between 0 and 1"),
        ("YOLOV8_CONFIDENCE", "NaN", "between 0 and 1"),
        ("YOLOV8_DEVICE", "tpu", "`cpu`, `cuda` or `auto`"),
        ("YOLOV8_IOU_THRESHOLD", "2", "between 0 and 1"),
        ("YOLOV8_MAX_DET", "0", "from 1 to 10000"),
    ];
    for (variable, value, rule) in cases {
        let found = problems(&[(variable, value)]);
        assert_eq!(found.len(), 1, "{variable}={value}");
        let problem = &found[0];
        assert_eq!(problem.variable, *variable);
        assert_eq!(problem.value.as_deref(), Some(*value));
        assert!(problem.expected.contains(rule), "{}", problem.expected);
        assert!(problem.message.contains(variable), "{}", problem.message);
        assert!(
            problem.message.contains(&format!("{value:?}")),
            "{}",
            problem.message
        );
    }
}

#[test]
fn all_problems_are_reported_together() {
    let error = local(&[
        ("ELASTICSEARCH_PORT", "abc"),
        ("YOLOV8_CONFIDENCE", "7"),
        ("YOLOV8_DEVICE", "gpu"),
    ])
    .expect_err("invalid");
    let variables: Vec<_> = error.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        variables,
        ["ELASTICSEARCH_PORT", "YOLOV8_CONFIDENCE", "YOLOV8_DEVICE"]
    );
    assert!(error.error.message.contains("3 problems"));
    for variable in variables {
        assert!(error.error.message.contains(variable));
        assert!(error.error.details.iter().any(|(key, _)| key == variable));
    }
    assert!(matches!(
        &error.error.kind,
        ErrorKind::Validation(ValidationContext { field: Some(field), .. }) if field == "ELASTICSEARCH_PORT"
    ));
}

#[test]
fn secret_values_are_redacted_in_problems_and_settings() {
    let config = local(&[("ELASTICSEARCH_PASSWORD", "hunter2")]).expect("valid");
    let password = setting(&config, "ELASTICSEARCH_PASSWORD");
    assert!(password.secret);
    assert_eq!(password.value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("hunter2"));
}

#[test]
fn dotenv_syntax_error_names_the_line() {
    let error = load(&[], Some("A=1\nB=\"open\n"), &NoSecrets).expect_err("invalid");
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].variable, ".env");
    assert!(
        error.error.message.contains("line 2"),
        "{}",
        error.error.message
    );
}

#[test]
fn a_malformed_dotenv_is_one_problem_among_the_others() {
    let error = load(
        &pairs(&[("ELASTICSEARCH_PORT", "abc")]),
        Some("not valid\n"),
        &NoSecrets,
    )
    .expect_err("invalid");
    let variables: Vec<&str> = error.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(variables, [".env", "ELASTICSEARCH_PORT"]);
}

#[test]
fn a_malformed_dotenv_is_not_read_in_the_cloud() {
    let store = full_store();
    let env = pairs(&[("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "my-project")]);
    let config = load(&env, Some("not a valid line\n"), &store).expect("valid");
    assert_eq!(config.environment, Environment::Cloud);
}

#[test]
fn thresholds_are_compared_only_when_both_are_valid() {
    let found = problems(&[
        ("MEMORY_WARNING_THRESHOLD", "0.95"),
        ("MEMORY_CRITICAL_THRESHOLD", "2"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].variable, "MEMORY_CRITICAL_THRESHOLD");
    let found = problems(&[("MEMORY_WARNING_THRESHOLD", "0.95")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("is unset and its default 0.9"),
        "{}",
        found[0].message
    );
    assert!(
        !found[0].message.contains("required"),
        "{}",
        found[0].message
    );
}

#[test]
fn environment_may_come_from_dotenv() {
    let error = load(&[], Some("ENVIRONMENT=cloud\n"), &NoSecrets).expect_err("no project");
    assert_eq!(error.problems[0].variable, "GCP_PROJECT_ID");
}

#[test]
fn cloud_requires_a_project() {
    let found = problems(&[("ENVIRONMENT", "cloud")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].variable, "GCP_PROJECT_ID");
    assert!(found[0].message.contains("required"));
}

#[test]
fn cloud_reads_missing_values_from_secrets_and_environment_wins() {
    let store = full_store();
    let env = pairs(&[
        ("ENVIRONMENT", "cloud"),
        ("GCP_PROJECT_ID", "my-project"),
        ("ELASTICSEARCH_HOST", "env-host"),
    ]);
    let config = load(&env, Some("YOLOV8_MAX_DET=2\n"), &store).expect("valid");
    assert_eq!(config.environment, Environment::Cloud);
    assert_eq!(config.gcp_project_id.as_deref(), Some("my-project"));
    assert_eq!(config.elasticsearch.host, "env-host");
    assert_eq!(config.elasticsearch.port, 9243);
    assert_eq!(config.elasticsearch.username.as_deref(), Some("elastic"));
    assert_eq!(config.elasticsearch.password.as_deref(), Some("s3cr3t-pw"));
    assert_eq!(config.yolo.model, "yolo11n-pose.onnx");
    // `.env` is not read in the cloud.
    assert_eq!(config.yolo.max_det, 10);
    assert_eq!(
        *store.asked.borrow(),
        [
            "elasticsearch-port",
            "elasticsearch-username",
            "elasticsearch-password",
            "yolov8-model-name"
        ]
    );
    let port = setting(&config, "ELASTICSEARCH_PORT");
    assert_eq!(port.source, Source::SecretManager);
    assert_eq!(port.value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("s3cr3t-pw"));
}

#[test]
fn cloud_missing_or_unreadable_secret_is_service_unavailable() {
    let env = pairs(&[("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "my-project")]);
    let mut store = full_store();
    store.values.remove("elasticsearch-username");
    let error = load(&env, None, &store).expect_err("missing secret");
    assert_eq!(error.error.error_code, catalog::SERVICE_UNAVAILABLE_ERROR);
    assert!(error.error.message.contains("elasticsearch-username"));
    assert!(
        matches!(&error.error.kind, ErrorKind::ServiceUnavailable(Some(s)) if s == "secret_manager")
    );

    let store = FakeStore {
        failing: Some("elasticsearch-host"),
        ..full_store()
    };
    let error = load(&env, None, &store).expect_err("unreadable secret");
    assert_eq!(error.error.error_code, catalog::SERVICE_UNAVAILABLE_ERROR);
    assert!(error.error.message.contains("elasticsearch-host"));
    assert!(error.error.message.contains("connection refused"));
}

#[test]
fn bad_secret_value_is_a_redacted_validation_problem() {
    let env = pairs(&[("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "my-project")]);
    let mut store = full_store();
    store.values.insert("elasticsearch-port", "not-a-port");
    let error = load(&env, None, &store).expect_err("invalid");
    assert_eq!(error.problems[0].variable, "ELASTICSEARCH_PORT");
    assert_eq!(error.problems[0].value.as_deref(), Some(REDACTED));
    assert!(!error.error.message.contains("not-a-port"));
}

#[test]
fn resource_and_daemon_defaults() {
    let config = local(&[]).expect("defaults are valid");
    let resources = &config.resources;
    assert_eq!(resources.data_dir, "data");
    assert_eq!(resources.areas, ["temp", "cache", "output"]);
    assert_eq!(resources.max_temp_age_hours, 24.0);
    assert_eq!(resources.max_cache_size_gb, 5.0);
    assert_eq!(resources.cache_low_water_ratio, 0.8);
    assert_eq!(resources.memory_warning_threshold, 0.85);
    assert_eq!(resources.disk_warning_threshold, 0.90);
    assert_eq!(resources.memory_critical_threshold, 0.90);
    assert_eq!(resources.monitor_interval_secs, 300);
    assert_eq!(resources.cleanup_interval_hours, 6.0);
    assert_eq!(config.daemon.listen, "127.0.0.1:9464");
    assert_eq!(config.daemon.api_token, None);
}

#[test]
fn resource_settings_are_validated() {
    let cases: &[(&str, &str)] = &[
        ("BACHATA_DATA_DIR", ""),
        ("BACHATA_AREAS", "temp,../etc"),
        ("BACHATA_AREAS", "temp,temp"),
        ("MAX_TEMP_AGE_HOURS", "-1"),
        ("MAX_CACHE_SIZE_GB", "0"),
        ("CACHE_LOW_WATER_RATIO", "1.5"),
        ("MEMORY_WARNING_THRESHOLD", "85"),
        ("DISK_WARNING_THRESHOLD", "0"),
        ("MONITOR_INTERVAL_SECS", "0"),
        ("CLEANUP_INTERVAL_HOURS", "inf"),
        ("BACHATA_LISTEN", "localhost"),
    ];
    for (variable, value) in cases {
        let found = problems(&[(variable, value)]);
        assert_eq!(found.len(), 1, "{variable}={value}");
        assert_eq!(found[0].variable, *variable);
    }
    let found = problems(&[
        ("MEMORY_WARNING_THRESHOLD", "0.95"),
        ("MEMORY_CRITICAL_THRESHOLD", "0.9"),
    ]);
    assert_eq!(found[0].variable, "MEMORY_CRITICAL_THRESHOLD");
    assert!(found[0].expected.contains("MEMORY_WARNING_THRESHOLD"));
    let token = local(&[("BACHATA_API_TOKEN", "tok-123")]).expect("valid");
    assert_eq!(setting(&token, "BACHATA_API_TOKEN").value, REDACTED);
}

/// A value of each numeric setting outside its range, and the range its `expected` states.
const OUT_OF_RANGE: &[(&str, &str, &str)] = &[
    (
        "CLEANUP_INTERVAL_HOURS",
        "1e300",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "1e-9",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "0.0002",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "8760.001",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "0",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "inf",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "-inf",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "NaN",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    ("MONITOR_INTERVAL_SECS", "0", "from 1 to 31536000 (1 year)"),
    (
        "MONITOR_INTERVAL_SECS",
        "31536001",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "1e300",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "1.5",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "NaN",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "18446744073709551616",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "-1e-9",
        "from 0 to 876000 (100 years)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "876000.5",
        "from 0 to 876000 (100 years)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "1e300",
        "from 0 to 876000 (100 years)",
    ),
    ("MAX_TEMP_AGE_HOURS", "inf", "from 0 to 876000 (100 years)"),
    ("MAX_TEMP_AGE_HOURS", "NaN", "from 0 to 876000 (100 years)"),
    (
        "MAX_CACHE_SIZE_GB",
        "0",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "-1e-9",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "1048576.5",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "1e300",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "inf",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "NaN",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    ("ELASTICSEARCH_TIMEOUT", "0", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "86401", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "1e300", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "NaN", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "0", "from 1 to 10000"),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "10001", "from 1 to 10000"),
    (
        "ELASTICSEARCH_MAX_CONNECTIONS",
        "4294967296",
        "from 1 to 10000",
    ),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "inf", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "0", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "10001", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "1e300", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "NaN", "from 1 to 10000"),
    ("YOLOV8_THREADS", "1025", "up to 1024"),
    ("YOLOV8_THREADS", "-1", "up to 1024"),
    ("YOLOV8_THREADS", "inf", "up to 1024"),
];

#[test]
fn numeric_settings_out_of_range_are_problems_stating_the_range() {
    for (variable, value, range) in OUT_OF_RANGE {
        let found = problems(&[(variable, value)]);
        assert_eq!(found.len(), 1, "{variable}={value}: {found:?}");
        let problem = &found[0];
        assert_eq!(problem.variable, *variable);
        assert_eq!(problem.value.as_deref(), Some(*value));
        assert!(
            problem.expected.contains(range),
            "{variable}={value}: {}",
            problem.expected
        );
        assert!(
            problem.message.contains(&format!("{value:?}")) && problem.message.contains(range),
            "{}",
            problem.message
        );
    }
}

#[test]
fn numeric_settings_accept_both_ends_of_their_range() {
    let one_second = (1.0f64 / 3600.0).to_string();
    let low = local(&[
        ("CLEANUP_INTERVAL_HOURS", one_second.as_str()),
        ("MONITOR_INTERVAL_SECS", "1"),
        ("MAX_TEMP_AGE_HOURS", "0"),
        ("MAX_CACHE_SIZE_GB", "1e-9"),
        ("ELASTICSEARCH_TIMEOUT", "1"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "1"),
        ("YOLOV8_MAX_DET", "1"),
        ("YOLOV8_THREADS", "0"),
    ])
    .expect("the lower bounds are valid");
    let resources = &low.resources;
    assert_eq!(resources.cleanup_interval_hours, 1.0 / 3600.0);
    assert_eq!(resources.monitor_interval_secs, 1);
    assert_eq!(resources.max_temp_age_hours, 0.0);
    assert_eq!(resources.max_cache_size_gb, 1e-9);
    assert_eq!(low.elasticsearch.timeout_secs, 1);
    assert_eq!(low.elasticsearch.max_connections, 1);
    assert_eq!((low.yolo.max_det, low.yolo.threads), (1, 0));
    assert!(local(&[("CLEANUP_INTERVAL_HOURS", "0.000278")]).is_ok());

    let high = local(&[
        ("CLEANUP_INTERVAL_HOURS", "8760"),
        ("MONITOR_INTERVAL_SECS", "31536000"),
        ("MAX_TEMP_AGE_HOURS", "876000"),
        ("MAX_CACHE_SIZE_GB", "1048576"),
        ("ELASTICSEARCH_TIMEOUT", "86400"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "10000"),
        ("YOLOV8_MAX_DET", "10000"),
        ("YOLOV8_THREADS", "1024"),
    ])
    .expect("the upper bounds are valid");
    let resources = &high.resources;
    assert_eq!(resources.cleanup_interval_hours, 8760.0);
    assert_eq!(resources.monitor_interval_secs, 31_536_000);
    assert_eq!(resources.max_temp_age_hours, 876_000.0);
    assert_eq!(resources.max_cache_size_gb, 1_048_576.0);
    assert_eq!(high.elasticsearch.timeout_secs, 86_400);
    assert_eq!(high.elasticsearch.max_connections, 10_000);
    assert_eq!((high.yolo.max_det, high.yolo.threads), (10_000, 1024));
}

#[test]
fn areas_must_include_temp() {
    for value in ["cache", "cache,output", "tmp,cache", "temporary"] {
        let found = problems(&[("BACHATA_AREAS", value)]);
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert_eq!(found[0].variable, "BACHATA_AREAS");
        assert_eq!(found[0].value.as_deref(), Some(value));
        assert!(
            found[0].expected.contains("including `temp`"),
            "{}",
            found[0].expected
        );
    }
    for value in ["temp", "cache, temp", "output,temp,cache"] {
        let config = local(&[("BACHATA_AREAS", value)]).expect("temp is managed");
        assert!(config.resources.areas.iter().any(|area| area == "temp"));
    }
}

/// Everything a failed load shows: its problems, message and details.
fn shown(error: &ConfigError) -> String {
    format!("{:?} {:?}", error.problems, error.error)
}

#[test]
fn a_value_expanded_from_a_dotenv_secret_is_hidden() {
    let error = load(
        &[],
        Some(
            "ELASTICSEARCH_PASSWORD=hunter2secret\nELASTICSEARCH_PORT=${ELASTICSEARCH_PASSWORD}\n",
        ),
        &NoSecrets,
    )
    .expect_err("the port is not a number");
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].variable, "ELASTICSEARCH_PORT");
    assert_eq!(error.problems[0].value.as_deref(), Some(REDACTED));
    assert!(
        !shown(&error).contains("hunter2secret"),
        "{}",
        shown(&error)
    );
}

#[test]
fn a_value_holding_an_environment_secret_is_hidden() {
    let error = local(&[
        ("ELASTICSEARCH_PASSWORD", "hunter2secret"),
        ("ELASTICSEARCH_PORT", "hunter2secret"),
    ])
    .expect_err("the port is not a number");
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].value.as_deref(), Some(REDACTED));
    assert!(
        !shown(&error).contains("hunter2secret"),
        "{}",
        shown(&error)
    );

    // A value that holds a secret anywhere is hidden in the settings too.
    let config = local(&[
        ("ELASTICSEARCH_API_KEY", " key-123 "),
        ("ELASTICSEARCH_USERNAME", "user-key-123"),
        ("YOLOV8_MODEL", "models/key-123.onnx"),
    ])
    .expect("valid");
    for name in ["ELASTICSEARCH_USERNAME", "YOLOV8_MODEL"] {
        let setting = setting(&config, name);
        assert!(setting.secret, "{name}");
        assert_eq!(setting.value, REDACTED, "{name}");
    }
    assert!(!format!("{:?}", config.settings).contains("key-123"));
}

#[test]
fn a_dotenv_value_referring_to_a_secret_is_hidden_even_when_it_expands_to_nothing() {
    // `$NAME`, `${NAME}`, through another variable, and with a later definition of the secret.
    for text in [
        "ELASTICSEARCH_PORT=x${ELASTICSEARCH_API_KEY}\n",
        "ELASTICSEARCH_PORT=x$ELASTICSEARCH_API_KEY\n",
        "PLAIN=${BACHATA_API_TOKEN}\nELASTICSEARCH_PORT=x${PLAIN}\n",
    ] {
        let error = load(&[], Some(text), &NoSecrets).expect_err("the port is not a number");
        assert_eq!(error.problems[0].variable, "ELASTICSEARCH_PORT", "{text}");
        assert_eq!(error.problems[0].value.as_deref(), Some(REDACTED), "{text}");
    }
    let config = load(
        &pairs(&[("ELASTICSEARCH_INDEX", "second")]),
        Some("ELASTICSEARCH_PASSWORD=first\nELASTICSEARCH_PASSWORD=second\n"),
        &NoSecrets,
    )
    .expect("valid");
    assert_eq!(config.elasticsearch.password.as_deref(), Some("first"));
    assert_eq!(setting(&config, "ELASTICSEARCH_INDEX").value, REDACTED);
}

#[test]
fn values_without_a_secret_stay_visible() {
    let config = load(
        &pairs(&[("ELASTICSEARCH_PASSWORD", "9")]),
        Some("ELASTICSEARCH_HOST=es-${BACHATA_UNSET_VARIABLE}\nELASTICSEARCH_INDEX=moves\n"),
        &NoSecrets,
    )
    .expect("valid");
    // A default is never a secret, even when a secret is part of it.
    assert_eq!(setting(&config, "ELASTICSEARCH_PORT").value, "9200");
    assert_eq!(setting(&config, "ELASTICSEARCH_INDEX").value, "moves");
    assert_eq!(setting(&config, "ELASTICSEARCH_HOST").value, "es-");
}

#[test]
fn a_value_holding_a_secret_manager_value_is_hidden() {
    let store = full_store();
    let env = pairs(&[
        ("ENVIRONMENT", "cloud"),
        ("GCP_PROJECT_ID", "my-project"),
        ("ELASTICSEARCH_INDEX", "moves-s3cr3t-pw"),
        ("ELASTICSEARCH_TIMEOUT", "s3cr3t-pw"),
    ]);
    let error = load(&env, None, &store).expect_err("the timeout is not a number");
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].variable, "ELASTICSEARCH_TIMEOUT");
    assert_eq!(error.problems[0].value.as_deref(), Some(REDACTED));
    assert!(!shown(&error).contains("s3cr3t"), "{}", shown(&error));
    let env = pairs(&[
        ("ENVIRONMENT", "cloud"),
        ("GCP_PROJECT_ID", "my-project"),
        ("ELASTICSEARCH_INDEX", "moves-s3cr3t-pw"),
    ]);
    let config = load(&env, None, &store).expect("valid");
    assert_eq!(setting(&config, "ELASTICSEARCH_INDEX").value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("s3cr3t"));
}
