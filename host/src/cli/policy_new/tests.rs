//! Unit tests of `policy new`.

use std::path::{Path, PathBuf};

use bachata_common::policy::Concern;

use super::project::{
    JS_KIT, JS_PACKAGE, Names, WIT, js_dev_dependencies, js_lockfile, project, python_requirements,
    render, templates, wit_bindgen_version,
};
use super::{Lang, NewArgs, NewError, create, last_segment, writable_concern};

#[test]
fn the_embedded_wit_is_every_file_of_the_wit_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("wit/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".wit"))
        .collect();
    files.sort();
    let embedded: Vec<&str> = WIT.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        embedded, files,
        "WIT in host/src/cli/policy_new/project.rs must list every file of wit/"
    );
}

#[test]
fn every_project_is_complete_with_its_templates_filled() {
    for lang in [Lang::Rust, Lang::Python, Lang::Js] {
        let names = Names::of("my-policy");
        let files = project(Concern::Cleanup, lang, &names).expect("project");
        for file in &files {
            assert!(!file.text.contains("{{"), "{lang:?} {}", file.path);
        }
        let has = |path: &str| files.iter().any(|file| file.path == path);
        assert!(has("wit/world.wit") && has("README.md") && has(".gitignore"));
        match lang {
            Lang::Rust => assert!(has("Cargo.toml") && has("src/lib.rs") && has("src/kit.rs")),
            Lang::Python => assert!(has("app.py") && has("bachata_policy_kit.py")),
            Lang::Js => assert!(has("policy.js") && has("kit.js") && has("package.json")),
        }
    }
}

#[test]
fn the_pins_are_the_examples() {
    let version = wit_bindgen_version().expect("version");
    assert!(version.starts_with('='), "{version}");
    assert!(python_requirements().starts_with("componentize-py=="));
    let package: serde_json::Value = serde_json::from_str(&render(
        &render(
            templates::JS_PACKAGE,
            &[("package", "p"), ("concern", "cleanup")],
        ),
        &[("dev_dependencies", &js_dev_dependencies().expect("pins"))],
    ))
    .expect("package.json");
    let example: serde_json::Value = serde_json::from_str(JS_PACKAGE).expect("example");
    assert_eq!(package["devDependencies"], example["devDependencies"]);
    let lock: serde_json::Value =
        serde_json::from_str(&js_lockfile("p").expect("lockfile")).expect("lock");
    assert_eq!(lock["name"], "p");
    assert_eq!(lock["packages"][""]["name"], "p");
}

#[test]
fn the_javascript_kit_imports_this_contract_version() {
    // componentize-js resolves imports by their full versioned names: the kit must name the
    // version of the WIT it is built with.
    let contract = concat!("bachata:common/host-fs@", env!("BACHATA_WIT_VERSION"), "'");
    assert!(
        JS_KIT.contains(contract),
        "kit.js does not import {contract}"
    );
    assert_eq!(JS_KIT.matches("bachata:common/").count(), 1);
}

#[test]
fn names_become_packages_and_crates() {
    let names = Names::of("My Cleanup");
    assert_eq!(
        (names.title.as_str(), names.package.as_str()),
        ("My Cleanup", "my-cleanup")
    );
    assert_eq!(names.krate, "my-cleanup-policy");
    assert_eq!(names.wasm(Lang::Rust), "my_cleanup_policy.wasm");
    assert_eq!(names.wasm(Lang::Js), "my-cleanup.wasm");
    assert_eq!(Names::of("size-policy").krate, "size-policy");
    assert_eq!(Names::of("2fast").package, "policy-2fast");
    let odd = Names::of("é\"\n");
    assert_eq!(
        (odd.title.as_str(), odd.package.as_str()),
        ("policy", "policy")
    );
}

#[test]
fn names_without_a_last_segment_are_refused() {
    for bad in ["", "/", "..", ".", "a/..", "a/./", "//"] {
        assert!(
            matches!(last_segment(Path::new(bad)), Err(NewError::BadName { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(last_segment(Path::new("a/b/")).expect("b"), "b");
    assert_eq!(last_segment(Path::new("/tmp/x")).expect("x"), "x");
}

#[test]
fn concerns_are_named_in_one_line_refusals() {
    assert_eq!(
        writable_concern("cleanup").expect("cleanup"),
        Concern::Cleanup
    );
    let pose = writable_concern("pose").expect_err("pose").to_string();
    assert!(pose.contains("it writes cleanup"), "{pose}");
    let unknown = writable_concern("nope").expect_err("nope").to_string();
    assert!(
        unknown.contains("errors, config, cleanup") && !unknown.contains('\n'),
        "{unknown}"
    );
}

#[test]
fn nothing_existing_is_overwritten_or_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = |name: PathBuf| NewArgs {
        name,
        concern: "cleanup".to_string(),
        lang: Lang::Rust,
    };
    let fresh = dir.path().join("fresh");
    create(&args(fresh.clone())).expect("created");
    assert!(fresh.join("src/kit.rs").is_file());
    let again = create(&args(fresh.clone())).expect_err("exists");
    assert!(matches!(again, NewError::Exists(_)), "{again}");
    let target = dir.path().join("elsewhere");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).expect("dangling link");
    assert!(matches!(create(&args(link)), Err(NewError::Exists(_))));
    assert!(!target.exists(), "the link was not followed");
    let orphan = create(&args(dir.path().join("missing/child"))).expect_err("no parent");
    assert!(matches!(orphan, NewError::Io { .. }), "{orphan}");
}
