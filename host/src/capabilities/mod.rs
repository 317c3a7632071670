//! Capabilities the host lends to the policy component (its WIT imports).

pub mod fs;
pub mod metrics;
pub mod pose;
pub mod secrets;
