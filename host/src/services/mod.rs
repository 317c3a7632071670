//! What the library offers, built on the policy runtime and the capabilities: resolving the
//! configuration, the resource manager (cleanup, monitoring), temp files and pose detection.

pub mod config;
pub mod pose;
pub mod resources;
pub mod temp;
