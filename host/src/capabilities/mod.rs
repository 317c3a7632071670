//! What touches the world: the capabilities the host lends to the policy component (its WIT
//! imports), and the monitor's event store.

pub mod dataset;
pub mod fs;
pub mod metrics;
pub mod pose;
pub mod regular_file;
pub mod secrets;
pub mod store;
pub mod video;
