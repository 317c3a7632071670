//! Builds the policy component (`guest/`) for `wasm32-wasip2` and hands its path to the host,
//! which embeds it as the default policy.
//!
//! The nested cargo uses its own target directory (no lock contention with the outer build)
//! and none of the outer build's host-only settings (flags, wrappers, target).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_PACKAGE: &str = "bachata-common-policy";
const GUEST_ARTIFACT: &str = "bachata_common_policy.wasm";
const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "wasm-release";

/// Outer-build settings that must not reach the nested wasm build.
const STRIPPED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives inside the workspace")
        .to_path_buf();
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=BACHATA_GUEST_WASM");

    // A prebuilt component may be supplied (for example by a packaging step).
    let wasm = match env::var_os("BACHATA_GUEST_WASM") {
        Some(path) => PathBuf::from(path),
        None => build_guest(&workspace),
    };
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let embedded = out_dir.join("policy.wasm");
    std::fs::copy(&wasm, &embedded).unwrap_or_else(|error| {
        panic!(
            "cannot copy the policy component {}: {error}",
            wasm.display()
        )
    });
}

fn build_guest(workspace: &Path) -> PathBuf {
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("guest-build");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--package", GUEST_PACKAGE, "--target", TARGET])
        .args(["--profile", PROFILE, "--target-dir"])
        .arg(&target_dir);
    for name in STRIPPED_ENV {
        command.env_remove(name);
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo to build the policy component: {error}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("may not be installed") || stderr.contains("can't find crate for `std`")
        {
            panic!(
                "the {TARGET} target is not installed; run `rustup target add {TARGET}` and build again\n\n{stderr}"
            );
        }
        panic!("building the policy component failed:\n{stderr}");
    }
    target_dir.join(TARGET).join(PROFILE).join(GUEST_ARTIFACT)
}
