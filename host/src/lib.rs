//! # bachata-common
//!
//! The shared-services layer of Bachata Buddy. Decisions (configuration rules, the error
//! catalog) live in a sandboxed WebAssembly component, the *policy*, defined by the WIT
//! package `bachata:common`; this crate is the native host that loads it, lends it
//! capabilities (files, metrics, ONNX Runtime, Google Cloud Secret Manager) and exposes typed
//! Rust APIs.
//!
//! A default policy is embedded in the binary; [`Policy::from_file`] loads another one at
//! run time, so a new policy needs no rebuild of the host.
//!
//! ```no_run
//! use bachata_common::{Policy, config};
//!
//! let policy = Policy::embedded()?;
//! let config = config::load(&policy, None)?;
//! println!("YOLO model: {}", config.yolo.model);
//! println!("{}", policy.user_friendly_message("MUSIC_ANALYSIS_ERROR", "too_short")?);
//! # Ok::<(), bachata_common::Error>(())
//! ```

// The layers (ARCHITECTURE.md): types < capabilities < runtime < services < daemon, each
// importing only the ones before it. The internal ones are reached through the facade below.
pub mod capabilities;
pub mod daemon;
mod runtime;
mod services;
mod types;

// The public API under its documented paths.
pub use types::{cleanup, error, text};

/// The policy component: loading, limits, the compile cache and the typed calls.
pub mod policy {
    pub use crate::runtime::*;
}

/// Configuration: the typed settings and how they are resolved.
pub mod config {
    pub use crate::services::config::*;
    pub use crate::types::config::*;
    pub use crate::types::error::ConfigFailure;
}

/// Pose detection: people with boxes and 17 COCO keypoints, and drawing them.
pub mod pose {
    pub use crate::capabilities::video::{VideoError, VideoInfo};
    pub use crate::services::couple::*;
    pub use crate::services::pose::*;
    pub use crate::types::couple::*;
    pub use crate::types::pose::*;
}

pub use services::{resources, temp};

/// The performance monitor: events, storage and metrics.
pub mod monitor {
    pub use crate::capabilities::store::retention::Pruned;
    pub use crate::services::monitor::*;
    pub use crate::types::metrics::*;
    pub use crate::types::monitor::*;
}

/// A/B experiments: definitions, GrowthBook-compatible assignment, the analysis.
pub mod experiments {
    pub use crate::services::experiments::*;
    pub use crate::types::experiments::*;
}

/// The directory organizer: training clips sorted into move categories.
pub mod organizer {
    pub use crate::services::organizer::*;
    pub use crate::types::organizer::*;
}

pub use config::Config;
pub use error::{AppError, Error};
pub use policy::{BuiltError, CatalogEntry, Limits, Policy, PolicyOrigin};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
