//! Host bindings generated from `wit/` (world `bachata:stock/stock`: every concern of the
//! contract): the only place the generated types are visible. [`wit`] names the ones the conversions use.

wasmtime::component::bindgen!({
    path: ["../wit", "../wit/stock"],
    world: "bachata:stock/stock",
    imports: {
        // The host stops a policy that floods it with an oversized removal batch, opens too
        // many scans or asks for a page after the end; a cancelled call stops at its next
        // scan, page or removal batch.
        "bachata:common/host-fs.remove": trappable,
        "bachata:common/host-fs.open-scan": trappable,
        "bachata:common/host-fs.[method]scan.next": trappable,
    },
    with: {
        // A scan is the host's streaming walk of an area.
        "bachata:common/host-fs.scan": crate::capabilities::fs::Walker,
    },
});

/// The WIT types as generated for the host, for the conversions of [`super::convert`].
pub(crate) mod wit {
    pub use super::bachata::common::types::{AppError, ErrorKind, ValidationContext};
    pub use super::bachata::common::{host_fs, host_metrics};
    pub use super::exports::bachata::common::cleanup;
    pub use super::exports::bachata::common::config::{
        ConfigError, Device, Environment, ResolvedConfig, Source, YoloConfig,
    };
    pub use super::exports::bachata::common::couple;
    pub use super::exports::bachata::common::errors::CatalogEntry;
    pub use super::exports::bachata::common::events;
    pub use super::exports::bachata::common::experiments;
    pub use super::exports::bachata::common::monitor;
    pub use super::exports::bachata::common::organizer;
    pub use super::exports::bachata::common::pose;
}
