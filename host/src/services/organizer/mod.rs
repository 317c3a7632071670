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

mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::capabilities::dataset::annotations::{AnnotationError, Annotations};
use crate::capabilities::dataset::journal::{self, Journal, JournalMove};
use crate::capabilities::dataset::{Dataset, FileId, Found, Moved, PathError, lock_directory};
use crate::runtime::Policy;
use crate::types::error::Error;
use crate::types::monitor::invalid;
use crate::types::organizer::{
    Category, ClipMove, ClipStatus, OrganizeReport, PlacementStatus, Summary,
};

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
    /// Change nothing on disk.
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
        // One run at a time per annotation file (the lock goes with this function's end).
        let folder = options
            .annotations
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let _lock = if options.dry_run {
            None
        } else {
            match lock_directory(folder) {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => {
                    return Err(Error::App(invalid(
                        "annotations",
                        Some(options.annotations.display().to_string()),
                        "another organize run is working on this annotation file's folder",
                    )));
                }
                // An unreadable folder: reading the annotation file says why.
                Err(_) => None,
            }
        };
        let mut annotations = Annotations::read(&options.annotations).map_err(annotation_error)?;
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
        let journal_path = journal::path_for(&options.annotations);
        let resumed = if options.dry_run {
            0
        } else {
            self.resume(&dataset, &root, &mut annotations, &journal_path)?
        };
        let categories: Vec<&str> = mapping
            .iter()
            .map(|category| category.name.as_str())
            .chain(options.default_category.as_deref())
            .collect();
        let structure = dataset.survey(&is_video, &|name| categories.contains(&name));
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
        let mut moves = Vec::with_capacity(placements.len());
        let mut planned: Vec<JournalMove> = Vec::new();
        for (index, placement) in placements.into_iter().enumerate() {
            let mut clip = ClipMove {
                clip_id: placement.clip_id,
                current_path: placement.current_path,
                target_path: placement.target_path,
                target_category: placement.target_category,
                status: ClipStatus::Refused,
                error: placement.reason,
            };
            let target = clip.target_path.clone().unwrap_or_default();
            (clip.status, clip.error) = match placement.status {
                PlacementStatus::Refused => (ClipStatus::Refused, clip.error),
                PlacementStatus::Unmapped => (ClipStatus::Unmapped, clip.error),
                PlacementStatus::AlreadyOrganized => match dataset.find(&target) {
                    Ok(Found::File(_)) => (ClipStatus::AlreadyOrganized, None),
                    Ok(Found::Missing) => (ClipStatus::Missing, Some("no file at its path".into())),
                    Ok(Found::NotAFile) => (ClipStatus::Error, Some("not a regular file".into())),
                    Err(PathError::Refused(why)) => (ClipStatus::Refused, Some(why)),
                    Err(PathError::Io(error)) => (ClipStatus::Error, Some(error.to_string())),
                },
                PlacementStatus::Move => {
                    match (dataset.find(&clip.current_path), dataset.find(&target)) {
                        (Err(PathError::Refused(why)), _) | (_, Err(PathError::Refused(why))) => {
                            (ClipStatus::Refused, Some(why))
                        }
                        (Err(PathError::Io(error)), _) | (_, Err(PathError::Io(error))) => {
                            (ClipStatus::Error, Some(error.to_string()))
                        }
                        (Ok(Found::Missing), _) => {
                            (ClipStatus::Missing, Some("no file at its path".into()))
                        }
                        (Ok(Found::NotAFile), _) => {
                            (ClipStatus::Error, Some("not a regular file".into()))
                        }
                        (Ok(Found::File(_)), Ok(Found::File(_) | Found::NotAFile)) => (
                            ClipStatus::TargetExists,
                            Some(format!("{target} is taken by another file")),
                        ),
                        (Ok(Found::File(stat)), Ok(Found::Missing)) => {
                            planned.push(JournalMove {
                                index,
                                clip_id: clip.clip_id.clone(),
                                from: clip.current_path.clone(),
                                to: target.clone(),
                                file: FileId::of(&stat),
                            });
                            (ClipStatus::WouldMove, None)
                        }
                    }
                }
            };
            moves.push(clip);
        }

        if !options.dry_run && !planned.is_empty() {
            let journal = Journal {
                root: root.clone(),
                moves: planned.clone(),
            };
            journal
                .write(&journal_path)
                .map_err(io_error(&journal_path))?;
            let total = planned.len() as u64;
            let mut moved_any = false;
            for (done, planned_move) in planned.iter().enumerate() {
                let clip = &mut moves[planned_move.index];
                (clip.status, clip.error) = match dataset.move_file(
                    &planned_move.from,
                    &planned_move.to,
                    Some(planned_move.file),
                ) {
                    Moved::Moved => {
                        annotations.set_path(planned_move.index, &planned_move.to);
                        moved_any = true;
                        (ClipStatus::Moved, None)
                    }
                    Moved::TargetExists => (
                        ClipStatus::TargetExists,
                        Some(format!("{} is taken by another file", planned_move.to)),
                    ),
                    Moved::Missing => (ClipStatus::Missing, Some("no file at its path".into())),
                    Moved::Changed => (
                        ClipStatus::Error,
                        Some("the file changed between the plan and the move".into()),
                    ),
                    Moved::Refused(why) => (ClipStatus::Refused, Some(why)),
                    Moved::Failed(error) => (ClipStatus::Error, Some(error.to_string())),
                };
                if let Some(progress) = self.progress {
                    progress(done as u64 + 1, total);
                }
            }
            if moved_any {
                // The moves reach the disk before the file that points at them.
                dataset.sync().map_err(io_error(&root))?;
                annotations
                    .write()
                    .map_err(io_error(&options.annotations))?;
            }
            Journal::remove(&journal_path).map_err(io_error(&journal_path))?;
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
    /// when every move is accounted for; a journal of another root is refused. The number of
    /// clips finished this way.
    fn resume(
        &self,
        dataset: &Dataset,
        root: &Path,
        annotations: &mut Annotations,
        path: &Path,
    ) -> Result<usize, Error> {
        let Some(journal) = Journal::read(path).map_err(io_error(path))? else {
            return Ok(0);
        };
        let same_root = match (journal.root.canonicalize(), root.canonicalize()) {
            (Ok(journaled), Ok(now)) => journaled == now,
            _ => false,
        };
        if !same_root {
            return Err(Error::App(invalid(
                "root",
                Some(root.display().to_string()),
                format!(
                    "an interrupted run of this annotation file worked in {}: run again with --root {}",
                    journal.root.display(),
                    journal.root.display()
                ),
            )));
        }
        tracing::warn!(journal = %path.display(), moves = journal.moves.len(), "finishing an interrupted organizer run");
        let mut finished = 0;
        for planned in &journal.moves {
            let _ = dataset.move_file(&planned.from, &planned.to, Some(planned.file));
            let at_target = match dataset.find(&planned.to) {
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
        // Written only when it changes, so `<file>.bak` keeps the version before the run.
        if finished > 0 {
            dataset.sync().map_err(io_error(root))?;
            annotations.write().map_err(io_error(annotations.path()))?;
        }
        Journal::remove(path).map_err(io_error(path))?;
        Ok(finished)
    }
}

/// A mapping file (JSON, or TOML when it ends in `.toml`) as categories, checked by the policy.
pub fn read_mapping(policy: &Policy, path: &Path) -> Result<Vec<Category>, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Error::App(invalid(
            "mapping",
            Some(path.display().to_string()),
            format!("cannot read the mapping file {}: {error}", path.display()),
        ))
    })?;
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
