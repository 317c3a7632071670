//! The directory organizer as plain data: mappings, the policy's plan, each clip's outcome and
//! the run's report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::monitor::invalid;

/// A move category and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Its folder name.
    pub name: String,
    /// Its labels.
    pub labels: Vec<String>,
}

/// A mapping file's text (JSON or TOML: category → labels) as categories, in the file's
/// category order for JSON, by name for TOML.
pub fn parse_mapping(text: &str, toml: bool) -> Result<Vec<Category>, AppError> {
    let parsed: Result<indexmap::IndexMap<String, Vec<String>>, String> = if toml {
        ::toml::from_str(text).map_err(|error| error.to_string())
    } else {
        serde_json::from_str(text).map_err(|error| error.to_string())
    };
    let map = parsed.map_err(|error| {
        invalid(
            "mapping",
            None,
            format!("the mapping must map each category to a list of labels: {error}"),
        )
    })?;
    Ok(map
        .into_iter()
        .map(|(name, labels)| Category { name, labels })
        .collect())
}

/// The plan's word on a clip before the disk is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementStatus {
    /// To move.
    Move,
    /// Already in place.
    AlreadyOrganized,
    /// No category.
    Unmapped,
    /// A path that would leave the root, or not a video.
    Refused,
}

/// Where the policy places a clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The clip.
    pub clip_id: String,
    /// Its path, normalized.
    pub current_path: String,
    /// Where it goes.
    pub target_path: Option<String>,
    /// Its category.
    pub target_category: Option<String>,
    /// The plan's word.
    pub status: PlacementStatus,
    /// Why refused or unmapped.
    pub reason: Option<String>,
}

/// What became of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipStatus {
    /// Moved to its target.
    Moved,
    /// Would be moved (dry run).
    WouldMove,
    /// Already at its target.
    AlreadyOrganized,
    /// Its file is not there.
    Missing,
    /// Another file is at its target; it was not moved.
    TargetExists,
    /// No category for its label; it stays.
    Unmapped,
    /// Its path would leave the root (or goes through a link or onto another filesystem).
    Refused,
    /// The system refused (the reason in `error`).
    Error,
}

impl ClipStatus {
    /// Every status, in report order.
    pub const ALL: [Self; 8] = [
        Self::Moved,
        Self::WouldMove,
        Self::AlreadyOrganized,
        Self::Missing,
        Self::TargetExists,
        Self::Unmapped,
        Self::Refused,
        Self::Error,
    ];

    /// The name, as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Moved => "moved",
            Self::WouldMove => "would_move",
            Self::AlreadyOrganized => "already_organized",
            Self::Missing => "missing",
            Self::TargetExists => "target_exists",
            Self::Unmapped => "unmapped",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }

    /// Whether a clip with this status ended where it should.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Moved | Self::AlreadyOrganized | Self::WouldMove)
    }
}

/// One clip's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClipMove {
    /// The clip.
    pub clip_id: String,
    /// Where it was.
    pub current_path: String,
    /// Where it goes (none when unmapped or refused).
    pub target_path: Option<String>,
    /// Its category.
    pub target_category: Option<String>,
    /// What became of it.
    pub status: ClipStatus,
    /// Why, when it was not moved.
    pub error: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Clips in the annotation file.
    pub total_clips: usize,
    /// Moved.
    pub moved: usize,
    /// Would be moved (dry run).
    pub would_move: usize,
    /// Already in place.
    pub already_organized: usize,
    /// Missing files.
    pub missing_files: usize,
    /// Targets taken by another file.
    pub target_exists: usize,
    /// Without a category.
    pub unmapped: usize,
    /// Refused paths.
    pub refused: usize,
    /// System errors.
    pub errors: usize,
    /// Moves of an interrupted run finished first.
    pub resumed: usize,
}

impl Summary {
    /// Counts `moves`.
    pub fn of(moves: &[ClipMove], resumed: usize) -> Self {
        let count = |status: ClipStatus| moves.iter().filter(|m| m.status == status).count();
        Self {
            total_clips: moves.len(),
            moved: count(ClipStatus::Moved),
            would_move: count(ClipStatus::WouldMove),
            already_organized: count(ClipStatus::AlreadyOrganized),
            missing_files: count(ClipStatus::Missing),
            target_exists: count(ClipStatus::TargetExists),
            unmapped: count(ClipStatus::Unmapped),
            refused: count(ClipStatus::Refused),
            errors: count(ClipStatus::Error),
            resumed,
        }
    }
}

/// How organized a dataset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Organized {
    /// Every video is in `<category>/<label>/`.
    Organized,
    /// Some are.
    Partially,
    /// None is (or there is no video).
    Not,
}

impl Organized {
    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Organized => "organized",
            Self::Partially => "partially organized",
            Self::Not => "not organized",
        }
    }
}

/// The dataset's current structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Structure {
    /// Video files under the root.
    pub video_files: u64,
    /// Folders under the root.
    pub folders: u64,
    /// Videos already in `<category>/<label>/`.
    pub organized_files: u64,
    /// Videos per category folder.
    pub per_category: BTreeMap<String, u64>,
    /// Entries not looked into: links, other filesystems, unreadable folders.
    pub skipped: u64,
}

impl Structure {
    /// Organized, partially, or not.
    pub fn state(&self) -> Organized {
        if self.video_files > 0 && self.organized_files == self.video_files {
            Organized::Organized
        } else if self.organized_files > 0 {
            Organized::Partially
        } else {
            Organized::Not
        }
    }
}

/// A run of the organizer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganizeReport {
    /// Every clip ended moved or already organized (would be moved, in a dry run).
    pub success: bool,
    /// Nothing on disk changed.
    pub dry_run: bool,
    /// The annotation file.
    pub annotations: String,
    /// The dataset root.
    pub root: String,
    /// The structure before the run.
    pub structure: Structure,
    /// How organized it was, for people.
    pub organized: Organized,
    /// Each clip, in the file's order.
    pub moves: Vec<ClipMove>,
    /// Counts.
    pub summary: Summary,
    /// Clips per target category (of those with one).
    pub per_category: BTreeMap<String, usize>,
}
