//! Configuration as the host sees it: typed settings with redacted secrets, each setting's
//! provenance, and the problems of an invalid configuration. Plain data: resolving it is the
//! services layer's job (the policy decides).

use std::fmt;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::cleanup::CleanupSettings;

/// A secret string: shown as `***` by `Debug`, `Display` and serialization.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

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

/// Settings of the performance monitor's event store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorSettings {
    /// `MONITOR_DATABASE`: a SQLite file or a PostgreSQL URL (its password masked when shown).
    pub database: Database,
    /// `MONITOR_RETENTION_DAYS`: days events are kept.
    pub retention_days: u32,
}

/// Where the monitor's events live: a SQLite file, or a PostgreSQL URL. `Debug`, `Display`
/// and serialization mask a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct Database(String);

impl Database {
    /// Wraps a `MONITOR_DATABASE` value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Whether it is a PostgreSQL connection string: a `postgres://`/`postgresql://` URI, or
    /// libpq's `keyword=value` form (it starts with a word of ASCII letters and `_`, and
    /// `=`), as the policy reads `MONITOR_DATABASE`.
    pub fn is_postgres(&self) -> bool {
        let trimmed = self.0.trim_start();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return true;
        }
        let word_end = trimmed
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(trimmed.len());
        word_end > 0 && trimmed[word_end..].trim_start().starts_with('=')
    }

    /// The value, password included, for the database client only. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as it may be shown: a SQLite path as it is; a PostgreSQL connection string
    /// rebuilt from what the client library parses of it, without password or options
    /// (`postgres://app@db:5432/monitor`), or only `postgres://***` when it does not parse.
    pub fn masked(&self) -> String {
        if !self.is_postgres() {
            return self.0.clone();
        }
        let Ok(config) = self.0.parse::<postgres::Config>() else {
            return "postgres://***".to_string();
        };
        let user = config
            .get_user()
            .map(|user| format!("{user}@"))
            .unwrap_or_default();
        let ports = config.get_ports();
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(index, host)| {
                let name = match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                match ports.get(index).or(ports.first()) {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                }
            })
            .collect();
        let dbname = config.get_dbname().unwrap_or_default();
        format!("postgres://{user}{}/{dbname}", hosts.join(","))
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for Database {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
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
    /// Performance monitor settings.
    pub monitor: MonitorSettings,
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
    ("MONITOR_DATABASE", "/monitor/database"),
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

#[cfg(test)]
mod tests {
    use super::Database;

    #[test]
    fn a_url_password_is_masked() {
        let url = Database::new("postgres://app:s3cret@db:5432/monitor?sslmode=disable");
        assert_eq!(url.masked(), "postgres://app@db:5432/monitor");
        assert_eq!(format!("{url:?}"), url.masked());
        assert!(!url.to_string().contains("s3cret"));
        assert!(url.is_postgres());
        let file = Database::new("data/monitor.sqlite3");
        assert_eq!(file.masked(), "data/monitor.sqlite3");
        assert!(!file.is_postgres());
    }

    #[test]
    fn a_password_is_masked_in_every_form() {
        for value in [
            "postgres://app@h/db?password=Leak1x",
            "postgres://app:Leak/Pw?x9@h/db",
            "postgresql:///db?host=/run/pg&user=app&password=Leak1x",
            "host=/run/pg user=app password=Leak1x",
            "host=h password='Leak 1x' dbname=db",
            "host=h password='Leak1x",
            "postgres://app:Leak1x@h/db?options=-c%20x",
        ] {
            let database = Database::new(value);
            assert!(database.is_postgres(), "{value}");
            let shown = database.masked();
            assert!(!shown.contains("Leak"), "{value} shown as {shown}");
            assert!(!format!("{database:?} {database}").contains("Leak"));
        }
        assert_eq!(
            Database::new("host=/run/pg user=app password=x dbname=m").masked(),
            "postgres://app@/run/pg/m"
        );
    }
}
