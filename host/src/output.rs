//! How the command line prints results and errors, as text or JSON.

use std::process::ExitCode;

use serde_json::json;

use bachata_common::config::{Config, Problem};
use bachata_common::{AppError, CatalogEntry, Error, Policy};

fn print_json(value: &serde_json::Value) {
    // Serializing a `Value` cannot fail.
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// `config show`.
pub fn config_show(config: &Config, json: bool) {
    if json {
        print_json(&json!(config));
        return;
    }
    println!(
        "environment: {}",
        json!(config.environment).as_str().unwrap_or_default()
    );
    let width = config
        .settings
        .iter()
        .map(|setting| setting.name.len())
        .max()
        .unwrap_or(0);
    for setting in &config.settings {
        let value = if setting.value.is_empty() {
            "(unset)"
        } else {
            setting.value.as_str()
        };
        println!("{:width$}  {:32}  {}", setting.name, value, setting.source);
    }
}

/// `config check` on a valid configuration.
pub fn config_valid(config: &Config, json: bool) {
    let environment = json!(config.environment);
    if json {
        print_json(&json!({"valid": true, "environment": environment, "problems": []}));
    } else {
        println!(
            "configuration is valid (environment: {})",
            environment.as_str().unwrap_or_default()
        );
    }
}

/// `config check` with problems.
pub fn config_problems(error: &AppError, problems: &[Problem], json: bool) {
    if json {
        print_json(&json!({
            "valid": false,
            "error_code": error.error_code(),
            "message": error.message(),
            "problems": problems,
        }));
        return;
    }
    let noun = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    println!("configuration is invalid ({} {noun}):", problems.len());
    for problem in problems {
        println!("  {}: {}", problem.variable, problem.message);
    }
}

/// `errors list`.
pub fn catalog(entries: &[CatalogEntry], json: bool) {
    if json {
        print_json(&json!(entries));
        return;
    }
    for entry in entries {
        println!(
            "{:26} {:24} {}  {}",
            entry.error_code, entry.error_type, entry.http_status, entry.message
        );
    }
}

/// `errors message`.
pub fn message(code: &str, error_type: &str, message: &str, status: u16, json: bool) {
    if json {
        print_json(&json!({
            "error_code": code,
            "error_type": error_type,
            "message": message,
            "http_status": status,
        }));
    } else {
        println!("{message}");
    }
}

/// `policy info`.
pub fn policy_info(policy: &Policy, json: bool) {
    let origin = policy.origin().to_string();
    if json {
        print_json(&json!({
            "origin": origin,
            "sha256": policy.sha256(),
            "size_bytes": policy.size(),
            "wit_package": bachata_common::policy::WIT_PACKAGE,
            "exports": policy.exports(),
            "imports": policy.imports(),
        }));
        return;
    }
    println!("policy:   {origin}");
    println!("sha256:   {}", policy.sha256());
    println!("size:     {} bytes", policy.size());
    println!("package:  {}", bachata_common::policy::WIT_PACKAGE);
    println!("exports:  {}", policy.exports().join(", "));
    println!("imports:  {}", policy.imports().join(", "));
}

/// Prints a failure as one line on stderr (plus a problem document with `--json`) and
/// chooses the exit code: 2 for invalid input or configuration, 1 otherwise.
pub fn report_error(error: &Error, json: bool) -> ExitCode {
    eprintln!("error: {error}");
    if let Error::Config { problems, .. } = error {
        for problem in problems {
            eprintln!("  {}: {}", problem.variable, problem.message);
        }
    }
    if json {
        let app = error.to_app_error();
        match Policy::shared().and_then(|policy| policy.problem_json(&app, None, None)) {
            Ok(document) => println!("{document}"),
            Err(_) => print_json(&json!({
                "title": "Command failed",
                "status": app.http_status(),
                "detail": error.to_string(),
                "error_code": app.error_code(),
            })),
        }
    }
    if error.is_invalid_input() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}
