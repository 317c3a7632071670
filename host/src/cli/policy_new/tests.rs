//! Unit tests of `policy new`.

use std::path::{Path, PathBuf};

use bachata_common::policy::Concern;

use super::catalog::{self, Code, Stock, by_code, literal};
use super::project::{
    JS_KIT, JS_PACKAGE, Names, WIT, js_dev_dependencies, js_lockfile, project, project_from,
    python_requirements, render, templates, wit_bindgen_version,
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

const LANGS: [Lang; 3] = [Lang::Rust, Lang::Python, Lang::Js];

#[test]
fn every_project_is_complete_with_its_templates_filled() {
    for (concern, lang) in [Concern::Cleanup, Concern::Errors]
        .into_iter()
        .flat_map(|concern| LANGS.map(|lang| (concern, lang)))
    {
        let names = Names::of("my-policy");
        let files = project(concern, lang, &names).expect("project");
        for file in &files {
            assert!(
                !file.text.contains("{{"),
                "{concern} {lang:?} {}",
                file.path
            );
        }
        let has = |path: &str| files.iter().any(|file| file.path == path);
        assert!(has("wit/world.wit") && has("README.md") && has(".gitignore"));
        // The kit is a cleanup project's only: an errors project has no packed forms to hide.
        let kit = concern == Concern::Cleanup;
        match lang {
            Lang::Rust => {
                assert!(has("Cargo.toml") && has("src/lib.rs"));
                assert_eq!(has("src/kit.rs"), kit);
            }
            Lang::Python => {
                assert!(has("app.py") && has("build.sh"));
                assert_eq!(has("bachata_policy_kit.py"), kit);
            }
            Lang::Js => {
                assert!(has("policy.js") && has("package.json") && has("build.sh"));
                assert_eq!(has("kit.js"), kit);
            }
        }
        let text = |path: &str| {
            files
                .iter()
                .find(|file| file.path == path)
                .map(|file| file.text.as_str())
                .expect("file")
        };
        // The world of the concern, in the README and where the build names it.
        let world = format!("{concern}-policy");
        assert!(text("README.md").contains(&world), "{concern} {lang:?}");
        let built = match lang {
            Lang::Rust => files.iter().any(|file| {
                file.path.starts_with("src/") && file.text.contains(&format!("world: \"{world}\""))
            }),
            Lang::Python | Lang::Js => text("build.sh").contains(&format!(" {world} ")),
        };
        assert!(built, "{concern} {lang:?}");
    }
}

/// The stock catalog by code, as the stock policy's own source has it.
fn stock_from_source() -> Stock {
    use bachata_common_policy::catalog as stock;
    let entries: Vec<bachata_common::CatalogEntry> = stock::catalog()
        .into_iter()
        .map(|entry| bachata_common::CatalogEntry {
            error_code: entry.error_code,
            error_type: entry.error_type,
            message: entry.message,
            http_status: entry.http_status,
        })
        .collect();
    let titles: Vec<(String, String)> = entries
        .iter()
        .map(|entry| {
            let error = stock::make_error(kind_of(&entry.error_code), String::new(), Vec::new());
            let document: serde_json::Value =
                serde_json::from_str(&stock::problem_json(&error, None, None)).expect("json");
            (
                entry.error_code.clone(),
                document["title"].as_str().expect("title").to_string(),
            )
        })
        .collect();
    Stock {
        problem_type: stock::problem_type(""),
        codes: by_code(&entries, &titles),
    }
}

fn kind_of(code: &str) -> bachata_common_policy::types::ErrorKind {
    use bachata_common_policy::types::{ErrorKind, ValidationContext};
    [
        ErrorKind::Generation,
        ErrorKind::YoutubeDownload(None),
        ErrorKind::MusicAnalysis(None),
        ErrorKind::MoveAnalysis(None),
        ErrorKind::VideoGeneration,
        ErrorKind::Validation(ValidationContext {
            field: None,
            value: None,
        }),
        ErrorKind::Resource(None),
        ErrorKind::ServiceUnavailable(None),
    ]
    .into_iter()
    .find(|kind| bachata_common_policy::catalog::code_of(kind) == code)
    .expect("a kind of the code")
}

#[test]
fn an_errors_project_starts_from_the_stock_catalog() {
    let stock = catalog::stock().expect("the embedded stock policy");
    assert_eq!(stock, stock_from_source());
    assert_eq!(stock.problem_type, "urn:bachata-common:error:");
    let music = stock
        .codes
        .iter()
        .find(|code| code.code == "MUSIC_ANALYSIS_ERROR")
        .expect("music");
    assert_eq!(
        (music.status, music.title.as_str()),
        (422, "Music analysis failed")
    );
    assert_eq!(music.messages[0].0, "default");
    for code in &stock.codes {
        assert_eq!(code.messages[0].0, "default", "{}", code.code);
    }
    // Every message is in the table of every language, as a literal of that language.
    for lang in LANGS {
        let files = project(Concern::Errors, lang, &Names::of("e")).expect("project");
        let source = files
            .iter()
            .find(|file| ["src/lib.rs", "app.py", "policy.js"].contains(&file.path.as_str()))
            .expect("source");
        for code in &stock.codes {
            for (error_type, message) in &code.messages {
                for text in [error_type, message, &code.title, &code.code] {
                    assert!(
                        source.text.contains(&literal(lang, text)),
                        "{lang:?}: {text}"
                    );
                }
            }
        }
        assert!(source.text.contains(&literal(lang, &stock.problem_type)));
    }
}

#[test]
fn the_table_writes_messages_as_data() {
    let stock = Stock {
        problem_type: "urn:x:".to_string(),
        codes: vec![Code {
            code: "X_ERROR".to_string(),
            status: 418,
            title: "Tea".to_string(),
            messages: vec![
                (
                    "default".to_string(),
                    "Say \"{{name}}\" \\ é\n\u{1}".to_string(),
                ),
                ("7".to_string(), "seven".to_string()),
            ],
        }],
    };
    for lang in LANGS {
        let files =
            project_from(Concern::Errors, lang, &Names::of("e"), Some(&stock)).expect("project");
        let source = files
            .iter()
            .find(|file| ["src/lib.rs", "app.py", "policy.js"].contains(&file.path.as_str()))
            .expect("source");
        // The message as written, `{{name}}` included; the status, the type's start.
        let quoted = literal(lang, &stock.codes[0].messages[0].1);
        assert!(source.text.contains(&quoted), "{lang:?}: {quoted}");
        assert!(source.text.contains("status: 418") || source.text.contains("\"status\": 418"));
        assert!(source.text.contains(&literal(lang, "urn:x:")), "{lang:?}");
    }
    assert_eq!(
        literal(Lang::Rust, "a\"b\\c\n\u{1}é"),
        r#""a\"b\\c\n\u{1}é""#
    );
    assert_eq!(
        literal(Lang::Python, "a\"b\\c\n\u{1}é"),
        r#""a\"b\\c\n\u0001é""#
    );
    let missing = project_from(Concern::Errors, Lang::Rust, &Names::of("e"), None);
    assert!(matches!(missing, Err(NewError::Embedded { .. })));
}

#[test]
fn the_catalog_is_grouped_by_code_in_its_order() {
    let entry = |code: &str, error_type: &str, status| bachata_common::CatalogEntry {
        error_code: code.to_string(),
        error_type: error_type.to_string(),
        message: format!("{code}/{error_type}"),
        http_status: status,
    };
    let codes = by_code(
        &[
            entry("B", "default", 400),
            entry("A", "default", 503),
            entry("B", "other", 400),
        ],
        &[("B".to_string(), "Bee".to_string())],
    );
    let summary: Vec<(&str, u16, &str, usize)> = codes
        .iter()
        .map(|code| {
            (
                code.code.as_str(),
                code.status,
                code.title.as_str(),
                code.messages.len(),
            )
        })
        .collect();
    assert_eq!(summary, [("B", 400, "Bee", 2), ("A", 503, "Error", 1)]);
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
    assert_eq!(writable_concern("errors").expect("errors"), Concern::Errors);
    let pose = writable_concern("pose").expect_err("pose").to_string();
    assert!(pose.ends_with("it writes cleanup and errors"), "{pose}");
    let unknown = writable_concern("nope").expect_err("nope").to_string();
    assert!(
        unknown.contains("errors, config, cleanup")
            && unknown.ends_with("policy new writes cleanup and errors")
            && !unknown.contains('\n'),
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

#[test]
fn trailing_slashes_and_long_names() {
    assert_eq!(last_segment(Path::new("foo//")).expect("foo"), "foo");
    let long = "l".repeat(64);
    assert_eq!(last_segment(Path::new(&long)).expect("64 bytes"), long);
    let longer = "l".repeat(65);
    assert!(matches!(
        last_segment(Path::new(&longer)),
        Err(NewError::BadName { .. })
    ));
}

#[test]
fn the_printed_cd_line_reads_back_as_the_path() {
    use super::shell_word;
    let word = |text: &str| shell_word(Path::new(text));
    assert_eq!(word("my-policy").as_deref(), Some("my-policy"));
    assert_eq!(word("-dash").as_deref(), Some("./-dash"));
    assert_eq!(word("my proj").as_deref(), Some("'my proj'"));
    assert_eq!(word("$(touch x)").as_deref(), Some("'$(touch x)'"));
    assert_eq!(word("it's").as_deref(), Some("'it'\\''s'"));
    assert_eq!(word("new\nline"), None);
    use std::os::unix::ffi::OsStrExt as _;
    assert_eq!(
        shell_word(Path::new(std::ffi::OsStr::from_bytes(b"bad\xff"))),
        None
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("half");
    let file = |path: &str| super::project::File::new(path, "x");
    // The second file cannot be created (the name is taken): the run fails part-way.
    let failed = super::write::create(&path, &[file("a.txt"), file("a.txt")]);
    assert!(matches!(failed, Err(NewError::Io { .. })), "{failed:?}");
    assert!(!path.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "{left:?}");
    // A retry writes the project.
    super::write::create(&path, &[file("a.txt")]).expect("written");
    assert_eq!(
        std::fs::read_to_string(path.join("a.txt")).expect("read"),
        "x"
    );
}
