//! The dataset's structure before a run: video files, folders, and the videos already at
//! `<category>/<label>/<file>`. Folders are entered without following a link and only on the
//! root's mount; an entry's kind comes from the directory listing where the filesystem gives
//! it (`d_type`), a `statx` (no link followed) otherwise and for every folder (its mount).

use std::ffi::OsStr;
use std::os::fd::OwnedFd;

use cap_std::fs::Dir;

use crate::capabilities::fs::open_dir_nofollow;
use crate::capabilities::fs::stat::{EntryKind, Mount, stat_at};
use crate::types::organizer::Structure;

/// The deepest folder the survey enters.
const MAX_DEPTH: usize = 64;

/// What a listed entry is (with its mount when it is a folder): from the listing when it says,
/// else from `statx`; `None` when it cannot be looked at.
fn kind_of(
    dir: &Dir,
    entry: &cap_std::fs::DirEntry,
    name: &OsStr,
) -> Option<(EntryKind, Option<Mount>)> {
    let listed = entry.file_type().ok()?;
    if listed.is_file() {
        Some((EntryKind::File, None))
    } else if listed.is_symlink() {
        Some((EntryKind::Symlink, None))
    } else if listed.is_dir() || listed == cap_std::fs::FileType::unknown() {
        // A folder's mount, or a kind the listing does not give.
        stat_at(dir, name)
            .ok()
            .map(|stat| (stat.kind, Some(stat.mount)))
    } else {
        Some((EntryKind::Other, None))
    }
}

/// The structure below `root` (on `mount`): video files (by `is_video`), folders, and the videos
/// at `<category>/<label>/<file>` for a category `is_category` accepts. Links and other
/// filesystems are counted as skipped, never entered.
pub(super) fn survey(
    root: &OwnedFd,
    mount: &Mount,
    is_video: &dyn Fn(&str) -> bool,
    is_category: &dyn Fn(&str) -> bool,
) -> Structure {
    let mut structure = Structure::default();
    let Ok(root) = root.try_clone() else {
        return structure;
    };
    let root = Dir::from_std_file(std::fs::File::from(root));
    // (directory, depth, its top-level folder's name)
    let mut stack: Vec<(Dir, usize, Option<String>)> = vec![(root, 0, None)];
    while let Some((dir, depth, top)) = stack.pop() {
        let Ok(entries) = dir.entries() else {
            structure.skipped += 1;
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some((kind, on)) = kind_of(&dir, &entry, &name) else {
                structure.skipped += 1;
                continue;
            };
            let text = name.to_string_lossy();
            match kind {
                EntryKind::Directory
                    if on.is_some_and(|on| mount.holds(&on)) && depth < MAX_DEPTH =>
                {
                    structure.folders += 1;
                    match open_dir_nofollow(&dir, &name) {
                        Ok(next) => {
                            let top = top.clone().or_else(|| Some(text.to_string()));
                            stack.push((next, depth + 1, top));
                        }
                        Err(_) => structure.skipped += 1,
                    }
                }
                EntryKind::File if is_video(&text) => {
                    structure.video_files += 1;
                    if let Some(category) = top.as_deref().filter(|_| depth == 2)
                        && is_category(category)
                    {
                        structure.organized_files += 1;
                        *structure
                            .per_category
                            .entry(category.to_string())
                            .or_default() += 1;
                    }
                }
                EntryKind::File => {}
                _ => structure.skipped += 1,
            }
        }
    }
    structure
}
