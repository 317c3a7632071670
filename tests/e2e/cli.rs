//! The command line on its embedded defaults.

use bachata_common_tests::Sandbox;
use sha2::{Digest, Sha256};

#[test]
fn config_show_lists_every_setting_with_its_source() {
    let mut sandbox = Sandbox::new();
    sandbox.write(
        ".env",
        "ELASTICSEARCH_INDEX=from_dotenv\nYOLOV8_MAX_DET=3\n",
    );
    sandbox.env("YOLOV8_MAX_DET", "5");
    let run = sandbox.run(&["config", "show"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("environment: local"));
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {}", run.stdout))
            .to_string()
    };
    assert!(line("ELASTICSEARCH_INDEX").contains("from_dotenv"));
    assert!(line("ELASTICSEARCH_INDEX").ends_with(".env"));
    assert!(line("YOLOV8_MAX_DET").contains('5'));
    assert!(line("YOLOV8_MAX_DET").ends_with("environment"));
    assert!(line("ELASTICSEARCH_PORT").ends_with("default"));

    let json = sandbox.run(&["config", "show", "--json"]).json();
    assert_eq!(json["environment"], "local");
    assert_eq!(json["elasticsearch"]["index"], "from_dotenv");
    assert_eq!(json["elasticsearch"]["port"], 9200);
    assert_eq!(json["yolo"]["max_det"], 5);
    assert_eq!(json["yolo"]["confidence"], 0.3);
    let settings = json["settings"].as_array().expect("settings");
    assert_eq!(settings.len(), 34);
    assert!(settings.iter().any(|s| s["name"] == "MONITOR_DATABASE"
        && s["value"] == "data/monitor.sqlite3"
        && s["source"] == "default"));
    assert_eq!(json["monitor"]["retention_days"], 90);
    assert!(
        settings
            .iter()
            .any(|s| s["name"] == "YOLOV8_MAX_DET" && s["source"] == "environment")
    );
}

#[test]
fn explicit_env_file_is_read_instead_of_the_default() {
    let mut sandbox = Sandbox::new();
    sandbox.write(".env", "YOLOV8_MODEL=default.onnx\n");
    let other = sandbox.write("prod.env", "YOLOV8_MODEL=prod.onnx\n");
    sandbox.env("UNRELATED", "1");
    let json = sandbox
        .run(&[
            "config",
            "show",
            "--json",
            "--env-file",
            other.to_str().expect("utf-8"),
        ])
        .json();
    assert_eq!(json["yolo"]["model"], "prod.onnx");
}

#[test]
fn config_check_reports_every_problem_and_exits_2() {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("ELASTICSEARCH_PORT", "-1")
        .env("YOLOV8_CONFIDENCE", "1.5")
        .env("ELASTICSEARCH_USE_SSL", "ture");
    let run = sandbox.run(&["config", "check"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("3 problems"), "{}", run.stdout);
    for needle in [
        "ELASTICSEARCH_PORT=\"-1\"",
        "YOLOV8_CONFIDENCE=\"1.5\"",
        "\"ture\"",
        "1 to 65535",
        "between 0 and 1",
        "true or false",
    ] {
        assert!(run.stdout.contains(needle), "{needle} in {}", run.stdout);
    }
    let json = sandbox.run(&["config", "check", "--json"]).json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["error_code"], "VALIDATION_ERROR");
    assert_eq!(json["problems"].as_array().expect("problems").len(), 3);

    let valid = Sandbox::new().run(&["config", "check"]);
    assert_eq!(valid.code, 0);
    assert!(valid.stdout.contains("valid"));
}

#[test]
fn invalid_config_fails_other_commands_with_one_clear_line() {
    let mut sandbox = Sandbox::new();
    sandbox.env("ENVIRONMENT", "staging");
    let run = sandbox.run(&["config", "show"]);
    assert_eq!(run.code, 2);
    let first = run.error_line();
    assert!(first.starts_with("error: invalid configuration"), "{first}");
    assert!(first.contains("ENVIRONMENT=\"staging\""));
    assert!(first.contains("`local` or `cloud`"));
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn errors_list_has_the_whole_catalog() {
    let run = Sandbox::new().run(&["errors", "list", "--json"]);
    assert_eq!(run.code, 0);
    let entries = run.json();
    let entries = entries.as_array().expect("array");
    assert_eq!(entries.len(), 37);
    let codes: std::collections::BTreeSet<_> = entries
        .iter()
        .map(|e| e["error_code"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(codes.len(), 8);
    let too_long = entries
        .iter()
        .find(|e| e["error_code"] == "MUSIC_ANALYSIS_ERROR" && e["error_type"] == "too_long")
        .expect("too_long listed");
    assert_eq!(too_long["http_status"], 422);

    let text = Sandbox::new().run(&["errors", "list"]);
    assert_eq!(text.stdout.lines().count(), 37);
}

#[test]
fn errors_message_and_fallback() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["errors", "message", "VALIDATION_ERROR", "invalid_quality"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("fast, balanced or high_quality"));
    let default = sandbox.run(&["errors", "message", "RESOURCE_ERROR"]);
    assert!(default.stdout.contains("busy"), "{}", default.stdout);
    let unknown = sandbox
        .run(&["errors", "message", "WHAT_ERROR", "x", "--json"])
        .json();
    assert_eq!(unknown["message"], "An error occurred: WHAT_ERROR");
    assert_eq!(unknown["http_status"], 500);
}

#[test]
fn policy_info_names_the_embedded_component() {
    let run = Sandbox::new().run(&["policy", "info", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let info = run.json();
    assert_eq!(info["origin"], "embedded");
    let expected = hex::encode(Sha256::digest(bachata_common::policy::EMBEDDED_POLICY));
    assert_eq!(info["sha256"], expected);
    let exports = info["exports"].as_array().expect("exports");
    assert!(exports.iter().any(|e| e == "bachata:common/config@1.2.0"));
    assert!(exports.iter().any(|e| e == "bachata:common/errors@1.2.0"));
    assert!(
        info["imports"]
            .as_array()
            .expect("imports")
            .iter()
            .any(|i| i == "bachata:common/host-secrets@1.2.0")
    );
}

#[test]
fn policy_flag_loads_another_component_file() {
    let sandbox = Sandbox::new();
    let path = sandbox.write("copy.wasm", bachata_common::policy::EMBEDDED_POLICY);
    let run = sandbox.run(&["--policy", path.to_str().expect("utf-8"), "policy", "info"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("copy.wasm"));
    let message = sandbox.run(&[
        "--policy",
        "copy.wasm",
        "errors",
        "message",
        "MUSIC_ANALYSIS_ERROR",
        "too_short",
    ]);
    assert!(message.stdout.contains("30 seconds"));
}

#[test]
fn policy_wit_prints_what_the_component_imports_and_exports() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["policy", "wit"]);
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "package bachata:common@1.2.0;",
        "export bachata:common/errors@1.2.0;",
        "export bachata:common/cleanup@1.2.0;",
        "export bachata:common/events@1.2.0;",
        "import bachata:common/host-fs@1.2.0;",
        "remove: func(area: string, reason: removal-reason, paths: string) -> string;",
        "next: func(max: u32) -> page;",
        "load: func(env: list<tuple<string, string>>, dotenv: option<string>) -> result<resolved-config, config-error>;",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_perf_map_is_created_new_and_never_through_a_link() {
    let sandbox = Sandbox::new();
    let victim = sandbox.write("victim.txt", "untouched\n");
    let binary = bachata_common_tests::binary();
    // The shell's pid is the command's (exec): a link waits where the map would go.
    let script = format!(
        "ln -s '{}' /tmp/perf-$$.map; exec '{}' errors message VALIDATION_ERROR",
        victim.display(),
        binary.display()
    );
    let base = sandbox.command(&[]);
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(&script)
        .current_dir(sandbox.path())
        .env_clear();
    for (name, value) in base.get_envs() {
        if let Some(value) = value {
            shell.env(name, value);
        }
    }
    let child = shell
        .env("BACHATA_PERFMAP", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let link = format!("/tmp/perf-{}.map", child.id());
    let output = child.wait_with_output().expect("wait");
    let _ = std::fs::remove_file(&link);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "untouched\n"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("profiling stays off"),
        "{output:?}"
    );
}
