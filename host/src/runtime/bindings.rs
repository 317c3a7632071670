//! Host bindings generated from `wit/` (world `common`): the only place the generated types
//! are visible. [`wit`] names the ones the conversions use.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "common",
    imports: {
        // The host stops a policy that floods it with an oversized removal batch.
        "bachata:common/host-fs.remove": trappable,
        // A scan or removal batch of a cancelled call stops the call.
        "bachata:common/host-fs.scan": trappable,
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
    pub use super::exports::bachata::common::errors::CatalogEntry;
    pub use super::exports::bachata::common::pose;
}
