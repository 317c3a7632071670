//! Resolving configuration: the host gathers the process environment and the `.env` file,
//! the policy resolves and validates them (and reads Secret Manager through `host-secrets`).
//!
//! ```no_run
//! use bachata_common::{Policy, config};
//! let policy = Policy::embedded()?;
//! let config = config::load(&policy, None)?;
//! println!("Elasticsearch at {}:{}", config.elasticsearch.host, config.elasticsearch.port);
//! # Ok::<(), bachata_common::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::capabilities::regular_file::{Refused, read_regular};
use crate::runtime::Policy;
use crate::types::config::Config;
use crate::types::error::{AppError, Error};

/// Largest `.env` file accepted (1 MiB): configuration, not data.
pub const MAX_DOTENV_BYTES: u64 = 1 << 20;

/// The process environment as UTF-8 pairs; variables whose name or value is not UTF-8 are
/// skipped with a warning naming the variable (never its value).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => Some((name, value)),
            (Ok(name), Err(_)) => {
                tracing::warn!(variable = %name, "skipping environment variable: value is not UTF-8");
                None
            }
            (Err(name), _) => {
                tracing::warn!(variable = ?name, "skipping environment variable: name is not UTF-8");
                None
            }
        })
        .collect()
}

/// A `.env` file read for the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Reads the `.env` file: `explicit` must exist; without it, `./.env` is read when present.
pub fn read_dotenv(explicit: Option<&Path>) -> Result<Option<DotenvFile>, Error> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from(".env");
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    let invalid = |message: String| {
        Error::App(AppError::Validation {
            message,
            field: Some("--env-file".to_string()),
            value: Some(path.display().to_string()),
            details: Vec::new(),
        })
    };
    let bytes = read_regular(&path, MAX_DOTENV_BYTES).map_err(|refused| match refused {
        Refused::Io(source) if source.kind() == std::io::ErrorKind::NotFound => {
            invalid(format!("env file {} does not exist", path.display()))
        }
        Refused::Io(source) => Error::Io {
            path: path.clone(),
            source,
        },
        Refused::NotRegular(what) => invalid(format!(
            "env file {} is not a regular file (it is {what})",
            path.display()
        )),
        Refused::TooBig(size) => invalid(format!(
            "env file {} is {size} bytes; a .env file may be at most {MAX_DOTENV_BYTES} bytes",
            path.display()
        )),
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|byte| **byte == b'\n').count() + 1;
        invalid(format!(
            "env file {} line {line}: not valid UTF-8 text",
            path.display()
        ))
    })?;
    Ok(Some(DotenvFile { path, text }))
}

/// Resolves configuration from the process environment and the `.env` file
/// (`env_file`, else `./.env` when present) with `policy`.
pub fn load(policy: &Policy, env_file: Option<&Path>) -> Result<Config, Error> {
    let dotenv = read_dotenv(env_file)?;
    resolve(policy, &process_env(), dotenv.as_ref())
}

/// Resolves configuration from explicit environment pairs and an optional `.env` file.
pub fn resolve(
    policy: &Policy,
    env: &[(String, String)],
    dotenv: Option<&DotenvFile>,
) -> Result<Config, Error> {
    let outcome = policy.load_config(env, dotenv.map(|file| file.text.as_str()))?;
    let config = outcome.map_err(|mut failure| {
        // The policy knows the text, the host knows the file: name it.
        if let Some(file) = dotenv {
            for problem in &mut failure.problems {
                if problem.variable == ".env" {
                    problem.message =
                        problem
                            .message
                            .replacen(".env", &file.path.display().to_string(), 1);
                }
            }
            if failure
                .problems
                .iter()
                .any(|problem| problem.variable == ".env")
                && let AppError::Validation { message, .. } = &mut failure.error
            {
                *message = message.replacen(".env", &file.path.display().to_string(), 1);
            }
        }
        Error::from(failure)
    })?;
    database_outside_areas(&config)?;
    Ok(config)
}

/// Where `path` is or would be: made absolute from the working directory, its longest
/// existing part resolved through links, the rest applied as written (`..` going up).
fn real_path(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let absolute = std::env::current_dir().ok()?.join(path);
    let parts: Vec<Component<'_>> = absolute.components().collect();
    // The longest prefix that exists, resolved; then the rest as written.
    for split in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..split].iter().collect();
        let Ok(mut real) = std::fs::canonicalize(&prefix) else {
            continue;
        };
        for part in &parts[split..] {
            match part {
                Component::ParentDir => {
                    real.pop();
                }
                Component::Normal(name) => real.push(name),
                _ => {}
            }
        }
        return Some(real);
    }
    None
}

/// The policy refuses a SQLite database written inside a managed area; this checks where it
/// really is, through links, `..` and absolute or relative paths, whether its folder exists
/// yet or not: inside an area, cleanup would remove its journal and, after a crash, every
/// event.
fn database_outside_areas(config: &Config) -> Result<(), Error> {
    let database = &config.monitor.database;
    if database.is_postgres() {
        return Ok(());
    }
    let Some(path) = real_path(Path::new(database.expose())) else {
        return Ok(());
    };
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resources = &config.resources;
    for area in &resources.areas {
        let Some(dir) = real_path(&resources.data_dir.join(area)) else {
            continue;
        };
        if folder.starts_with(&dir) || path == dir {
            let expected = "a database outside the managed areas".to_string();
            let message = format!(
                "MONITOR_DATABASE={:?} is invalid: expected {expected} (it is inside `{area}` \
                 at {}, whose old files cleanup removes)",
                database.masked(),
                dir.display()
            );
            return Err(Error::Config {
                error: AppError::Validation {
                    message: format!("configuration is invalid: {message}"),
                    field: Some("MONITOR_DATABASE".to_string()),
                    value: Some(database.masked()),
                    details: Vec::new(),
                },
                problems: vec![crate::types::config::Problem {
                    variable: "MONITOR_DATABASE".to_string(),
                    value: Some(database.masked()),
                    expected,
                    message,
                }],
            });
        }
    }
    Ok(())
}
