//! The policy's placements checked against the disk: each clip's status before any move, and
//! the moves to make, so that a dry run says what the run does. A file an earlier move takes
//! goes with that move (the same target: the row follows it) or is gone by then; a target an
//! earlier move fills is taken by then.
//!
//! A dry run sees the disk through a [`View`] holding, on paper, the moves of an interrupted run
//! that the run would finish first, so that it too says what the run does.

use std::collections::{HashMap, HashSet};

use crate::capabilities::dataset::journal::JournalMove;
use crate::capabilities::dataset::{Dataset, FileId, Found, Moved, PathError, components};
use crate::capabilities::fs::stat::Stat;
use crate::types::organizer::{ClipMove, ClipStatus, Placement, PlacementStatus, Structure};

/// The dataset as a run sees it. A run looks at the disk and moves files there; a dry run makes
/// its moves (those of an interrupted run it would finish first) on paper only: each file gone
/// from its source and at its target, the folders made for it, so that what it then plans,
/// counts and surveys is what the run would find.
pub(super) struct View<'d> {
    dataset: &'d Dataset,
    on_paper: bool,
    /// Paths a move on paper emptied.
    gone: HashSet<String>,
    /// Paths a move on paper filled, with the file's facts.
    placed: HashMap<String, Stat>,
    /// Folders a move on paper made.
    folders: HashSet<String>,
    /// The moves on paper, in order.
    moved: Vec<(String, String)>,
}

impl<'d> View<'d> {
    /// The disk itself, or (`on_paper`) the disk and the moves made on paper.
    pub fn new(dataset: &'d Dataset, on_paper: bool) -> Self {
        Self {
            dataset,
            on_paper,
            gone: HashSet::new(),
            placed: HashMap::new(),
            folders: HashSet::new(),
            moved: Vec::new(),
        }
    }

    /// Whether moves are made on paper only (a dry run).
    pub fn on_paper(&self) -> bool {
        self.on_paper
    }

    /// The dataset underneath.
    pub fn dataset(&self) -> &'d Dataset {
        self.dataset
    }

    /// What `path` names (see [`Dataset::find`]), after the moves made on paper.
    pub fn find(&self, path: &str) -> Result<Found, PathError> {
        if self.moved.is_empty() {
            return self.dataset.find(path);
        }
        let parts = components(path)?;
        let mut prefix = String::with_capacity(path.len());
        for (depth, part) in parts.iter().enumerate() {
            if depth > 0 {
                prefix.push('/');
            }
            prefix.push_str(part);
            let last = depth + 1 == parts.len();
            if let Some(stat) = self.placed.get(&prefix) {
                return if last {
                    Ok(Found::File(*stat))
                } else {
                    Err(PathError::Refused(format!("{part:?} is not a directory")))
                };
            }
            if self.folders.contains(&prefix) {
                if last {
                    return Ok(Found::NotAFile);
                }
            } else if self.gone.contains(&prefix) {
                return Ok(Found::Missing);
            }
        }
        self.dataset.find(path)
    }

    /// Moves `from` to `to` when `from` is still the file `expected` (see
    /// [`Dataset::move_file`]); on paper, what that move would do.
    pub fn move_file(&mut self, from: &str, to: &str, expected: FileId) -> Moved {
        if !self.on_paper {
            return self.dataset.move_file(from, to, Some(expected));
        }
        let stat = match self.find(from) {
            Ok(Found::File(stat)) if FileId::of(&stat) == expected => stat,
            Ok(Found::File(_) | Found::NotAFile) => return Moved::Changed,
            Ok(Found::Missing) => return Moved::Missing,
            Err(PathError::Refused(why)) => return Moved::Refused(why),
            Err(PathError::Io(error)) => return Moved::Failed(error),
        };
        match self.find(to) {
            Ok(Found::Missing) => {}
            Ok(Found::File(_) | Found::NotAFile) => return Moved::TargetExists,
            Err(PathError::Refused(why)) => return Moved::Refused(why),
            Err(PathError::Io(error)) => return Moved::Failed(error),
        }
        // The target's missing folders are made.
        let parents = to.rsplit_once('/').map_or("", |(parents, _)| parents);
        let mut folder = String::with_capacity(to.len());
        for part in parents.split('/').filter(|part| !part.is_empty()) {
            if !folder.is_empty() {
                folder.push('/');
            }
            folder.push_str(part);
            if matches!(self.find(&folder), Ok(Found::Missing)) {
                self.gone.remove(&folder);
                self.folders.insert(folder.clone());
            }
        }
        self.placed.remove(from);
        self.gone.insert(from.to_string());
        self.gone.remove(to);
        self.placed.insert(to.to_string(), stat);
        self.moved.push((from.to_string(), to.to_string()));
        Moved::Moved
    }

    /// The dataset's structure (see [`Dataset::survey`]), after the moves made on paper.
    pub fn survey(
        &self,
        is_video: &dyn Fn(&str) -> bool,
        is_category: &dyn Fn(&str) -> bool,
    ) -> Structure {
        let mut structure = self.dataset.survey(is_video, is_category);
        structure.folders += self.folders.len() as u64;
        for (from, to) in &self.moved {
            tally(&mut structure, from, false, is_video, is_category);
            tally(&mut structure, to, true, is_video, is_category);
        }
        structure
    }
}

/// A video at `path` counted in (`add`) or out of `structure`, as the survey counts it.
fn tally(
    structure: &mut Structure,
    path: &str,
    add: bool,
    is_video: &dyn Fn(&str) -> bool,
    is_category: &dyn Fn(&str) -> bool,
) {
    let parts: Vec<&str> = path.split('/').collect();
    if !parts.last().is_some_and(|name| is_video(name)) {
        return;
    }
    let count = |value: &mut u64| {
        *value = if add {
            value.saturating_add(1)
        } else {
            value.saturating_sub(1)
        };
    };
    count(&mut structure.video_files);
    if let [category, _, _] = parts[..]
        && is_category(category)
    {
        count(&mut structure.organized_files);
        let per_category = structure
            .per_category
            .entry(category.to_string())
            .or_default();
        count(per_category);
        if *per_category == 0 {
            structure.per_category.remove(category);
        }
    }
}

/// The plan on disk.
pub(super) struct OnDisk {
    /// Every clip, in the file's order, `WouldMove` for those planned.
    pub moves: Vec<ClipMove>,
    /// The moves, in order.
    pub planned: Vec<JournalMove>,
    /// For each planned move, the earlier one it follows (the same file to the same target:
    /// moved once, both rows pointed there).
    pub follows: Vec<Option<usize>>,
}

fn missing() -> (ClipStatus, Option<String>) {
    (ClipStatus::Missing, Some("no file at its path".into()))
}

fn not_a_file() -> (ClipStatus, Option<String>) {
    (ClipStatus::Error, Some("not a regular file".into()))
}

/// Looks at the disk for each placement (in the file's order).
pub(super) fn on_disk(dataset: &View<'_>, placements: Vec<Placement>) -> OnDisk {
    let mut moves = Vec::with_capacity(placements.len());
    let mut planned: Vec<JournalMove> = Vec::new();
    let mut follows = Vec::new();
    // Sources and targets of the moves planned so far (their position in `planned`).
    let mut sources: HashMap<String, usize> = HashMap::new();
    let mut targets: HashMap<String, usize> = HashMap::new();
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
                Ok(Found::Missing) => missing(),
                Ok(Found::NotAFile) => not_a_file(),
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
                    (Ok(Found::Missing), _) => missing(),
                    (Ok(Found::NotAFile), _) => not_a_file(),
                    (Ok(Found::File(_)), Ok(Found::File(_) | Found::NotAFile)) => (
                        ClipStatus::TargetExists,
                        Some(format!("{target} is taken by another file")),
                    ),
                    (Ok(Found::File(stat)), Ok(Found::Missing)) => {
                        let leader = sources.get(&clip.current_path).copied();
                        let taken = targets.get(&target).copied();
                        let journaled = JournalMove {
                            index,
                            clip_id: clip.clip_id.clone(),
                            from: clip.current_path.clone(),
                            to: target.clone(),
                            file: FileId::of(&stat),
                        };
                        match (leader, taken) {
                            (Some(leader), _) if planned[leader].to == target => {
                                planned.push(journaled);
                                follows.push(Some(leader));
                                (ClipStatus::WouldMove, None)
                            }
                            (Some(leader), _) => (
                                ClipStatus::Missing,
                                Some(format!(
                                    "its file goes to {} with clip {:?}",
                                    planned[leader].to, planned[leader].clip_id
                                )),
                            ),
                            (None, Some(other)) => (
                                ClipStatus::TargetExists,
                                Some(format!(
                                    "{target} is taken by the file of clip {:?}",
                                    planned[other].clip_id
                                )),
                            ),
                            (None, None) => {
                                sources.insert(journaled.from.clone(), planned.len());
                                targets.insert(journaled.to.clone(), planned.len());
                                planned.push(journaled);
                                follows.push(None);
                                (ClipStatus::WouldMove, None)
                            }
                        }
                    }
                }
            }
        };
        moves.push(clip);
    }
    OnDisk {
        moves,
        planned,
        follows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(id: &str, from: &str, to: &str) -> Placement {
        Placement {
            clip_id: id.into(),
            current_path: from.into(),
            target_path: Some(to.into()),
            target_category: Some("c".into()),
            status: PlacementStatus::Move,
            reason: None,
        }
    }

    #[test]
    fn rows_of_one_file_and_one_target_are_planned_as_the_run_ends() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("a.mp4"), "a").expect("write");
        std::fs::write(dir.path().join("b.mp4"), "b").expect("write");
        std::fs::create_dir_all(dir.path().join("x")).expect("mkdir");
        std::fs::write(dir.path().join("x/b.mp4"), "another b").expect("write");
        let dataset = Dataset::open(dir.path()).expect("open");
        let plan = on_disk(
            &View::new(&dataset, false),
            vec![
                placement("a", "a.mp4", "c/l/a.mp4"),
                placement("a", "a.mp4", "c/l/a.mp4"),
                placement("a2", "a.mp4", "c/other/a.mp4"),
                placement("b", "b.mp4", "c/l/b.mp4"),
                placement("xb", "x/b.mp4", "c/l/b.mp4"),
            ],
        );
        let statuses: Vec<ClipStatus> = plan.moves.iter().map(|clip| clip.status).collect();
        assert_eq!(
            statuses,
            [
                ClipStatus::WouldMove,
                ClipStatus::WouldMove,
                ClipStatus::Missing,
                ClipStatus::WouldMove,
                ClipStatus::TargetExists
            ]
        );
        assert_eq!(plan.follows, [None, Some(0), None]);
        assert_eq!(
            plan.planned.iter().map(|m| m.index).collect::<Vec<_>>(),
            [0, 1, 3]
        );
    }

    #[test]
    fn moves_on_paper_are_seen_and_surveyed_but_not_made() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("raw")).expect("mkdir");
        std::fs::write(dir.path().join("raw/a.mp4"), "a").expect("write");
        std::fs::write(dir.path().join("raw/b.mp4"), "b").expect("write");
        let dataset = Dataset::open(dir.path()).expect("open");
        let id = |path: &str| match dataset.find(path) {
            Ok(Found::File(stat)) => FileId::of(&stat),
            _ => panic!("{path} is a file"),
        };
        let (a, b) = (id("raw/a.mp4"), id("raw/b.mp4"));
        let mut view = View::new(&dataset, true);
        assert!(matches!(
            view.move_file("raw/a.mp4", "c/l/a.mp4", a),
            Moved::Moved
        ));
        // Not the planned file, or its target taken: not moved.
        assert!(matches!(
            view.move_file("raw/b.mp4", "c/l/b.mp4", a),
            Moved::Changed
        ));
        assert!(matches!(
            view.move_file("raw/b.mp4", "c/l/a.mp4", b),
            Moved::TargetExists
        ));
        assert!(matches!(
            view.move_file("raw/a.mp4", "c/l/x.mp4", a),
            Moved::Missing
        ));
        assert!(matches!(view.find("raw/a.mp4"), Ok(Found::Missing)));
        assert!(matches!(view.find("c/l/a.mp4"), Ok(Found::File(stat)) if FileId::of(&stat) == a));
        assert!(matches!(view.find("c/l"), Ok(Found::NotAFile)));
        assert!(matches!(
            view.find("c/l/a.mp4/x"),
            Err(PathError::Refused(_))
        ));
        assert!(matches!(
            view.find("../c/l/a.mp4"),
            Err(PathError::Refused(_))
        ));
        assert!(matches!(view.find("raw/b.mp4"), Ok(Found::File(_))));
        let structure = view.survey(&|name| name.ends_with(".mp4"), &|name| name == "c");
        assert_eq!(
            (
                structure.video_files,
                structure.folders,
                structure.organized_files
            ),
            (2, 3, 1)
        );
        assert_eq!(structure.per_category.get("c"), Some(&1));
        // Nothing moved on disk.
        assert!(dir.path().join("raw/a.mp4").is_file() && !dir.path().join("c").exists());
    }
}
