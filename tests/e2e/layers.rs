//! The host's layers import one way (ARCHITECTURE.md): `types` < `capabilities` < `runtime`
//! < `services` < `daemon`, each using only the layers before it (and itself), never the
//! crate's facade re-exports; no source file is over 500 lines without saying why at its top.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first.
const LAYERS: [&str; 5] = ["types", "capabilities", "runtime", "services", "daemon"];

/// Paths of the public facade (`lib.rs`): convenient for users, hiding the layers inside.
const FACADE: [&str; 11] = [
    "policy",
    "config",
    "pose",
    "resources",
    "temp",
    "cleanup",
    "error",
    "text",
    "Error",
    "AppError",
    "Policy",
];

fn host_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<name>` paths a file's code (not its comments) uses.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn layers_import_only_the_layers_below_them() {
    let root = host_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let Some(rank) = LAYERS.iter().position(|layer| *layer == first) else {
            continue; // lib.rs (the facade), main.rs and cli/ (the binary) may use anything
        };
        let text = std::fs::read_to_string(file).expect("read");
        for name in crate_paths(&text) {
            graph.entry(LAYERS[rank]).or_default().insert(name.clone());
            if FACADE.contains(&name.as_str()) {
                wrong.push(format!(
                    "{}: uses the facade path crate::{name}",
                    relative.display()
                ));
            } else if let Some(target) = LAYERS.iter().position(|layer| *layer == name)
                && target > rank
            {
                wrong.push(format!(
                    "{} ({}) imports crate::{name}, a layer above it",
                    relative.display(),
                    LAYERS[rank]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nimports by layer: {graph:#?}",
        wrong.join("\n")
    );
    // Every layer exists and the graph was read.
    assert!(graph.contains_key("runtime") && graph.contains_key("daemon"));
}

#[test]
fn long_files_say_why() {
    let root = host_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).expect("read");
            let lines = text.lines().count();
            let head: String = text.lines().take(15).collect::<Vec<_>>().join("\n");
            (lines > 500 && !head.contains("over 500 lines"))
                .then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
