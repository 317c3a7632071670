//! The host's layers import one way (ARCHITECTURE.md): `types` < `capabilities` < `runtime`
//! < `services` < `daemon`, each using only the layers before it (and itself), never the
//! crate's facade re-exports; modules form no import cycle (a module may use what its
//! ancestors define, the module tree itself); no source file is over 500 lines without saying
//! why at its top.

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

/// The module path of a source file: `runtime/host/fs.rs` is `runtime::host::fs`,
/// `runtime/mod.rs` is `runtime`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .filter_map(|part| part.to_str())
        .map(|part| part.trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib" || last == "main")
    {
        parts.pop();
    }
    parts
}

/// The modules a file refers to by `crate::` or `super::` paths (grouped `use` lists too),
/// each resolved to the longest prefix that is a source file.
fn references(module: &[String], text: &str, modules: &[Vec<String>]) -> Vec<Vec<String>> {
    let resolve = |path: Vec<String>| -> Option<Vec<String>> {
        (0..=path.len())
            .rev()
            .map(|length| path[..length].to_vec())
            .find(|prefix| modules.contains(prefix))
    };
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            if at > 0 && code[..at].ends_with("::") {
                continue; // the tail of a longer path (`super::super::`)
            }
            let tail = &code[at..];
            let path: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut base: Vec<String> = Vec::new();
            if segments.first() == Some(&"crate") {
                segments.remove(0);
            } else {
                base = module.to_vec();
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    base.pop();
                }
            }
            let mut names: Vec<Vec<String>> =
                vec![segments.iter().map(|s| s.to_string()).collect()];
            // `use super::{a, b::C}`: each name of the group.
            if let Some(group) = tail
                .get(path.len()..)
                .and_then(|rest| rest.strip_prefix('{'))
            {
                let inner = group.split('}').next().unwrap_or_default();
                for name in inner.split(',') {
                    let name: Vec<String> = name
                        .trim()
                        .split("::")
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    let mut full: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
                    full.extend(name);
                    names.push(full);
                }
            }
            for name in names {
                let mut target = base.clone();
                target.extend(name);
                if let Some(target) = resolve(target) {
                    found.push(target);
                }
            }
        }
    }
    found
}

#[test]
fn modules_form_no_import_cycle() {
    let root = host_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let modules: Vec<Vec<String>> = files
        .iter()
        .map(|file| module_of(file.strip_prefix(&root).expect("under src")))
        .collect();
    let mut edges: BTreeMap<Vec<String>, std::collections::BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, module) in files.iter().zip(&modules) {
        if module.is_empty() || module[0] == "cli" {
            continue; // the facade and the binary sit on top of everything
        }
        let text = std::fs::read_to_string(file).expect("read");
        for target in references(module, &text, &modules) {
            let ancestor = target.len() < module.len() && module[..target.len()] == target[..];
            if target != *module && !ancestor && !target.is_empty() {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, std::collections::BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                0 => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(node, &edges, &mut state, &mut Vec::new())
        {
            let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            panic!("import cycle: {}", names.join(" -> "));
        }
    }
    assert!(
        edges.len() > 20,
        "the graph was read: {} modules",
        edges.len()
    );
}
