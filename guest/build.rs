//! Rebuilds the component when the contract changes: the bindings are generated from `wit/` at
//! compile time, and a change there alone must not leave a component of the old contract.

fn main() {
    println!("cargo:rerun-if-changed=../wit");
}
