//! Configuration as the host sees it: typed settings with redacted secrets, and the
//! gathering of the process environment and `.env` file that the policy resolves.
//!
//! ```no_run
//! use bachata_common::{Policy, config};
//! let policy = Policy::embedded()?;
//! let config = config::load(&policy, None)?;
//! println!("Elasticsearch at {}:{}", config.elasticsearch.host, config.elasticsearch.port);
//! # Ok::<(), bachata_common::Error>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::cleanup::CleanupSettings;
use crate::error::{AppError, Error};
use crate::policy::{Policy, wit};

/// Largest `.env` file accepted (1 MiB): configuration, not data.
pub const MAX_DOTENV_BYTES: u64 = 1 << 20;

/// A secret string: shown as `***` by `Debug`, `Display` and serialization.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret value, for handing to the service that needs it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// Where the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Process environment plus `.env`.
    Local,
    /// Process environment plus Google Cloud Secret Manager.
    Cloud,
}

/// Where YOLO pose inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The CPU.
    Cpu,
    /// CUDA, failing clearly when unavailable.
    Cuda,
    /// CUDA when available, else the CPU.
    Auto,
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The built-in default.
    Default,
    /// The `.env` file.
    Dotenv,
    /// The process environment.
    Environment,
    /// Google Cloud Secret Manager.
    SecretManager,
    /// Derived from other settings.
    Derived,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Default => "default",
            Self::Dotenv => ".env",
            Self::Environment => "environment",
            Self::SecretManager => "secret manager",
            Self::Derived => "derived",
        })
    }
}

/// Elasticsearch connection settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticsearchConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Index holding move embeddings.
    pub index: String,
    /// User name, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<Secret>,
    /// API key, if any.
    pub api_key: Option<Secret>,
    /// Whether to use TLS.
    pub use_ssl: bool,
    /// Whether to verify certificates.
    pub verify_certs: bool,
    /// Connection pool size.
    pub max_connections: u32,
    /// Request timeout in seconds.
    pub timeout_secs: u32,
    /// Whether to retry on timeout.
    pub retry_on_timeout: bool,
}

/// YOLO pose-detection settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YoloConfig {
    /// Model file name or path.
    pub model: String,
    /// Minimum person score.
    pub confidence: f64,
    /// Inference device.
    pub device: Device,
    /// NMS overlap threshold.
    pub iou_threshold: f64,
    /// Most people per frame.
    pub max_det: u32,
    /// Inference threads (0: ONNX Runtime decides).
    pub threads: u32,
    /// Where relative model paths are looked up first.
    pub models_dir: Option<PathBuf>,
    /// The ONNX Runtime library when `ORT_DYLIB_PATH` is unset.
    pub runtime_library: Option<PathBuf>,
}

impl YoloConfig {
    pub(crate) fn to_wit(&self) -> wit::YoloConfig {
        wit::YoloConfig {
            model: self.model.clone(),
            confidence: self.confidence,
            device: match self.device {
                Device::Cpu => wit::Device::Cpu,
                Device::Cuda => wit::Device::Cuda,
                Device::Auto => wit::Device::Auto,
            },
            iou_threshold: self.iou_threshold,
            max_det: self.max_det,
            threads: self.threads,
            models_dir: self.models_dir.as_ref().map(|p| p.display().to_string()),
            runtime_library: self
                .runtime_library
                .as_ref()
                .map(|p| p.display().to_string()),
        }
    }
}

/// Resource management settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSettings {
    /// Directory holding the managed areas.
    pub data_dir: PathBuf,
    /// Managed area names.
    pub areas: Vec<String>,
    /// The cleanup policy's settings (ages, cache cap, warning thresholds).
    pub cleanup: CleanupSettings,
    /// Seconds between resource checks.
    pub monitor_interval_secs: u64,
    /// Hours between scheduled cleanups.
    pub cleanup_interval_hours: f64,
}

/// Settings of the `run` daemon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaemonSettings {
    /// Address to serve HTTP on.
    pub listen: std::net::SocketAddr,
    /// Bearer token for `POST /v1/cleanup` off loopback.
    pub api_token: Option<Secret>,
}

/// One resolved setting and its provenance (secret values already shown as `***`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// Variable name.
    pub name: String,
    /// Value as text (`***` for secrets).
    pub value: String,
    /// Where it came from.
    pub source: Source,
    /// Whether it is a secret.
    pub secret: bool,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `ENVIRONMENT`.
    pub environment: Environment,
    /// `GCP_PROJECT_ID` (always set in the cloud).
    pub gcp_project_id: Option<String>,
    /// Elasticsearch settings.
    pub elasticsearch: ElasticsearchConfig,
    /// YOLO pose settings.
    pub yolo: YoloConfig,
    /// Resource management settings.
    pub resources: ResourceSettings,
    /// Daemon settings.
    pub daemon: DaemonSettings,
    /// Every setting with its source.
    pub settings: Vec<Setting>,
}

/// Where each variable's value sits in a serialized [`Config`] (for masking).
const FIELDS: &[(&str, &str)] = &[
    ("GCP_PROJECT_ID", "/gcp_project_id"),
    ("ELASTICSEARCH_HOST", "/elasticsearch/host"),
    ("ELASTICSEARCH_PORT", "/elasticsearch/port"),
    ("ELASTICSEARCH_INDEX", "/elasticsearch/index"),
    ("ELASTICSEARCH_USERNAME", "/elasticsearch/username"),
    (
        "ELASTICSEARCH_MAX_CONNECTIONS",
        "/elasticsearch/max_connections",
    ),
    ("ELASTICSEARCH_TIMEOUT", "/elasticsearch/timeout_secs"),
    ("YOLOV8_MODEL", "/yolo/model"),
    ("BACHATA_MODELS_DIR", "/yolo/models_dir"),
    ("BACHATA_ORT_LIB", "/yolo/runtime_library"),
    ("BACHATA_DATA_DIR", "/resources/data_dir"),
    ("BACHATA_LISTEN", "/daemon/listen"),
];

impl Config {
    /// The configuration as JSON with every value that is secret or came from Secret
    /// Manager shown as `***`, in the typed sections as in `settings`: what `config show
    /// --json` prints.
    pub fn redacted_json(&self) -> serde_json::Value {
        let mut document = serde_json::to_value(self).unwrap_or_default();
        for setting in &self.settings {
            if !(setting.secret || setting.source == Source::SecretManager) {
                continue;
            }
            let Some((_, pointer)) = FIELDS.iter().find(|(name, _)| *name == setting.name) else {
                continue;
            };
            if let Some(value) = document.pointer_mut(pointer)
                && !value.is_null()
            {
                *value = serde_json::Value::String("***".to_string());
            }
        }
        document
    }
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The variable at fault.
    pub variable: String,
    /// The offending value (`***` for secrets).
    pub value: Option<String>,
    /// What is allowed.
    pub expected: String,
    /// One readable sentence.
    pub message: String,
}

/// Why configuration could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFailure {
    /// The catalog error.
    pub error: AppError,
    /// Every problem found (empty for service failures).
    pub problems: Vec<Problem>,
}

impl From<ConfigFailure> for Error {
    fn from(failure: ConfigFailure) -> Self {
        Error::Config {
            error: failure.error,
            problems: failure.problems,
        }
    }
}

impl From<wit::ConfigError> for ConfigFailure {
    fn from(error: wit::ConfigError) -> Self {
        Self {
            error: error.error.into(),
            problems: error
                .problems
                .into_iter()
                .map(|problem| Problem {
                    variable: problem.variable,
                    value: problem.value,
                    expected: problem.expected,
                    message: problem.message,
                })
                .collect(),
        }
    }
}

impl From<wit::ResolvedConfig> for Config {
    fn from(config: wit::ResolvedConfig) -> Self {
        let es = config.elasticsearch;
        let yolo = config.yolo;
        Self {
            environment: match config.environment {
                wit::Environment::Local => Environment::Local,
                wit::Environment::Cloud => Environment::Cloud,
            },
            gcp_project_id: config.gcp_project_id,
            elasticsearch: ElasticsearchConfig {
                host: es.host,
                port: es.port,
                index: es.index,
                username: es.username,
                password: es.password.map(Secret),
                api_key: es.api_key.map(Secret),
                use_ssl: es.use_ssl,
                verify_certs: es.verify_certs,
                max_connections: es.max_connections,
                timeout_secs: es.timeout_secs,
                retry_on_timeout: es.retry_on_timeout,
            },
            yolo: YoloConfig {
                model: yolo.model,
                confidence: yolo.confidence,
                device: match yolo.device {
                    wit::Device::Cpu => Device::Cpu,
                    wit::Device::Cuda => Device::Cuda,
                    wit::Device::Auto => Device::Auto,
                },
                iou_threshold: yolo.iou_threshold,
                max_det: yolo.max_det,
                threads: yolo.threads,
                models_dir: yolo.models_dir.map(PathBuf::from),
                runtime_library: yolo.runtime_library.map(PathBuf::from),
            },
            resources: ResourceSettings {
                data_dir: PathBuf::from(config.resources.data_dir),
                areas: config.resources.areas,
                cleanup: CleanupSettings {
                    max_temp_age_hours: config.resources.max_temp_age_hours,
                    max_cache_size_gb: config.resources.max_cache_size_gb,
                    cache_low_water_ratio: config.resources.cache_low_water_ratio,
                    memory_warning_threshold: config.resources.memory_warning_threshold,
                    disk_warning_threshold: config.resources.disk_warning_threshold,
                    memory_critical_threshold: config.resources.memory_critical_threshold,
                },
                monitor_interval_secs: config.resources.monitor_interval_secs,
                cleanup_interval_hours: config.resources.cleanup_interval_hours,
            },
            daemon: DaemonSettings {
                // The policy validated the address; a policy that did not gets the default.
                listen: config.daemon.listen.parse().unwrap_or_else(|_| {
                    tracing::warn!(listen = %config.daemon.listen, "policy returned an invalid listen address; using 127.0.0.1:9464");
                    std::net::SocketAddr::from(([127, 0, 0, 1], 9464))
                }),
                api_token: config.daemon.api_token.map(Secret),
            },
            settings: config
                .settings
                .into_iter()
                .map(|setting| Setting {
                    name: setting.name,
                    value: setting.value,
                    source: match setting.source {
                        wit::Source::Default => Source::Default,
                        wit::Source::Dotenv => Source::Dotenv,
                        wit::Source::Environment => Source::Environment,
                        wit::Source::SecretManager => Source::SecretManager,
                        wit::Source::Derived => Source::Derived,
                    },
                    secret: setting.secret,
                })
                .collect(),
        }
    }
}

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
    let metadata = std::fs::metadata(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            invalid(format!("env file {} does not exist", path.display()))
        } else {
            Error::Io {
                path: path.clone(),
                source,
            }
        }
    })?;
    if !metadata.is_file() {
        return Err(invalid(format!(
            "env file {} is not a regular file",
            path.display()
        )));
    }
    if metadata.len() > MAX_DOTENV_BYTES {
        return Err(invalid(format!(
            "env file {} is {} bytes; a .env file may be at most {} bytes",
            path.display(),
            metadata.len(),
            MAX_DOTENV_BYTES
        )));
    }
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
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
    outcome.map_err(|mut failure| {
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
    })
}
