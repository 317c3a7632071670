//! The directory organizer: training clips sorted into move categories from their annotation
//! file, `<root>/<category>/<label>/<file name>`. The policy decides each clip's category and
//! place; the moves stay inside the root (no link followed, no other filesystem, nothing
//! overwritten); the plan is journaled before the first move, so a run killed at any point is
//! finished by the next; the annotation file follows the files.
//!
//! ```no_run
//! # fn main() -> Result<(), bachata_common::Error> {
//! use bachata_common::organizer::{OrganizeOptions, Organizer};
//! use bachata_common::Policy;
//!
//! let policy = Policy::embedded()?;
//! let organizer = Organizer::new(&policy);
//! let report = organizer.organize(&OrganizeOptions {
//!     dry_run: true,
//!     ..OrganizeOptions::new("data/bachata_annotations.json")
//! })?;
//! println!("{} clips would move", report.summary.would_move);
//! # Ok(()) }
//! ```

mod plan;
mod report;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::capabilities::dataset::annotations::{AnnotationError, Annotations};
use crate::capabilities::dataset::folder::{FileError, Folder, read_file};
use crate::capabilities::dataset::journal::{self, Journal, JournalError};
use crate::capabilities::dataset::{Dataset, FileId, Found, Moved, PathError, canonical_path};
use crate::runtime::Policy;
use crate::types::error::Error;
use crate::types::monitor::invalid;
use crate::types::organizer::{Category, ClipStatus, OrganizeReport, Summary};

/// The largest mapping file read (16 MiB).
pub const MAPPING_MAX_BYTES: u64 = 16 << 20;

/// The video extensions the survey counts (the policy's own list for clips).
const VIDEO_EXTENSIONS: [&str; 5] = ["mp4", "mov", "avi", "mkv", "webm"];

fn is_video(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && VIDEO_EXTENSIONS
                .iter()
                .any(|video| video.eq_ignore_ascii_case(extension))
    })
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct OrganizeOptions {
    /// The annotation file (JSON, or CSV when it ends in `.csv`).
    pub annotations: PathBuf,
    /// The dataset root `video_path`s are relative to (default: the annotation file's folder).
    pub root: Option<PathBuf>,
    /// Change nothing on disk: report what the run would do (an interrupted run's journal
    /// read and finished on paper only).
    pub dry_run: bool,
    /// Replace the stock mapping.
    pub mapping: Option<Vec<Category>>,
    /// The category of unknown labels (default: they stay where they are).
    pub default_category: Option<String>,
}

impl OrganizeOptions {
    /// A real run of `annotations` with the stock mapping.
    pub fn new(annotations: impl Into<PathBuf>) -> Self {
        Self {
            annotations: annotations.into(),
            root: None,
            dry_run: false,
            mapping: None,
            default_category: None,
        }
    }
}

/// The organizer, with the policy that decides.
pub struct Organizer<'a> {
    policy: &'a Policy,
    progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

fn annotation_error(error: AnnotationError) -> Error {
    match error {
        AnnotationError::Io { path, source } => Error::App(invalid(
            "annotations",
            Some(path.display().to_string()),
            format!(
                "cannot read the annotation file {}: {source}",
                path.display()
            ),
        )),
        AnnotationError::Invalid { field, message } => Error::App(invalid(
            &field,
            None,
            format!("annotation file: {field}: {message}"),
        )),
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file of the annotation folder that could not be written (`what` it is, for people): a
/// replaced annotation file is the caller's to look at (nothing was written, the journal kept).
fn write_error<'p>(what: &'p str, path: &'p Path) -> impl Fn(FileError) -> Error + 'p {
    move |error| match error {
        FileError::Io(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        FileError::Replaced => Error::App(invalid(
            "annotations",
            Some(path.display().to_string()),
            format!(
                "cannot rewrite the {what} {}: {error}. The moves made are journaled: once the file is back, run again to record them",
                path.display()
            ),
        )),
        other => Error::App(invalid(
            "annotations",
            Some(path.display().to_string()),
            format!("cannot write the {what} {}: {other}", path.display()),
        )),
    }
}

/// The journal `path` could not be read (its content never repeated).
fn journal_error(path: &Path) -> impl Fn(JournalError) -> Error + '_ {
    move |error| match error {
        JournalError::File(FileError::Io(source)) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        other => Error::App(invalid(
            "journal",
            Some(path.display().to_string()),
            format!(
                "cannot use the organizer journal {}: {other}; remove it to drop the interrupted run it records",
                path.display()
            ),
        )),
    }
}

/// The annotation file's folder and the file's name there.
fn annotation_folder(annotations: &Path) -> Result<(Folder, std::ffi::OsString), Error> {
    Folder::of_file(annotations).map_err(|source| {
        annotation_error(AnnotationError::Io {
            path: annotations.to_path_buf(),
            source,
        })
    })
}

/// What became of a move, for its clip.
fn outcome(moved: Moved, to: &str) -> (ClipStatus, Option<String>) {
    match moved {
        Moved::Moved => (ClipStatus::Moved, None),
        Moved::TargetExists => (
            ClipStatus::TargetExists,
            Some(format!("{to} is taken by another file")),
        ),
        Moved::Missing => (ClipStatus::Missing, Some("no file at its path".into())),
        Moved::Changed => (
            ClipStatus::Error,
            Some("the file changed between the plan and the move".into()),
        ),
        Moved::Refused(why) => (ClipStatus::Refused, Some(why)),
        Moved::Failed(error) => (ClipStatus::Error, Some(error.to_string())),
    }
}

impl<'a> Organizer<'a> {
    /// An organizer deciding with `policy`.
    pub fn new(policy: &'a Policy) -> Self {
        Self {
            policy,
            progress: None,
        }
    }

    /// Reports `(moves done, moves planned)` as the run goes.
    pub fn with_progress(mut self, progress: &'a (dyn Fn(u64, u64) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Runs the organizer (see the module's documentation).
    pub fn organize(&self, options: &OrganizeOptions) -> Result<OrganizeReport, Error> {
        // The annotation file, its `.bak` and the journal go through its folder's descriptor.
        let (folder, name) = annotation_folder(&options.annotations)?;
        // One run at a time per annotation file (the lock goes with the folder's handles).
        if !options.dry_run && !folder.lock().map_err(io_error(folder.path()))? {
            return Err(Error::App(invalid(
                "annotations",
                Some(options.annotations.display().to_string()),
                "another organize run is working on this annotation file's folder",
            )));
        }
        let mut annotations =
            Annotations::open(&folder, &name, &options.annotations).map_err(annotation_error)?;
        let root = match &options.root {
            Some(root) => root.clone(),
            None => options
                .annotations
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        };
        let dataset = Dataset::open(&root).map_err(io_error(&root))?;
        let mapping = match &options.mapping {
            Some(mapping) => mapping.clone(),
            None => self.policy.stock_mapping()?,
        };
        self.policy.check_mapping(&mapping)?;
        let journal_name = journal::name_for(&name);
        let journal_path = journal::path_for(&options.annotations);
        // A dry run finishes an interrupted run too, on paper: it says what the run does.
        let mut view = plan::View::new(&dataset, options.dry_run);
        let journal = Journaled {
            folder: &folder,
            name: &journal_name,
            path: &journal_path,
        };
        let resumed = self.resume(&mut view, &root, &mut annotations, &journal)?;
        let categories: Vec<&str> = mapping
            .iter()
            .map(|category| category.name.as_str())
            .chain(options.default_category.as_deref())
            .collect();
        let structure = view.survey(&is_video, &|name| categories.contains(&name));
        let placements = self.policy.plan(
            annotations.clips(),
            &mapping,
            options.default_category.as_deref(),
        )?;
        // A policy answers clip for clip, in order; the rows rewritten depend on it.
        let in_order = placements.len() == annotations.clips().len()
            && placements
                .iter()
                .zip(annotations.clips())
                .all(|(placement, clip)| placement.clip_id == clip.clip_id);
        if !in_order {
            return Err(Error::App(crate::types::error::AppError::Generation {
                message: "the policy's plan does not answer the clips one for one, in order"
                    .to_string(),
                details: Vec::new(),
            }));
        }

        // Look at the disk: each clip's status, and the moves to make.
        let plan::OnDisk {
            mut moves,
            planned,
            follows,
        } = plan::on_disk(&view, placements);

        if !options.dry_run && !planned.is_empty() {
            let journal = Journal {
                root: canonical_path(&root),
                root_id: Some(dataset.id().map_err(io_error(&root))?),
                moves: planned.clone(),
            };
            journal
                .write(&folder, &journal_name)
                .map_err(write_error("organizer journal", &journal_path))?;
            let total = planned.len() as u64;
            let mut moved_any = false;
            for (done, planned_move) in planned.iter().enumerate() {
                let (status, error) = match follows[done] {
                    // The same file to the same target, moved for an earlier row.
                    Some(leader) => {
                        let led = &moves[planned[leader].index];
                        (led.status, led.error.clone())
                    }
                    None => outcome(
                        dataset.move_file(
                            &planned_move.from,
                            &planned_move.to,
                            Some(planned_move.file),
                        ),
                        &planned_move.to,
                    ),
                };
                if status == ClipStatus::Moved {
                    annotations.set_path(planned_move.index, &planned_move.to);
                    moved_any = true;
                }
                let clip = &mut moves[planned_move.index];
                (clip.status, clip.error) = (status, error);
                if let Some(progress) = self.progress {
                    progress(done as u64 + 1, total);
                }
            }
            if moved_any {
                // The moves reach the disk before the file that points at them.
                dataset.sync().map_err(io_error(&root))?;
                annotations
                    .write()
                    .map_err(write_error("annotation file", &options.annotations))?;
            }
            Journal::remove(&folder, &journal_name).map_err(io_error(&journal_path))?;
        }
        let summary = Summary::of(&moves, resumed);
        let mut per_category = BTreeMap::new();
        for clip in &moves {
            if let Some(category) = &clip.target_category {
                *per_category.entry(category.clone()).or_insert(0) += 1;
            }
        }
        tracing::info!(
            annotations = %options.annotations.display(),
            moved = summary.moved,
            already_organized = summary.already_organized,
            dry_run = options.dry_run,
            "organizer run"
        );
        Ok(OrganizeReport {
            success: moves.iter().all(|clip| clip.status.is_done()),
            dry_run: options.dry_run,
            annotations: options.annotations.display().to_string(),
            root: root.display().to_string(),
            organized: structure.state(),
            structure,
            moves,
            summary,
            per_category,
        })
    }

    /// Finishes an interrupted run from its journal: each move whose source is still the
    /// planned file is made, then the annotation file points every journaled clip whose file is
    /// at its target there (clips found by id and path, not by row). The journal is removed only
    /// when every move is accounted for. A dry run does all this on paper (`view`), the journal
    /// and the annotation file left as they are. A journal of another root
    /// ([`Journal::is_of`]) is refused and kept, nothing changed (and nothing it says repeated:
    /// whoever can write in the folder can forge one). The number of clips finished this way.
    fn resume(
        &self,
        view: &mut plan::View<'_>,
        root: &Path,
        annotations: &mut Annotations,
        journal: &Journaled<'_>,
    ) -> Result<usize, Error> {
        let Some(read) =
            Journal::read(journal.folder, journal.name).map_err(journal_error(journal.path))?
        else {
            return Ok(0);
        };
        if !read.is_of(view.dataset()).map_err(io_error(root))? {
            return Err(Error::App(invalid(
                "root",
                Some(root.display().to_string()),
                format!(
                    "an interrupted run of this annotation file worked in another dataset root than {}; nothing was changed and its journal is kept: to finish it, run again with the root that run was given (from the directory it was started in)",
                    root.display()
                ),
            )));
        }
        let on_paper = view.on_paper();
        if on_paper {
            tracing::warn!(journal = %journal.path.display(), moves = read.moves.len(), "an interrupted organizer run would be finished first (a dry run: on paper only)");
        } else {
            tracing::warn!(journal = %journal.path.display(), moves = read.moves.len(), "finishing an interrupted organizer run");
        }
        let mut finished = 0;
        for planned in &read.moves {
            let _ = view.move_file(&planned.from, &planned.to, planned.file);
            let at_target = match view.find(&planned.to) {
                Ok(Found::File(stat)) => FileId::of(&stat) == planned.file,
                Ok(_) | Err(PathError::Refused(_)) => false,
                Err(PathError::Io(error)) => return Err(io_error(root)(error)),
            };
            if !at_target {
                // Still at its source (or gone): the annotation already says so.
                continue;
            }
            let row = annotations.clips().iter().position(|clip| {
                clip.clip_id == planned.clip_id && clip.video_path == planned.from
            });
            if let Some(row) = row {
                annotations.set_path(row, &planned.to);
                finished += 1;
            }
        }
        if on_paper {
            return Ok(finished);
        }
        // Written only when it changes, so `<file>.bak` keeps the version before the run.
        if finished > 0 {
            view.dataset().sync().map_err(io_error(root))?;
            annotations
                .write()
                .map_err(write_error("annotation file", annotations.path()))?;
        }
        Journal::remove(journal.folder, journal.name).map_err(io_error(journal.path))?;
        Ok(finished)
    }
}

/// Where a run's journal is: its folder's handle, its name there, its path for people.
struct Journaled<'a> {
    folder: &'a Folder,
    name: &'a OsStr,
    path: &'a Path,
}

/// A mapping file (JSON, or TOML when it ends in `.toml`) as categories, checked by the policy:
/// a regular file (never a link, a FIFO or a device) of at most [`MAPPING_MAX_BYTES`].
pub fn read_mapping(policy: &Policy, path: &Path) -> Result<Vec<Category>, Error> {
    let unreadable = |why: String| {
        Error::App(invalid(
            "mapping",
            Some(path.display().to_string()),
            format!("cannot read the mapping file {}: {why}", path.display()),
        ))
    };
    let bytes =
        read_file(path, MAPPING_MAX_BYTES).map_err(|error| unreadable(error.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|error| unreadable(error.to_string()))?;
    let toml = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
    let mapping = crate::types::organizer::parse_mapping(&text, toml)?;
    policy.check_mapping(&mapping)?;
    Ok(mapping)
}

/// A default category name the policy accepts, or its error.
pub fn check_default_category(policy: &Policy, category: &str) -> Result<(), Error> {
    // The policy checks it with an empty plan.
    policy.plan(&[], &[], Some(category)).map(|_| ())
}
