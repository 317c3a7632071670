//! Policies written to misbehave, one component per example, for the host's sandbox tests.
//! Each keeps the stock decisions except the one it abuses:
//!
//! - `spin`: `cleanup.run` never returns;
//! - `memory_bomb`: `cleanup.run` allocates until refused;
//! - `trap`: `cleanup.run` panics;
//! - `escape`: `cleanup.run` asks the host to remove paths outside its areas (`../`, absolute,
//!   through a link, into another area) and a file another process holds locked;
//! - `slow`: a real `cleanup.run` computes until stopped (dry runs are the stock policy's);
//! - `flood`: `cleanup.run` sends one removal batch larger than the host accepts;
//! - `pager`: `cleanup.run` keeps asking a finished scan for pages;
//! - `rescan`: `cleanup.run` opens scans of an area without end;
//! - `old_version`: built against `bachata:common@0.1.0`;
//! - `nonsense`: `cleanup.run` and `cleanup.assess` answer impossible reports (duplicate
//!   paths, removals that never happened, totals beyond 2^64, negative and NaN ratios).
//!
//! And one that behaves but shows what it is lent: `metrics_probe` fails `cleanup.run` with
//! the `host-metrics` snapshot it was given.
//!
//! Build: `cargo build -p bachata-test-policies --examples --target wasm32-wasip2`.

/// A report of a run that did nothing.
pub use bachata_common_policy::cleanup::empty_report;
