//! Passwords, API keys and secret values never reach any output or log line.

use bachata_common::Policy;
use bachata_common::config;
use bachata_common_tests::Sandbox;

const PASSWORD: &str = "pw-Zq81-never-shown";
const API_KEY: &str = "key-Xr55-never-shown";
/// Everything this crate and its HTTP stack log (the compiler's own traces are left out:
/// they are huge and never see configuration).
pub const LOG_FILTER: &str =
    "info,bachata_common=trace,reqwest=trace,hyper=trace,hyper_util=trace,gcp_auth=trace";

#[test]
fn cli_output_and_debug_logs_never_show_secrets() {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("ELASTICSEARCH_PASSWORD", PASSWORD)
        .env("ELASTICSEARCH_API_KEY", API_KEY)
        .env("RUST_LOG", LOG_FILTER);
    let mut outputs = Vec::new();
    for args in [
        &["config", "show"][..],
        &["config", "show", "--json"],
        &["config", "check"],
        &["config", "check", "--json"],
        &["-v", "config", "show"],
    ] {
        let run = sandbox.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        outputs.push(run.all_output());
    }
    // Invalid values of secret variables are redacted in problems too.
    let mut invalid = Sandbox::new();
    invalid
        .env("ELASTICSEARCH_PASSWORD", PASSWORD)
        .env("ELASTICSEARCH_API_KEY", API_KEY)
        .env("ELASTICSEARCH_PORT", "nope");
    for args in [
        &["config", "check"][..],
        &["config", "check", "--json"],
        &["config", "show", "--json"],
    ] {
        let run = invalid.run(args);
        assert_eq!(run.code, 2);
        outputs.push(run.all_output());
    }
    for output in &outputs {
        assert!(!output.contains(PASSWORD), "password leaked: {output}");
        assert!(!output.contains(API_KEY), "API key leaked: {output}");
    }
    assert!(outputs[0].contains("ELASTICSEARCH_PASSWORD"));
    assert!(outputs[0].contains("***"));
}

#[test]
fn debug_format_of_the_config_redacts() {
    let policy = Policy::embedded().expect("embedded policy");
    let env = vec![
        ("ELASTICSEARCH_PASSWORD".to_string(), PASSWORD.to_string()),
        ("ELASTICSEARCH_API_KEY".to_string(), API_KEY.to_string()),
    ];
    let config = config::resolve(&policy, &env, None).expect("valid");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains(API_KEY),
        "{debug}"
    );
    let json = serde_json::to_string(&config).expect("serialize");
    assert!(
        !json.contains(PASSWORD) && !json.contains(API_KEY),
        "{json}"
    );
    // The values are still there for the code that needs them.
    let es = &config.elasticsearch;
    assert_eq!(es.password.as_ref().map(|s| s.expose()), Some(PASSWORD));
    assert_eq!(es.api_key.as_ref().map(|s| s.expose()), Some(API_KEY));
}
