//! The compile cache: policy components precompiled to native code (`.cwasm`), keyed by the
//! component's sha256, the wasmtime version and the engine's compilation settings.
//!
//! Loading precompiled code runs it, so a cache entry is trusted only when the directory and
//! the file belong to this user and nobody else can write them; every entry also carries a
//! sha256 of its contents, so a truncated or corrupted file is detected. Anything untrusted,
//! corrupt or stale is compiled afresh and rewritten: the cache can slow nothing down and break
//! nothing.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The wasmtime release the host is built with (pinned in `Cargo.toml`).
pub const WASMTIME_VERSION: &str = "48.0.8";
const DIGEST_LEN: usize = 32;

/// Where precompiled policies are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// The cache directory: `BACHATA_CACHE_DIR` (`off` or empty disables it), else
    /// `$XDG_CACHE_HOME/bachata-common`, else `$HOME/.cache/bachata-common`; none without either.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(dir) = std::env::var_os("BACHATA_CACHE_DIR") {
            if dir.is_empty() || dir == "off" {
                return None;
            }
            return Some(Self::new(PathBuf::from(dir)));
        }
        var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .map(|base| Self::new(base.join("bachata-common")))
    }

    /// A cache in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a component with digest `sha256` compiles to under `engine`.
    pub fn entry(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!(
            "{sha256}-wasmtime{WASMTIME_VERSION}-{:016x}.cwasm",
            hasher.finish()
        ))
    }

    /// The compiled component, from the cache when a trusted, intact entry exists; otherwise
    /// compiled from `bytes` and stored. The second value tells whether the cache served it.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, bool)> {
        let entry = self.entry(engine, sha256);
        if let Some(component) = self.load(engine, &entry) {
            return Ok((component, true));
        }
        let component = Component::new(engine, bytes)?;
        if let Err(error) = self.store(&component, &entry) {
            tracing::debug!(path = %entry.display(), %error, "compile cache not written");
        }
        Ok((component, false))
    }

    fn load(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        if !private(&self.dir, true) || !private(entry, false) {
            return None;
        }
        let data = std::fs::read(entry).ok()?;
        let split = data.len().checked_sub(DIGEST_LEN)?;
        let (code, digest) = data.split_at(split);
        if Sha256::digest(code).as_slice() != digest {
            tracing::warn!(path = %entry.display(), "corrupt compile cache entry; recompiling");
            return None;
        }
        // SAFETY: the bytes were produced by `Component::serialize` of this same wasmtime
        // version and engine settings (the key and wasmtime's own header check say so), are
        // intact (digest above), and sit in a directory only this user can write.
        match unsafe { Component::deserialize(engine, code) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %entry.display(), %error, "stale compile cache entry; recompiling");
                None
            }
        }
    }

    fn store(&self, component: &Component, entry: &Path) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.recursive(true).create(&self.dir)?;
        if !private(&self.dir, true) {
            return Err(std::io::Error::other(
                "cache directory is not private to this user",
            ));
        }
        let code = component.serialize().map_err(std::io::Error::other)?;
        let digest = Sha256::digest(&code);
        let mut file = tempfile::Builder::new()
            .prefix(".cwasm-")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(&self.dir)?;
        file.write_all(&code)?;
        file.write_all(&digest)?;
        file.as_file().sync_all()?;
        file.persist(entry).map_err(|error| error.error)?;
        Ok(())
    }
}

/// Whether `path` is owned by this user and writable by no one else (and, for files, is a
/// regular file rather than a link).
fn private(path: &Path, directory: bool) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let kind_ok = if directory {
        metadata.is_dir()
    } else {
        metadata.is_file()
    };
    kind_ok
        && metadata.uid() == rustix::process::geteuid().as_raw()
        && metadata.permissions().mode() & 0o022 == 0
}
