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
        "guest/build.rs",
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
    emit_wit_package(&workspace.join("wit/world.wit"));

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

/// Hands the WIT package's name and version (`package bachata:common@0.1.0;` in
/// `wit/world.wit`) to the host as `BACHATA_WIT_NAME` and `BACHATA_WIT_VERSION`, so the
/// version is written once, in the WIT.
fn emit_wit_package(world: &Path) {
    let text = std::fs::read_to_string(world)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", world.display()));
    let package = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("package "))
        .and_then(|rest| rest.trim().strip_suffix(';'))
        .unwrap_or_else(|| panic!("no `package name@version;` line in {}", world.display()));
    let (name, version) = package.split_once('@').unwrap_or_else(|| {
        panic!(
            "the package {package:?} in {} has no version",
            world.display()
        )
    });
    println!("cargo:rustc-env=BACHATA_WIT_NAME={name}");
    println!("cargo:rustc-env=BACHATA_WIT_VERSION={version}");
}
