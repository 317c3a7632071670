//! Plain data of the domain: configuration, errors, cleanup reports and assessments, pose
//! results, and text made safe for a terminal. Serde and `Display`, no imports from the other
//! layers: everything else builds on these.

pub mod catalog;
pub mod cleanup;
pub mod config;
pub mod couple;
mod dates;
pub mod error;
pub mod experiments;
pub mod metrics;
pub mod monitor;
pub mod organizer;
pub mod pose;
pub mod removals;
pub mod text;
mod units;
