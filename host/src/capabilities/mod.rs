//! Capabilities the host lends to the policy component (its WIT imports).

pub mod secrets;
