//! `bachata-common policy new NAME --concern C --lang L`: writes a new directory holding a
//! policy project that builds as it is and passes `policy check`: the contract's WIT files as
//! this binary was built with them, a starting rule (`host/templates/policy-new/`), the build
//! files and a README. A `cleanup` project has the kit of its language (the one copy in
//! `examples/`); an `errors` project holds the embedded stock policy's catalog as a table.
//!
//! Nothing existing is ever overwritten or followed: `NAME` must not exist (not even as a
//! dangling link), the directory is created by this command and everything inside it is
//! created relative to it, with no link followed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use bachata_common::policy::Concern;
use bachata_common::text::printable;

mod catalog;
mod project;
mod write;

use project::{File, Names};

/// `policy new` arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The directory to create for the project; it must not exist.
    #[arg(value_name = "NAME")]
    pub name: PathBuf,
    /// The concern the policy answers (`cleanup` or `errors`).
    #[arg(long, value_name = "CONCERN")]
    pub concern: String,
    /// The language of the project.
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Lang,
}

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with wit-bindgen (`cargo build --target wasm32-wasip2`).
    Rust,
    /// Python with componentize-py.
    Python,
    /// JavaScript with componentize-js.
    Js,
}

impl Lang {
    fn label(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }
}

/// Why no project was written.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The concern is one of the contract's, but not one this command writes.
    #[error("policy new cannot write a `{concern}` policy: it writes {writable}")]
    Unwritable {
        /// The concern asked for.
        concern: String,
        /// The concerns it writes.
        writable: String,
    },
    /// No concern of the contract has that name.
    #[error("`{concern}` is not a concern of the contract ({all}): policy new writes {writable}")]
    UnknownConcern {
        /// The name given.
        concern: String,
        /// Every concern of the contract.
        all: String,
        /// The concerns it writes.
        writable: String,
    },
    /// `NAME` names no directory this command may create.
    #[error("`{name}` is not a directory name policy new can create: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Something (a file, a directory, a link) is already there.
    #[error("`{}` already exists: policy new only creates a new directory", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file embedded in this binary is not as expected (a build of a broken checkout).
    #[error("the embedded {what} is not usable: {reason}")]
    Embedded {
        /// Which file.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl NewError {
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Io { .. } | Self::Embedded { .. } => ExitCode::FAILURE,
            _ => ExitCode::from(2),
        }
    }
}

/// The concerns this command writes.
const WRITABLE: [Concern; 2] = [Concern::Cleanup, Concern::Errors];

/// The concern named `name`, if this command writes it.
fn writable_concern(name: &str) -> Result<Concern, NewError> {
    let names = |concerns: &[Concern]| -> Vec<&str> {
        concerns.iter().map(|concern| concern.name()).collect()
    };
    let list = |concerns: &[Concern]| names(concerns).join(", ");
    // `cleanup and errors`
    let writable = || match names(&WRITABLE).split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    match Concern::parse(name) {
        Some(concern) if WRITABLE.contains(&concern) => Ok(concern),
        Some(_) => Err(NewError::Unwritable {
            concern: name.to_string(),
            writable: writable(),
        }),
        None => Err(NewError::UnknownConcern {
            concern: printable(name).into_owned(),
            all: list(&Concern::ALL),
            writable: writable(),
        }),
    }
}

/// The longest last segment of NAME, in bytes.
const MAX_NAME_BYTES: usize = 64;

/// The last segment of `name` (trailing `/` allowed), refusing what names no new directory.
fn last_segment(name: &Path) -> Result<String, NewError> {
    use std::os::unix::ffi::OsStrExt as _;
    let shown = printable(&name.to_string_lossy()).into_owned();
    let bad = |reason| NewError::BadName {
        name: shown.clone(),
        reason,
    };
    let bytes = name.as_os_str().as_bytes();
    let mut trimmed = bytes;
    while let Some(rest) = trimmed.strip_suffix(b"/") {
        trimmed = rest;
    }
    let last = trimmed
        .rsplit(|byte| *byte == b'/')
        .next()
        .unwrap_or(trimmed);
    match last {
        [] => Err(bad("it is empty or a root")),
        b"." | b".." => Err(bad("it ends in `.` or `..`")),
        // The crate, package and component names come from it.
        _ if last.len() > MAX_NAME_BYTES => Err(bad(
            "its last segment is longer than 64 bytes (a package name is at most 64 characters)",
        )),
        _ => Ok(String::from_utf8_lossy(last).into_owned()),
    }
}

/// `path` as one word a POSIX shell reads back as it is (single-quoted unless plain, `./`
/// before a leading `-`), or none when it holds bytes that are not printable UTF-8.
fn shell_word(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    let text = if text.starts_with('-') {
        format!("./{text}")
    } else {
        text.to_string()
    };
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '+' | '-' | ','));
    Some(if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    })
}

/// The commands that build the project and check its component, from inside it.
fn next_steps(lang: Lang, wasm: &str) -> (String, String) {
    match lang {
        Lang::Rust => (
            "cargo build --target wasm32-wasip2 --release".to_string(),
            format!("bachata-common policy check target/wasm32-wasip2/release/{wasm}"),
        ),
        Lang::Python | Lang::Js => (
            "bash build.sh".to_string(),
            format!("bachata-common policy check {wasm}"),
        ),
    }
}

/// Writes the project; the files written.
fn create(args: &NewArgs) -> Result<(Concern, Names, Vec<File>), NewError> {
    let concern = writable_concern(&args.concern)?;
    let names = Names::of(&last_segment(&args.name)?);
    let files = project::project(concern, args.lang, &names)?;
    write::create(&args.name, &files)?;
    Ok((concern, names, files))
}

/// Runs `policy new`: writes the project and says how to build and check it, or says in one
/// line why not (exit code 2 for a refusal, 1 when writing failed).
pub fn run(args: &NewArgs, as_json: bool) -> ExitCode {
    let (concern, names, files) = match create(args) {
        Ok(created) => created,
        Err(error) => {
            eprintln!("error: {}", printable(&error.to_string()));
            if as_json {
                let status = if matches!(error, NewError::Io { .. } | NewError::Embedded { .. }) {
                    500
                } else {
                    400
                };
                let problem = json!({
                    "title": "The policy project was not written",
                    "status": status,
                    "detail": error.to_string(),
                });
                println!("{problem:#}");
            }
            return error.exit_code();
        }
    };
    let wasm = names.wasm(args.lang);
    let (build, check) = next_steps(args.lang, &wasm);
    let path = args.name.to_string_lossy();
    if as_json {
        let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
        let created = json!({
            "path": path,
            "concern": concern.name(),
            "lang": args.lang.label(),
            "world": format!("{}-policy", concern.name()),
            "files": paths,
            "build": build,
            "check": check,
        });
        println!("{created:#}");
    } else {
        let article = if concern.name().starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        println!(
            "created {}: {article} {} policy in {} ({} files); to build and check it:",
            printable(&path),
            concern.name(),
            args.lang.label(),
            files.len()
        );
        match shell_word(&args.name) {
            Some(word) => println!("  cd {word}"),
            None => println!("  cd into {} (its name cannot be pasted)", printable(&path)),
        }
        println!("  {build}");
        println!("  {check}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
