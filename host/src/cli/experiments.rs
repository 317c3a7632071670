//! `experiments`: define A/B experiments, assign units, read an analysis.

use std::collections::BTreeMap;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use bachata_common::experiments::{
    Analysis, Correction, Definition, Experiment, Experiments, Namespace, check_unit,
};
use bachata_common::monitor::{Monitor, invalid};
use bachata_common::text::printable;
use bachata_common::{AppError, Error, Policy, config};

use super::EnvFileArg;

/// `experiments` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// Define an experiment, from flags or from a JSON file (`--from FILE`, `-` for stdin).
    Create(Box<CreateArgs>),
    /// List the experiments.
    List(EnvFileArg),
    /// The variation each unit is served (its exposure logged the first time), a line per
    /// unit in their order. Units are assigned in batches of 10,000, each batch's exposures
    /// logged in one transaction before its lines are printed.
    Assign {
        /// The experiment.
        test_id: String,
        /// Unit ids (user ids).
        #[arg(required_unless_present = "units_from")]
        units: Vec<String>,
        /// Also read unit ids from this file, pipe or `-` (standard input): one per line
        /// (empty lines skipped, a leading byte-order mark dropped), after the units given as
        /// arguments. Each batch of 10,000 is logged before the next is read: a line at fault
        /// stops the command there, the batches before it logged.
        #[arg(long, value_name = "FILE")]
        units_from: Option<PathBuf>,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// The analysis of an experiment: effects, intervals, sample-ratio check, verdict.
    Analyze {
        /// The experiment.
        test_id: String,
        /// Adjust p-values across metrics × variations: none, holm_bonferroni or
        /// benjamini_hochberg (default: the experiment's setting).
        #[arg(long)]
        correction: Option<String>,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// The metrics experiments can be judged on.
    Metrics,
}

/// `experiments create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The definition as JSON (the body of `POST /v1/experiments`); `-` reads stdin.
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["id", "name", "start", "end", "versions", "split", "metrics"])]
    from: Option<PathBuf>,
    /// Replace the experiment's definition if it exists.
    #[arg(long)]
    replace: bool,
    /// The key (`test_id`).
    #[arg(long, required_unless_present = "from")]
    id: Option<String>,
    /// A name for people (`test_name`; default: the key).
    #[arg(long)]
    name: Option<String>,
    /// First day (YYYY-MM-DD, UTC) or RFC 3339 time.
    #[arg(long, required_unless_present = "from")]
    start: Option<String>,
    /// Last day (YYYY-MM-DD, included) or RFC 3339 time (excluded).
    #[arg(long, required_unless_present = "from")]
    end: Option<String>,
    /// Algorithm versions, comma-separated, the control first.
    #[arg(long, value_delimiter = ',', required_unless_present = "from")]
    versions: Vec<String>,
    /// Weights as VERSION=WEIGHT, comma-separated (default: equal).
    #[arg(long, value_delimiter = ',', value_name = "VERSION=WEIGHT")]
    split: Vec<String>,
    /// Success metrics, comma-separated (see `experiments metrics`).
    #[arg(long, value_delimiter = ',', required_unless_present = "from")]
    metrics: Vec<String>,
    /// The share of units in the experiment (0 to 1).
    #[arg(long, default_value_t = 1.0)]
    coverage: f64,
    /// The hash seed (default: the key).
    #[arg(long)]
    seed: Option<String>,
    /// GrowthBook's hash version, 1 or 2.
    #[arg(long, default_value_t = bachata_common::experiments::DEFAULT_HASH_VERSION)]
    hash_version: u32,
    /// Units each variation needs before a verdict.
    #[arg(long, default_value_t = bachata_common::experiments::DEFAULT_MINIMUM_SAMPLE_SIZE)]
    minimum_sample_size: u64,
    /// A namespace slice, as ID:START:END (for example ranking:0:0.5).
    #[arg(long, value_name = "ID:START:END")]
    namespace: Option<String>,
    /// Always-valid (sequential) intervals, safe to read every day.
    #[arg(long)]
    sequential: bool,
    /// Adjust p-values: none, holm_bonferroni or benjamini_hochberg.
    #[arg(long, default_value = "none")]
    correction: String,
    #[command(flatten)]
    env: EnvFileArg,
}

fn open(policy: &Policy, env: &EnvFileArg) -> Result<Experiments, Error> {
    let config = config::load(policy, env.env_file.as_deref())?;
    Ok(Experiments::new(Arc::new(Monitor::open(&config.monitor)?)))
}

fn correction(text: &str) -> Result<Correction, Error> {
    text.parse()
        .map_err(|expected: String| invalid("correction", Some(text.to_string()), expected).into())
}

/// Reads a definition file (or stdin for `-`).
fn read_definition(path: &Path) -> Result<Definition, Error> {
    let mut text = String::new();
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        std::io::stdin()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(io)?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(1 << 20).read_to_string(&mut text))
            .map_err(io)?;
    }
    Ok(Definition::from_json(&text)?)
}

/// Units assigned per call of [`Experiments::assign_many`] (one transaction each).
const ASSIGN_BATCH: usize = 10_000;

/// Units waiting to be assigned, and where their lines go.
struct Batch<'a> {
    experiments: &'a Experiments,
    policy: &'a Policy,
    test_id: &'a str,
    json: bool,
    units: Vec<String>,
}

impl Batch<'_> {
    /// Adds a unit, refused (naming `place`) if the host would refuse it.
    fn push(&mut self, unit: String, place: impl FnOnce() -> String) -> Result<(), Error> {
        if let Err(AppError::Validation { message, value, .. }) = check_unit(&unit) {
            return Err(invalid("units", value, format!("{}: {message}", place())).into());
        }
        self.units.push(unit);
        if self.units.len() >= ASSIGN_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Assigns the waiting units and prints their lines.
    fn flush(&mut self) -> Result<(), Error> {
        if self.units.is_empty() {
            return Ok(());
        }
        let assignments = self
            .experiments
            .assign_many(self.policy, self.test_id, &self.units)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = self
            .units
            .iter()
            .zip(&assignments)
            .try_for_each(|(unit, assignment)| {
                if self.json {
                    let line = serde_json::to_string(assignment).unwrap_or_default();
                    writeln!(out, "{line}")
                } else {
                    let counted = if assignment.in_experiment {
                        ""
                    } else {
                        " (not counted)"
                    };
                    writeln!(
                        out,
                        "{}\t{}\t{}{counted}",
                        printable(unit),
                        printable(&assignment.version),
                        assignment.reason.name()
                    )
                }
            })
            .and_then(|()| out.flush());
        // A reader that went away (a closed pipe) or a full disk: what was assigned stays
        // logged, and the command fails.
        written.map_err(|source| Error::Write {
            what: "standard output".to_string(),
            source,
        })?;
        self.units.clear();
        Ok(())
    }
}

/// Longest line of a units file: a unit of the most characters the host accepts, in UTF-8.
const MAX_UNIT_LINE: usize = bachata_common::experiments::MAX_UNIT_CHARS * 4 + 2;

/// Calls `each` with every unit of the file at `path` (one per line, blank lines skipped).
/// A line that is not UTF-8 or is longer than any unit can be is refused, naming it.
fn read_units(
    path: &Path,
    mut each: impl FnMut(String, &dyn Fn() -> String) -> Result<(), Error>,
) -> Result<(), Error> {
    use std::io::BufRead as _;
    let (input, source) = super::input::open(path, "units_from", "a file of unit ids")?;
    let mut reader = std::io::BufReader::new(input);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        number += 1;
        let read = (&mut reader)
            .take(MAX_UNIT_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            return Ok(());
        }
        let bad = |message: &str| -> Error {
            invalid(
                "units_from",
                Some(format!("line {number}")),
                format!("{source}, line {number}: {message}"),
            )
            .into()
        };
        if line.len() > MAX_UNIT_LINE {
            return Err(bad("longer than any unit id can be"));
        }
        let text = std::str::from_utf8(&line).map_err(|_| bad("not UTF-8 text"))?;
        let text = if number == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let unit = text.strip_suffix('\n').unwrap_or(text);
        let unit = unit.strip_suffix('\r').unwrap_or(unit);
        // Only an empty line is skipped: a unit of spaces is a unit, as it is as an argument.
        if !unit.is_empty() {
            each(unit.to_string(), &|| format!("{source}, line {number}"))?;
        }
    }
}

/// The definition the flags describe.
fn from_flags(args: &CreateArgs) -> Result<Definition, Error> {
    let id = args.id.clone().unwrap_or_default();
    let mut split = BTreeMap::new();
    if args.split.is_empty() {
        let weight = 1.0 / args.versions.len().max(1) as f64;
        split.extend(args.versions.iter().map(|v| (v.clone(), weight)));
    }
    for item in &args.split {
        let parsed = item
            .split_once('=')
            .and_then(|(version, weight)| Some((version, weight.trim().parse::<f64>().ok()?)));
        let Some((version, weight)) = parsed else {
            return Err(invalid(
                "traffic_split",
                Some(item.clone()),
                format!("--split takes VERSION=WEIGHT, not {item:?}"),
            )
            .into());
        };
        split.insert(version.to_string(), weight);
    }
    let namespace = match &args.namespace {
        None => None,
        Some(text) => {
            let parts: Vec<&str> = text.rsplitn(3, ':').collect();
            let numbers = (parts.len() == 3)
                .then(|| Some((parts[1].parse::<f64>().ok()?, parts[0].parse::<f64>().ok()?)))
                .flatten();
            let Some((start, end)) = numbers else {
                return Err(invalid(
                    "namespace",
                    Some(text.clone()),
                    "--namespace takes ID:START:END, for example ranking:0:0.5",
                )
                .into());
            };
            Some(Namespace {
                id: parts[2].to_string(),
                start,
                end,
            })
        }
    };
    let definition = serde_json::json!({
        "test_id": id,
        "test_name": args.name.clone().unwrap_or_else(|| id.clone()),
        "start_date": args.start.clone().unwrap_or_default(),
        "end_date": args.end.clone().unwrap_or_default(),
        "algorithm_versions": args.versions,
        "traffic_split": split,
        "coverage": args.coverage,
        "seed": args.seed,
        "hash_version": args.hash_version,
        "success_metrics": args.metrics,
        "minimum_sample_size": args.minimum_sample_size,
        "namespace": namespace,
        "sequential": args.sequential,
        "correction": correction(&args.correction)?,
    });
    Ok(Definition::from_json(&definition.to_string())?)
}

/// Runs an `experiments` subcommand.
pub fn run(policy: &Policy, command: &ExperimentsCommand, json: bool) -> Result<ExitCode, Error> {
    match command {
        ExperimentsCommand::Create(args) => {
            let definition = match &args.from {
                Some(path) => read_definition(path)?,
                None => from_flags(args)?,
            };
            let experiments = open(policy, &args.env)?;
            let experiment = if args.replace && experiments.get(&definition.test_id).is_ok() {
                experiments.replace(policy, definition)?
            } else {
                experiments.create(policy, definition)?
            };
            print_experiments(std::slice::from_ref(&experiment), json, true);
        }
        ExperimentsCommand::List(env) => {
            let all = open(policy, env)?.list()?;
            print_experiments(&all, json, false);
        }
        ExperimentsCommand::Assign {
            test_id,
            units,
            units_from,
            env,
        } => {
            let experiments = open(policy, env)?;
            let mut batch = Batch {
                experiments: &experiments,
                policy,
                test_id,
                json,
                units: Vec::with_capacity(ASSIGN_BATCH),
            };
            for (index, unit) in units.iter().enumerate() {
                batch.push(unit.clone(), || format!("unit {}", index + 1))?;
            }
            if let Some(path) = units_from {
                read_units(path, |unit, place| batch.push(unit, place))?;
            }
            batch.flush()?;
        }
        ExperimentsCommand::Analyze {
            test_id,
            correction: given,
            env,
        } => {
            let given = given.as_deref().map(correction).transpose()?;
            let analysis = open(policy, env)?.analyze(policy, test_id, given)?;
            print_analysis(&analysis, json);
        }
        ExperimentsCommand::Metrics => {
            let metrics = policy.experiment_metrics()?;
            if json {
                println!("{}", serde_json::json!({ "metrics": metrics }));
            } else {
                for metric in metrics {
                    let better = if metric.higher_is_better {
                        "higher"
                    } else {
                        "lower"
                    };
                    println!(
                        "{}\t{} ({better} is better)",
                        metric.name, metric.description
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_experiments(all: &[Experiment], json: bool, one: bool) {
    if json {
        let value = if one {
            serde_json::to_value(&all[0])
        } else {
            serde_json::to_value(serde_json::json!({ "experiments": all }))
        };
        println!("{}", value.unwrap_or_default());
        return;
    }
    if all.is_empty() {
        println!("no experiments");
    }
    for experiment in all {
        let d = &experiment.definition;
        let split: Vec<String> = d
            .algorithm_versions
            .iter()
            .zip(d.weights())
            .map(|(version, weight)| format!("{version}={weight}"))
            .collect();
        println!(
            "{}\t{}\t{} to {}\t{}\tmetrics {}{}",
            d.test_id,
            bachata_common::text::printable(&d.test_name),
            d.start_date.format("%Y-%m-%d %H:%M"),
            d.end_date.format("%Y-%m-%d %H:%M"),
            split.join(" "),
            d.success_metrics.join(","),
            if d.sequential { "\tsequential" } else { "" }
        );
    }
}

fn print_analysis(analysis: &Analysis, json: bool) {
    if json {
        println!("{}", serde_json::to_string(analysis).unwrap_or_default());
        return;
    }
    println!("{}: {}", analysis.test_id, analysis.verdict.headline);
    for reason in &analysis.verdict.reasons {
        println!("  {reason}");
    }
    let srm = &analysis.sample_ratio;
    match srm.p_value {
        Some(p) if srm.mismatch => println!("sample ratio: MISMATCH (p = {p:.2e})"),
        Some(p) => println!("sample ratio: ok (p = {p:.4})"),
        None => println!("sample ratio: not enough traffic to test"),
    }
    for arm in &analysis.arms {
        println!(
            "  {}\t{} units\t{:.1} % (expected {:.1} %)",
            arm.version,
            arm.units,
            arm.observed_share * 100.0,
            arm.expected_share * 100.0
        );
    }
}
