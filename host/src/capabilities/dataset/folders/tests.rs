//! The folder cache under a dataset that changes between the plan and the moves.

use std::path::Path;

use super::super::watch::Watch;
use super::super::{Dataset, FileId, Found, Moved, PathError};

/// The dataset at `root`: its folders taken on their watch's word (`watched`, when the system
/// allows), or each checked by `statx`.
fn open(root: &Path, watched: bool) -> Dataset {
    let dataset = Dataset::open(root).expect("open");
    if !watched {
        dataset.folders.distrust();
    }
    dataset
}

/// Runs `test` with the folders watched and checked.
fn both(test: impl Fn(bool)) {
    test(true);
    test(false);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn planned(dataset: &Dataset, path: &str) -> FileId {
    match dataset.find(path) {
        Ok(Found::File(stat)) => FileId::of(&stat),
        other => panic!("{path}: {other:?}"),
    }
}

/// Every name below `dir`, `/`-separated, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("list") {
            let path = entry.expect("entry").path();
            names.push(path.strip_prefix(dir).expect("below").display().to_string());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn a_source_folder_swapped_for_a_link_after_the_plan_is_not_followed() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
        write(&root.join("raw/spin/a.mp4"), "a");
        std::fs::create_dir_all(&outside).expect("mkdir");
        let dataset = open(&root, watched);
        let a = planned(&dataset, "raw/spin/a.mp4");
        // The folder taken out of the root (the cached descriptor goes with it), a link in its place.
        std::fs::rename(root.join("raw/spin"), outside.join("spin")).expect("move away");
        std::os::unix::fs::symlink(outside.join("spin"), root.join("raw/spin")).expect("link");
        let moved = dataset.move_file("raw/spin/a.mp4", "turns/spin/a.mp4", Some(a));
        assert!(
            matches!(&moved, Moved::Refused(why) if why.contains("symbolic link")),
            "{moved:?}"
        );
        assert_eq!(listing(&outside), ["spin", "spin/a.mp4"]);
        assert!(!root.join("turns/spin/a.mp4").exists());
        // Looking goes through the link no more than moving does.
        assert!(matches!(
            Dataset::open(&root).expect("open").find("raw/spin/a.mp4"),
            Err(PathError::Refused(_))
        ));
    });
}

#[test]
fn a_target_folder_swapped_or_moved_away_is_never_written_outside() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
        for name in ["a", "b", "c"] {
            write(&root.join(format!("raw/{name}.mp4")), name);
        }
        std::fs::create_dir_all(&outside).expect("mkdir");
        let dataset = open(&root, watched);
        let [a, b, c] = ["a", "b", "c"].map(|name| planned(&dataset, &format!("raw/{name}.mp4")));
        assert!(matches!(
            dataset.move_file("raw/a.mp4", "turns/spin/a.mp4", Some(a)),
            Moved::Moved
        ));
        // `turns/spin`, cached by that move, taken out of the root and a link put in its place.
        std::fs::rename(root.join("turns/spin"), outside.join("spin")).expect("move away");
        std::os::unix::fs::symlink(outside.join("spin"), root.join("turns/spin")).expect("link");
        let moved = dataset.move_file("raw/b.mp4", "turns/spin/b.mp4", Some(b));
        assert!(
            matches!(&moved, Moved::Refused(why) if why.contains("symbolic link")),
            "{moved:?}"
        );
        assert_eq!(listing(&outside), ["spin", "spin/a.mp4"]);
        assert!(root.join("raw/b.mp4").is_file());
        // `turns` itself taken out of the root, nothing in its place: made again inside.
        std::fs::rename(root.join("turns"), outside.join("turns")).expect("move away");
        assert!(matches!(
            dataset.move_file("raw/c.mp4", "turns/spin/c.mp4", Some(c)),
            Moved::Moved
        ));
        assert_eq!(
            std::fs::read_to_string(root.join("turns/spin/c.mp4")).expect("read"),
            "c"
        );
        assert_eq!(
            listing(&outside),
            ["spin", "spin/a.mp4", "turns", "turns/spin"]
        );
    });
}

#[test]
fn a_folder_moved_elsewhere_inside_the_root_is_found_again_by_its_path() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        write(&root.join("raw/x/a.mp4"), "a");
        let dataset = open(root, watched);
        let a = planned(&dataset, "raw/x/a.mp4");
        // Renamed and another folder made under the old name: the path names the new one.
        std::fs::rename(root.join("raw/x"), root.join("raw/y")).expect("rename");
        std::fs::create_dir(root.join("raw/x")).expect("mkdir");
        assert!(matches!(
            dataset.move_file("raw/x/a.mp4", "c/l/a.mp4", Some(a)),
            Moved::Missing
        ));
        assert!(root.join("raw/y/a.mp4").is_file());
    });
}

#[test]
fn a_source_replaced_between_plan_and_move_is_kept_where_it_is() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        write(&root.join("raw/a.mp4"), "planned");
        write(&root.join("raw/b.mp4"), "planned");
        let dataset = open(root, watched);
        let (a, b) = (
            planned(&dataset, "raw/a.mp4"),
            planned(&dataset, "raw/b.mp4"),
        );
        // Another file under the same name; a folder under the other.
        std::fs::remove_file(root.join("raw/a.mp4")).expect("rm");
        write(&root.join("raw/keep.mp4"), "keeps the inode busy");
        write(&root.join("raw/a.mp4"), "replacement");
        std::fs::remove_file(root.join("raw/b.mp4")).expect("rm");
        write(&root.join("raw/b.mp4/inside"), "x");
        assert!(matches!(
            dataset.move_file("raw/a.mp4", "c/l/a.mp4", Some(a)),
            Moved::Changed
        ));
        assert!(matches!(
            dataset.move_file("raw/b.mp4", "c/l/b.mp4", Some(b)),
            Moved::Changed
        ));
        assert_eq!(
            std::fs::read_to_string(root.join("raw/a.mp4")).expect("read"),
            "replacement"
        );
        assert!(root.join("raw/b.mp4/inside").is_file());
        assert!(
            !root.join("c").exists(),
            "no target folder made for a refused move"
        );
    });
}

#[test]
fn more_folders_than_descriptors_kept_are_all_moved_within_the_cap() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        let count = 60;
        for i in 0..count {
            write(
                &root.join(format!("raw/l{}/b{i}/{i}.mp4", i % 5)),
                &i.to_string(),
            );
        }
        let dataset = Dataset::open_with_capacity(root, 4).expect("open");
        if !watched {
            dataset.folders.distrust();
        }
        let sources: Vec<String> = (0..count)
            .map(|i| format!("raw/l{}/b{i}/{i}.mp4", i % 5))
            .collect();
        let files: Vec<FileId> = sources.iter().map(|path| planned(&dataset, path)).collect();
        assert!(dataset.folders.open_count() <= 4);
        for (i, (from, file)) in sources.iter().zip(&files).enumerate() {
            let to = format!("c{}/l{}/{i}.mp4", i % 3, i % 7);
            let moved = dataset.move_file(from, &to, Some(*file));
            assert!(matches!(moved, Moved::Moved), "{from}: {moved:?}");
            assert!(dataset.folders.open_count() <= 4);
        }
        for i in 0..count {
            let to = root.join(format!("c{}/l{}/{i}.mp4", i % 3, i % 7));
            assert_eq!(std::fs::read_to_string(&to).expect("read"), i.to_string());
        }
        // Every source folder is left empty, and every target file is found again.
        for (i, file) in files.iter().enumerate() {
            assert!(matches!(
                dataset.find(&format!("raw/l{}/b{i}/{i}.mp4", i % 5)),
                Ok(Found::Missing)
            ));
            assert!(dataset.holds(&format!("c{}/l{}/{i}.mp4", i % 3, i % 7), *file));
        }
        assert!(dataset.folders.open_count() <= 4);
        // The run's own moves and folders raise no event: the watch is still taken at its word.
        assert_eq!(
            dataset.folders.watching(),
            watched && Watch::new().is_some()
        );
    });
}

#[test]
fn a_target_folder_removed_while_open_and_replaced_by_a_link_is_not_written_through() {
    both(|watched| {
        let dir = tempfile::tempdir().expect("dir");
        let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
        write(&root.join("raw/a.mp4"), "a");
        write(&root.join("raw/b.mp4"), "b");
        std::fs::create_dir_all(outside.join("spin")).expect("mkdir");
        let dataset = open(&root, watched);
        let (a, b) = (
            planned(&dataset, "raw/a.mp4"),
            planned(&dataset, "raw/b.mp4"),
        );
        assert!(matches!(
            dataset.move_file("raw/a.mp4", "turns/spin/a.mp4", Some(a)),
            Moved::Moved
        ));
        // Emptied, removed (no event while the run holds it open), a link in its place.
        std::fs::rename(root.join("turns/spin/a.mp4"), root.join("raw/a.mp4")).expect("back");
        std::fs::remove_dir(root.join("turns/spin")).expect("rmdir");
        std::os::unix::fs::symlink(outside.join("spin"), root.join("turns/spin")).expect("link");
        let moved = dataset.move_file("raw/b.mp4", "turns/spin/b.mp4", Some(b));
        assert!(
            matches!(&moved, Moved::Refused(why) if why.contains("symbolic link")),
            "{moved:?}"
        );
        assert_eq!(listing(&outside), ["spin"]);
        assert!(root.join("raw/b.mp4").is_file());
    });
}

#[test]
fn an_event_on_a_watched_folder_has_every_folder_checked_from_then_on() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    write(&root.join("raw/a.mp4"), "a");
    write(&root.join("raw/b.mp4"), "b");
    let dataset = open(root, true);
    if !dataset.folders.watching() {
        return; // No inotify here: every folder is checked anyway.
    }
    let (a, b) = (
        planned(&dataset, "raw/a.mp4"),
        planned(&dataset, "raw/b.mp4"),
    );
    assert!(matches!(
        dataset.move_file("raw/a.mp4", "c/l/a.mp4", Some(a)),
        Moved::Moved
    ));
    assert!(dataset.folders.watching());
    // Its mode changed: not a move, but enough to stop taking the watch at its word.
    std::fs::set_permissions(
        root.join("c/l"),
        std::os::unix::fs::PermissionsExt::from_mode(0o750),
    )
    .expect("chmod");
    assert!(matches!(
        dataset.move_file("raw/b.mp4", "c/l/b.mp4", Some(b)),
        Moved::Moved
    ));
    assert!(!dataset.folders.watching());
}

#[test]
fn the_capacity_follows_the_open_file_limit() {
    let capacity = super::capacity();
    assert!((super::MIN_CAPACITY..=super::MAX_CAPACITY).contains(&capacity));
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if let Some(soft) = soft {
        assert!(capacity as u64 <= soft.max(super::MIN_CAPACITY as u64 * 2));
    }
}
