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

use std::collections::HashMap;

use crate::catalog;
use crate::dotenv::{self, Dotenv};
use crate::types::{
    AppError, ConfigError, DaemonSettings, Device, ElasticsearchConfig, Environment, ErrorKind,
    Problem, ResolvedConfig, ResourceSettings, Setting, Source, ValidationContext, YoloConfig,
};

/// Reads secrets on the policy's behalf (the host's `host-secrets` capability).
pub trait SecretStore {
    /// The latest version of secret `name` in `project`: `Ok(None)` when it does not exist,
    /// `Err(reason)` when it could not be read.
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String>;
}

/// A store that has no secrets at all, for hosts without the capability.
pub struct NoSecrets;

impl SecretStore for NoSecrets {
    fn access(&self, _project: &str, _name: &str) -> Result<Option<String>, String> {
        Err("this host provides no secret store".to_string())
    }
}

/// Shown instead of a secret value.
pub const REDACTED: &str = "***";

/// Default Elasticsearch host.
pub const DEFAULT_ES_HOST: &str = "localhost";
/// Default Elasticsearch port without an API key.
pub const DEFAULT_ES_PORT: u16 = 9200;
/// Default Elasticsearch port with an API key (TLS).
pub const DEFAULT_ES_TLS_PORT: u16 = 443;
/// Default Elasticsearch index.
pub const DEFAULT_ES_INDEX: &str = "bachata_move_embeddings";
/// Default YOLO pose model.
pub const DEFAULT_YOLO_MODEL: &str = "yolov8n-pose.pt";

/// The secret read in the cloud for each variable that has one.
const SECRET_NAMES: &[(&str, &str)] = &[
    ("ELASTICSEARCH_HOST", "elasticsearch-host"),
    ("ELASTICSEARCH_PORT", "elasticsearch-port"),
    ("ELASTICSEARCH_USERNAME", "elasticsearch-username"),
    ("ELASTICSEARCH_PASSWORD", "elasticsearch-password"),
    ("YOLOV8_MODEL", "yolov8-model-name"),
];

/// Variables whose values are always secret.
const SECRET_VARIABLES: &[&str] = &[
    "ELASTICSEARCH_PASSWORD",
    "ELASTICSEARCH_API_KEY",
    "BACHATA_API_TOKEN",
];

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "data";
/// Default managed areas.
pub const DEFAULT_AREAS: &str = "temp,cache,output";
/// The area for temporary files, which `BACHATA_AREAS` must always include.
pub const TEMP_AREA: &str = "temp";
/// Default daemon address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

const BOOL_EXPECTED: &str = "true or false (also 1/0, yes/no, on/off)";

/// A raw value and where it came from.
struct Raw {
    value: String,
    source: Source,
    secret: bool,
}

/// Collects values, settings and problems while resolving.
struct Resolver<'a> {
    env: HashMap<&'a str, &'a str>,
    dotenv: Dotenv,
    environment: Environment,
    secrets: &'a dyn SecretStore,
    /// Values read from Secret Manager, by variable (in the cloud).
    fetched: HashMap<&'static str, String>,
    /// The non-empty values of the secret variables and of everything read from Secret
    /// Manager (also trimmed): a value holding one of them is shown as [`REDACTED`].
    secret_values: Vec<String>,
    settings: Vec<Setting>,
    problems: Vec<Problem>,
}

impl Resolver<'_> {
    /// Remembers `value` as a secret that no shown value may reveal.
    fn add_secret_value(&mut self, value: &str) {
        for value in [value, value.trim()] {
            if !value.is_empty() && !self.secret_values.iter().any(|known| known == value) {
                self.secret_values.push(value.to_string());
            }
        }
    }

    /// Whether `value` holds the value of a secret.
    fn reveals_secret(&self, value: &str) -> bool {
        self.secret_values
            .iter()
            .any(|secret| value.contains(secret.as_str()))
    }

    /// Reads every secret the cloud needs (the variables missing from the environment), in
    /// resolution order; the first that cannot be read is the error.
    fn fetch_secrets(&mut self, project: &str) -> Result<(), AppError> {
        for (variable, secret_name) in SECRET_NAMES {
            if self.env.contains_key(variable) {
                continue;
            }
            match self.secrets.access(project, secret_name) {
                Ok(Some(value)) => {
                    self.add_secret_value(&value);
                    self.fetched.insert(variable, value);
                }
                Ok(None) => {
                    return Err(secret_error(
                        project,
                        secret_name,
                        "the secret or its latest version does not exist",
                    ));
                }
                Err(reason) => return Err(secret_error(project, secret_name, &reason)),
            }
        }
        Ok(())
    }

    /// The raw value of `name`: environment, then `.env` (local) or Secret Manager (cloud).
    /// It is secret when `name` is a secret variable, when it comes from Secret Manager, when
    /// it holds a secret's value, or when its `.env` definition refers to a secret variable.
    fn raw(&self, name: &str) -> Option<Raw> {
        let secret_variable = SECRET_VARIABLES.contains(&name);
        if let Some(value) = self.env.get(name) {
            return Some(Raw {
                value: (*value).to_string(),
                source: Source::Environment,
                secret: secret_variable || self.reveals_secret(value),
            });
        }
        match self.environment {
            Environment::Local => self.dotenv.vars.get(name).map(|value| Raw {
                value: value.clone(),
                source: Source::Dotenv,
                secret: secret_variable
                    || self.dotenv.tainted.contains(name)
                    || self.reveals_secret(value),
            }),
            Environment::Cloud => self.fetched.get(name).map(|value| Raw {
                value: value.clone(),
                source: Source::SecretManager,
                secret: true,
            }),
        }
    }

    fn record(&mut self, name: &str, shown: String, source: Source, secret: bool) {
        let value = if secret && !shown.is_empty() {
            REDACTED.to_string()
        } else {
            shown
        };
        self.settings.push(Setting {
            name: name.to_string(),
            value,
            source,
            secret,
        });
    }

    fn problem(&mut self, name: &str, raw: Option<&Raw>, expected: &str) {
        let value = raw.map(|raw| shown_value(&raw.value, raw.secret));
        let message = match &value {
            Some(value) => format!("{name}={value:?} is invalid: expected {expected}"),
            None => format!("{name} is required: expected {expected}"),
        };
        self.problems.push(Problem {
            variable: name.to_string(),
            value,
            expected: expected.to_string(),
            message,
        });
    }

    /// A typed value: parsed when present (a problem when it does not parse), else the default.
    fn typed<T: ToString>(
        &mut self,
        name: &str,
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.raw(name) {
            None => {
                self.record(name, default.to_string(), Source::Default, false);
                default
            }
            Some(raw) => match parse(raw.value.trim()) {
                Some(value) => {
                    self.record(name, value.to_string(), raw.source, raw.secret);
                    value
                }
                None => {
                    self.problem(name, Some(&raw), expected);
                    self.record(name, raw.value.clone(), raw.source, raw.secret);
                    default
                }
            },
        }
    }

    /// A required non-empty string with a default.
    fn text(&mut self, name: &str, default: &str) -> String {
        self.typed(name, default.to_string(), "a non-empty value", |value| {
            (!value.is_empty()).then(|| value.to_string())
        })
    }

    /// An optional string: unset or empty means none.
    fn optional(&mut self, name: &str) -> Option<String> {
        match self.raw(name) {
            Some(raw) if !raw.value.is_empty() => {
                self.record(name, raw.value.clone(), raw.source, raw.secret);
                Some(raw.value)
            }
            Some(raw) => {
                self.record(name, String::new(), raw.source, raw.secret);
                None
            }
            None => {
                self.record(
                    name,
                    String::new(),
                    Source::Default,
                    SECRET_VARIABLES.contains(&name),
                );
                None
            }
        }
    }

    fn boolean(&mut self, name: &str, default: bool) -> bool {
        self.typed(name, default, BOOL_EXPECTED, parse_bool)
    }

    fn fraction(&mut self, name: &str, default: f64) -> f64 {
        self.typed(name, default, "a number between 0 and 1", |value| {
            value
                .parse::<f64>()
                .ok()
                .filter(|number| (0.0..=1.0).contains(number))
        })
    }

    /// A ratio in (0, 1].
    fn ratio(&mut self, name: &str, default: f64) -> f64 {
        self.typed(name, default, "a number above 0 and at most 1", |value| {
            value
                .parse::<f64>()
                .ok()
                .filter(|number| *number > 0.0 && *number <= 1.0)
        })
    }

    /// A finite number from `min` to `max` (above `min` when `min_inclusive` is false).
    fn number(
        &mut self,
        name: &str,
        default: f64,
        (min, min_inclusive): (f64, bool),
        max: f64,
        expected: &str,
    ) -> f64 {
        self.typed(name, default, expected, |value| {
            value.parse::<f64>().ok().filter(|number| {
                number.is_finite()
                    && (*number > min || (min_inclusive && *number == min))
                    && *number <= max
            })
        })
    }

    /// A whole number within `range`.
    fn whole<T>(
        &mut self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        expected: &str,
    ) -> T
    where
        T: std::str::FromStr + PartialOrd + ToString,
    {
        self.typed(name, default, expected, |value| {
            value
                .parse::<T>()
                .ok()
                .filter(|number| range.contains(number))
        })
    }

    /// Where a recorded setting came from.
    fn source_of(&self, name: &str) -> Option<Source> {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.source)
    }

    /// Overrides a recorded setting's value and marks it derived.
    fn derive(&mut self, name: &str, value: String) {
        if let Some(setting) = self.settings.iter_mut().find(|s| s.name == name) {
            setting.value = value;
            setting.source = Source::Derived;
        }
    }
}

fn shown_value(value: &str, secret: bool) -> String {
    if secret {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

fn secret_error(project: &str, secret: &str, reason: &str) -> AppError {
    catalog::make_error(
        ErrorKind::ServiceUnavailable(Some("secret_manager".to_string())),
        format!(
            "could not read secret `{secret}` from Secret Manager in project `{project}`: {reason}"
        ),
        vec![
            ("secret".to_string(), secret.to_string()),
            ("project".to_string(), project.to_string()),
        ],
    )
}

/// Parses a boolean the way operators write them; anything else is rejected.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_port(value: &str) -> Option<u16> {
    value.parse::<u16>().ok().filter(|port| *port >= 1)
}

fn parse_device(value: &str) -> Option<Device> {
    match value.to_ascii_lowercase().as_str() {
        "cpu" => Some(Device::Cpu),
        "cuda" => Some(Device::Cuda),
        "auto" => Some(Device::Auto),
        _ => None,
    }
}

/// The `ENVIRONMENT` name of an environment.
pub fn environment_name(environment: Environment) -> &'static str {
    match environment {
        Environment::Local => "local",
        Environment::Cloud => "cloud",
    }
}

/// The `YOLOV8_DEVICE` name of a device.
pub fn device_name(device: Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Cuda => "cuda",
        Device::Auto => "auto",
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(device_name(*self))
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(environment_name(*self))
    }
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
    let parsed = dotenv_text.map(|text| dotenv::parse(text, SECRET_VARIABLES));
    let (dotenv, dotenv_problem) = match parsed.transpose() {
        Ok(parsed) => (parsed.unwrap_or_default(), None),
        Err(error) => {
            let message = format!(".env {error}");
            let problem = Problem {
                variable: ".env".to_string(),
                value: error.line.map(|line| format!("line {line}")),
                expected: "KEY=VALUE lines with balanced quotes".to_string(),
                message,
            };
            (Dotenv::default(), Some(problem))
        }
    };
    let environment_from_process = env.contains_key("ENVIRONMENT");
    let mut resolver = Resolver {
        env,
        dotenv,
        environment: Environment::Local,
        secrets,
        fetched: HashMap::new(),
        secret_values: Vec::new(),
        settings: Vec::new(),
        problems: Vec::new(),
    };
    // Every secret value known up front: the secret variables of the environment and every
    // value `.env` gives them (Secret Manager's are added as they are read).
    let known: Vec<String> = SECRET_VARIABLES
        .iter()
        .filter_map(|name| resolver.env.get(name).map(|value| (*value).to_string()))
        .chain(resolver.dotenv.sensitive_values.iter().cloned())
        .collect();
    for value in &known {
        resolver.add_secret_value(value);
    }
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

/// Resolves every setting; validation problems are left in `r.problems`.
fn resolve(r: &mut Resolver<'_>) -> Result<ResolvedConfig, AppError> {
    // ENVIRONMENT is read while `r.environment` is still local, so `.env` may set it.
    let environment = r.typed(
        "ENVIRONMENT",
        Environment::Local,
        "`local` or `cloud`",
        |value| match value.to_ascii_lowercase().as_str() {
            "local" => Some(Environment::Local),
            "cloud" => Some(Environment::Cloud),
            _ => None,
        },
    );
    let mut gcp_project_id = None;
    if environment == Environment::Cloud {
        gcp_project_id = r
            .env
            .get("GCP_PROJECT_ID")
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty());
        match &gcp_project_id {
            Some(project) => {
                let project = project.clone();
                let secret = r.reveals_secret(&project);
                r.record("GCP_PROJECT_ID", project, Source::Environment, secret);
            }
            None => {
                r.problem(
                    "GCP_PROJECT_ID",
                    None,
                    "the Google Cloud project id when ENVIRONMENT=cloud",
                );
                r.record("GCP_PROJECT_ID", String::new(), Source::Default, false);
            }
        }
        r.environment = Environment::Cloud;
        if let Some(project) = &gcp_project_id {
            r.fetch_secrets(project)?;
        }
    }

    let host = r.text("ELASTICSEARCH_HOST", DEFAULT_ES_HOST);
    let api_key = r.optional("ELASTICSEARCH_API_KEY");
    let default_port = if api_key.is_some() {
        DEFAULT_ES_TLS_PORT
    } else {
        DEFAULT_ES_PORT
    };
    let port = r.typed(
        "ELASTICSEARCH_PORT",
        default_port,
        "a port number from 1 to 65535",
        parse_port,
    );
    if api_key.is_some() && r.source_of("ELASTICSEARCH_PORT") == Some(Source::Default) {
        r.derive("ELASTICSEARCH_PORT", port.to_string());
    }
    let index = r.text("ELASTICSEARCH_INDEX", DEFAULT_ES_INDEX);
    let username = r.optional("ELASTICSEARCH_USERNAME");
    let password = r.optional("ELASTICSEARCH_PASSWORD");
    let mut use_ssl = r.boolean("ELASTICSEARCH_USE_SSL", false);
    let mut verify_certs = r.boolean("ELASTICSEARCH_VERIFY_CERTS", true);
    if api_key.is_some() {
        if !use_ssl {
            r.derive("ELASTICSEARCH_USE_SSL", "true".to_string());
        }
        if !verify_certs {
            r.derive("ELASTICSEARCH_VERIFY_CERTS", "true".to_string());
        }
        use_ssl = true;
        verify_certs = true;
    }
    let max_connections = r.whole(
        "ELASTICSEARCH_MAX_CONNECTIONS",
        10u32,
        1..=10_000,
        "a whole number of connections from 1 to 10000",
    );
    let timeout_secs = r.whole(
        "ELASTICSEARCH_TIMEOUT",
        30u32,
        1..=86_400,
        "a whole number of seconds from 1 to 86400 (1 day)",
    );
    let retry_on_timeout = r.boolean("ELASTICSEARCH_RETRY_ON_TIMEOUT", true);

    let model = r.text("YOLOV8_MODEL", DEFAULT_YOLO_MODEL);
    let confidence = r.fraction("YOLOV8_CONFIDENCE", 0.3);
    let device = r.typed(
        "YOLOV8_DEVICE",
        Device::Cpu,
        "`cpu`, `cuda` or `auto`",
        parse_device,
    );
    let iou_threshold = r.fraction("YOLOV8_IOU_THRESHOLD", 0.5);
    let max_det = r.whole(
        "YOLOV8_MAX_DET",
        10u32,
        1..=10_000,
        "a whole number of detections from 1 to 10000",
    );
    let threads = r.whole(
        "YOLOV8_THREADS",
        0u32,
        0..=1024,
        "a whole number of threads up to 1024 (0 lets ONNX Runtime decide)",
    );
    let models_dir = r.optional("BACHATA_MODELS_DIR");
    let runtime_library = r.optional("BACHATA_ORT_LIB");

    let resources = resolve_resources(r);
    let daemon = DaemonSettings {
        listen: r.typed(
            "BACHATA_LISTEN",
            DEFAULT_LISTEN.to_string(),
            "an IP address and port, for example 127.0.0.1:9464",
            |value| {
                value
                    .parse::<std::net::SocketAddr>()
                    .ok()
                    .map(|addr| addr.to_string())
            },
        ),
        api_token: r.optional("BACHATA_API_TOKEN"),
    };

    Ok(ResolvedConfig {
        environment,
        gcp_project_id,
        elasticsearch: ElasticsearchConfig {
            host,
            port,
            index,
            username,
            password,
            api_key,
            use_ssl,
            verify_certs,
            max_connections,
            timeout_secs,
            retry_on_timeout,
        },
        yolo: YoloConfig {
            model,
            confidence,
            device,
            iou_threshold,
            max_det,
            threads,
            models_dir,
            runtime_library,
        },
        resources,
        daemon,
        settings: std::mem::take(&mut r.settings),
    })
}

/// Whether `name` can name a managed area: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn valid_area_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn resolve_resources(r: &mut Resolver<'_>) -> ResourceSettings {
    let data_dir = r.text("BACHATA_DATA_DIR", DEFAULT_DATA_DIR);
    let areas = r.typed(
        "BACHATA_AREAS",
        DEFAULT_AREAS.to_string(),
        "comma-separated distinct names of a-z, 0-9, `_` and `-`, including `temp`",
        |value| {
            let names: Vec<&str> = value.split(',').map(str::trim).collect();
            let distinct = names
                .iter()
                .enumerate()
                .all(|(i, name)| !names[..i].contains(name));
            let valid = names.iter().all(|name| valid_area_name(name));
            (distinct && valid && names.contains(&TEMP_AREA)).then(|| names.join(","))
        },
    );
    let max_temp_age_hours = r.number(
        "MAX_TEMP_AGE_HOURS",
        24.0,
        (0.0, true),
        876_000.0,
        "a number of hours from 0 to 876000 (100 years)",
    );
    let max_cache_size_gb = r.number(
        "MAX_CACHE_SIZE_GB",
        5.0,
        (0.0, false),
        1_048_576.0,
        "a number of GiB above 0 and at most 1048576 (1 PiB)",
    );
    let cache_low_water_ratio = r.ratio("CACHE_LOW_WATER_RATIO", 0.8);
    let memory_warning_threshold = r.ratio("MEMORY_WARNING_THRESHOLD", 0.85);
    let disk_warning_threshold = r.ratio("DISK_WARNING_THRESHOLD", 0.90);
    let memory_critical_threshold = r.ratio("MEMORY_CRITICAL_THRESHOLD", 0.90);
    // Compared only when both thresholds are valid (a rejected one stands in as its default).
    let rejected = |r: &Resolver<'_>, name: &str| r.problems.iter().any(|p| p.variable == name);
    if memory_critical_threshold < memory_warning_threshold
        && !rejected(r, "MEMORY_WARNING_THRESHOLD")
        && !rejected(r, "MEMORY_CRITICAL_THRESHOLD")
    {
        let expected =
            format!("a ratio not below MEMORY_WARNING_THRESHOLD ({memory_warning_threshold})");
        match r.raw("MEMORY_CRITICAL_THRESHOLD") {
            Some(raw) => r.problem("MEMORY_CRITICAL_THRESHOLD", Some(&raw), &expected),
            None => r.problems.push(Problem {
                variable: "MEMORY_CRITICAL_THRESHOLD".to_string(),
                value: None,
                message: format!(
                    "MEMORY_CRITICAL_THRESHOLD is unset and its default \
                     {memory_critical_threshold} is below MEMORY_WARNING_THRESHOLD \
                     ({memory_warning_threshold}): set it to {expected}"
                ),
                expected,
            }),
        }
    }
    let monitor_interval_secs = r.whole(
        "MONITOR_INTERVAL_SECS",
        300u64,
        1..=31_536_000,
        "a whole number of seconds from 1 to 31536000 (1 year)",
    );
    let cleanup_interval_hours = r.number(
        "CLEANUP_INTERVAL_HOURS",
        6.0,
        (1.0 / 3600.0, true),
        8760.0,
        "a number of hours from 0.000278 (1 second) to 8760 (1 year)",
    );
    ResourceSettings {
        data_dir,
        areas: areas.split(',').map(str::to_string).collect(),
        max_temp_age_hours,
        max_cache_size_gb,
        cache_low_water_ratio,
        memory_warning_threshold,
        disk_warning_threshold,
        memory_critical_threshold,
        monitor_interval_secs,
        cleanup_interval_hours,
    }
}

#[cfg(test)]
mod tests;
