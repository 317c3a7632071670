//! The binary starts and describes itself. (Also makes `cargo test --workspace` build the
//! binary that the end-to-end tests in `tests/` drive.)

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_bachata-common");

#[test]
fn version_and_help() {
    let version = Command::new(BINARY)
        .arg("--version")
        .output()
        .expect("runs");
    assert!(version.status.success());
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.starts_with("bachata-common "), "{text}");

    let help = Command::new(BINARY).arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["config", "errors", "policy"] {
        assert!(text.contains(command), "{command} in {text}");
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let output = Command::new(BINARY).arg("dance").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
}
