//! What the library offers, built on the policy runtime and the capabilities: resolving the
//! configuration, the resource manager (cleanup, monitoring), temp files, pose detection, the performance monitor and its A/B experiments, the directory organizer.

pub mod config;
pub mod couple;
pub mod experiments;
pub mod monitor;
pub mod organizer;
pub mod pose;
pub mod resources;
pub mod temp;
