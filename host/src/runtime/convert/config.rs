//! Resolved configuration and its failures.

use std::path::PathBuf;

use super::super::bindings::wit;
use crate::types::cleanup::CleanupSettings;
use crate::types::config::{
    Config, DaemonSettings, Database, Device, ElasticsearchConfig, Environment, MonitorSettings,
    Problem, ResourceSettings, Secret, Setting, Source, YoloConfig,
};
use crate::types::error::ConfigFailure;

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
            monitor: MonitorSettings {
                database: Database::new(config.monitor.database),
                retention_days: config.monitor.retention_days,
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

/// The WIT form of the pose settings.
pub(crate) fn yolo_config(config: &YoloConfig) -> wit::YoloConfig {
    wit::YoloConfig {
        model: config.model.clone(),
        confidence: config.confidence,
        device: match config.device {
            Device::Cpu => wit::Device::Cpu,
            Device::Cuda => wit::Device::Cuda,
            Device::Auto => wit::Device::Auto,
        },
        iou_threshold: config.iou_threshold,
        max_det: config.max_det,
        threads: config.threads,
        models_dir: config.models_dir.as_ref().map(|p| p.display().to_string()),
        runtime_library: config
            .runtime_library
            .as_ref()
            .map(|p| p.display().to_string()),
    }
}
