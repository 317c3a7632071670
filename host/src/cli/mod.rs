//! Command-line arguments and the commands they run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use std::sync::Arc;

use bachata_common::capabilities::fs::{Progress as CleanupCounters, RemovalLog};
use bachata_common::resources::{CleanupOptions, ResourceManager};
use bachata_common::{Error, Policy, config};

mod experiments;
mod input;
mod monitor;
mod organize;
mod output;
mod policy_new;
mod pose;
mod pose_video;
mod progress;
mod video_output;

/// Shared services of Bachata Buddy: configuration, error catalog and the policy component.
#[derive(Debug, Parser)]
#[command(name = "bachata-common", version, about, propagate_version = true)]
pub struct Cli {
    /// Load this policy component (.wasm); repeat it for a policy set: each concern comes from
    /// the first component that exports it, else from the embedded stock policy. Without it,
    /// `BACHATA_POLICY` is read: a `:`-separated list (empty entries are skipped).
    #[arg(long, global = true, value_name = "PATH")]
    pub policy: Vec<PathBuf>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log debug details on stderr (`RUST_LOG` overrides).
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Configuration: show or check the resolved settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The error catalog.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// The loaded policy component.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the resource daemon: monitoring, scheduled cleanup, HTTP metrics and API.
    Run(EnvFileArg),
    /// Show system resources (memory, disk, CPU, managed areas).
    Resources(EnvFileArg),
    /// Clean the managed areas once.
    Cleanup {
        /// Remove every file not in use, whatever its age.
        #[arg(long)]
        force: bool,
        /// Remove nothing; list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Write every removal (in a dry run: every planned one) to FILE as JSON Lines
        /// (`{"area","path","bytes","reason","dry_run"}`); the report lists only samples.
        #[arg(long, value_name = "FILE")]
        removals_log: Option<PathBuf>,
        /// Most removals (and problems) the report lists.
        #[arg(long, value_name = "N", default_value_t = bachata_common::policy::DEFAULT_SAMPLES)]
        samples: u32,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// Per-user temp directories.
    #[command(subcommand)]
    Tmp(TmpCommand),
    /// The performance monitor: recommendation decisions, user feedback, quality metrics.
    #[command(subcommand)]
    Monitor(Box<monitor::MonitorCommand>),
    /// A/B experiments on the recommender: define, assign units, analyze.
    #[command(subcommand)]
    Experiments(Box<experiments::ExperimentsCommand>),
    /// Sort annotated training clips into move-category folders (safe, resumable, reported).
    Organize(Box<organize::OrganizeArgs>),
    /// Detect people and their 17 COCO keypoints in images, or follow them through videos
    /// (YOLO pose through ONNX Runtime; videos decoded by FFmpeg).
    Pose {
        /// Image files (PNG or JPEG), directories of frames (read in name order), or video
        /// files (.mp4, .mov, .m4v, .webm, .mkv, .avi, .ts): one JSON line per processed frame.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Images: write a copy of each with boxes and skeletons drawn into this directory.
        /// A video: write the processed frames, drawn, to this MP4 file.
        #[arg(long, value_name = "OUT")]
        annotate: Option<PathBuf>,
        /// Videos: frames per second to process (every `max(1, int(fps / N))`-th frame).
        #[arg(long, value_name = "N", default_value_t = 15.0)]
        fps: f64,
        /// Videos: name the lead and follow of each frame and report the couple detection rate.
        #[arg(long)]
        couple: bool,
        /// Videos: write the JSON lines to this file (`-`: standard output, the default).
        #[arg(long, value_name = "OUT")]
        jsonl: Option<PathBuf>,
        #[command(flatten)]
        env: EnvFileArg,
    },
}

/// `tmp` subcommands.
#[derive(Debug, Subcommand)]
pub enum TmpCommand {
    /// Print (creating it when missing) the temp directory of a user.
    UserDir {
        /// The user id: 1 to 64 letters, digits, `_` or `-`.
        id: String,
        #[command(flatten)]
        env: EnvFileArg,
    },
    /// Remove a user's temp directory (files in use are kept).
    CleanUser {
        /// The user id.
        id: String,
        #[command(flatten)]
        env: EnvFileArg,
    },
}

/// Where configuration is read from.
#[derive(Debug, Args)]
pub struct EnvFileArg {
    /// Read this .env file (default: ./.env when present).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show the resolved configuration and where each value came from (secrets as ***).
    Show(EnvFileArg),
    /// Validate the configuration and print every problem.
    Check(EnvFileArg),
}

/// `errors` subcommands.
#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// List the catalog: code, type, HTTP status and message.
    List,
    /// Print the user-friendly message for an error code and type.
    Message {
        /// The error code, for example MUSIC_ANALYSIS_ERROR.
        code: String,
        /// The error type, for example too_short.
        #[arg(default_value = "default")]
        error_type: String,
    },
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Which component is loaded: origin, sha256, size, exports, imports and limits.
    Info,
    /// Load a component and run its self-check (catalog, default configuration, assessment,
    /// a dry-run cleanup of scratch areas) under the call limits, without running anything
    /// else. Exit code 0 when it passes.
    Check {
        /// The component to check (default: the one `--policy` names, else the embedded one).
        path: Option<PathBuf>,
    },
    /// Print the WIT of the loaded component (the first of a policy set), decoded from the
    /// component itself.
    Wit,
    /// Write the loaded component (the first of a policy set; by default the embedded one) to a
    /// file, for other hosts (Python, Node) or as the starting point of a hot-reloaded policy
    /// file.
    Save {
        /// Where to write the `.wasm` file.
        out: PathBuf,
    },
    /// Write a new policy project into the new directory NAME.
    ///
    /// The project holds the contract's WIT, the language's kit, a rule to edit (the stock one
    /// to start from) and its build files; it builds as it is and passes `policy check`.
    New(policy_new::NewArgs),
}

/// Loads the active policy: the one `policy check PATH` checks, else the one `--policy`
/// names, else the embedded one.
fn load_policy(cli: &Cli) -> Result<Policy, Error> {
    match &cli.command {
        Command::Policy(PolicyCommand::Check { path: Some(path) }) => Policy::from_file(path),
        _ => Policy::from_files(&policy_files(cli)),
    }
}

/// Runs the command and reports a failure (one line on stderr, with `--json` a problem
/// document rendered by the active policy) with the right exit code.
pub fn main(cli: &Cli) -> ExitCode {
    // Writing a project needs no policy (a broken `BACHATA_POLICY` must not stop it).
    if let Command::Policy(PolicyCommand::New(args)) = &cli.command {
        return policy_new::run(args, cli.json);
    }
    let policy = match load_policy(cli) {
        Ok(policy) => Arc::new(policy),
        // Without an active policy, the embedded one renders the error (and says so).
        Err(error) => return output::report_error(&error, cli.json, None),
    };
    match run(cli, &policy) {
        Ok(code) => code,
        Err(error) => output::report_error(&error, cli.json, Some(&policy)),
    }
}

/// Runs the command with the active policy.
fn run(cli: &Cli, policy: &Arc<Policy>) -> Result<ExitCode, Error> {
    match &cli.command {
        Command::Config(ConfigCommand::Show(args)) => {
            let config = config::load(policy, args.env_file.as_deref())?;
            output::config_show(&config, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check(args)) => {
            match config::load(policy, args.env_file.as_deref()) {
                Ok(config) => {
                    output::config_valid(&config, cli.json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(Error::Config { error, problems }) if !problems.is_empty() => {
                    output::config_problems(&error, &problems, cli.json);
                    Ok(ExitCode::from(2))
                }
                Err(other) => Err(other),
            }
        }
        Command::Errors(ErrorsCommand::List) => {
            output::catalog(&policy.catalog()?, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Errors(ErrorsCommand::Message { code, error_type }) => {
            let message = policy.user_friendly_message(code, error_type)?;
            let status = policy.http_status(code)?;
            output::message(code, error_type, &message, status, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Info) => {
            output::policy_info(policy, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Check { .. }) => {
            output::policy_checked(policy, &policy.self_check()?, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Wit) => {
            let bytes = policy_bytes(cli)?;
            let text =
                bachata_common::policy::wit_text::component_wit(&bytes).map_err(|reason| {
                    Error::PolicyLoad {
                        origin: policy.origin().to_string(),
                        reason,
                    }
                })?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Save { out }) => {
            let bytes = policy_bytes(cli)?;
            std::fs::write(out, &bytes).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            output::path(out, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::New(args)) => Ok(policy_new::run(args, cli.json)),
        Command::Run(args) => {
            let config = config::load(policy, args.env_file.as_deref())?;
            bachata_common::daemon::check_listen(&config.daemon)?;
            // A policy that would be refused on reload is refused at start too.
            policy.self_check()?;
            let manager = Arc::new(ResourceManager::new(Arc::clone(policy), &config.resources)?);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|source| Error::Io {
                    path: "tokio runtime".into(),
                    source,
                })?;
            let outcome = runtime.block_on(bachata_common::daemon::run(
                manager,
                &config.daemon,
                &config.monitor,
                &policy_files(cli),
            ));
            // Blocking work still running (a removal stuck in the kernel) does not hold the
            // exit: the shutdown steps were bounded, and so is this.
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            outcome?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Resources(args) => {
            let manager = manager(policy, args)?;
            output::resources(&manager.system_resources(), cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Cleanup {
            force,
            dry_run,
            removals_log,
            samples,
            env,
        } => {
            let manager = manager(policy, env)?;
            let log = match removals_log {
                Some(path) => {
                    let file = std::fs::File::create(path).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    Some(Arc::new(RemovalLog::new(file)))
                }
                None => None,
            };
            let counters = Arc::new(CleanupCounters::default());
            let progress = progress::CleanupProgress::start(cli.json, &counters);
            let report = manager.cleanup_with(&CleanupOptions {
                force: *force,
                dry_run: *dry_run,
                max_samples: *samples,
                removals_log: log,
                progress: Some(counters),
            });
            progress.finish();
            output::cleanup(&report?, cli.json, removals_log.as_deref());
            Ok(ExitCode::SUCCESS)
        }
        Command::Pose {
            inputs,
            annotate,
            fps,
            couple,
            jsonl,
            env,
        } => {
            let config = config::load(policy, env.env_file.as_deref())?;
            let videos = inputs
                .iter()
                .filter(|input| pose_video::is_video(input))
                .count();
            if videos > 0 {
                if videos != inputs.len() {
                    return Err(Error::App(bachata_common::AppError::Validation {
                        message: "give either images or videos, not both".to_string(),
                        field: Some("INPUT".to_string()),
                        value: None,
                        details: Vec::new(),
                    }));
                }
                return pose_video::run(
                    Arc::clone(policy),
                    &config.yolo,
                    &pose_video::VideoArgs {
                        videos: inputs,
                        fps: *fps,
                        couple: *couple,
                        annotate: annotate.as_deref(),
                        jsonl: jsonl.as_deref(),
                    },
                );
            }
            if *couple || jsonl.is_some() {
                return Err(Error::App(bachata_common::AppError::Validation {
                    message: "--couple and --jsonl are for videos".to_string(),
                    field: Some("INPUT".to_string()),
                    value: None,
                    details: Vec::new(),
                }));
            }
            pose::run(
                Arc::clone(policy),
                &config.yolo,
                inputs,
                annotate.as_deref(),
                cli.json,
            )
        }
        Command::Monitor(command) => monitor::run(policy, command, cli.json),
        Command::Experiments(command) => experiments::run(policy, command, cli.json),
        Command::Organize(args) => organize::run(policy, args, cli.json),
        Command::Tmp(TmpCommand::UserDir { id, env }) => {
            let manager = manager(policy, env)?;
            let path = manager.temp().user_temp_dir(id)?;
            output::path(&path, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tmp(TmpCommand::CleanUser { id, env }) => {
            let manager = manager(policy, env)?;
            let report = manager.temp().cleanup_user(id)?;
            output::user_cleanup(id, &report, cli.json);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The bytes of the component `--policy` names, else of the embedded one.
fn policy_bytes(cli: &Cli) -> Result<Vec<u8>, Error> {
    match policy_files(cli).first() {
        Some(path) => bachata_common::policy::file::read(path),
        None => Ok(bachata_common::policy::EMBEDDED_POLICY.to_vec()),
    }
}

/// The policy files given: every `--policy` as written, else the entries of `BACHATA_POLICY`
/// split on `:` (empty entries skipped, as the Python host does).
fn policy_files(cli: &Cli) -> Vec<PathBuf> {
    if !cli.policy.is_empty() {
        return cli.policy.clone();
    }
    policy_list(std::env::var_os(POLICY_VAR).as_deref())
}

/// The variable naming the policy files.
const POLICY_VAR: &str = "BACHATA_POLICY";

/// The entries of a `BACHATA_POLICY` value.
fn policy_list(value: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .as_bytes()
        .split(|byte| *byte == b':')
        .filter(|entry| !entry.is_empty())
        .map(|entry| PathBuf::from(std::ffi::OsStr::from_bytes(entry)))
        .collect()
}

/// A resource manager over the configured data directory.
fn manager(policy: &Arc<Policy>, args: &EnvFileArg) -> Result<ResourceManager, Error> {
    let config = config::load(policy, args.env_file.as_deref())?;
    ResourceManager::new(Arc::clone(policy), &config.resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_list_skips_empty_entries_and_keeps_names_as_given() {
        let list = |text: &str| policy_list(Some(std::ffi::OsStr::new(text)));
        assert!(list("").is_empty());
        assert!(list("::").is_empty());
        assert_eq!(list("a.wasm:"), [PathBuf::from("a.wasm")]);
        assert_eq!(
            list(":a.wasm::b/c.wasm"),
            [PathBuf::from("a.wasm"), PathBuf::from("b/c.wasm")]
        );
        assert!(policy_list(None).is_empty());
    }
}
