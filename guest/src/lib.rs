//! The bachata-common policy component.
//!
//! Every *decision* of the shared-services layer lives here, sandboxed in a WebAssembly
//! component (`wasm32-wasip2`) that implements the `bachata:common/common` world of `wit/`:
//!
//! - [`catalog`]: the error catalog (codes, user-friendly messages, HTTP statuses,
//!   RFC 9457 problem documents);
//! - [`config`]: configuration resolved from the environment pairs and `.env` text the host
//!   passes in, with secrets read through the host's `host-secrets` capability.
//!
//! The logic is plain Rust over the WIT types, so it unit-tests natively; only the thin
//! [`export`] glue is compiled for WebAssembly.
//!
//! ```
//! use bachata_common_policy::catalog;
//! assert_eq!(catalog::http_status("VALIDATION_ERROR"), 400);
//! ```

pub mod catalog;
pub mod cleanup;
pub mod config;
mod dotenv;
pub mod pose;

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "common",
    });
}

/// The WIT types, under plain names.
pub mod types {
    pub use crate::bindings::bachata::common::host_fs::{
        Entry, EntryKind, FsError, Removal, RemovalStatus, ScanProblem, ScanResult,
    };
    pub use crate::bindings::bachata::common::host_metrics::{
        AreaUsage, Disk, Memory, SystemResources,
    };
    pub use crate::bindings::bachata::common::host_pose::Tensor;
    pub use crate::bindings::bachata::common::types::{AppError, ErrorKind, ValidationContext};
    pub use crate::bindings::exports::bachata::common::cleanup::{
        Assessment, CleanupProblem, CleanupReport, CleanupSettings, Level, PhaseReport,
        PlannedRemoval, ResourceWarning,
    };
    pub use crate::bindings::exports::bachata::common::config::{
        ConfigError, DaemonSettings, Device, ElasticsearchConfig, Environment, Problem,
        ResolvedConfig, ResourceSettings, Setting, Source, YoloConfig,
    };
    pub use crate::bindings::exports::bachata::common::errors::CatalogEntry;
    pub use crate::bindings::exports::bachata::common::pose::{
        Bbox, Frame as PoseFrame, Keypoint, Person,
    };
}

#[cfg(target_family = "wasm")]
mod export;
