//! The walk's tests: order, paging, races, cancellation, deep trees within bounded
//! descriptors.

use super::*;
use crate::capabilities::fs::Areas;

/// An area `temp` holding `a/{0..n}`, `b/c/{x,y}` and `z`.
fn area(n: usize) -> (tempfile::TempDir, Areas) {
    let dir = tempfile::tempdir().expect("tempdir");
    let temp = dir.path().join("data/temp");
    std::fs::create_dir_all(temp.join("a")).expect("mkdir");
    std::fs::create_dir_all(temp.join("b/c")).expect("mkdir");
    for index in 0..n {
        std::fs::write(temp.join(format!("a/{index}")), b"x").expect("write");
    }
    for name in ["b/c/x", "b/c/y", "z"] {
        std::fs::write(temp.join(name), b"yy").expect("write");
    }
    let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
    (dir, areas)
}

fn walker(areas: &Areas) -> Walker {
    areas
        .walk("temp", Arc::new(Locks::new()), &CallContext::default())
        .expect("walk")
}

fn paged(areas: &Areas, page: usize) -> Vec<String> {
    let mut walker = walker(areas);
    let mut paths = Vec::new();
    while !walker.is_done() {
        let (entries, problems) = walker.page(page);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(entries.len() <= page);
        paths.extend(entries.into_iter().map(|entry| entry.path));
    }
    paths
}

#[test]
fn every_page_size_lists_the_same_entries_parents_first_subtrees_together() {
    let (_dir, areas) = area(10);
    let whole = paged(&areas, 1_000);
    assert_eq!(whole.len(), 1 + 10 + 5, "{whole:?}");
    for page in [1, 2, 14, 15, 16] {
        assert_eq!(paged(&areas, page), whole, "page of {page}");
    }
    // A directory comes before what it holds, and nothing else comes between them.
    for (index, path) in whole.iter().enumerate() {
        let below = |other: &String| other.starts_with(&format!("{path}/"));
        let positions: Vec<usize> = (0..whole.len()).filter(|&i| below(&whole[i])).collect();
        if let (Some(&first), Some(&last)) = (positions.first(), positions.last()) {
            assert_eq!(first, index + 1, "{path} right before its entries");
            assert_eq!(
                last - first + 1,
                positions.len(),
                "{path}'s entries together"
            );
        }
    }
}

#[test]
fn every_walk_of_an_area_lists_it_whole() {
    let (_dir, areas) = area(10);
    let first = paged(&areas, 1_000);
    assert_eq!(first.len(), 16);
    assert_eq!(paged(&areas, 1_000), first);
    assert_eq!(areas.usage()[0].file_count, 13);
    assert_eq!(paged(&areas, 3), first);
}

#[test]
fn entries_removed_during_the_walk_are_not_listed_and_nothing_breaks() {
    let (dir, areas) = area(2_000);
    let mut walker = walker(&areas);
    let (first, _) = walker.page(3);
    assert_eq!(first.len(), 3);
    // Remove what lies ahead (and what was listed), as a policy's batches would.
    for index in 0..2_000 {
        let _ = std::fs::remove_file(dir.path().join(format!("data/temp/a/{index}")));
    }
    let mut rest = 0;
    while !walker.is_done() {
        let (entries, problems) = walker.page(100);
        assert!(problems.is_empty(), "{problems:?}");
        rest += entries.len();
    }
    assert!(
        rest < 2_000,
        "removed entries are not listed again ({rest})"
    );
}

#[test]
fn a_cancelled_walk_stops() {
    let (_dir, areas) = area(3_000);
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let context = CallContext::starting_now(Some(cancel));
    let mut walker = areas
        .walk("temp", Arc::new(Locks::new()), &context)
        .expect("walk");
    let (entries, _) = walker.page(10_000);
    assert!(entries.len() < 3_000);
    assert!(walker.was_cancelled() && walker.is_done());
}

/// A chain `d/d/…/d` of `depth` directories in `base` (built through handles: the full path
/// is longer than `PATH_MAX`), with `files` files in each, and a last file at the bottom.
fn chain(base: &std::path::Path, depth: usize, files: usize) {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(base, flags, Mode::empty()).expect("open");
    for _ in 0..depth {
        rustix::fs::mkdirat(&dir, "d", Mode::from_raw_mode(0o700)).expect("mkdir");
        for index in 0..files {
            let name = format!("f{index}");
            let create = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
            rustix::fs::openat(&dir, name.as_str(), create, Mode::from_raw_mode(0o600))
                .expect("create");
        }
        dir = rustix::fs::openat(&dir, "d", flags, Mode::empty()).expect("open");
    }
    let create = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
    rustix::fs::openat(&dir, "bottom", create, Mode::from_raw_mode(0o600)).expect("create");
}

/// Walks everything, checking the open directories never exceed the bound.
fn walk_bounded(walker: &mut Walker) -> (Vec<Entry>, Vec<ScanProblem>) {
    let (mut entries, mut problems) = (Vec::new(), Vec::new());
    while let Some(found) = walker.next() {
        assert!(
            walker.open_dirs() <= MAX_OPEN_DIRS,
            "{} directories open",
            walker.open_dirs()
        );
        match found {
            Found::Entry(entry) => entries.push(entry),
            Found::Problem(problem) => problems.push(problem),
        }
    }
    (entries, problems)
}

#[test]
fn a_tree_deeper_than_the_limit_is_walked_with_few_descriptors_and_the_limit_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let temp = dir.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    chain(&temp, MAX_DEPTH + 900, 2);
    let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
    let (entries, problems) = walk_bounded(&mut walker(&areas));
    // Levels 1 to MAX_DEPTH are listed (each: its `d` and two files); the last `d` is not
    // entered.
    assert_eq!(entries.len(), MAX_DEPTH * 3, "{problems:?}");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .reason
            .contains(&format!("deeper than {MAX_DEPTH} levels")),
        "{problems:?}"
    );
    assert_eq!(problems[0].path.matches('/').count(), MAX_DEPTH - 1);
    // Every entry once, parents before children.
    let mut seen = std::collections::HashSet::new();
    for entry in &entries {
        assert!(seen.insert(entry.path.clone()), "{} twice", entry.path);
        if let Some((parent, _)) = entry.path.rsplit_once('/') {
            assert!(seen.contains(parent), "{} before its parent", entry.path);
        }
    }
}

#[test]
fn closed_levels_are_listed_whole_when_the_walk_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let temp = dir.path().join("data/temp");
    // Wide levels above deep chains: the wide ones are closed and read again from memory.
    for branch in 0..3 {
        let top = temp.join(format!("b{branch}"));
        std::fs::create_dir_all(&top).expect("mkdir");
        for index in 0..50 {
            std::fs::write(top.join(format!("w{index}")), b"x").expect("write");
        }
        chain(&top, MAX_OPEN_DIRS * 3, 1);
    }
    let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
    let (entries, problems) = walk_bounded(&mut walker(&areas));
    assert!(problems.is_empty(), "{problems:?}");
    let per_branch = 1 + 50 + MAX_OPEN_DIRS * 3 * 2 + 1;
    assert_eq!(entries.len(), 3 * per_branch);
    let unique: std::collections::HashSet<_> = entries.iter().map(|e| &e.path).collect();
    assert_eq!(unique.len(), entries.len());
}

#[test]
fn a_closed_level_replaced_meanwhile_is_reported_not_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let temp = dir.path().join("data/temp");
    let top = temp.join("top");
    std::fs::create_dir_all(&top).expect("mkdir");
    chain(&top, MAX_OPEN_DIRS * 2, 0);
    for index in 0..5 {
        std::fs::write(top.join(format!("z{index}")), b"x").expect("write");
    }
    let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
    let mut walker = walker(&areas);
    // Down to the bottom of the chain: `top` is closed by then.
    for found in walker.by_ref() {
        if let Found::Entry(entry) = found
            && entry.path.ends_with("bottom")
        {
            break;
        }
    }
    // The chain leaves `top`, and `top` is replaced by another directory.
    std::fs::rename(top.join("d"), temp.join("chain")).expect("rename");
    std::fs::rename(&top, temp.join("elsewhere")).expect("rename");
    std::fs::create_dir(&top).expect("mkdir");
    let (entries, problems) = walk_bounded(&mut walker);
    assert!(
        problems.iter().any(|problem| problem.path == "top"
            && problem.reason.contains("moved or replaced during the walk")),
        "{problems:?}"
    );
    assert!(
        entries.iter().all(|entry| !entry.path.starts_with("top/z")),
        "{entries:?}"
    );
}
