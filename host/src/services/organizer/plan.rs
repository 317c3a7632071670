//! The policy's placements checked against the disk: each clip's status before any move, and
//! the moves to make, so that a dry run says what the run does. A file an earlier move takes
//! goes with that move (the same target: the row follows it) or is gone by then; a target an
//! earlier move fills is taken by then.

use std::collections::HashMap;

use crate::capabilities::dataset::journal::JournalMove;
use crate::capabilities::dataset::{Dataset, FileId, Found, PathError};
use crate::types::organizer::{ClipMove, ClipStatus, Placement, PlacementStatus};

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
pub(super) fn on_disk(dataset: &Dataset, placements: Vec<Placement>) -> OnDisk {
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
            &dataset,
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
}
