//! The contract's compatibility promise (`tests/compat/README.md`).
//!
//! `tests/compat/wit/<version>/` holds the WIT of every released contract version and
//! `tests/compat/<version>/` components built against it. Within a major version the current
//! `wit/` must keep every released interface (its functions and types) and every released world
//! (its imports and exports) exactly as released, may only add interfaces and worlds, and must
//! bump the minor when it adds any; a higher major may change anything. The comparison is
//! structural, through wit-parser's `Resolve`, so documentation may change freely. The current
//! host must load and run every released component of its major, and refuse components of
//! another major or of a later minor, naming both versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bachata_common::Policy;
use bachata_common_tests::{Sandbox, age};
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, PackageId, Resolve, Type, TypeDefKind, TypeId,
    TypeOwner, WorldItem, WorldKey,
};

/// The released contract the examples below edit: frozen, so they keep their meaning whatever
/// `wit/` becomes.
const EXAMPLE_RELEASE: &str = "1.0.0";

/// `tests/compat`.
fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat")
}

/// The contract being developed: `wit/` at the repository's root.
fn current_wit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

/// The released versions, each with its frozen WIT directory, oldest first.
fn releases() -> Vec<(String, PathBuf)> {
    let mut releases: Vec<(String, PathBuf)> = std::fs::read_dir(compat_dir().join("wit"))
        .expect("tests/compat/wit")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            let version = path
                .file_name()
                .and_then(|name| name.to_str())
                .expect("a version directory name")
                .to_string();
            (version, path)
        })
        .collect();
    releases.sort_by_key(|(version, _)| parse_version(version));
    assert!(
        !releases.is_empty(),
        "no released contract in tests/compat/wit"
    );
    releases
}

/// `major.minor.patch` as numbers.
fn parse_version(text: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = text
        .split('.')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|_| panic!("{text} is not a version"))
        })
        .collect();
    match parts[..] {
        [major, minor, patch] => (major, minor, patch),
        _ => panic!("{text} is not major.minor.patch"),
    }
}

/// One version of the contract, resolved from its WIT directory.
struct Contract {
    resolve: Resolve,
    package: PackageId,
}

impl Contract {
    fn load(dir: &Path) -> Self {
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_dir(dir)
            .unwrap_or_else(|error| panic!("cannot parse {}: {error:#}", dir.display()));
        Self { resolve, package }
    }

    /// `namespace:name`, without the version.
    fn package_name(&self) -> String {
        let name = &self.resolve.packages[self.package].name;
        format!("{}:{}", name.namespace, name.name)
    }

    /// `(major, minor, patch)`.
    fn version(&self) -> (u64, u64, u64) {
        let version = self.resolve.packages[self.package]
            .name
            .version
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no version", self.package_name()));
        (version.major, version.minor, version.patch)
    }

    /// `namespace:name@major.minor.patch`.
    fn full_name(&self) -> String {
        let (major, minor, patch) = self.version();
        format!("{}@{major}.{minor}.{patch}", self.package_name())
    }

    /// The name of an interface: bare for this package's own (so that versions compare
    /// equal), fully qualified with its version for another package's.
    fn interface_name(&self, id: InterfaceId) -> String {
        let interface = &self.resolve.interfaces[id];
        match (&interface.name, interface.package) {
            (Some(name), Some(package)) if package == self.package => name.clone(),
            (Some(_), _) => self.resolve.id_of(id).unwrap_or_default(),
            (None, _) => "an unnamed interface".to_string(),
        }
    }

    /// The name of an import or export of a world.
    fn key_name(&self, key: &WorldKey) -> String {
        match key {
            WorldKey::Name(name) => name.clone(),
            WorldKey::Interface(id) => self.interface_name(*id),
        }
    }

    /// How a type reads: a named type by its name (qualified unless it belongs to `home`),
    /// an anonymous one spelled out.
    fn type_name(&self, ty: &Type, home: Option<InterfaceId>) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::Id(id) => self.typedef_name(*id, home),
        }
    }

    fn typedef_name(&self, id: TypeId, home: Option<InterfaceId>) -> String {
        let def = &self.resolve.types[id];
        match (&def.name, def.owner) {
            (Some(name), TypeOwner::Interface(owner)) if Some(owner) == home => name.clone(),
            (Some(name), TypeOwner::Interface(owner)) => {
                format!("{}.{name}", self.interface_name(owner))
            }
            (Some(name), TypeOwner::World(world)) => {
                format!("{}.{name}", self.resolve.worlds[world].name)
            }
            (Some(name), TypeOwner::None) => name.clone(),
            (None, _) => self.shape(&def.kind, home),
        }
    }

    /// A type definition spelled out, its members in order.
    fn shape(&self, kind: &TypeDefKind, home: Option<InterfaceId>) -> String {
        let name = |ty: &Type| self.type_name(ty, home);
        let optional = |ty: &Option<Type>| ty.as_ref().map_or("_".to_string(), name);
        match kind {
            TypeDefKind::Record(record) => format!(
                "record {{ {} }}",
                record
                    .fields
                    .iter()
                    .map(|field| format!("{}: {}", field.name, name(&field.ty)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TypeDefKind::Resource => "resource".into(),
            TypeDefKind::Handle(Handle::Own(id)) => {
                format!("own<{}>", self.typedef_name(*id, home))
            }
            TypeDefKind::Handle(Handle::Borrow(id)) => {
                format!("borrow<{}>", self.typedef_name(*id, home))
            }
            TypeDefKind::Flags(flags) => format!(
                "flags {{ {} }}",
                flags
                    .flags
                    .iter()
                    .map(|flag| flag.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TypeDefKind::Tuple(tuple) => format!(
                "tuple<{}>",
                tuple.types.iter().map(name).collect::<Vec<_>>().join(", ")
            ),
            TypeDefKind::Variant(variant) => format!(
                "variant {{ {} }}",
                variant
                    .cases
                    .iter()
                    .map(|case| match &case.ty {
                        Some(ty) => format!("{}({})", case.name, name(ty)),
                        None => case.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TypeDefKind::Enum(enumeration) => format!(
                "enum {{ {} }}",
                enumeration
                    .cases
                    .iter()
                    .map(|case| case.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TypeDefKind::Option(ty) => format!("option<{}>", name(ty)),
            TypeDefKind::Result(result) => match (&result.ok, &result.err) {
                (None, None) => "result".into(),
                (Some(ok), None) => format!("result<{}>", name(ok)),
                (ok, err) => format!("result<{}, {}>", optional(ok), optional(err)),
            },
            TypeDefKind::List(ty) => format!("list<{}>", name(ty)),
            TypeDefKind::Map(key, value) => format!("map<{}, {}>", name(key), name(value)),
            TypeDefKind::FixedLengthList(ty, length) => format!("list<{}, {length}>", name(ty)),
            TypeDefKind::Future(ty) => format!("future<{}>", optional(ty)),
            TypeDefKind::Stream(ty) => format!("stream<{}>", optional(ty)),
            TypeDefKind::Type(ty) => name(ty),
            TypeDefKind::Unknown => "an unknown type".into(),
        }
    }

    /// How a function is named in a message: `function f`, `resource r method m`.
    fn function_label(&self, function: &Function) -> String {
        let Some(resource) = function.kind.resource() else {
            return format!("function {}", function.name);
        };
        let resource = self.resolve.types[resource]
            .name
            .clone()
            .unwrap_or_default();
        let item = function.item_name();
        match function.kind {
            FunctionKind::Constructor(_) => format!("resource {resource} constructor"),
            FunctionKind::Static(_)
            | FunctionKind::AsyncStatic(_)
            | FunctionKind::StaticGetter(_)
            | FunctionKind::StaticSetter(_) => {
                format!("resource {resource} static function {item}")
            }
            _ => format!("resource {resource} method {item}"),
        }
    }
}

/// What `kind` is called in a message.
fn kind_noun(kind: &TypeDefKind) -> &'static str {
    match kind {
        TypeDefKind::Record(_) => "record",
        TypeDefKind::Variant(_) => "variant",
        TypeDefKind::Enum(_) => "enum",
        TypeDefKind::Flags(_) => "flags",
        TypeDefKind::Resource => "resource",
        _ => "type",
    }
}

/// One side of a comparison: the contract and the interface its names are relative to.
#[derive(Clone, Copy)]
struct Side<'a> {
    contract: &'a Contract,
    home: Option<InterfaceId>,
}

impl Side<'_> {
    fn name(&self, ty: &Type) -> String {
        self.contract.type_name(ty, self.home)
    }

    fn optional(&self, ty: &Option<Type>) -> String {
        ty.as_ref()
            .map_or("nothing".to_string(), |ty| self.name(ty))
    }
}

/// The differences between the members (fields, cases, flags) of a released type and the
/// current one, each with its type ("" when members have none), order included.
fn compare_members(
    what: &str,
    noun: &str,
    old: &[(String, String)],
    new: &[(String, String)],
    out: &mut Vec<String>,
) {
    let before = out.len();
    for (name, ty) in old {
        match new.iter().find(|(other, _)| other == name) {
            None => out.push(format!("{what} lost {noun} {name}")),
            Some((_, other)) if other != ty => out.push(format!(
                "{what} {noun} {name} changed type from {ty} to {other}"
            )),
            Some(_) => {}
        }
    }
    for (name, _) in new {
        if !old.iter().any(|(other, _)| other == name) {
            out.push(format!("{what} gained {noun} {name}"));
        }
    }
    let names = |members: &[(String, String)]| {
        members
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if out.len() == before && names(old) != names(new) {
        out.push(format!(
            "{what} reordered its {noun}s: {} (released: {})",
            names(new),
            names(old)
        ));
    }
}

/// The differences between a released named type and the current type of that name.
fn compare_typedef(
    (old, old_id): (Side<'_>, TypeId),
    (new, new_id): (Side<'_>, TypeId),
    label: &str,
    out: &mut Vec<String>,
) {
    let old_def = &old.contract.resolve.types[old_id];
    let new_def = &new.contract.resolve.types[new_id];
    let name = old_def.name.as_deref().unwrap_or("?");
    let what = format!("{label}: {} {name}", kind_noun(&old_def.kind));
    let fields = |side: Side<'_>, fields: &[wit_parser::Field]| -> Vec<(String, String)> {
        fields
            .iter()
            .map(|field| (field.name.clone(), side.name(&field.ty)))
            .collect()
    };
    let bare = |names: Vec<&String>| -> Vec<(String, String)> {
        names
            .into_iter()
            .map(|name| (name.clone(), String::new()))
            .collect()
    };
    match (&old_def.kind, &new_def.kind) {
        (TypeDefKind::Record(a), TypeDefKind::Record(b)) => compare_members(
            &what,
            "field",
            &fields(old, &a.fields),
            &fields(new, &b.fields),
            out,
        ),
        (TypeDefKind::Variant(a), TypeDefKind::Variant(b)) => {
            let cases = |side: Side<'_>, cases: &[wit_parser::Case]| -> Vec<(String, String)> {
                cases
                    .iter()
                    .map(|case| (case.name.clone(), side.optional(&case.ty)))
                    .collect()
            };
            compare_members(
                &what,
                "case",
                &cases(old, &a.cases),
                &cases(new, &b.cases),
                out,
            )
        }
        (TypeDefKind::Enum(a), TypeDefKind::Enum(b)) => compare_members(
            &what,
            "case",
            &bare(a.cases.iter().map(|case| &case.name).collect()),
            &bare(b.cases.iter().map(|case| &case.name).collect()),
            out,
        ),
        (TypeDefKind::Flags(a), TypeDefKind::Flags(b)) => compare_members(
            &what,
            "flag",
            &bare(a.flags.iter().map(|flag| &flag.name).collect()),
            &bare(b.flags.iter().map(|flag| &flag.name).collect()),
            out,
        ),
        (TypeDefKind::Resource, TypeDefKind::Resource) => {}
        (a, b) if kind_noun(a) != kind_noun(b) => {
            out.push(format!("{what} became a {}", kind_noun(b)));
        }
        (a, b) => {
            let (was, now) = (
                old.contract.shape(a, old.home),
                new.contract.shape(b, new.home),
            );
            if was != now {
                out.push(format!("{what} changed from {was} to {now}"));
            }
        }
    }
}

/// The differences between a released function and the current function of that name.
fn compare_function(
    (old, a): (Side<'_>, &Function),
    (new, b): (Side<'_>, &Function),
    label: &str,
    out: &mut Vec<String>,
) {
    let what = format!("{label}: {}", old.contract.function_label(a));
    if a.kind.is_async() != b.kind.is_async() {
        out.push(if b.kind.is_async() {
            format!("{what} became async")
        } else {
            format!("{what} is no longer async")
        });
    }
    for index in 0..a.params.len().max(b.params.len()) {
        match (a.params.get(index), b.params.get(index)) {
            (Some(was), Some(now)) if was.name != now.name => out.push(format!(
                "{what} parameter {} was {} and is now {}",
                index + 1,
                was.name,
                now.name
            )),
            (Some(was), Some(now)) => {
                let (was_type, now_type) = (old.name(&was.ty), new.name(&now.ty));
                if was_type != now_type {
                    out.push(format!(
                        "{what} parameter {} changed type from {was_type} to {now_type}",
                        was.name
                    ));
                }
            }
            (Some(was), None) => out.push(format!("{what} lost parameter {}", was.name)),
            (None, Some(now)) => out.push(format!("{what} gained parameter {}", now.name)),
            (None, None) => {}
        }
    }
    let (was, now) = (old.optional(&a.result), new.optional(&b.result));
    if was != now {
        out.push(format!("{what} result changed from {was} to {now}"));
    }
}

/// The differences between a released interface and the current one: every type and function
/// kept as it was, nothing added.
fn compare_interface(
    (old, old_id): (&Contract, InterfaceId),
    (new, new_id): (&Contract, InterfaceId),
    label: &str,
    out: &mut Vec<String>,
) {
    let old_side = Side {
        contract: old,
        home: Some(old_id),
    };
    let new_side = Side {
        contract: new,
        home: Some(new_id),
    };
    let (a, b) = (
        &old.resolve.interfaces[old_id],
        &new.resolve.interfaces[new_id],
    );
    for (name, &id) in &a.types {
        match b.types.get(name) {
            Some(&other) => compare_typedef((old_side, id), (new_side, other), label, out),
            None => out.push(format!(
                "{label}: {} {name} removed",
                kind_noun(&old.resolve.types[id].kind)
            )),
        }
    }
    for name in b.types.keys().filter(|name| !a.types.contains_key(*name)) {
        out.push(format!(
            "{label}: new type {name} (a released interface gains nothing: add a new interface)"
        ));
    }
    for (name, function) in &a.functions {
        match b.functions.get(name) {
            Some(other) => {
                compare_function((old_side, function), (new_side, other), label, out);
            }
            None => out.push(format!("{label}: {} removed", old.function_label(function))),
        }
    }
    for (name, function) in &b.functions {
        if !a.functions.contains_key(name) {
            out.push(format!(
                "{label}: new {} (a released interface gains nothing: add a new interface)",
                new.function_label(function)
            ));
        }
    }
}

/// The imports (or exports) of a world by name.
fn by_name<'a>(
    contract: &Contract,
    items: &'a wit_parser::IndexMap<WorldKey, WorldItem>,
) -> BTreeMap<String, (&'a WorldKey, &'a WorldItem)> {
    items
        .iter()
        .map(|(key, item)| (contract.key_name(key), (key, item)))
        .collect()
}

/// The differences between the imports (or exports) of a released world and the current one.
fn compare_world_items(
    (old, a): (&Contract, &wit_parser::IndexMap<WorldKey, WorldItem>),
    (new, b): (&Contract, &wit_parser::IndexMap<WorldKey, WorldItem>),
    (world, verb): (&str, &str),
    out: &mut Vec<String>,
) {
    let (a, b) = (by_name(old, a), by_name(new, b));
    let label = format!("world {world}");
    for (name, (key, item)) in &a {
        let Some((_, other)) = b.get(name) else {
            out.push(format!("{label} no longer {verb}s {name}"));
            continue;
        };
        let (old_side, new_side) = (
            Side {
                contract: old,
                home: None,
            },
            Side {
                contract: new,
                home: None,
            },
        );
        match (item, other) {
            (WorldItem::Interface { id, .. }, WorldItem::Interface { id: other, .. }) => {
                // A named interface is compared as an interface of the package; one defined in
                // the world itself is compared here.
                if matches!(key, WorldKey::Name(_)) {
                    let label = format!("{label} {verb} {name}");
                    compare_interface((old, *id), (new, *other), &label, out);
                }
            }
            (WorldItem::Function(function), WorldItem::Function(other)) => {
                compare_function((old_side, function), (new_side, other), &label, out);
            }
            (WorldItem::Type { id, .. }, WorldItem::Type { id: other, .. }) => {
                compare_typedef((old_side, *id), (new_side, *other), &label, out);
            }
            _ => out.push(format!(
                "{label} {verb} {name}: no longer the same kind of item"
            )),
        }
    }
    for name in b.keys().filter(|name| !a.contains_key(*name)) {
        out.push(format!(
            "{label} now {verb}s {name} (a released world gains nothing: add a new world)"
        ));
    }
}

/// Every way `current` breaks the promise of the released `frozen`, one line each; empty when
/// `current` may follow it.
fn incompatibilities(frozen: &Contract, current: &Contract) -> Vec<String> {
    if frozen.package_name() != current.package_name() {
        return vec![format!(
            "the package is {}, the released one {}",
            current.package_name(),
            frozen.package_name()
        )];
    }
    let (old, new) = (frozen.version(), current.version());
    if new.0 > old.0 {
        // A new major may change anything.
        return Vec::new();
    }
    if new < old {
        return vec![format!(
            "{} is older than the released {}: a version never goes back",
            current.full_name(),
            frozen.full_name()
        )];
    }
    let mut out = Vec::new();
    let (a, b) = (
        &frozen.resolve.packages[frozen.package],
        &current.resolve.packages[current.package],
    );
    for (name, &id) in &a.interfaces {
        match b.interfaces.get(name) {
            Some(&other) => compare_interface(
                (frozen, id),
                (current, other),
                &format!("interface {name}"),
                &mut out,
            ),
            None => out.push(format!("interface {name} removed")),
        }
    }
    for (name, &id) in &a.worlds {
        let Some(&other) = b.worlds.get(name) else {
            out.push(format!("world {name} removed"));
            continue;
        };
        let (world, other) = (&frozen.resolve.worlds[id], &current.resolve.worlds[other]);
        compare_world_items(
            (frozen, &world.imports),
            (current, &other.imports),
            (name, "import"),
            &mut out,
        );
        compare_world_items(
            (frozen, &world.exports),
            (current, &other.exports),
            (name, "export"),
            &mut out,
        );
    }
    let added: Vec<String> = b
        .interfaces
        .keys()
        .filter(|name| !a.interfaces.contains_key(*name))
        .map(|name| format!("interface {name}"))
        .chain(
            b.worlds
                .keys()
                .filter(|name| !a.worlds.contains_key(*name))
                .map(|name| format!("world {name}")),
        )
        .collect();
    if !added.is_empty() && (new.0, new.1) == (old.0, old.1) {
        out.push(format!(
            "additive change needs a minor bump: {} added to the released {}; make it {}.{}.0",
            added.join(", "),
            frozen.full_name(),
            old.0,
            old.1 + 1
        ));
    }
    out
}

#[test]
fn the_contract_keeps_every_released_version_of_its_major() {
    let current = Contract::load(&current_wit());
    let mut failures = Vec::new();
    for (version, dir) in releases() {
        let frozen = Contract::load(&dir);
        let problems = incompatibilities(&frozen, &current);
        if !problems.is_empty() {
            failures.push(format!(
                "wit/ ({}) breaks the released {version} (tests/compat/wit/{version}):\n  {}",
                current.full_name(),
                problems.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nKeep released interfaces and worlds as they are and put additions in new \
         interfaces and worlds with a minor bump, or bump the major (tests/compat/README.md).",
        failures.join("\n")
    );
}

#[test]
fn every_release_has_its_frozen_wit_and_components() {
    for (version, dir) in releases() {
        let frozen = Contract::load(&dir);
        assert_eq!(
            frozen.full_name(),
            format!("{}@{version}", frozen.package_name()),
            "tests/compat/wit/{version} declares another version"
        );
        let fixtures = fixtures_of(&version);
        assert!(
            !fixtures.is_empty(),
            "no component built against {version} in tests/compat/{version}"
        );
    }
    for entry in std::fs::read_dir(compat_dir()).expect("tests/compat") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if path.is_dir() && name != "wit" {
            assert!(
                compat_dir().join("wit").join(name).is_dir(),
                "tests/compat/{name} has components but no tests/compat/wit/{name}"
            );
        }
    }
}

/// A copy of the released `EXAMPLE_RELEASE` WIT, changed by `edit`, checked against that
/// release.
fn check_edited(edit: impl FnOnce(&Path)) -> Vec<String> {
    let release = compat_dir().join("wit").join(EXAMPLE_RELEASE);
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&release).expect("release") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, copy.path().join(path.file_name().expect("name"))).expect("copy");
    }
    edit(copy.path());
    incompatibilities(&Contract::load(&release), &Contract::load(copy.path()))
}

/// Replaces `from` (which must be there) with `to` in `file` of `dir`.
fn replace(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from:?} not in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

/// Declares `version` in every file of `dir`.
fn set_version(dir: &Path, version: &str) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let declaration = format!("package bachata:common@{EXAMPLE_RELEASE};");
        assert!(text.contains(&declaration), "{}", path.display());
        let text = text.replace(&declaration, &format!("package bachata:common@{version};"));
        std::fs::write(&path, text).expect("write");
    }
}

/// A new interface and a world that exports it.
const EXTRAS: &str = "
    package bachata:common@1.1.0;

    interface extras {
        record hint { text: string, weight: f64 }
        hints: func(limit: u32) -> list<hint>;
    }

    world extras-policy {
        export extras;
    }
";

#[test]
fn a_removed_record_field_breaks_the_contract() {
    let problems = check_edited(|dir| {
        replace(dir, "cleanup.wit", "max-temp-age-hours: f64,", "");
    });
    assert_eq!(
        problems,
        ["interface cleanup: record cleanup-settings lost field max-temp-age-hours"]
    );
}

#[test]
fn a_changed_parameter_type_breaks_the_contract() {
    let problems = check_edited(|dir| {
        replace(
            dir,
            "errors.wit",
            "http-status: func(error-code: string)",
            "http-status: func(error-code: u32)",
        );
    });
    assert_eq!(
        problems,
        [
            "interface errors: function http-status parameter error-code changed type from string to u32"
        ]
    );
}

#[test]
fn types_are_compared_member_by_member() {
    let problems = check_edited(|dir| {
        // A case of the error kinds loses its payload, an enum gains a case, a record's
        // fields swap places and a type used from another interface changes.
        replace(dir, "types.wit", "%resource(option<string>),", "%resource,");
        replace(
            dir,
            "cleanup.wit",
            "enum level {",
            "enum level {\n        fatal,",
        );
        replace(
            dir,
            "errors.wit",
            "error-code: string,\n        /// The specific situation within the code, for example `too_short`; every code has `default`.\n        error-type: string,",
            "error-type: string,\n        error-code: string,",
        );
        replace(
            dir,
            "errors.wit",
            "catalog: func() -> list<catalog-entry>;",
            "catalog: func() -> list<error-kind>;",
        );
    });
    let expected = [
        "interface types: variant error-kind case resource changed type from option<string> to nothing",
        "interface cleanup: enum level gained case fatal",
        "interface errors: record catalog-entry reordered its fields: error-type, error-code, message, http-status (released: error-code, error-type, message, http-status)",
        "interface errors: function catalog result changed from list<catalog-entry> to list<error-kind>",
    ];
    for line in expected {
        assert!(
            problems.iter().any(|p| p == line),
            "{line} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn documentation_may_change_freely() {
    let problems = check_edited(|dir| {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            // Every documentation comment goes; interfaces and worlds get new ones.
            let text: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("///"))
                .map(|line| {
                    if line.starts_with("interface ") || line.starts_with("world ") {
                        format!("/// Reworded.\n{line}\n")
                    } else {
                        format!("{line}\n")
                    }
                })
                .collect();
            std::fs::write(&path, text).expect("write");
        }
    });
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn a_new_interface_and_world_with_a_minor_bump_keep_the_contract() {
    let problems = check_edited(|dir| {
        set_version(dir, "1.1.0");
        std::fs::write(dir.join("extras.wit"), EXTRAS).expect("write");
    });
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn an_additive_change_needs_a_minor_bump() {
    let problems = check_edited(|dir| {
        std::fs::write(dir.join("extras.wit"), EXTRAS.replace("1.1.0", "1.0.0")).expect("write");
    });
    assert_eq!(
        problems,
        [
            "additive change needs a minor bump: interface extras, world extras-policy added to \
             the released bachata:common@1.0.0; make it 1.1.0"
        ]
    );
    // A patch bump is not enough either.
    let problems = check_edited(|dir| {
        set_version(dir, "1.0.1");
        std::fs::write(dir.join("extras.wit"), EXTRAS.replace("1.1.0", "1.0.1")).expect("write");
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("additive change needs a minor bump"));
}

#[test]
fn released_interfaces_and_worlds_gain_nothing_even_with_a_minor_bump() {
    let problems = check_edited(|dir| {
        set_version(dir, "1.1.0");
        std::fs::write(dir.join("extras.wit"), EXTRAS).expect("write");
        replace(
            dir,
            "world.wit",
            "export errors;",
            "export errors;\n    export extras;",
        );
        replace(
            dir,
            "errors.wit",
            "catalog: func() -> list<catalog-entry>;",
            "catalog: func() -> list<catalog-entry>;\n    catalog-size: func() -> u32;",
        );
    });
    let expected = [
        "interface errors: new function catalog-size (a released interface gains nothing: add a new interface)",
        "world errors-policy now exports extras (a released world gains nothing: add a new world)",
        // `common` includes `errors-policy`.
        "world common now exports extras (a released world gains nothing: add a new world)",
    ];
    for line in expected {
        assert!(
            problems.iter().any(|p| p == line),
            "{line} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn removals_are_named() {
    let problems = check_edited(|dir| {
        replace(dir, "world.wit", "import host-pose;", "");
        replace(dir, "host-fs.wit", "next: func(max: u32) -> page;", "");
        std::fs::remove_file(dir.join("host-secrets.wit")).expect("remove");
        replace(dir, "world.wit", "import host-secrets;", "");
    });
    for line in [
        "interface host-secrets removed",
        "interface host-fs: resource scan method next removed",
        "world pose-policy no longer imports host-pose",
        "world common no longer imports host-pose",
        "world config-policy no longer imports host-secrets",
        "world common no longer imports host-secrets",
    ] {
        assert!(
            problems.iter().any(|p| p == line),
            "{line} not in {problems:#?}"
        );
    }
}

#[test]
fn a_new_major_may_change_anything_and_a_version_never_goes_back() {
    let problems = check_edited(|dir| {
        set_version(dir, "2.0.0");
        replace(dir, "cleanup.wit", "max-temp-age-hours: f64,", "");
    });
    assert_eq!(problems, Vec::<String>::new());
    let problems = check_edited(|dir| set_version(dir, "0.9.0"));
    assert_eq!(
        problems,
        [
            "bachata:common@0.9.0 is older than the released bachata:common@1.0.0: a version \
             never goes back"
        ]
    );
}

/// The components built against `version`: `tests/compat/<version>/*.wasm`.
fn fixtures_of(version: &str) -> Vec<PathBuf> {
    let dir = compat_dir().join(version);
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|entry| entry.expect("entry").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
                .collect()
        })
        .unwrap_or_default();
    fixtures.sort();
    fixtures
}

/// Loads `fixture` with the library and asks its error catalog, then cleans a small tree
/// with it through the command line.
fn run_fixture(version: &str, fixture: &Path) {
    let name = fixture.display();
    let policy =
        Policy::from_file(fixture).unwrap_or_else(|error| panic!("{name} does not load: {error}"));
    let ours: Vec<&String> = policy
        .exports()
        .iter()
        .filter(|export| export.starts_with("bachata:common/"))
        .collect();
    assert!(
        !ours.is_empty(),
        "{name} exports no interface of the contract"
    );
    for export in ours {
        assert!(
            export.ends_with(&format!("@{version}")),
            "{name} is filed under {version} but exports {export}"
        );
    }
    assert_eq!(
        policy.http_status("MOVE_ANALYSIS_ERROR").expect("call"),
        422
    );
    let catalog = policy.catalog().expect("catalog");
    assert!(
        catalog
            .iter()
            .any(|entry| entry.error_code == "MOVE_ANALYSIS_ERROR" && entry.http_status == 422),
        "{name}: {catalog:?}"
    );
    assert_eq!(
        policy
            .user_friendly_message("WHAT_ERROR", "default")
            .expect("call"),
        "An error occurred: WHAT_ERROR"
    );

    let mut sandbox = Sandbox::new();
    // A cache cap of 1000 bytes, trimmed to 80%.
    sandbox.env("MAX_CACHE_SIZE_GB", "0.000001");
    let data = sandbox.path().join("data");
    for dir in ["temp", "cache"] {
        std::fs::create_dir_all(data.join(dir)).expect("mkdir");
    }
    let write = |relative: &str, size: usize, hours: u64| {
        let path = data.join(relative);
        std::fs::write(&path, vec![b'x'; size]).expect("write");
        age(&path, hours);
    };
    write("temp/stale.tmp", 10, 48);
    write("temp/fresh.tmp", 10, 0);
    write("cache/old-small.bin", 100, 3);
    write("cache/mid.bin", 300, 2);
    write("cache/big.bin", 700, 1);
    let run = sandbox.run(&[
        "--policy",
        fixture.to_str().expect("utf-8 path"),
        "cleanup",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{name}: {run:?}");
    let report = run.json();
    assert_eq!(report["dry_run"], false, "{name}");
    assert!(
        !data.join("temp/stale.tmp").exists(),
        "{name}: stale file kept"
    );
    assert!(
        data.join("temp/fresh.tmp").exists(),
        "{name}: fresh file removed"
    );
    let mut kept: Vec<String> = std::fs::read_dir(data.join("cache"))
        .expect("cache")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    kept.sort();
    let kept_bytes: u64 = kept
        .iter()
        .map(|file| {
            std::fs::metadata(data.join("cache").join(file))
                .expect("stat")
                .len()
        })
        .sum();
    assert!(kept_bytes <= 800, "{name}: the cache still holds {kept:?}");
    // A concern the component does not export (every concern added after its release among
    // them) is answered by the stock policy: here the monitor's event rules of 1.1.
    let info = sandbox
        .run(&[
            "--policy",
            fixture.to_str().expect("utf-8 path"),
            "policy",
            "info",
            "--json",
        ])
        .json();
    let concerns = info["concerns"].as_object().expect("concerns");
    for (concern, source) in concerns {
        let exported = policy
            .exports()
            .iter()
            .any(|export| export.starts_with(&format!("bachata:common/{concern}@")));
        let expected = if exported {
            fixture.to_str()
        } else {
            Some("embedded")
        };
        assert_eq!(source["origin"].as_str(), expected, "{name}: {concern}");
    }
    assert!(concerns.contains_key("events"), "{name}: {concerns:?}");
    let monitor = |args: &[&str]| {
        let mut all = vec!["--policy", fixture.to_str().expect("utf-8 path"), "monitor"];
        all.extend_from_slice(args);
        sandbox.run(&all)
    };
    let logged = monitor(&[
        "log-decision",
        "--song",
        "Obsesión",
        "--moves",
        "basic",
        "--scores",
        "0.5",
        "--json",
    ]);
    assert_eq!(logged.code, 0, "{name}: {logged:?}");
    let refused = monitor(&[
        "log-decision",
        "--song",
        "Obsesión",
        "--moves",
        "basic",
        "--scores",
        "NaN",
    ]);
    assert_eq!(refused.code, 2, "{name}: {refused:?}");
    assert!(
        refused.stderr.contains("recommendation_scores[0]"),
        "{name}: {refused:?}"
    );
    let stem = fixture.file_stem().and_then(|stem| stem.to_str());
    match stem {
        // The stock policy evicts the oldest files first, size-first the largest.
        Some("stock") => assert_eq!(kept, ["big.bin"], "{name}"),
        Some("size-first") => assert_eq!(kept, ["mid.bin", "old-small.bin"], "{name}"),
        _ => {}
    }
}

#[test]
fn the_host_runs_every_released_component_of_its_major() {
    let current = Contract::load(&current_wit());
    let fixtures: Vec<(String, PathBuf)> = releases()
        .into_iter()
        .filter(|(version, _)| parse_version(version).0 == current.version().0)
        .flat_map(|(version, _)| {
            fixtures_of(&version)
                .into_iter()
                .map(move |fixture| (version.clone(), fixture))
        })
        .collect();
    assert!(
        !fixtures.is_empty(),
        "no released component of {}",
        current.full_name()
    );
    std::thread::scope(|scope| {
        for (version, fixture) in &fixtures {
            scope.spawn(move || run_fixture(version, fixture));
        }
    });
}

/// A component that exports `interface` (a full name with its version) with one function,
/// as if built from
/// `interface errors { http-status: func(error-code: u32) -> u32; } world w { export errors; }`.
fn component_exporting(interface: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
            (core module $m
                (func (export "http-status") (param i32) (result i32) i32.const 500))
            (core instance $i (instantiate $m))
            (func $http-status (param "error-code" u32) (result u32)
                (canon lift (core func $i "http-status")))
            (instance $errors (export "http-status" (func $http-status)))
            (export "{interface}" (instance $errors)))"#
    ))
    .expect("valid WAT")
}

/// Loads a component of the contract at `version` with the command line: refused, with an
/// error that names both that version and the host's.
fn refused(version: &str) {
    let current = Contract::load(&current_wit());
    let package = current.package_name();
    let sandbox = Sandbox::new();
    let path = sandbox.write(
        "other.wasm",
        component_exporting(&format!("{package}/errors@{version}")),
    );
    let run = sandbox.run(&["--policy", path.to_str().expect("utf-8"), "policy", "info"]);
    assert_eq!(run.code, 2, "{run:?}");
    let line = run.error_line();
    assert!(line.contains(&format!("{package}@{version}")), "{line}");
    assert!(line.contains(&current.full_name()), "{line}");
}

#[test]
fn a_component_of_the_next_major_is_refused_naming_both_versions() {
    let (major, _, _) = Contract::load(&current_wit()).version();
    refused(&format!("{}.0.0", major + 1));
}

#[test]
fn a_component_of_a_later_minor_is_refused_naming_both_versions() {
    let (major, minor, _) = Contract::load(&current_wit()).version();
    refused(&format!("{major}.{}.0", minor + 1));
}
