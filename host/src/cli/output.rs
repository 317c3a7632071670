//! How the command line prints results and errors, as text or JSON.

use std::process::ExitCode;

use serde_json::json;

use std::path::Path;

use bachata_common::capabilities::metrics::SystemResources;
use bachata_common::cleanup::CleanupReport;
use bachata_common::config::{Config, Problem};
use bachata_common::policy::Concern;
use bachata_common::resources::{cleanup_json, resources_json};
use bachata_common::temp::UserCleanup;
use bachata_common::text::printable;
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
        print_json(&config.redacted_json());
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
        let value = printable(value);
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
        println!("  {}: {}", problem.variable, printable(&problem.message));
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
            "from_compile_cache": policy.from_cache(),
            "wit_package": bachata_common::policy::WIT_PACKAGE,
            "exports": policy.exports(),
            "imports": policy.imports(),
            "limits": policy.limits(),
            "concerns": concerns_json(policy),
            "components": policy.components(),
        }));
        return;
    }
    println!("policy:   {}", printable(&origin));
    println!("sha256:   {}", policy.sha256());
    println!("size:     {} bytes", policy.size());
    println!(
        "compiled: {}",
        if policy.from_cache() {
            "from the compile cache"
        } else {
            "at load"
        }
    );
    println!("package:  {}", bachata_common::policy::WIT_PACKAGE);
    println!("exports:  {}", policy.exports().join(", "));
    println!("imports:  {}", policy.imports().join(", "));
    let limits = policy.limits();
    println!(
        "limits:   {} ms per call, {} MiB memory, {} calls at once",
        limits.timeout_ms,
        limits.max_memory_bytes >> 20,
        limits.max_concurrent_calls
    );
    println!("concerns:");
    for concern in Concern::ALL {
        let (origin, sha256, contract) = policy.source(concern);
        println!(
            "  {:<12} {} (sha256 {}, contract {contract})",
            concern.name(),
            printable(&origin.to_string()),
            &sha256[..12]
        );
    }
}

/// Per concern, the component answering it.
fn concerns_json(policy: &Policy) -> serde_json::Value {
    let mut concerns = serde_json::Map::new();
    for concern in Concern::ALL {
        let (origin, sha256, contract) = policy.source(concern);
        concerns.insert(
            concern.name().to_string(),
            json!({"origin": origin.to_string(), "sha256": sha256, "contract": contract}),
        );
    }
    serde_json::Value::Object(concerns)
}

/// A passed self-check.
pub fn policy_checked(policy: &Policy, check: &bachata_common::policy::SelfCheck, json: bool) {
    if json {
        print_json(&json!({
            "origin": policy.origin().to_string(),
            "sha256": policy.sha256(),
            "ok": true,
            "self_check": check,
        }));
        return;
    }
    println!(
        "ok: {} (sha256 {}) passed the self-check: {} catalog entries over {} error codes, \
         {} default settings, a dry-run cleanup planning {} removal(s) in scratch areas",
        policy.origin(),
        &policy.sha256()[..12],
        check.catalog_entries,
        check.error_codes,
        check.settings,
        check.planned_removals
    );
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `resources`.
pub fn resources(snapshot: &SystemResources, json: bool) {
    if json {
        print_json(&resources_json(snapshot));
        return;
    }
    let memory = &snapshot.memory;
    let disk = &snapshot.disk;
    println!(
        "memory  {:>5.1}% used  {} of {}{}",
        memory.used_ratio * 100.0,
        human_bytes(memory.used),
        human_bytes(memory.total),
        if memory.container_limited {
            " (container limit)"
        } else {
            ""
        }
    );
    println!(
        "disk    {:>5.1}% used  {} free of {}",
        disk.used_ratio * 100.0,
        human_bytes(disk.free),
        human_bytes(disk.total)
    );
    let (one, five, fifteen) = snapshot.load_average;
    println!(
        "cpu     {:>5.1}% used  load {one:.2} {five:.2} {fifteen:.2}",
        snapshot.cpu_ratio * 100.0
    );
    for area in &snapshot.areas {
        println!(
            "area    {:10} {:>10}  {} files",
            area.name,
            human_bytes(area.size),
            area.file_count
        );
    }
}

/// `cleanup`: totals, the sample removals of a dry run and where the full list went.
pub fn cleanup(report: &CleanupReport, json: bool, removals_log: Option<&Path>) {
    if json {
        print_json(&cleanup_json(report));
        return;
    }
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    if report.dry_run {
        for removal in &report.removals {
            println!(
                "{verb} {}/{} ({} B, {})",
                removal.area,
                printable(&removal.path),
                removal.bytes,
                removal.reason
            );
        }
    }
    println!(
        "{verb} {} files ({}) by age and {} files ({}) from the cache; {} empty directories; {} areas processed",
        report.temporary_files.files_removed,
        human_bytes(report.temporary_files.bytes_freed),
        report.cache_cleanup.files_removed,
        human_bytes(report.cache_cleanup.bytes_freed),
        report.temporary_files.directories_removed,
        report.directories_processed,
    );
    let listed = report.removals.len() as u64;
    let total = report.total_files_removed()
        + report.temporary_files.directories_removed
        + report.cache_cleanup.directories_removed;
    if report.dry_run && total > listed {
        println!(
            "(the first {listed} of {total} are listed; {})",
            match removals_log {
                Some(path) => format!("all of them are in {}", path.display()),
                None => "--removals-log FILE writes them all".to_string(),
            }
        );
    } else if let Some(path) = removals_log {
        println!("every removal is listed in {}", path.display());
    }
    if report.skipped_in_use > 0 {
        println!("kept {} files in use", report.skipped_in_use);
    }
    for problem in &report.errors {
        println!(
            "problem: {}/{}: {}",
            problem.area,
            printable(&problem.path),
            printable(&problem.reason)
        );
    }
    if report.error_count > report.errors.len() as u64 {
        println!(
            "... and {} more problems",
            report.error_count - report.errors.len() as u64
        );
    }
}

/// `tmp user-dir`.
pub fn path(path: &Path, json: bool) {
    if json {
        print_json(&json!({"path": path}));
    } else {
        println!("{}", printable(&path.display().to_string()));
    }
}

/// `tmp clean-user`.
pub fn user_cleanup(user_id: &str, report: &UserCleanup, json: bool) {
    if json {
        print_json(&json!({"user_id": user_id, "cleanup": report}));
    } else {
        println!(
            "user {user_id}: removed {} files ({}), kept {} in use, directory {}",
            report.files_removed,
            human_bytes(report.bytes_freed),
            report.skipped_in_use,
            if report.directory_removed {
                "removed"
            } else {
                "kept"
            }
        );
    }
}

/// Prints a failure as one line on stderr (plus, with `--json`, a problem document rendered
/// by the active policy `policy`; by the embedded one, which the document then says, when
/// there is no active policy) and chooses the exit code: 2 for invalid input or
/// configuration, 1 otherwise.
pub fn report_error(error: &Error, json: bool, policy: Option<&Policy>) -> ExitCode {
    // A closed or full standard error must not turn the failure into a panic.
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", printable(&error.to_string()));
    if let Error::Config { problems, .. } = error {
        for problem in problems {
            let _ = writeln!(
                stderr,
                "  {}: {}",
                problem.variable,
                printable(&problem.message)
            );
        }
    }
    drop(stderr);
    if json {
        let app = error.to_app_error();
        // As the daemon answers it: a conflict with stored data is 409, a missing record 404.
        let status = match error {
            Error::Conflict(_) => Some(409),
            Error::NotFound(_) => Some(404),
            _ => None,
        };
        // The active policy renders; the embedded one when there is none or it fails.
        let active = policy.map(|policy| policy.problem_json(&app, None, None));
        let (rendered, fallback) = match active {
            Some(Ok(text)) => (Ok(text), false),
            _ => (
                Policy::shared().and_then(|policy| policy.problem_json(&app, None, None)),
                true,
            ),
        };
        let rendered = rendered.map(|text| match status {
            Some(code) => {
                let mut document: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
                document["status"] = json!(code);
                serde_json::to_string_pretty(&document).unwrap_or(text)
            }
            None => text,
        });
        match rendered {
            Ok(text) if !fallback => println!("{text}"),
            Ok(text) => {
                let mut document: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
                document["rendered_by"] = json!(
                    "embedded policy (the active policy could not be loaded or render the error)"
                );
                print_json(&document);
            }
            Err(_) => print_json(&json!({
                "title": "Command failed",
                "status": 500,
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

/// The monitor's metrics, for people.
pub fn monitor_metrics(metrics: &bachata_common::monitor::PerformanceMetrics) {
    let period = &metrics.period;
    let version = metrics
        .algorithm_version
        .as_deref()
        .unwrap_or("all versions");
    println!(
        "{} to {} ({} days, {})",
        period.start,
        period.end,
        period.days,
        printable(version)
    );
    let latency = &metrics.processing_time_ms;
    println!("decisions        {}", metrics.total_recommendations);
    println!(
        "processing ms    mean {:.1} · p50 {:.1} · p95 {:.1} · p99 {:.1}",
        metrics.avg_processing_time_ms, latency.p50, latency.p95, latency.p99
    );
    println!("mean score       {:.3}", metrics.avg_recommendation_score);
    println!("satisfaction     {:.3}", metrics.user_satisfaction_score);
    if let Some(rating) = metrics.mean_rating {
        println!("mean rating      {rating:.2}");
    }
    let feedback: Vec<String> = metrics
        .feedback
        .iter()
        .map(|share| format!("{} {}", printable(&share.name), share.count))
        .collect();
    println!(
        "feedback         {} ({})",
        metrics.feedback_count,
        feedback.join(", ")
    );
    let r = &metrics.ranking;
    println!(
        "ranking @{}       precision {:.3} · recall {:.3} · F1 {:.3} · hit rate {:.3} · MRR {:.3} · NDCG {:.3} · accuracy {:.3} ({} judged decisions)",
        r.k, r.precision, r.recall, r.f1, r.hit_rate, r.mrr, r.ndcg, r.accuracy, r.judged_decisions
    );
    let top: Vec<String> = metrics
        .recommendation_distribution
        .iter()
        .take(10)
        .map(|share| format!("{} {}", printable(&share.name), share.count))
        .collect();
    if !top.is_empty() {
        println!("top moves        {}", top.join(", "));
    }
    for (name, version) in &metrics.by_version {
        println!(
            "  version {}: {} decisions, mean {:.1} ms, satisfaction {:.3}, precision@{} {:.3}",
            printable(name),
            version.total_recommendations,
            version.avg_processing_time_ms,
            version.user_satisfaction_score,
            version.ranking.k,
            version.ranking.precision
        );
    }
}
