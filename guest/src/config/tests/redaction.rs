//! Secrets are never shown: secret variables, values holding a secret, and `.env` values
//! referring to one.

use super::*;

#[test]
fn secret_values_are_redacted_in_problems_and_settings() {
    let config = local(&[("ELASTICSEARCH_PASSWORD", "hunter2")]).expect("valid");
    let password = setting(&config, "ELASTICSEARCH_PASSWORD");
    assert!(password.secret);
    assert_eq!(password.value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("hunter2"));
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

#[test]
fn the_database_default_in_a_secret_data_directory_is_hidden() {
    // The default `MONITOR_DATABASE` is a file in the data directory (found by fuzzing).
    let config = local(&[
        ("ELASTICSEARCH_PASSWORD", "hunter2secret"),
        ("BACHATA_DATA_DIR", "/srv/hunter2secret"),
    ])
    .expect("valid");
    let database = setting(&config, "MONITOR_DATABASE");
    assert!(database.secret);
    assert_eq!(database.value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("hunter2secret"));
    let config = load(
        &[],
        Some("ELASTICSEARCH_PASSWORD=pw\nBACHATA_DATA_DIR=/srv/${ELASTICSEARCH_PASSWORD}x\n"),
        &NoSecrets,
    )
    .expect("valid");
    assert_eq!(setting(&config, "MONITOR_DATABASE").value, REDACTED);
    assert!(!format!("{:?}", config.settings).contains("/srv/"));
}
