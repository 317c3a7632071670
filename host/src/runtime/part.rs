//! One component of a policy set: checked, compiled (or taken from the compile cache),
//! linked against the host's capabilities, with the exported interfaces it answers found.
//!
//! A component may export any non-empty subset of the concerns' interfaces. Its
//! `bachata:common` interfaces must be of this host's major version with a minor at most the
//! host's: wasmtime matches such names semver-compatibly, so a 1.0 component links and answers
//! in a 1.x host.

use std::fmt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::bindings::Stock;
use super::bindings::exports::bachata::common::{
    cleanup, config, couple, errors, events, experiments, monitor, organizer, pose,
};
use super::cache;
use super::concern::Concern;
use super::state::HostState;
use crate::types::error::Error;

/// The WIT package the host implements, read from `wit/world.wit` when the host is built.
pub const WIT_PACKAGE: &str = concat!(env!("BACHATA_WIT_NAME"), "@", env!("BACHATA_WIT_VERSION"));

/// Where a component came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// The component embedded in the host binary.
    Embedded,
    /// A component file loaded at run time.
    File(PathBuf),
}

impl fmt::Display for PolicyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("embedded"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where each exported interface's functions are in a component, per concern.
#[derive(Default)]
pub(super) struct Indices {
    errors: Option<errors::GuestIndices>,
    config: Option<config::GuestIndices>,
    cleanup: Option<cleanup::GuestIndices>,
    pose: Option<pose::GuestIndices>,
    monitor: Option<monitor::GuestIndices>,
    events: Option<events::GuestIndices>,
    experiments: Option<experiments::GuestIndices>,
    organizer: Option<organizer::GuestIndices>,
    couple: Option<couple::GuestIndices>,
}

/// A loaded component.
pub(super) struct Part {
    pub origin: PolicyOrigin,
    pub sha256: String,
    pub size: usize,
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    /// The version of the contract it was built against (`1.0.0`).
    pub contract: String,
    pub from_cache: bool,
    pub pre: InstancePre<HostState>,
    indices: Indices,
}

impl Part {
    /// Checks, compiles and links a component; refuses one that is not a component, is of
    /// another contract version, imports what the host does not lend or exports nothing the
    /// host calls.
    pub fn load(engine: &Engine, bytes: &[u8], origin: PolicyOrigin) -> Result<Self, Error> {
        let reject = |reason: String| Error::PolicyLoad {
            origin: origin.to_string(),
            reason,
        };
        check_header(bytes).map_err(reject)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let (component, from_cache) = match cache::CompileCache::from_env() {
            Some(cache) => cache.load_or_compile(engine, bytes, &sha256),
            None => Component::new(engine, bytes).map(|component| (component, false)),
        }
        .map_err(|error| reject(format!("not a valid component: {error:#}")))?;
        let component_type = component.component_type();
        let exports: Vec<String> = component_type
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let imports: Vec<String> = component_type
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let contract = contract_version(exports.iter().chain(&imports)).map_err(reject)?;
        let known: Vec<Concern> = Concern::ALL
            .into_iter()
            .filter(|concern| exports.iter().any(|name| concern.matches(name)))
            .collect();
        if known.is_empty() {
            let found = if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            };
            return Err(reject(format!(
                "exports nothing this host calls (it exports {found}); a policy exports one or \
                 more of the interfaces {}",
                Concern::ALL.map(|concern| concern.interface()).join(", ")
            )));
        }
        let mut linker = Linker::<HostState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|error| reject(format!("cannot link WASI: {error:#}")))?;
        Stock::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|error| reject(format!("cannot link host capabilities: {error:#}")))?;
        let pre = linker.instantiate_pre(&component).map_err(|error| {
            reject(format!(
                "needs an import this host does not provide: {error:#}"
            ))
        })?;
        let indices = Indices::find(&pre, &known).map_err(reject)?;
        tracing::debug!(policy = %origin, %sha256, size = bytes.len(), from_cache, ?known, "policy component loaded");
        Ok(Self {
            origin,
            sha256,
            size: bytes.len(),
            exports,
            imports,
            contract,
            from_cache,
            pre,
            indices,
        })
    }

    /// Whether the component answers `concern`.
    pub fn answers(&self, concern: Concern) -> bool {
        match concern {
            Concern::Errors => self.indices.errors.is_some(),
            Concern::Config => self.indices.config.is_some(),
            Concern::Cleanup => self.indices.cleanup.is_some(),
            Concern::Pose => self.indices.pose.is_some(),
            Concern::Monitor => self.indices.monitor.is_some(),
            Concern::Events => self.indices.events.is_some(),
            Concern::Experiments => self.indices.experiments.is_some(),
            Concern::Organizer => self.indices.organizer.is_some(),
            Concern::Couple => self.indices.couple.is_some(),
        }
    }
}

impl Indices {
    /// The functions of each concern in `known`; an interface exported under a known name
    /// but not as the contract defines it is the component's fault.
    fn find(pre: &InstancePre<HostState>, known: &[Concern]) -> Result<Self, String> {
        let mut indices = Self::default();
        for concern in known {
            let found = match concern {
                Concern::Errors => errors::GuestIndices::new(pre).map(|i| indices.errors = Some(i)),
                Concern::Config => config::GuestIndices::new(pre).map(|i| indices.config = Some(i)),
                Concern::Cleanup => {
                    cleanup::GuestIndices::new(pre).map(|i| indices.cleanup = Some(i))
                }
                Concern::Pose => pose::GuestIndices::new(pre).map(|i| indices.pose = Some(i)),
                Concern::Monitor => {
                    monitor::GuestIndices::new(pre).map(|i| indices.monitor = Some(i))
                }
                Concern::Events => events::GuestIndices::new(pre).map(|i| indices.events = Some(i)),
                Concern::Experiments => {
                    experiments::GuestIndices::new(pre).map(|i| indices.experiments = Some(i))
                }
                Concern::Organizer => {
                    organizer::GuestIndices::new(pre).map(|i| indices.organizer = Some(i))
                }
                Concern::Couple => couple::GuestIndices::new(pre).map(|i| indices.couple = Some(i)),
            };
            found.map_err(|error| {
                format!(
                    "exports {} but not as {WIT_PACKAGE} defines it: {error:#}",
                    concern.interface()
                )
            })?;
        }
        Ok(indices)
    }
}

/// The exports of one instance of a component, loaded per concern as a call needs them (once
/// per warm instance, kept in its [`Loaded`]).
pub(super) struct Exports<'a> {
    pub part: &'a Part,
    pub instance: Instance,
    pub loaded: Option<&'a Loaded>,
}

/// An exported interface's functions, loaded from an instance.
macro_rules! export_accessor {
    ($($concern:ident),* $(,)?) => {
        /// The interfaces already loaded from a warm instance.
        #[derive(Default)]
        pub(super) struct Loaded {
            $($concern: std::sync::OnceLock<$concern::Guest>,)*
        }

        impl Exports<'_> {
            $(
                #[doc = concat!("The `", stringify!($concern), "` interface of the instance.")]
                pub fn $concern(
                    &self,
                    store: &mut Store<HostState>,
                ) -> wasmtime::Result<$concern::Guest> {
                    if let Some(guest) = self.loaded.and_then(|loaded| loaded.$concern.get()) {
                        return Ok(guest.clone());
                    }
                    let guest = match &self.part.indices.$concern {
                        Some(indices) => indices.load(store, &self.instance)?,
                        None => return Err(wasmtime::Error::msg(concat!(
                            "the component does not export `",
                            stringify!($concern),
                            "`"
                        ))),
                    };
                    if let Some(loaded) = self.loaded {
                        let _ = loaded.$concern.set(guest.clone());
                    }
                    Ok(guest)
                }
            )*
        }
    };
}

export_accessor!(
    errors,
    config,
    cleanup,
    pose,
    monitor,
    events,
    experiments,
    organizer,
    couple
);

/// The contract version of a component's `bachata:common` names (`bachata:common/cleanup@1.0.0`
/// gives `1.0.0`): all one version, of this host's major and a minor at most the host's.
fn contract_version<'a>(names: impl Iterator<Item = &'a String>) -> Result<String, String> {
    let package = env!("BACHATA_WIT_NAME");
    let host = Version::parse(env!("BACHATA_WIT_VERSION")).expect("the host's version is valid");
    let mut found: Option<String> = None;
    for name in names {
        let Some(rest) = name
            .strip_prefix(package)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(format!(
                "imports or exports {name} without a version; build it against {WIT_PACKAGE}"
            ));
        };
        let compatible = Version::parse(version)
            .is_some_and(|v| v.major == host.major && v.minor <= host.minor && !v.pre);
        if !compatible {
            return Err(format!(
                "built against {package}@{version}; this host speaks {WIT_PACKAGE} and loads \
                 components built against {package}@{}.0.0 up to {WIT_PACKAGE}: rebuild the \
                 policy against the WIT of {WIT_PACKAGE}",
                host.major
            ));
        }
        match &found {
            Some(first) if first != version => {
                return Err(format!(
                    "mixes contract versions {package}@{first} and {package}@{version}"
                ));
            }
            Some(_) => {}
            None => found = Some(version.to_string()),
        }
    }
    Ok(found.unwrap_or_else(|| env!("BACHATA_WIT_VERSION").to_string()))
}

/// A `major.minor.patch[-pre][+build]` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    /// A pre-release, compatible with nothing else.
    pre: bool,
}

impl Version {
    fn parse(text: &str) -> Option<Self> {
        let without_build = text.split('+').next()?;
        let (core, pre) = match without_build.split_once('-') {
            Some((core, _)) => (core, true),
            None => (without_build, false),
        };
        let mut parts = core.split('.');
        let mut number = || parts.next().and_then(|part| part.parse::<u64>().ok());
        let (major, minor, _patch) = (number()?, number()?, number()?);
        parts.next().is_none().then_some(Self { major, minor, pre })
    }
}

/// Rejects, with a reason a person can act on, bytes that are not a component.
pub(super) fn check_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8; 4] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    if bytes.is_empty() {
        return Err("the file is empty".to_string());
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err("not a WebAssembly file (no `\\0asm` header)".to_string());
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(
            "a core WebAssembly module, not a component; build the policy with `--target wasm32-wasip2`"
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_check_explains_what_the_bytes_are() {
        assert!(check_header(b"").unwrap_err().contains("empty"));
        assert!(
            check_header(b"hello world")
                .unwrap_err()
                .contains("not a WebAssembly")
        );
        assert!(
            check_header(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_component_of_this_major_and_an_older_or_equal_minor_is_accepted() {
        let host = env!("BACHATA_WIT_VERSION");
        let major = host.split('.').next().unwrap();
        let oldest = format!("bachata:common/cleanup@{major}.0.0");
        let found = contract_version(names(&[&oldest, "wasi:io/poll@0.2.6"]).iter());
        assert_eq!(found.unwrap(), format!("{major}.0.0"));
        let same = format!("bachata:common/errors@{host}");
        assert_eq!(contract_version(names(&[&same]).iter()).unwrap(), host);
    }

    #[test]
    fn another_major_a_newer_minor_or_a_prerelease_is_refused_naming_both_versions() {
        let host = Version::parse(env!("BACHATA_WIT_VERSION")).unwrap();
        for version in [
            format!("{}.0.0", host.major + 1),
            format!("{}.{}.0", host.major, host.minor + 1),
            format!("{}.0.0-rc1", host.major),
            "0.6.0".to_string(),
        ] {
            let name = format!("bachata:common/cleanup@{version}");
            let error = contract_version(names(&[&name]).iter()).unwrap_err();
            assert!(
                error.contains(&format!("bachata:common@{version}")),
                "{error}"
            );
            assert!(error.contains(WIT_PACKAGE), "{error}");
        }
    }

    #[test]
    fn mixed_versions_are_refused() {
        let host = env!("BACHATA_WIT_VERSION");
        let major = host.split('.').next().unwrap();
        let error = contract_version(
            names(&[
                &format!("bachata:common/errors@{major}.0.0"),
                &format!("bachata:common/config@{host}"),
            ])
            .iter(),
        );
        if host != format!("{major}.0.0") {
            assert!(error.unwrap_err().contains("mixes"));
        }
    }
}
