//! `monitor`: log decisions and feedback, print metrics and reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use bachata_common::experiments::{Experiments, ReportedExperiment};
use bachata_common::monitor::{
    DecisionInput, Event, Feature, FeedbackInput, Logged, MetricsQuery, Monitor,
    PerformanceMetrics, Report, Spool, invalid,
};
use bachata_common::{Error, Policy, config};

use super::EnvFileArg;

/// `monitor` subcommands.
#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Store a recommendation decision (or every line of a JSON Lines file with --from).
    #[command(disable_version_flag = true)]
    LogDecision(DecisionArgs),
    /// Store a user's feedback on a decision (or every line of a JSON Lines file with --from).
    LogFeedback(FeedbackArgs),
    /// Print the metrics of the last days: operational, satisfaction, ranking quality.
    #[command(disable_version_flag = true)]
    Metrics {
        /// Days in the window (today included).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Only this algorithm version.
        #[arg(long, visible_alias = "algorithm-version")]
        version: Option<String>,
        /// The ranking cut-off, 1 to 1000 (as over HTTP).
        #[arg(
            long,
            default_value_t = bachata_common::monitor::DEFAULT_K,
            value_parser = clap::value_parser!(u32).range(1..=1000)
        )]
        k: u32,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// Print the performance report of the last days, or write it as an HTML page.
    Report {
        /// Days in the window (today included).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Write the report as a self-contained HTML page to OUT.
        #[arg(long, value_name = "OUT")]
        html: Option<PathBuf>,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// Remove events older than MONITOR_RETENTION_DAYS.
    Prune(EnvFileArg),
}

/// `monitor log-decision`.
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// Read decisions from this JSON Lines file, pipe or `-` (standard input): one JSON
    /// object per line (the fields of `POST /v1/decisions`, at most 1 MiB a line), every line
    /// checked, then all stored in one transaction, or none.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["song", "moves", "scores"])]
    from: Option<PathBuf>,
    /// The decision's id (default: a new UUID).
    #[arg(long)]
    id: Option<String>,
    /// The song the moves were picked for.
    #[arg(long, required_unless_present = "from")]
    song: Option<String>,
    /// The moves recommended, best first, comma-separated.
    #[arg(long, value_delimiter = ',', required_unless_present = "from")]
    moves: Vec<String>,
    /// One score per move, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        required_unless_present = "from"
    )]
    scores: Vec<f64>,
    /// How long the recommendation took, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    processing_ms: f64,
    /// The recommender's version (default 1.0).
    #[arg(long = "version", visible_alias = "algorithm-version")]
    algorithm_version: Option<String>,
    /// Who it was made for.
    #[arg(long)]
    user: Option<String>,
    /// A weight used, as NAME=NUMBER (repeatable).
    #[arg(long = "weight", value_name = "NAME=NUMBER")]
    weights: Vec<String>,
    /// A song feature, as NAME=VALUE (a number or a text; repeatable).
    #[arg(long = "feature", value_name = "NAME=VALUE")]
    features: Vec<String>,
    /// The experiment it was made in.
    #[arg(long)]
    experiment: Option<String>,
    /// The experiment's variation.
    #[arg(long)]
    variation: Option<String>,
    #[command(flatten)]
    env: EnvFileArg,
}

/// `monitor log-feedback`.
#[derive(Debug, Args)]
pub struct FeedbackArgs {
    /// Read feedback from this JSON Lines file, pipe or `-` (the fields of
    /// `POST /v1/feedback`): all stored in one transaction, or none.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["decision", "feedback_type"])]
    from: Option<PathBuf>,
    /// The feedback's id (default: a new UUID).
    #[arg(long)]
    id: Option<String>,
    /// The decision it is about.
    #[arg(long, required_unless_present = "from")]
    decision: Option<String>,
    /// rating, like, dislike, skip or use.
    #[arg(long = "type", required_unless_present = "from")]
    feedback_type: Option<String>,
    /// The rating, 1 to 5 (required for a rating).
    #[arg(long)]
    value: Option<f64>,
    /// The move it is about (one of the decision's moves).
    #[arg(long = "move")]
    move_id: Option<String>,
    /// Who gave it.
    #[arg(long)]
    user: Option<String>,
    /// Free text, at most 2,000 characters.
    #[arg(long)]
    comments: Option<String>,
    #[command(flatten)]
    env: EnvFileArg,
}

/// Opens the configured monitor.
fn open(policy: &Policy, env: &EnvFileArg) -> Result<Monitor, Error> {
    let config = config::load(policy, env.env_file.as_deref())?;
    Monitor::open(&config.monitor)
}

/// Runs a `monitor` subcommand.
pub fn run(policy: &Policy, command: &MonitorCommand, json: bool) -> Result<ExitCode, Error> {
    match command {
        MonitorCommand::LogDecision(args) => {
            let monitor = open(policy, &args.env)?;
            match &args.from {
                Some(path) => import::<DecisionInput>(policy, path, json, &monitor),
                None => {
                    let logged = monitor.log_decision(policy, decision(args)?)?;
                    print_logged(&logged, "decision_id", json);
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        MonitorCommand::LogFeedback(args) => {
            let monitor = open(policy, &args.env)?;
            match &args.from {
                Some(path) => import::<FeedbackInput>(policy, path, json, &monitor),
                None => {
                    let logged = monitor.log_feedback(
                        policy,
                        FeedbackInput {
                            feedback_id: args.id.clone(),
                            decision_id: args.decision.clone().unwrap_or_default(),
                            timestamp: None,
                            user_id: args.user.clone(),
                            feedback_type: args.feedback_type.clone().unwrap_or_default(),
                            feedback_value: args.value,
                            move_id: args.move_id.clone(),
                            comments: args.comments.clone(),
                        },
                    )?;
                    print_logged(&logged, "feedback_id", json);
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        MonitorCommand::Metrics {
            days,
            version,
            k,
            env,
        } => {
            let monitor = open(policy, env)?;
            let query = MetricsQuery {
                days: *days,
                version: version.clone(),
                k: *k,
            };
            print_metrics(&monitor.metrics(policy, &query)?, json);
            Ok(ExitCode::SUCCESS)
        }
        MonitorCommand::Report { days, html, env } => {
            let monitor = Arc::new(open(policy, env)?);
            let report = Experiments::new(monitor).report(policy, *days)?;
            match html {
                Some(out) => {
                    write_atomically(out, report.to_html().as_bytes())?;
                    super::output::path(out, json);
                }
                None => print_report(&report, json),
            }
            Ok(ExitCode::SUCCESS)
        }
        MonitorCommand::Prune(env) => {
            let monitor = open(policy, env)?;
            let pruned = monitor.prune(chrono::Utc::now())?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"pruned": pruned, "retention_days": monitor.retention_days()})
                );
            } else {
                println!(
                    "removed {} decision(s), {} feedback event(s) and {} experiment exposure(s) \
                     older than {} days",
                    pruned.decisions,
                    pruned.feedback,
                    pruned.exposures,
                    monitor.retention_days()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `NAME=VALUE` pairs.
fn pairs<'a>(field: &str, items: &'a [String]) -> Result<Vec<(&'a str, &'a str)>, Error> {
    items
        .iter()
        .map(|item| {
            item.split_once('=').ok_or_else(|| {
                invalid(
                    field,
                    Some(item.clone()),
                    format!("--{field} takes NAME=VALUE, not {item:?}"),
                )
                .into()
            })
        })
        .collect()
}

/// The decision the arguments describe.
fn decision(args: &DecisionArgs) -> Result<DecisionInput, Error> {
    let mut weights = BTreeMap::new();
    for (name, value) in pairs("weight", &args.weights)? {
        let number = value.trim().parse::<f64>().map_err(|_| {
            invalid(
                "weights_used",
                Some(value.to_string()),
                format!("weight {name:?} is not a number: {value:?}"),
            )
        })?;
        weights.insert(name.to_string(), number);
    }
    let mut features = BTreeMap::new();
    for (name, value) in pairs("feature", &args.features)? {
        let feature = match value.trim().parse::<f64>() {
            Ok(number) => Feature::Number(number),
            Err(_) => Feature::Text(value.to_string()),
        };
        features.insert(name.to_string(), feature);
    }
    Ok(DecisionInput {
        decision_id: args.id.clone(),
        timestamp: None,
        user_id: args.user.clone(),
        input_song: args.song.clone().unwrap_or_default(),
        recommended_moves: args.moves.clone(),
        recommendation_scores: args.scores.clone(),
        algorithm_version: args.algorithm_version.clone(),
        weights_used: weights,
        processing_time_ms: args.processing_ms,
        song_features: features,
        experiment_id: args.experiment.clone(),
        variation: args.variation.clone(),
    })
}

/// Stores every line of a JSON Lines input (`-` is standard input): read once, every line
/// checked, then every event stored in one transaction, so a failure at any line stores
/// nothing and says so. Memory holds one batch.
fn import<E: Event>(
    policy: &Policy,
    path: &Path,
    json: bool,
    monitor: &Monitor,
) -> Result<ExitCode, Error> {
    let (input, source) = super::input::open(path, "from", "a JSON Lines file")?;
    let spool = Spool::read::<E>(policy, input, &source, chrono::Utc::now())?;
    let progress = super::progress::ImportProgress::start(json, spool.len() as u64);
    let imported = monitor.import::<E>(policy, &spool, &|count| progress.add(count as u64))?;
    progress.finish();
    if json {
        println!("{}", serde_json::json!(imported));
    } else {
        println!(
            "{} event(s): {} stored, {} already stored",
            imported.events, imported.stored, imported.duplicates
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_logged(logged: &Logged, id_name: &str, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({id_name: logged.id, "stored": logged.stored})
        );
    } else if logged.stored {
        println!("stored {id_name} {}", logged.id);
    } else {
        println!(
            "{id_name} {} was already stored; nothing written",
            logged.id
        );
    }
}

fn print_metrics(metrics: &PerformanceMetrics, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(metrics).unwrap_or_default()
        );
        return;
    }
    super::output::monitor_metrics(metrics);
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    super::output::monitor_metrics(&report.overall_metrics);
    println!();
    println!("day         decisions  mean ms    p95 ms  satisfaction  feedback");
    for day in &report.daily_metrics {
        println!(
            "{}  {:>9}  {:>7.1}  {:>8.1}  {:>12.3}  {:>8}",
            day.day,
            day.decisions,
            day.processing_ms_mean,
            day.processing_ms.p95,
            day.satisfaction,
            day.feedback_count
        );
    }
    if report.experiments_omitted > 0 {
        println!();
        println!(
            "{} more running experiment(s) not shown (`experiments analyze ID` for each)",
            report.experiments_omitted
        );
    }
    for section in &report.experiments {
        let summary = match section {
            ReportedExperiment::Analyzed(analysis) => &analysis.verdict.headline,
            ReportedExperiment::Failed { error, .. } => error,
        };
        println!();
        println!(
            "experiment {}: {}",
            bachata_common::text::printable(section.test_id()),
            bachata_common::text::printable(summary)
        );
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// a reader never sees half a page.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // A page replaces a file, never a link, a device or a directory in its place.
    match std::fs::symlink_metadata(path) {
        Ok(found) if !found.file_type().is_file() => {
            return Err(invalid(
                "html",
                Some(path.display().to_string()),
                format!(
                    "{} exists and is not a regular file (a link, a device or a directory): \
                     give a file path",
                    path.display()
                ),
            )
            .into());
        }
        _ => {}
    }
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|error| io(error.error))?;
    Ok(())
}
