//! The files of a project: the contract's WIT and the kits as this binary embeds them, the
//! templates (`host/templates/policy-new/`) filled with the project's names and, for `errors`,
//! the stock catalog as a table.

use serde_json::json;

use bachata_common::policy::Concern;

use super::catalog::{self, Stock};
use super::{Lang, NewError};

/// The contract's WIT files, as this binary was built with them (a unit test keeps the list
/// equal to `wit/`).
pub const WIT: &[(&str, &str)] = &[
    ("cleanup.wit", include_str!("../../../../wit/cleanup.wit")),
    ("config.wit", include_str!("../../../../wit/config.wit")),
    ("couple.wit", include_str!("../../../../wit/couple.wit")),
    ("errors.wit", include_str!("../../../../wit/errors.wit")),
    ("events.wit", include_str!("../../../../wit/events.wit")),
    (
        "experiments.wit",
        include_str!("../../../../wit/experiments.wit"),
    ),
    ("host-fs.wit", include_str!("../../../../wit/host-fs.wit")),
    (
        "host-metrics.wit",
        include_str!("../../../../wit/host-metrics.wit"),
    ),
    (
        "host-pose.wit",
        include_str!("../../../../wit/host-pose.wit"),
    ),
    (
        "host-secrets.wit",
        include_str!("../../../../wit/host-secrets.wit"),
    ),
    ("monitor.wit", include_str!("../../../../wit/monitor.wit")),
    (
        "organizer.wit",
        include_str!("../../../../wit/organizer.wit"),
    ),
    ("pose.wit", include_str!("../../../../wit/pose.wit")),
    ("types.wit", include_str!("../../../../wit/types.wit")),
    ("world.wit", include_str!("../../../../wit/world.wit")),
];

/// The workspace manifest: the wit-bindgen version the projects pin.
pub const WORKSPACE_MANIFEST: &str = include_str!("../../../../Cargo.toml");
/// The Rust kit: the one copy, in `examples/size-first`.
pub const RUST_KIT: &str = include_str!("../../../../examples/size-first/src/kit.rs");
/// The Python kit: the one copy, in `examples/keep-python`.
pub const PYTHON_KIT: &str = include_str!("../../../../examples/keep-python/bachata_policy_kit.py");
/// The Python example's requirements: the componentize-py pin.
pub const PYTHON_REQUIREMENTS: &str =
    include_str!("../../../../examples/keep-python/requirements.txt");
/// The JavaScript kit: the one copy, in `examples/largest-first-js`.
pub const JS_KIT: &str = include_str!("../../../../examples/largest-first-js/kit.js");
/// The JavaScript example's `package.json`: the componentize-js and preview2-shim pins.
pub const JS_PACKAGE: &str = include_str!("../../../../examples/largest-first-js/package.json");
/// The JavaScript example's lockfile.
pub const JS_LOCK: &str = include_str!("../../../../examples/largest-first-js/package-lock.json");

/// Templates of the projects: `{{key}}` is replaced by [`render`].
pub mod templates {
    /// One template, `host/templates/policy-new/<path>.in`.
    macro_rules! template {
        ($name:ident, $path:literal) => {
            #[doc = concat!("`host/templates/policy-new/", $path, ".in`.")]
            pub const $name: &str =
                include_str!(concat!("../../../templates/policy-new/", $path, ".in"));
        };
    }
    template!(RUST_MANIFEST, "rust/Cargo.toml");
    template!(RUST_CLEANUP, "rust/cleanup.rs");
    template!(RUST_CLEANUP_README, "rust/cleanup.README.md");
    template!(RUST_ERRORS, "rust/errors.rs");
    template!(RUST_ERRORS_README, "rust/errors.README.md");
    template!(RUST_GITIGNORE, "rust/gitignore");
    template!(PYTHON_CLEANUP, "python/cleanup.py");
    template!(PYTHON_CLEANUP_README, "python/cleanup.README.md");
    template!(PYTHON_ERRORS, "python/errors.py");
    template!(PYTHON_ERRORS_README, "python/errors.README.md");
    template!(PYTHON_BUILD, "python/build.sh");
    template!(PYTHON_REQUIREMENTS, "python/requirements.txt");
    template!(PYTHON_GITIGNORE, "python/gitignore");
    template!(JS_CLEANUP, "js/cleanup.js");
    template!(JS_CLEANUP_README, "js/cleanup.README.md");
    template!(JS_ERRORS, "js/errors.js");
    template!(JS_ERRORS_README, "js/errors.README.md");
    template!(JS_BUILD, "js/build.sh");
    template!(JS_PACKAGE, "js/package.json");
    template!(JS_GITIGNORE, "js/gitignore");
}

/// One file of a project.
#[derive(Debug)]
pub struct File {
    /// Relative to the project, `/`-separated.
    pub path: String,
    /// The contents.
    pub text: String,
    /// Whether it is a script to run.
    pub executable: bool,
}

impl File {
    pub(super) fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            executable: false,
        }
    }

    fn script(path: &str, text: String) -> Self {
        Self {
            executable: true,
            ..Self::new(path, text)
        }
    }
}

/// What a project is called: in prose, as a package, and its component's file name.
#[derive(Debug, PartialEq, Eq)]
pub struct Names {
    /// The directory's name when it is plain ASCII, else `package`.
    pub title: String,
    /// Lowercase letters, digits and `-`, starting with a letter (npm, file names).
    pub package: String,
    /// The Rust crate: `package`, ending in `policy`.
    pub krate: String,
}

impl Names {
    /// The names of a project in a directory named `last`.
    pub fn of(last: &str) -> Self {
        let mut package = String::new();
        for c in last.chars() {
            if c.is_ascii_alphanumeric() {
                package.push(c.to_ascii_lowercase());
            } else if !package.is_empty() && !package.ends_with('-') {
                package.push('-');
            }
        }
        let mut package = package.trim_end_matches('-').to_string();
        if !package.starts_with(|c: char| c.is_ascii_lowercase()) {
            package = format!("policy-{package}")
                .trim_end_matches('-')
                .to_string();
        }
        let krate = if package.ends_with("policy") {
            package.clone()
        } else {
            format!("{package}-policy")
        };
        let plain = last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c));
        Self {
            title: if plain {
                last.to_string()
            } else {
                package.clone()
            },
            package,
            krate,
        }
    }

    /// The component's file name.
    pub fn wasm(&self, lang: Lang) -> String {
        match lang {
            Lang::Rust => format!("{}.wasm", self.krate.replace('-', "_")),
            Lang::Python | Lang::Js => format!("{}.wasm", self.package),
        }
    }
}

/// Replaces every `{{key}}` of `template`.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
}

fn embedded(what: &'static str, reason: impl Into<String>) -> NewError {
    NewError::Embedded {
        what,
        reason: reason.into(),
    }
}

/// The wit-bindgen requirement of the workspace (`=0.63.0`).
pub fn wit_bindgen_version() -> Result<String, NewError> {
    let manifest: toml::Table = toml::from_str(WORKSPACE_MANIFEST)
        .map_err(|error| embedded("Cargo.toml", error.to_string()))?;
    manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("dependencies"))
        .and_then(|dependencies| dependencies.get("wit-bindgen"))
        .and_then(|version| version.as_str())
        .map(str::to_string)
        .ok_or_else(|| embedded("Cargo.toml", "no workspace dependency wit-bindgen"))
}

/// The example's `devDependencies`, as the lines of a `package.json` object.
pub fn js_dev_dependencies() -> Result<String, NewError> {
    let package: serde_json::Value = serde_json::from_str(JS_PACKAGE)
        .map_err(|error| embedded("package.json", error.to_string()))?;
    let pins = package["devDependencies"]
        .as_object()
        .ok_or_else(|| embedded("package.json", "no devDependencies"))?;
    let lines: Vec<String> = pins
        .iter()
        .map(|(name, version)| format!("    {}: {version}", json!(name)))
        .collect();
    Ok(lines.join(",\n"))
}

/// The example's lockfile, for a package named `package`.
pub fn js_lockfile(package: &str) -> Result<String, NewError> {
    let example: serde_json::Value = serde_json::from_str(JS_PACKAGE)
        .map_err(|error| embedded("package.json", error.to_string()))?;
    let name = example["name"]
        .as_str()
        .ok_or_else(|| embedded("package.json", "no name"))?;
    let from = format!("\"name\": {}", json!(name));
    // The lockfile names its package twice: at the top and as the root package.
    if JS_LOCK.matches(&from).count() != 2 {
        return Err(embedded(
            "package-lock.json",
            format!("{from} is not there twice"),
        ));
    }
    Ok(JS_LOCK.replace(&from, &format!("\"name\": {}", json!(package))))
}

/// The example's pinned requirements (its comments left out).
pub fn python_requirements() -> String {
    PYTHON_REQUIREMENTS
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files of a `concern` project in `lang` (an `errors` project starts from the embedded
/// stock policy's catalog).
pub fn project(concern: Concern, lang: Lang, names: &Names) -> Result<Vec<File>, NewError> {
    let stock = match concern {
        Concern::Errors => Some(catalog::stock()?),
        _ => None,
    };
    project_from(concern, lang, names, stock.as_ref())
}

/// The templates of a project: its source file and its README.
fn sources(concern: Concern, lang: Lang) -> (&'static str, &'static str) {
    use templates::*;
    match (concern, lang) {
        (Concern::Errors, Lang::Rust) => (RUST_ERRORS, RUST_ERRORS_README),
        (Concern::Errors, Lang::Python) => (PYTHON_ERRORS, PYTHON_ERRORS_README),
        (Concern::Errors, Lang::Js) => (JS_ERRORS, JS_ERRORS_README),
        (_, Lang::Rust) => (RUST_CLEANUP, RUST_CLEANUP_README),
        (_, Lang::Python) => (PYTHON_CLEANUP, PYTHON_CLEANUP_README),
        (_, Lang::Js) => (JS_CLEANUP, JS_CLEANUP_README),
    }
}

/// The files of a `concern` project in `lang`; `stock` is the catalog an `errors` project
/// starts from.
pub fn project_from(
    concern: Concern,
    lang: Lang,
    names: &Names,
    stock: Option<&Stock>,
) -> Result<Vec<File>, NewError> {
    let world = format!("{}-policy", concern.name());
    let wasm = names.wasm(lang);
    let wit_bindgen = wit_bindgen_version()?;
    let values = [
        ("name", names.title.as_str()),
        ("package", names.package.as_str()),
        ("crate", names.krate.as_str()),
        ("wasm", wasm.as_str()),
        ("world", world.as_str()),
        ("concern", concern.name()),
        ("contract", env!("BACHATA_WIT_VERSION")),
        ("wit_bindgen", wit_bindgen.as_str()),
    ];
    let fill = |template: &str| render(template, &values);
    let (source, readme) = sources(concern, lang);
    // The catalog goes in last: its messages are data, never a template.
    let source = match (concern, stock) {
        (Concern::Errors, Some(stock)) => render(
            &fill(source),
            &[
                ("problem_type", &catalog::literal(lang, &stock.problem_type)),
                ("catalog", &catalog::table(lang, &stock.codes)),
            ],
        ),
        (Concern::Errors, None) => {
            return Err(embedded("stock policy", "no catalog to start from"));
        }
        _ => fill(source),
    };
    // A cleanup project has the kit of its language; an errors project needs none.
    let kit = concern == Concern::Cleanup;
    let mut files: Vec<File> = WIT
        .iter()
        .map(|(name, text)| File::new(format!("wit/{name}"), *text))
        .collect();
    match lang {
        Lang::Rust => {
            files.extend([
                File::new("Cargo.toml", fill(templates::RUST_MANIFEST)),
                File::new("src/lib.rs", source),
            ]);
            if kit {
                files.push(File::new("src/kit.rs", RUST_KIT));
            }
            files.extend([
                File::new("README.md", fill(readme)),
                File::new(".gitignore", templates::RUST_GITIGNORE),
            ]);
        }
        Lang::Python => {
            files.push(File::new("app.py", source));
            if kit {
                files.push(File::new("bachata_policy_kit.py", PYTHON_KIT));
            }
            files.extend([
                File::new(
                    "requirements.txt",
                    render(
                        templates::PYTHON_REQUIREMENTS,
                        &[("requirements", &python_requirements())],
                    ),
                ),
                File::script("build.sh", fill(templates::PYTHON_BUILD)),
                File::new("README.md", fill(readme)),
                File::new(".gitignore", templates::PYTHON_GITIGNORE),
            ]);
        }
        Lang::Js => {
            files.push(File::new("policy.js", source));
            if kit {
                files.push(File::new("kit.js", JS_KIT));
            }
            files.extend([
                File::new(
                    "package.json",
                    render(
                        &fill(templates::JS_PACKAGE),
                        &[("dev_dependencies", &js_dev_dependencies()?)],
                    ),
                ),
                File::new("package-lock.json", js_lockfile(&names.package)?),
                File::script("build.sh", fill(templates::JS_BUILD)),
                File::new("README.md", fill(readme)),
                File::new(".gitignore", templates::JS_GITIGNORE),
            ]);
        }
    }
    Ok(files)
}
