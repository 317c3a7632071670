//! Host bindings generated from `wit/` (world `common`).

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
