//! The bachata-common policy component.
//!
//! Every *decision* of the shared-services layer lives here, sandboxed in a WebAssembly
//! component (`wasm32-wasip2`) that implements the `bachata:common/common` world of `wit/`:
//!
//! - [`catalog`]: the error catalog (codes, user-friendly messages, HTTP statuses,
//!   RFC 9457 problem documents);
//! - [`config`]: configuration resolved from the environment pairs and `.env` text the host
//!   passes in, with secrets read through the host's `host-secrets` capability;
//! - [`cleanup`]: the cleanup policy over the host's streaming scan of the managed areas;
//! - [`pose`]: YOLO pose post-processing;
//! - [`couple`]: following a couple through a video (tracker, lead and follow);
//! - [`monitor`]: the performance monitor's metrics (operational, satisfaction, ranking);
//! - [`events`]: the rules a monitor event meets before it is stored;
//! - [`experiments`]: A/B experiments (GrowthBook-compatible assignment, the analysis);
//! - [`organizer`]: the directory organizer's categories and plan.
//!
//! The logic is plain Rust over the WIT types, so it unit-tests natively; only the thin
//! `policy` glue (the host imports, the `Policy` trait and the `export_policy!` macro) is
//! compiled for WebAssembly. Another policy can reuse all of it: depend
//! on this crate with `default-features = false`, override what changes, and export it.
//!
//! ```
//! use bachata_common_policy::catalog;
//! assert_eq!(catalog::http_status("VALIDATION_ERROR"), 400);
//! ```

pub mod catalog;
pub mod cleanup;
pub mod config;
pub mod couple;
mod dotenv;
pub mod events;
pub mod experiments;
pub mod host;
pub mod monitor;
pub mod organizer;
pub mod packed;
pub mod pose;

/// The generated WIT bindings, for `export_policy!` and policies built on this crate.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: ["../wit", "../wit/stock"],
        world: "bachata:stock/stock",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_common",
    });
}

/// The WIT types, under plain names.
pub mod types {
    pub use crate::bindings::bachata::common::host_fs::{FsError, RemovalReason, ScanProblem};
    pub use crate::bindings::bachata::common::host_metrics::{
        AreaUsage, Disk, Memory, SystemResources,
    };
    pub use crate::bindings::bachata::common::types::{AppError, ErrorKind, ValidationContext};
    pub use crate::bindings::exports::bachata::common::cleanup::{
        AreaReport, Assessment, CleanupProblem, CleanupReport, CleanupSettings, Level, PhaseReport,
        PlannedRemoval, ResourceWarning, RunOptions,
    };
    pub use crate::bindings::exports::bachata::common::config::{
        ConfigError, DaemonSettings, Device, ElasticsearchConfig, Environment, MonitorSettings,
        Problem, ResolvedConfig, ResourceSettings, Setting, Source, YoloConfig,
    };
    pub use crate::bindings::exports::bachata::common::couple::{
        Bbox as TrackBox, DetectionRate, FrameRoles, Roles, Track, TrackerConfig, TrackerState,
    };
    pub use crate::bindings::exports::bachata::common::errors::CatalogEntry;
    pub use crate::bindings::exports::bachata::common::events::{
        Decision as EventDecision, Feature, Feedback as EventFeedback, Instant, MoveRef, Refusal,
        RepeatedId,
    };
    pub use crate::bindings::exports::bachata::common::experiments::{
        Analysis, AnalysisInput, Arm, ArmSummary, Assignment, AssignmentReason, Bayesian,
        Comparison, Correction, Definition, Estimate, Metric, MetricSums, Namespace, Outcome,
        Quantity, SampleRatio, Sums, Verdict, VerdictKind,
    };
    pub use crate::bindings::exports::bachata::common::monitor::{
        DayMetrics, DayTotals, DecisionTotals, FeedbackTotals, JudgedDecision, Judgment,
        LatencyBucket, MoveTotals, Operational, Percentiles, RankingMetrics, RankingTotals, Share,
        WindowTotals,
    };
    pub use crate::bindings::exports::bachata::common::organizer::{
        Category, Clip, Placement, PlacementStatus,
    };
    pub use crate::bindings::exports::bachata::common::pose::{
        Bbox, Frame as PoseFrame, Keypoint, Person,
    };
    pub use crate::cleanup::{Entry, EntryKind, Page, Removal, RemovalStatus};
    pub use crate::pose::Tensor;
}

#[cfg(target_family = "wasm")]
pub mod policy;
