//! # bachata-common
//!
//! The shared-services layer of Bachata Buddy. Decisions (configuration rules, the error
//! catalog) live in a sandboxed WebAssembly component, the *policy*, defined by the WIT
//! package `bachata:common@0.1.0`; this crate is the native host that loads it, lends it
//! capabilities (Google Cloud Secret Manager) and exposes typed Rust APIs.
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

pub mod capabilities;
pub mod cleanup;
pub mod config;
pub mod daemon;
pub mod error;
pub mod policy;
pub mod pose;
pub mod resources;
pub mod temp;
pub mod text;

pub use config::Config;
pub use error::{AppError, Error};
pub use policy::{BuiltError, CatalogEntry, Limits, Policy, PolicyOrigin};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
