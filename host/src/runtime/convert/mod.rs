//! Every conversion between the generated WIT types and the host's own types
//! ([`crate::types`], [`crate::capabilities`]), one file per domain.

mod cleanup;
mod config;
mod couple;
mod errors;
mod events;
mod experiments;
mod fs;
mod metrics;
mod monitor;
mod pose;

pub(crate) use cleanup::cleanup_settings;
pub(crate) use config::yolo_config;
pub(crate) use couple::{
    bbox, checked_lead_follow, checked_rate, checked_roles, checked_state, tracker_config,
    tracker_state,
};
pub(crate) use errors::built_error;
pub(crate) use events::{
    checked_decision, checked_feedback, decision_bytes, feedback_bytes, instant, refusal,
};
pub(crate) use fs::{page, paths, reason_name, removals};
pub(crate) use metrics::to_wit_snapshot;
pub(crate) use monitor::{feedback as monitor_feedback, judged};
pub(crate) use pose::{frame, tensors};
