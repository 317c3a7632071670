//! Host bindings generated from `wit/` (world `common`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "common",
});
