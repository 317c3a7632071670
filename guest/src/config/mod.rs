//! Configuration: environment pairs, `.env` text and secrets into typed, validated settings
//! that record where each value came from.
//!
//! Rules:
//! - `ENVIRONMENT` is `local` (default) or `cloud`, read from the process environment, then `.env`.
//! - In `local`, every other variable comes from the process environment, then `.env`, then its
//!   default. In `cloud`, `.env` is not read for them; a variable missing from the environment
//!   that has a secret (`elasticsearch-host`, `elasticsearch-port`, `elasticsearch-username`,
//!   `elasticsearch-password`, `yolov8-model-name`) is read from Secret Manager through the host.
//! - A bad value is never replaced by a default: every problem is reported, all at once.
//! - A secret is never shown (problems and settings show `***`): the value of a secret variable
//!   (`ELASTICSEARCH_PASSWORD`, `ELASTICSEARCH_API_KEY`, `BACHATA_API_TOKEN`), any value read
//!   from Secret Manager, any value from the environment or `.env` that holds one of those
//!   values (for example through `.env`'s `${NAME}` expansion), and any `.env` value whose
//!   definition refers to a secret variable by `$NAME` or `${NAME}`. Defaults are shown as
//!   they are.
//!
//! Layout: [`load`] (here) parses the inputs, resolves every section in order and reports
//! the problems; `resolver` reads raw values and records settings and problems; `values`
//! parses and validates them; `secrets` holds the [`SecretStore`], the secret variables,
//! the Secret Manager lookups and the masking; `environment`, `elasticsearch`, `yolo`,
//! `resources` and `daemon` resolve one section each.

mod conninfo;
mod daemon;
mod elasticsearch;
mod environment;
mod monitor;
mod original;
mod resolver;
mod resources;
mod secrets;
mod values;
mod yolo;

use std::collections::HashMap;

use crate::catalog;
use crate::dotenv::{self, Dotenv};
use crate::types::{
    AppError, ConfigError, Environment, ErrorKind, Problem, ResolvedConfig, ValidationContext,
};

use resolver::Resolver;

pub use daemon::DEFAULT_LISTEN;
pub use elasticsearch::{DEFAULT_ES_HOST, DEFAULT_ES_INDEX, DEFAULT_ES_PORT, DEFAULT_ES_TLS_PORT};
pub use resources::{DEFAULT_AREAS, DEFAULT_DATA_DIR, TEMP_AREA};
pub use secrets::{NoSecrets, REDACTED, SecretStore};
pub use values::{device_name, environment_name, parse_bool, valid_area_name};
pub use yolo::DEFAULT_YOLO_MODEL;

#[allow(
    clippy::result_large_err,
    reason = "the WIT export returns the error by value; it is built once per load"
)]
/// Resolves configuration from the process environment pairs, optional `.env` text and
/// (in the cloud) secrets.
pub fn load(
    env: &[(String, String)],
    dotenv_text: Option<&str>,
    secrets: &dyn SecretStore,
) -> Result<ResolvedConfig, ConfigError> {
    let env: HashMap<&str, &str> = env
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    // A malformed `.env` is one problem among the others: resolution goes on without it.
    let (dotenv, dotenv_problem) = match dotenv_text.map(parse_dotenv).transpose() {
        Ok(parsed) => (parsed.unwrap_or_default(), None),
        Err(problem) => (Dotenv::default(), Some(problem)),
    };
    let environment_from_process = env.contains_key("ENVIRONMENT");
    let mut resolver = Resolver::new(env, dotenv, secrets);
    // A secret-store failure stops resolution at once; validation problems are gathered.
    let resolved = resolve(&mut resolver).map_err(|error| ConfigError {
        error,
        problems: Vec::new(),
    })?;
    // The `.env` file is read in `local`, and for ENVIRONMENT itself when the process
    // environment does not set it: only then is a malformed one a problem.
    if let Some(problem) = dotenv_problem
        && (resolved.environment == Environment::Local || !environment_from_process)
    {
        resolver.problems.insert(0, problem);
    }
    if resolver.problems.is_empty() {
        Ok(resolved)
    } else {
        Err(validation_error(resolver.problems))
    }
}

/// Parses `.env` text, or names the malformed line as a configuration problem.
fn parse_dotenv(text: &str) -> Result<Dotenv, Problem> {
    dotenv::parse(text, secrets::SECRET_VARIABLES).map_err(|error| Problem {
        variable: ".env".to_string(),
        value: error.line.map(|line| format!("line {line}")),
        expected: "KEY=VALUE lines with balanced quotes".to_string(),
        message: format!(".env {error}"),
    })
}

#[allow(
    clippy::result_large_err,
    reason = "the WIT export returns the error by value; it is built at most once per call"
)]
/// The variables `.env` text defines, sorted by name, each with the value [`load`] gives it;
/// a malformed file is the validation error [`load`] would report for it.
pub fn dotenv_variables(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let parsed = parse_dotenv(text).map_err(|problem| validation_error(vec![problem]))?;
    let mut variables: Vec<(String, String)> = parsed.vars.into_iter().collect();
    variables.sort_unstable();
    Ok(variables)
}

/// Resolves every setting, section by section in this order (the order of
/// [`ResolvedConfig::settings`]); validation problems are left in `r.problems`.
fn resolve(r: &mut Resolver<'_>) -> Result<ResolvedConfig, AppError> {
    let (environment, gcp_project_id) = environment::resolve(r)?;
    let elasticsearch = elasticsearch::resolve(r);
    let yolo = yolo::resolve(r);
    let resources = resources::resolve(r);
    let daemon = daemon::resolve(r);
    let monitor = monitor::resolve(r, &resources);
    Ok(ResolvedConfig {
        environment,
        gcp_project_id,
        elasticsearch,
        yolo,
        resources,
        daemon,
        monitor,
        settings: std::mem::take(&mut r.settings),
    })
}

/// Builds the validation error reporting every problem.
fn validation_error(problems: Vec<Problem>) -> ConfigError {
    let first = problems.first();
    let kind = ErrorKind::Validation(ValidationContext {
        field: first.map(|problem| problem.variable.clone()),
        value: first.and_then(|problem| problem.value.clone()),
    });
    let summary = problems
        .iter()
        .map(|problem| problem.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let noun = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    let message = format!(
        "invalid configuration ({} {noun}): {summary}",
        problems.len()
    );
    let details = problems
        .iter()
        .map(|problem| (problem.variable.clone(), problem.message.clone()))
        .collect();
    let mut error = catalog::make_error(kind, message, Vec::new());
    // The per-variable messages replace the first problem's field/value context.
    error.details = details;
    ConfigError { error, problems }
}

#[cfg(test)]
mod tests;
