//! What the library offers, built on the policy runtime and the capabilities: resolving the
//! configuration, the resource manager (cleanup, monitoring), temp files, pose detection and the performance monitor.

pub mod config;
pub mod monitor;
pub mod pose;
pub mod resources;
pub mod temp;
