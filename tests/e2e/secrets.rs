//! Cloud mode against a fake Secret Manager on 127.0.0.1, through the real HTTP client.

use bachata_common_tests::fake_gcp::{Answer, FakeGcp, TOKEN};
use bachata_common_tests::{Run, Sandbox};

const PROJECT: &str = "bachata-test-project";
const SECRET_PASSWORD: &str = "sm-pw-9fK2-never-shown";

fn all_secrets() -> Vec<(&'static str, Answer)> {
    vec![
        ("elasticsearch-host", Answer::Value("es.internal".into())),
        ("elasticsearch-port", Answer::Value("9243".into())),
        ("elasticsearch-username", Answer::Value("elastic".into())),
        (
            "elasticsearch-password",
            Answer::Value(SECRET_PASSWORD.into()),
        ),
        (
            "yolov8-model-name",
            Answer::Value("yolo11n-pose.onnx".into()),
        ),
    ]
}

/// A cloud-mode sandbox whose tokens come from the fake metadata server.
fn cloud(fake: &FakeGcp) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("ENVIRONMENT", "cloud")
        .env("GCP_PROJECT_ID", PROJECT)
        .env("SECRET_MANAGER_ENDPOINT", &fake.endpoint())
        .env("GCE_METADATA_HOST", &fake.host())
        .env("RUST_LOG", crate::redaction::LOG_FILTER);
    sandbox
}

fn assert_no_leak(run: &Run) {
    let output = run.all_output();
    assert!(!output.contains(SECRET_PASSWORD), "secret leaked: {output}");
    assert!(!output.contains(TOKEN), "token leaked: {output}");
}

#[test]
fn secrets_are_fetched_for_missing_values() {
    let fake = FakeGcp::start(PROJECT, &all_secrets());
    let run = cloud(&fake).run(&["config", "show", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_leak(&run);
    let json = run.json();
    assert_eq!(json["environment"], "cloud");
    assert_eq!(json["gcp_project_id"], PROJECT);
    // Values read from Secret Manager are masked in the typed sections too, as in the text.
    for (section, key) in [
        ("elasticsearch", "host"),
        ("elasticsearch", "port"),
        ("elasticsearch", "username"),
        ("elasticsearch", "password"),
        ("yolo", "model"),
    ] {
        assert_eq!(json[section][key], "***", "{section}.{key}");
    }
    for value in ["es.internal", "\"elastic\"", "yolo11n-pose.onnx", "9243"] {
        assert!(!run.stdout.contains(value), "{value} shown: {}", run.stdout);
    }
    let settings = json["settings"].as_array().expect("settings");
    let host = settings
        .iter()
        .find(|s| s["name"] == "ELASTICSEARCH_HOST")
        .expect("host");
    assert_eq!(host["source"], "secret_manager");
    assert_eq!(host["value"], "***");
    assert_eq!(fake.asked().len(), 5);
}

#[test]
fn environment_wins_over_secrets() {
    let fake = FakeGcp::start(PROJECT, &all_secrets());
    let mut sandbox = cloud(&fake);
    sandbox
        .env("ELASTICSEARCH_HOST", "env-host")
        .env("YOLOV8_MODEL", "env.onnx");
    let run = sandbox.run(&["config", "show", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_leak(&run);
    let json = run.json();
    assert_eq!(json["elasticsearch"]["host"], "env-host");
    assert_eq!(json["yolo"]["model"], "env.onnx");
    let asked = fake.asked();
    assert!(
        !asked
            .iter()
            .any(|s| s == "elasticsearch-host" || s == "yolov8-model-name"),
        "{asked:?}"
    );
    assert_eq!(asked.len(), 3);
}

#[test]
fn missing_secret_is_a_clear_service_error() {
    let fake = FakeGcp::start(
        PROJECT,
        &all_secrets()
            .into_iter()
            .filter(|(name, _)| *name != "elasticsearch-username")
            .collect::<Vec<_>>(),
    );
    let run = cloud(&fake).run(&["config", "check", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let first = run.error_line();
    assert!(first.contains("elasticsearch-username"), "{first}");
    assert!(first.contains("does not exist"), "{first}");
    let problem = run.json();
    assert_eq!(problem["error_code"], "SERVICE_UNAVAILABLE_ERROR");
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["details"]["service_name"], "secret_manager");
    assert_eq!(problem["details"]["secret"], "elasticsearch-username");
}

#[test]
fn corrupted_payload_fails_its_checksum() {
    let mut secrets = all_secrets();
    secrets[3] = (
        "elasticsearch-password",
        Answer::Corrupted(SECRET_PASSWORD.into()),
    );
    let fake = FakeGcp::start(PROJECT, &secrets);
    let run = cloud(&fake).run(&["config", "show"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_no_leak(&run);
    let first = run.error_line();
    assert!(
        first.contains("elasticsearch-password") && first.contains("CRC32C"),
        "{first}"
    );
}

#[test]
fn no_token_source_is_a_clear_error() {
    let fake = FakeGcp::start(PROJECT, &all_secrets());
    // Nothing listens on the metadata address.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr").to_string();
    drop(closed);
    let mut sandbox = cloud(&fake);
    sandbox.env("GCE_METADATA_HOST", &closed_addr);
    let run = sandbox.run(&["config", "show"]);
    assert_eq!(run.code, 1, "{run:?}");
    let first = run.error_line();
    assert!(first.contains("no Google Cloud credentials"), "{first}");
    assert!(first.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{first}");
    assert!(fake.asked().is_empty());
}

#[test]
fn missing_project_in_cloud_is_a_validation_error() {
    let mut sandbox = Sandbox::new();
    sandbox.env("ENVIRONMENT", "cloud");
    let run = sandbox.run(&["config", "check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("GCP_PROJECT_ID is required"),
        "{}",
        run.stdout
    );
}

#[test]
fn service_account_key_is_exchanged_for_a_token() {
    let fake = FakeGcp::start(PROJECT, &all_secrets());
    let sandbox = cloud(&fake);
    let key = sandbox.path().join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    let pem = std::fs::read_to_string(&key).expect("key");
    let credentials = serde_json::json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "test-key",
        "private_key": pem,
        "client_email": "bachata@bachata-test-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": format!("{}/token", fake.endpoint()),
    });
    let path = sandbox.write("sa.json", credentials.to_string());
    let mut sandbox = sandbox;
    // The metadata server would also work; the key must be preferred.
    sandbox
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            path.to_str().expect("utf-8"),
        )
        .env("GCE_METADATA_HOST", "127.0.0.1:9");
    let run = sandbox.run(&["config", "show", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_leak(&run);
    assert_eq!(run.json()["elasticsearch"]["host"], "***");
    assert_eq!(
        fake.token_requests(),
        ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    );
}
