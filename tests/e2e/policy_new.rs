//! `policy new`: the project it writes builds as it is, passes `policy check`, answers only
//! its concern and, as written, cleans (a cleanup project) or answers the error catalog (an
//! errors project) like the stock policy; it never overwrites or follows what is already there,
//! and refuses concerns it cannot write. (The Python and JavaScript projects are built and
//! checked by `tests/examples.sh`: their builds install from PyPI and npm.)

use std::path::{Path, PathBuf};
use std::process::Command;

use bachata_common::{AppError, Policy};
use bachata_common_tests::{Run, Sandbox, age, tree_digest};

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
        (
            "pose",
            "cannot write a `pose` policy: it writes cleanup and errors",
        ),
        ("nonsense", "`nonsense` is not a concern of the contract"),
    ] {
        for lang in ["rust", "python", "js"] {
            let run = sandbox.run(&["policy", "new", "p", "--concern", concern, "--lang", lang]);
            assert_eq!(run.code, 2, "{concern} {lang}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
            assert!(run.error_line().contains(says), "{run:?}");
            assert!(
                run.error_line().ends_with("writes cleanup and errors"),
                "{run:?}"
            );
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
    // With a concern it writes, in every language, the files of that language (an errors
    // project's catalog comes from the embedded stock policy, whatever policy is active).
    for (concern, lang, file, kit) in [
        ("cleanup", "python", "app.py", Some("bachata_policy_kit.py")),
        ("cleanup", "js", "policy.js", Some("kit.js")),
        ("errors", "python", "app.py", None),
        ("errors", "js", "policy.js", None),
    ] {
        let name = format!("{concern}-in-{lang}");
        let run = sandbox.run(&[
            "--json",
            "policy",
            "new",
            &name,
            "--concern",
            concern,
            "--lang",
            lang,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        let made = run.json();
        assert_eq!(made["build"], "bash build.sh");
        assert_eq!(made["world"], format!("{concern}-policy"));
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
        let has_kit = files
            .iter()
            .any(|file| ["bachata_policy_kit.py", "kit.js"].contains(file));
        assert_eq!(has_kit, kit.is_some(), "{files:?}");
        if let Some(kit) = kit {
            assert!(files.contains(&kit), "{files:?}");
        }
        let build = sandbox.path().join(&name).join("build.sh");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&build).expect("build.sh").permissions(),
        );
        assert_eq!(mode & 0o111, 0o111, "build.sh is executable");
    }
}

/// The stock policy's and `wasm`'s answers to the same command.
fn both(sandbox: &Sandbox, wasm: &Path, args: &[&str]) -> (Run, Run) {
    let stock = sandbox.run(args);
    let mut with = vec!["--policy", text(wasm)];
    with.extend_from_slice(args);
    (stock, sandbox.run(&with))
}

/// An error of every kind, with its context `context` (when it has one) and `details`.
fn one_of_each_kind(context: Option<&str>, details: &[(&str, &str)]) -> Vec<AppError> {
    let context = || context.map(str::to_string);
    let details = || -> Vec<(String, String)> {
        details
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    };
    let message = "what went wrong: \"quoted\" \\ é\n".to_string();
    vec![
        AppError::Generation {
            message: message.clone(),
            details: details(),
        },
        AppError::YoutubeDownload {
            message: message.clone(),
            url: context(),
            details: details(),
        },
        AppError::MusicAnalysis {
            message: message.clone(),
            audio_path: context(),
            details: details(),
        },
        AppError::MoveAnalysis {
            message: message.clone(),
            video_path: context(),
            details: details(),
        },
        AppError::VideoGeneration {
            message: message.clone(),
            details: details(),
        },
        AppError::Validation {
            message: message.clone(),
            field: context(),
            value: Some("\u{1}\u{7f} \u{2028} 😀".to_string()),
            details: details(),
        },
        AppError::Resource {
            message: message.clone(),
            resource_type: context(),
            details: details(),
        },
        AppError::ServiceUnavailable {
            message,
            service_name: context(),
            details: details(),
        },
    ]
}

/// `mine` answers every function of `errors` as `stock` does.
fn answers_like(stock: &Policy, mine: &Policy) {
    let catalog = stock.catalog().expect("catalog");
    assert_eq!(mine.catalog().expect("catalog"), catalog);
    let mut codes: Vec<&str> = catalog.iter().map(|e| e.error_code.as_str()).collect();
    codes.extend(["NOPE_ERROR", "validation_error", ""]);
    let mut types: Vec<&str> = catalog.iter().map(|e| e.error_type.as_str()).collect();
    types.extend(["nope", ""]);
    for code in &codes {
        assert_eq!(
            mine.http_status(code).expect("status"),
            stock.http_status(code).expect("status"),
            "{code}"
        );
        for error_type in &types {
            assert_eq!(
                mine.user_friendly_message(code, error_type)
                    .expect("message"),
                stock
                    .user_friendly_message(code, error_type)
                    .expect("message"),
                "{code}/{error_type}"
            );
        }
    }
    // The kind's context first, a given key it holds left out, a repeated one kept once; in
    // the problem document the members by name, of a repeated detail the last value.
    let details = [
        ("url", "given"),
        ("7", "seven"),
        ("10", "ten"),
        ("b", "2"),
        ("a", "1"),
        ("a", "again"),
        ("😀", "astral"),
        ("\u{ffff}", "last of the basic plane"),
        ("field", "x"),
    ];
    for context in [None, Some("/data/song \"1\".mp3")] {
        for error in one_of_each_kind(context, &details) {
            let built = mine.make_error(&error).expect("make-error");
            assert_eq!(built, stock.make_error(&error).expect("make-error"));
            for error_type in [None, Some("default"), Some("too_short"), Some("nope")] {
                for instance in [None, Some("/v1/choreographies/7")] {
                    assert_eq!(
                        mine.problem_json(&error, error_type, instance)
                            .expect("problem-json"),
                        stock
                            .problem_json(&error, error_type, instance)
                            .expect("problem-json"),
                        "{error:?} {error_type:?} {instance:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_generated_rust_errors_policy_builds_passes_the_check_and_answers_like_the_stock_policy() {
    let sandbox = Sandbox::new();
    let made = sandbox.run(&[
        "policy",
        "new",
        "my-errors",
        "--concern",
        "errors",
        "--lang",
        "rust",
    ]);
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        made.stdout.contains("an errors policy in Rust"),
        "{}",
        made.stdout
    );
    let project = sandbox.path().join("my-errors");
    for file in ["Cargo.toml", "README.md", "src/lib.rs", "wit/errors.wit"] {
        assert!(project.join(file).is_file(), "{file}");
    }
    assert!(!project.join("src/kit.rs").exists(), "no kit for errors");

    let wasm = build_rust(&project, "my_errors_policy.wasm");
    let check = sandbox.run(&["policy", "check", text(&wasm)]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check
            .stdout
            .contains("37 catalog entries over 8 error codes"),
        "{check:?}"
    );
    let info = sandbox
        .run(&["--policy", text(&wasm), "policy", "info", "--json"])
        .json();
    for (concern, answer) in info["concerns"].as_object().expect("concerns") {
        let expected = if concern == "errors" {
            text(&wasm)
        } else {
            "embedded"
        };
        assert_eq!(answer["origin"], expected, "{concern}");
    }

    // As written, it answers as the stock policy does, on the command line...
    for args in [
        &["errors", "message", "MUSIC_ANALYSIS_ERROR"][..],
        &["errors", "list", "--json"],
        &[
            "errors",
            "message",
            "MUSIC_ANALYSIS_ERROR",
            "too_short",
            "--json",
        ],
        &["errors", "message", "NOPE_ERROR"],
        // A failure's problem document, rendered by the active policy.
        &["--json", "tmp", "user-dir", "../x"],
    ] {
        let (stock, mine) = both(&sandbox, &wasm, args);
        assert_eq!(
            (mine.code, &mine.stdout),
            (stock.code, &stock.stdout),
            "{args:?}"
        );
        assert!(!stock.stdout.is_empty(), "{args:?}");
    }
    // ... and in every function of the interface.
    let stock = Policy::embedded().expect("stock policy");
    answers_like(&stock, &Policy::from_file(&wasm).expect("generated policy"));

    // A message changed in the table is the one the host shows.
    let source = project.join("src/lib.rs");
    let old = "We couldn't analyse the music. Please try another song.";
    let new = "Pick another song: this one could not be analysed.";
    let lib = std::fs::read_to_string(&source).expect("src/lib.rs");
    assert_eq!(
        lib.matches(old).count(),
        1,
        "the message is in the table once"
    );
    std::fs::write(&source, lib.replace(old, new)).expect("edit src/lib.rs");
    let wasm = build_rust(&project, "my_errors_policy.wasm");
    let (stock, mine) = both(
        &sandbox,
        &wasm,
        &["errors", "message", "MUSIC_ANALYSIS_ERROR"],
    );
    assert_eq!(stock.stdout.trim(), old);
    assert_eq!(mine.stdout.trim(), new, "{mine:?}");
    let (stock, mine) = both(&sandbox, &wasm, &["errors", "list", "--json"]);
    let changed: Vec<(serde_json::Value, serde_json::Value)> = stock
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .cloned()
        .zip(mine.json().as_array().expect("entries").iter().cloned())
        .filter(|(stock, mine)| stock != mine)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1["message"], new);
    assert_eq!(changed[0].1["error_type"], "default");
}
