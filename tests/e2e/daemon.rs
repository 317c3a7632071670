//! The `run` daemon: endpoints, graceful shutdown, token off loopback.

use bachata_common_tests::{Sandbox, age};

fn loopback_sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    sandbox
}

#[test]
fn serves_metrics_health_resources_and_cleanup_then_stops_cleanly() {
    let mut sandbox = loopback_sandbox();
    sandbox.env("RUST_LOG", "info");
    let old = sandbox.path().join("data/temp/old.tmp");
    std::fs::create_dir_all(old.parent().expect("parent")).expect("mkdir");
    std::fs::write(&old, b"stale").expect("write");
    age(&old, 48);
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();

    let health = client.get(daemon.url("/healthz")).send().expect("healthz");
    assert_eq!(health.status(), 200);

    let resources: serde_json::Value = client
        .get(daemon.url("/v1/resources"))
        .send()
        .expect("resources")
        .json()
        .expect("json");
    assert!(resources["memory"]["percent_used"].is_number());
    assert_eq!(resources["temp_directories"]["temp"]["file_count"], 1);

    let dry = daemon.cleanup(r#"{"dry_run": true}"#);
    assert_eq!(dry["total_files_removed"], 1);
    assert!(old.exists(), "dry run removed nothing");

    let response = client
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "application/json")
        .body(r#"{"force": tru"#)
        .send()
        .expect("bad body");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "application/problem+json"
    );

    let done = daemon.cleanup(r#"{"force": false, "dry_run": false}"#);
    for key in [
        "temporary_files",
        "cache_cleanup",
        "total_files_removed",
        "total_bytes_freed",
    ] {
        assert!(done.get(key).is_some(), "{key}");
    }
    assert_eq!(done["total_bytes_freed"], 5);
    assert!(!old.exists());

    let metrics = client
        .get(daemon.url("/metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|line| line.starts_with(name) && !line.starts_with('#'))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    assert!(value("bachata_common_memory_total_bytes") > 0.0);
    let ratio = value("bachata_common_disk_used_ratio");
    assert!((0.0..=1.0).contains(&ratio));
    assert_eq!(value("bachata_common_cleanup_removed_files_total"), 1.0);
    assert_eq!(value("bachata_common_cleanup_removed_bytes_total"), 5.0);
    assert!(
        metrics.contains("bachata_common_cleanup_runs_total{trigger=\"api\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "bachata_common_policy_info{concern=\"cleanup\",origin=\"embedded\",sha256=\""
        )
    );
    assert!(metrics.contains("bachata_common_area_files{area=\"temp\"} 0"));
    assert!(metrics.trim_end().ends_with("# EOF"));

    // A stale file appears; SIGTERM runs the final cleanup and exits 0.
    let late = sandbox.path().join("data/temp/late.tmp");
    std::fs::write(&late, b"x").expect("write");
    age(&late, 48);
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("final cleanup done"), "{stderr}");
    assert!(!late.exists());
}

#[test]
fn refuses_to_serve_off_loopback_without_a_token() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "0.0.0.0:0");
    let run = sandbox.run(&["run"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("BACHATA_API_TOKEN"));
}

#[test]
fn off_loopback_cleanup_requires_the_bearer_token() {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "0.0.0.0:0")
        .env("BACHATA_API_TOKEN", "s3cret-token-value");
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let anonymous = client.post(daemon.url("/v1/cleanup")).send().expect("post");
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .post(daemon.url("/v1/cleanup"))
        .bearer_auth("guess")
        .send()
        .expect("post");
    assert_eq!(wrong.status(), 401);
    let right = client
        .post(daemon.url("/v1/cleanup"))
        .bearer_auth("s3cret-token-value")
        .json(&serde_json::json!({"dry_run": true}))
        .send()
        .expect("post");
    assert_eq!(right.status(), 200);
    // Reading stays open.
    assert_eq!(
        client
            .get(daemon.url("/healthz"))
            .send()
            .expect("get")
            .status(),
        200
    );
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0);
    assert!(!stderr.contains("s3cret-token-value"));
}
