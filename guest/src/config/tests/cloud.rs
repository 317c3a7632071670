//! The cloud: the project, values read from Secret Manager, and its failures.

use super::*;

#[test]
fn a_malformed_dotenv_is_not_read_in_the_cloud() {
    let store = full_store();
    let env = pairs(&[("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "my-project")]);
    let config = load(&env, Some("not a valid line\n"), &store).expect("valid");
    assert_eq!(config.environment, Environment::Cloud);
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
fn the_cloud_uses_tls_by_default_as_the_original_did() {
    let store = full_store();
    let env = pairs(&[("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "my-project")]);
    let config = load(&env, None, &store).expect("valid");
    assert!(config.elasticsearch.use_ssl);
    assert!(config.elasticsearch.verify_certs);
    let env = pairs(&[
        ("ENVIRONMENT", "cloud"),
        ("GCP_PROJECT_ID", "my-project"),
        ("ELASTICSEARCH_USE_SSL", "false"),
    ]);
    let config = load(&env, None, &store).expect("valid");
    assert!(
        !config.elasticsearch.use_ssl,
        "an explicit setting still wins"
    );
    assert!(!local(&[]).expect("valid").elasticsearch.use_ssl);
}
