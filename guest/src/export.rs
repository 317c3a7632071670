//! The component's exports: thin glue from the generated bindings to the plain logic.

use crate::bindings::bachata::common::{host_fs, host_pose, host_secrets};
use crate::bindings::exports::bachata::common::{cleanup, config, errors, pose};
use crate::cleanup::Filesystem;
use crate::types::{
    AppError, Assessment, CatalogEntry, CleanupReport, CleanupSettings, ConfigError, ErrorKind,
    FsError, Removal, ResolvedConfig, ScanResult, SystemResources,
};
use crate::{catalog, config::SecretStore};

struct Policy;

/// Secrets read through the host's `host-secrets` import.
struct HostSecrets;

impl SecretStore for HostSecrets {
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String> {
        host_secrets::access(project, name)
    }
}

/// Files reached through the host's `host-fs` import.
struct HostFs;

impl Filesystem for HostFs {
    fn areas(&self) -> Vec<String> {
        host_fs::areas()
    }

    fn scan(&self, area: &str) -> Result<ScanResult, FsError> {
        host_fs::scan(area)
    }

    fn remove(&self, area: &str, paths: &[String]) -> Vec<Removal> {
        host_fs::remove(area, paths)
    }
}

/// Inference through the host's `host-pose` import.
struct HostPose;

impl crate::pose::Inference for HostPose {
    fn infer(&self, frames: &[u32]) -> Result<Vec<crate::types::Tensor>, String> {
        host_pose::infer(frames)
    }
}

impl pose::Guest for Policy {
    fn detect(
        frames: Vec<crate::types::PoseFrame>,
        cfg: crate::types::YoloConfig,
    ) -> Result<Vec<Vec<crate::types::Person>>, AppError> {
        crate::pose::detect(&HostPose, &frames, &cfg)
    }
}

impl cleanup::Guest for Policy {
    fn run(
        settings: CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
    ) -> Result<CleanupReport, AppError> {
        crate::cleanup::run(&HostFs, &settings, now, force, dry_run)
    }

    fn assess(settings: CleanupSettings, snapshot: SystemResources) -> Assessment {
        crate::cleanup::assess(&settings, &snapshot)
    }
}

impl errors::Guest for Policy {
    fn make_error(kind: ErrorKind, message: String, details: Vec<(String, String)>) -> AppError {
        catalog::make_error(kind, message, details)
    }

    fn code_of(kind: ErrorKind) -> String {
        catalog::code_of(&kind).to_string()
    }

    fn user_friendly_message(error_code: String, error_type: String) -> String {
        catalog::user_friendly_message(&error_code, &error_type)
    }

    fn catalog() -> Vec<CatalogEntry> {
        catalog::catalog()
    }

    fn http_status(error_code: String) -> u16 {
        catalog::http_status(&error_code)
    }

    fn problem_json(
        error: AppError,
        error_type: Option<String>,
        instance: Option<String>,
    ) -> String {
        catalog::problem_json(&error, error_type.as_deref(), instance.as_deref())
    }
}

impl config::Guest for Policy {
    fn load(
        env: Vec<(String, String)>,
        dotenv: Option<String>,
    ) -> Result<ResolvedConfig, ConfigError> {
        crate::config::load(&env, dotenv.as_deref(), &HostSecrets)
    }
}

crate::bindings::export!(Policy with_types_in crate::bindings);
