//! `policy new`: the project it writes builds as it is, passes `policy check`, answers only
//! its concern and, as written, cleans like the stock policy; it never overwrites or follows
//! what is already there, and refuses concerns it cannot write. (The Python and JavaScript
//! projects are built and checked by `tests/examples.sh`: their builds install from PyPI and
//! npm.)

use std::path::{Path, PathBuf};
use std::process::Command;

use bachata_common_tests::{Sandbox, age, tree_digest};

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Builds the Rust project in `dir` for `wasm32-wasip2` into the repository's
/// `target/policy-new` (so repeated runs reuse its dependencies); the component's path.
fn build_rust(dir: &Path, wasm: &str) -> PathBuf {
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/policy-new");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "the generated project does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = target_dir.join("wasm32-wasip2/release").join(wasm);
    assert!(path.is_file(), "no component at {}", path.display());
    path
}

/// A scratch data directory where the age rule and the cache cap both act, and where the
/// oldest-first cap (stock) and a largest-first one would take different files: 14,000 bytes
/// stay in the cache after the age rule, against a cap of 10,737 bytes trimmed to half.
fn scratch_data(sandbox: &mut Sandbox) {
    let data = sandbox.path().join("data");
    for dir in ["temp/gone", "cache/sub", "output"] {
        std::fs::create_dir_all(data.join(dir)).expect("mkdir");
    }
    for (path, size, hours) in [
        ("temp/old.tmp", 10, 48),
        ("temp/fresh.tmp", 20, 0),
        ("temp/gone/old.bin", 40, 48),
        ("cache/ancient.dat", 100, 72),
        ("cache/a.bin", 4000, 4),
        ("cache/b.bin", 3000, 3),
        ("cache/sub/c.bin", 2000, 2),
        ("cache/d.bin", 5000, 0),
    ] {
        let file = data.join(path);
        std::fs::write(&file, vec![0u8; size]).expect("write");
        age(&file, hours);
    }
    age(&data.join("temp/gone"), 48);
    sandbox
        .env("MAX_CACHE_SIZE_GB", "0.00001")
        .env("CACHE_LOW_WATER_RATIO", "0.5");
}

/// The removals of a cleanup report, `area/path reason`, sorted.
fn removals(report: &serde_json::Value) -> Vec<String> {
    let mut rows: Vec<String> = report["removals"]
        .as_array()
        .expect("removals")
        .iter()
        .map(|removal| {
            format!(
                "{}/{} {}",
                removal["area"].as_str().unwrap_or_default(),
                removal["path"].as_str().unwrap_or_default(),
                removal["reason"].as_str().unwrap_or_default()
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_generated_rust_policy_builds_passes_the_check_and_cleans_like_the_stock_policy() {
    let mut sandbox = Sandbox::new();
    let made = sandbox.run(&[
        "policy",
        "new",
        "my-cleanup",
        "--concern",
        "cleanup",
        "--lang",
        "rust",
    ]);
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        made.stdout
            .contains("cargo build --target wasm32-wasip2 --release"),
        "{}",
        made.stdout
    );
    let project = sandbox.path().join("my-cleanup");
    for file in [
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "src/kit.rs",
        "wit/world.wit",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    // The kit is the example's, byte for byte, and the WIT is the contract's.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert_eq!(
        std::fs::read(project.join("src/kit.rs")).expect("kit"),
        std::fs::read(root.join("examples/size-first/src/kit.rs")).expect("example kit")
    );
    assert_eq!(
        std::fs::read(project.join("wit/host-fs.wit")).expect("wit"),
        std::fs::read(root.join("wit/host-fs.wit")).expect("contract")
    );

    let wasm = build_rust(&project, "my_cleanup_policy.wasm");
    let check = sandbox.run(&["policy", "check", text(&wasm)]);
    assert_eq!(check.code, 0, "{check:?}");
    let info = sandbox
        .run(&["--policy", text(&wasm), "policy", "info", "--json"])
        .json();
    for (concern, answer) in info["concerns"].as_object().expect("concerns") {
        let expected = if concern == "cleanup" {
            text(&wasm)
        } else {
            "embedded"
        };
        assert_eq!(answer["origin"], expected, "{concern}");
    }

    // As written, its rule is the stock policy's: the same removals, by age and by the cap
    // (oldest first: a, b and c go, d stays).
    scratch_data(&mut sandbox);
    let data = sandbox.path().join("data");
    let before = tree_digest(&data);
    let stock = sandbox.run(&["cleanup", "--dry-run", "--json"]);
    assert_eq!(stock.code, 0, "{stock:?}");
    let dry = sandbox.run(&["--policy", text(&wasm), "cleanup", "--dry-run", "--json"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    let expected = [
        "cache/a.bin cache-cap",
        "cache/ancient.dat age",
        "cache/b.bin cache-cap",
        "cache/sub/c.bin cache-cap",
        "temp/gone age",
        "temp/gone/old.bin age",
        "temp/old.tmp age",
    ];
    assert_eq!(removals(&stock.json()), expected);
    assert_eq!(removals(&dry.json()), expected);
    assert_eq!(tree_digest(&data), before, "a dry run removes nothing");
    let real = sandbox.run(&["--policy", text(&wasm), "cleanup", "--json"]);
    assert_eq!(real.code, 0, "{real:?}");
    let report = real.json();
    assert_eq!(removals(&report), expected);
    assert_eq!(report["cache_cleanup"]["bytes_freed"], 9000);
    let left: Vec<String> = tree_digest(&data).into_keys().collect();
    assert_eq!(
        left,
        [
            "cache",
            "cache/d.bin",
            "cache/sub",
            "output",
            "temp",
            "temp/fresh.tmp"
        ]
    );
}

#[test]
fn an_existing_name_is_never_overwritten_or_followed() {
    let sandbox = Sandbox::new();
    let new = |name: &str| {
        sandbox.run(&[
            "policy",
            "new",
            name,
            "--concern",
            "cleanup",
            "--lang",
            "rust",
        ])
    };
    // A directory that exists, even empty, keeps what it holds.
    std::fs::create_dir(sandbox.path().join("taken")).expect("mkdir");
    sandbox.write("taken/Cargo.toml", "mine");
    let before = tree_digest(sandbox.path());
    let run = new("taken");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("already exists"), "{run:?}");
    // A link at NAME, to a directory or to nothing, is not followed.
    std::fs::create_dir(sandbox.path().join("target-dir")).expect("mkdir");
    std::os::unix::fs::symlink("target-dir", sandbox.path().join("to-dir")).expect("link");
    std::os::unix::fs::symlink("nowhere", sandbox.path().join("dangling")).expect("link");
    let before_links = tree_digest(sandbox.path());
    for name in ["to-dir", "dangling", "taken/"] {
        let run = new(name);
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert!(
            run.error_line().contains("already exists"),
            "{name}: {run:?}"
        );
    }
    assert_eq!(tree_digest(sandbox.path()), before_links);
    assert!(!sandbox.path().join("nowhere").exists());
    assert_eq!(
        std::fs::read_to_string(sandbox.path().join("taken/Cargo.toml")).expect("mine"),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(sandbox.path().join("target-dir"))
            .expect("target-dir")
            .count(),
        0
    );
    assert!(before.contains_key("taken/Cargo.toml"));
    // Names that end in `.` or `..`; an empty one is refused by the argument parser.
    for name in ["..", ".", "a/..", "a/./"] {
        let run = new(name);
        assert_eq!(run.code, 2, "{name:?}: {run:?}");
        assert!(
            run.error_line().contains("is not a directory name"),
            "{name:?}: {run:?}"
        );
    }
    assert_eq!(new("").code, 2);
    assert_eq!(tree_digest(sandbox.path()), before_links);
}

#[test]
fn concerns_it_cannot_write_are_refused_in_one_line() {
    let mut sandbox = Sandbox::new();
    // A broken active policy does not stop it: it writes from what this binary embeds.
    sandbox.env("BACHATA_POLICY", "/nonexistent/policy.wasm");
    for (concern, says) in [
        ("pose", "cannot write a `pose` policy: it writes cleanup"),
        ("nonsense", "`nonsense` is not a concern of the contract"),
    ] {
        for lang in ["rust", "python", "js"] {
            let run = sandbox.run(&["policy", "new", "p", "--concern", concern, "--lang", lang]);
            assert_eq!(run.code, 2, "{concern} {lang}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
            assert!(run.error_line().contains(says), "{run:?}");
            assert!(run.error_line().contains("cleanup"), "{run:?}");
        }
    }
    assert!(!sandbox.path().join("p").exists(), "no stub project");
    let json = sandbox.run(&[
        "--json",
        "policy",
        "new",
        "p",
        "--concern",
        "pose",
        "--lang",
        "js",
    ]);
    assert_eq!(json.code, 2, "{json:?}");
    assert_eq!(json.json()["status"], 400);
    // With a concern it writes, in every language, the files of that language.
    for (lang, file) in [("python", "app.py"), ("js", "policy.js")] {
        let name = format!("in-{lang}");
        let run = sandbox.run(&[
            "--json",
            "policy",
            "new",
            &name,
            "--concern",
            "cleanup",
            "--lang",
            lang,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        let made = run.json();
        assert_eq!(made["build"], "bash build.sh");
        let files: Vec<&str> = made["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|file| file.as_str())
            .collect();
        assert!(
            files.contains(&file) && files.contains(&"wit/world.wit"),
            "{files:?}"
        );
        let build = sandbox.path().join(&name).join("build.sh");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&build).expect("build.sh").permissions(),
        );
        assert_eq!(mode & 0o111, 0o111, "build.sh is executable");
    }
}
