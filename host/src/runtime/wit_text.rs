//! The WIT of a component, decoded from its binary: what the component really imports and
//! exports, printed as WIT text (`bachata-common policy wit`).

use wit_component::WitPrinter;
use wit_parser::{PackageId, Resolve};

/// Prints package `package` of `resolve` as WIT text, with its doc comments.
pub fn print_package(resolve: &Resolve, package: PackageId) -> Result<String, String> {
    let mut printer = WitPrinter::default();
    printer.emit_docs(true);
    printer
        .print(resolve, package, &[])
        .map_err(|error| format!("cannot print the WIT: {error:#}"))?;
    Ok(printer.output.to_string())
}

/// Decodes a component and prints the WIT of every package it uses, its own world first.
pub fn component_wit(bytes: &[u8]) -> Result<String, String> {
    let decoded = wit_parser::decoding::decode(bytes)
        .map_err(|error| format!("cannot decode the component's WIT: {error:#}"))?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let mut text = print_package(resolve, main)?;
    for (id, _) in resolve.packages.iter().filter(|(id, _)| *id != main) {
        text.push('\n');
        text.push_str(&print_package(resolve, id)?);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Package `bachata:common` without docs or worlds, interfaces and each interface's types
    /// by name (their order in a binary follows how the toolchain met them): the part of the
    /// WIT a component's binary carries.
    fn interfaces(resolve: &mut Resolve, package: PackageId) -> String {
        let entry = &mut resolve.packages[package];
        entry.worlds.clear();
        entry.interfaces.sort_keys();
        let ids: Vec<_> = entry.interfaces.values().copied().collect();
        for id in ids {
            resolve.interfaces[id].types.sort_keys();
        }
        let mut printer = WitPrinter::default();
        printer.emit_docs(false);
        printer.print(resolve, package, &[]).expect("print");
        printer.output.to_string()
    }

    fn bachata(resolve: &Resolve) -> PackageId {
        resolve
            .packages
            .iter()
            .find(|(_, package)| package.name.namespace == "bachata")
            .map(|(id, _)| id)
            .expect("bachata:common package")
    }

    #[test]
    fn the_embedded_component_carries_exactly_the_wit_of_the_wit_directory() {
        let decoded =
            wit_parser::decoding::decode(crate::runtime::EMBEDDED_POLICY).expect("decode");
        let mut component = decoded.resolve().clone();
        let world = &component.worlds[match &decoded {
            wit_parser::decoding::DecodedWasm::Component(_, world) => *world,
            _ => panic!("not a component"),
        }];
        let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>,
                     resolve: &Resolve| {
            let mut names: Vec<String> = items
                .keys()
                .map(|key| resolve.name_world_key(key))
                .filter(|name| name.starts_with("bachata:"))
                .collect();
            names.sort();
            names
        };
        let (component_imports, component_exports) = (
            names(&world.imports, &component),
            names(&world.exports, &component),
        );

        // The stock policy's world (`wit/stock`) over the contract (`wit/`).
        let mut source = Resolve::default();
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let (package, _) = source.push_dir(&wit).expect("wit/ parses");
        let (stock_package, _) = source
            .push_dir(wit.join("stock"))
            .expect("wit/stock parses");
        let stock = source
            .select_world(&[stock_package], Some("stock"))
            .expect("world stock");
        let world = &source.worlds[stock];
        assert_eq!(component_imports, names(&world.imports, &source));
        assert_eq!(component_exports, names(&world.exports, &source));

        // An import the component never calls is dropped by the toolchain: in the imported
        // (host-*) interfaces, the component may use fewer functions than wit/ declares.
        // Everything else, exports and every type included, must be identical.
        let bachata_package = bachata(&component);
        let used = |name: &str| -> Vec<String> {
            let id = component.packages[bachata_package].interfaces[name];
            component.interfaces[id].functions.keys().cloned().collect()
        };
        let mut dropped = Vec::new();
        for (name, id) in source.packages[package].interfaces.clone() {
            if name.starts_with("host-") {
                let kept = used(&name);
                let functions = &mut source.interfaces[id].functions;
                dropped.extend(
                    functions
                        .keys()
                        .filter(|function| !kept.contains(function))
                        .map(|function| format!("{name}.{function}")),
                );
                functions.retain(|function, _| kept.contains(function));
            }
        }
        assert_eq!(dropped, ["host-metrics.snapshot"], "unused imports");
        assert_eq!(
            interfaces(&mut component, bachata_package),
            interfaces(&mut source, package)
        );
    }
}
