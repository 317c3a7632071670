//! Typed wrappers of the component's exports, one file per WIT interface: what the rest of
//! the host calls instead of the generated bindings.

pub mod cleanup;
mod config;
mod couple;
mod errors;
mod events;
mod experiments;
mod monitor;
mod organizer;
mod pose;
