//! Bad input gets one clear error line, the right exit code and no panic.

use bachata_common_tests::{Run, Sandbox};

fn assert_clear_failure(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, code, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "{}", run.stderr);
    let first = run.error_line();
    for needle in needles {
        assert!(first.contains(needle), "{needle:?} not in {first:?}");
    }
}

#[test]
fn policy_that_is_not_wasm() {
    let sandbox = Sandbox::new();
    sandbox.write("notes.wasm", "just text");
    let run = sandbox.run(&["--policy", "notes.wasm", "policy", "info"]);
    assert_clear_failure(&run, 2, &["notes.wasm", "not a WebAssembly file"]);
}

#[test]
fn policy_that_is_a_core_module() {
    let sandbox = Sandbox::new();
    sandbox.write("core.wasm", b"\0asm\x01\0\0\0");
    let run = sandbox.run(&["--policy", "core.wasm", "policy", "info"]);
    assert_clear_failure(&run, 2, &["core WebAssembly module", "wasm32-wasip2"]);
}

#[test]
fn policy_without_the_exports() {
    let sandbox = Sandbox::new();
    // The smallest valid component: a header and nothing else.
    sandbox.write("empty.wasm", b"\0asm\x0d\0\x01\0");
    let run = sandbox.run(&["--policy", "empty.wasm", "config", "show"]);
    assert_clear_failure(
        &run,
        2,
        &[
            "empty.wasm",
            "exports nothing this host calls (it exports nothing)",
            "bachata:common/errors",
            "bachata:common/cleanup",
        ],
    );
}

#[test]
fn truncated_policy() {
    let sandbox = Sandbox::new();
    let bytes = bachata_common::policy::EMBEDDED_POLICY;
    sandbox.write("truncated.wasm", &bytes[..bytes.len() / 2]);
    let run = sandbox.run(&["--policy", "truncated.wasm", "policy", "info"]);
    assert_clear_failure(&run, 2, &["truncated.wasm", "not a valid component"]);
}

#[test]
fn missing_policy_file() {
    let run = Sandbox::new().run(&["--policy", "nope.wasm", "policy", "info"]);
    assert_clear_failure(&run, 2, &["nope.wasm"]);
}

#[test]
fn dotenv_with_an_unterminated_quote_names_file_and_line() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".env",
        "A=1\n# comment\nELASTICSEARCH_PASSWORD=\"hunter2\nB=2\n",
    );
    let run = sandbox.run(&["config", "show"]);
    assert_clear_failure(
        &run,
        2,
        &[".env line 3", "ELASTICSEARCH_PASSWORD", "unterminated"],
    );
    assert!(!run.all_output().contains("hunter2"));
}

#[test]
fn dotenv_with_invalid_utf8_names_the_line() {
    let sandbox = Sandbox::new();
    sandbox.write(".env", b"A=1\nB=\xff\xfe\n");
    let run = sandbox.run(&["config", "check"]);
    assert_clear_failure(&run, 2, &[".env", "line 2", "UTF-8"]);
}

#[test]
fn dotenv_of_ten_megabytes_is_refused() {
    let sandbox = Sandbox::new();
    let line = "PADDING=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
    sandbox.write("big.env", line.repeat(10 * 1024 * 1024 / line.len()));
    let run = sandbox.run(&["config", "show", "--env-file", "big.env"]);
    assert_clear_failure(&run, 2, &["big.env", "at most 1048576 bytes"]);
}

#[test]
fn missing_env_file() {
    let run = Sandbox::new().run(&["config", "show", "--env-file", "missing.env"]);
    assert_clear_failure(&run, 2, &["missing.env", "does not exist"]);
}

#[test]
fn unknown_environment() {
    let mut sandbox = Sandbox::new();
    sandbox.env("ENVIRONMENT", "prod");
    let run = sandbox.run(&["config", "check", "--json"]);
    assert_eq!(run.code, 2);
    let json = run.json();
    assert_eq!(json["problems"][0]["variable"], "ENVIRONMENT");
    assert_eq!(json["problems"][0]["expected"], "`local` or `cloud`");
}

#[test]
fn json_errors_are_problem_documents() {
    let mut sandbox = Sandbox::new();
    sandbox.env("YOLOV8_MAX_DET", "0");
    let run = sandbox.run(&["config", "show", "--json"]);
    assert_eq!(run.code, 2);
    let problem = run.json();
    assert_eq!(problem["status"], 400);
    assert_eq!(problem["error_code"], "VALIDATION_ERROR");
    assert_eq!(problem["type"], "urn:bachata-common:error:validation_error");
    assert!(
        problem["message"]
            .as_str()
            .unwrap_or_default()
            .contains("YOLOV8_MAX_DET")
    );
}

#[test]
fn env_files_that_are_fifos_devices_or_directories_are_refused_at_once() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path().join("fifo.env");
    bachata_common_tests::fifo(&fifo);
    for path in [
        fifo.to_str().expect("utf-8"),
        "/dev/zero",
        sandbox.path().to_str().expect("utf-8"),
    ] {
        let started = std::time::Instant::now();
        let run = sandbox.run(&["config", "show", "--env-file", path]);
        assert_clear_failure(&run, 2, &[path, "not a regular file"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
