//! Resolution from the environment and `.env`: defaults, parsed values, precedence, and
//! every bad value reported as a problem.

use super::*;

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
fn environment_may_come_from_dotenv() {
    let error = load(&[], Some("ENVIRONMENT=cloud\n"), &NoSecrets).expect_err("no project");
    assert_eq!(error.problems[0].variable, "GCP_PROJECT_ID");
}

#[test]
fn dotenv_variables_are_every_variable_of_the_file_as_load_reads_it() {
    let text =
        "\u{feff}ZED='quoted value'\nDJANGO_SECRET=abc\r\nDJANGO_SECRET=second\nREF=${ZED}-x\n";
    let variables = dotenv_variables(text).expect("valid");
    assert_eq!(
        variables,
        [
            ("DJANGO_SECRET".to_string(), "abc".to_string()),
            ("REF".to_string(), "quoted value-x".to_string()),
            ("ZED".to_string(), "quoted value".to_string()),
        ]
    );
    let config = load(
        &[],
        Some("ELASTICSEARCH_HOST=es\nELASTICSEARCH_HOST=other\n"),
        &NoSecrets,
    )
    .expect("valid");
    let from_file = dotenv_variables("ELASTICSEARCH_HOST=es\nELASTICSEARCH_HOST=other\n").unwrap();
    assert_eq!(from_file[0].1, config.elasticsearch.host);
}

#[test]
fn dotenv_variables_of_a_malformed_file_name_the_line() {
    let error = dotenv_variables("A=1\nB=\"open\n").expect_err("invalid");
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].variable, ".env");
    assert!(
        error.error.message.contains("line 2"),
        "{}",
        error.error.message
    );
}
