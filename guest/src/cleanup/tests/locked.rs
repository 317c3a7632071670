//! Locked directories (kept with everything below them, counted once) and other entries
//! (FIFOs, sockets, devices: removed by age, never by the cache cap).

use super::*;

fn locked(mut entry: Entry) -> Entry {
    entry.locked = true;
    entry
}

#[test]
fn a_locked_directory_keeps_everything_below_it_and_counts_once() {
    let fs = FakeFs::with(&[(
        "temp",
        vec![
            dir("dir1", 48),
            locked(dir("dir1/job", 48)),
            file("dir1/job/a.tmp", 5, 48),
            dir("dir1/job/frames", 48),
            file("dir1/job/frames/1.png", 5, 48),
            locked(file("dir1/job/frames/2.png", 5, 48)),
            dir("dir10", 48),
            file("dir10/x", 5, 48),
            file("dir1.tmp", 5, 48),
        ],
    )]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.skipped_in_use, 1);
    assert_eq!(
        fs.paths("temp"),
        [
            "dir1",
            "dir1/job",
            "dir1/job/a.tmp",
            "dir1/job/frames",
            "dir1/job/frames/1.png",
            "dir1/job/frames/2.png",
        ]
    );
    // `dir10` and `dir1.tmp` are not below `dir1/job`; `dir1` still holds it.
    assert_eq!(report.temporary_files.files_removed, 2);
    assert_eq!(report.temporary_files.directories_removed, 1);
    assert!(
        report
            .removals
            .iter()
            .all(|removal| !removal.path.starts_with("dir1/"))
    );
}

#[test]
fn a_locked_directory_at_the_root_and_nested_locks_count_once() {
    let fs = FakeFs::with(&[(
        "temp",
        vec![
            locked(dir("dir1", 48)),
            locked(dir("dir1/inner", 48)),
            file("dir1/inner/a", 1, 48),
            file("dir1/b", 1, 48),
            locked(dir("fresh", 1)),
            file("fresh/new", 1, 1),
        ],
    )]);
    let report = run(&&fs, &settings(), &options(true, false)).expect("runs");
    // `force`: both top locked directories keep something back, each counted once.
    assert_eq!(report.skipped_in_use, 2);
    assert!(report.removals.is_empty());
    assert!(fs.batches.borrow().is_empty());

    let fs = FakeFs::with(&[(
        "temp",
        vec![locked(dir("fresh", 1)), file("fresh/new", 1, 1)],
    )]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.skipped_in_use, 0, "nothing would have gone");
}

#[test]
fn the_cache_cap_never_evicts_below_a_locked_directory() {
    let gib = 1024u64 * 1024 * 1024;
    let mut tiny = settings();
    tiny.max_cache_size_gb = 1000.0 / gib as f64; // a 1000-byte cap, trimmed to 800
    tiny.max_temp_age_hours = 1000.0;
    let fs = FakeFs::with(&[(
        CACHE_AREA,
        vec![
            locked(dir("busy", 1)),
            file("busy/oldest.bin", 300, 30),
            file("busy/older.bin", 300, 25),
            file("middle.bin", 300, 20),
            file("newest.bin", 300, 1),
        ],
    )]);
    let report = run(&&fs, &tiny, &options(false, false)).expect("runs");
    // 1200 bytes: the two oldest are kept by the lock, `middle.bin` goes (-> 900), then
    // `newest.bin` (-> 600).
    assert_eq!(
        fs.paths(CACHE_AREA),
        ["busy", "busy/oldest.bin", "busy/older.bin"]
    );
    assert_eq!(report.cache_cleanup.files_removed, 2);
    assert_eq!(report.skipped_in_use, 1);
}

#[test]
fn many_locked_directories_in_a_deep_tree() {
    let depth: String = (0..30).map(|n| format!("/d{n}")).collect();
    let mut entries = Vec::new();
    for n in 0..5_000 {
        entries.push(locked(dir(&format!("busy{n}"), 48)));
        entries.push(file(&format!("busy{n}{depth}/f"), 1, 48));
    }
    entries.extend((0..5_000).map(|n| file(&format!("free{depth}/f{n}"), 1, 48)));
    let fs = CountingFs {
        entries,
        batches: RefCell::default(),
    };
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.skipped_in_use, 5_000);
    assert_eq!(report.temporary_files.files_removed, 5_000);
}

#[test]
fn other_entries_are_removed_by_age_like_files_but_never_by_the_cache_cap() {
    let fs = FakeFs::with(&[(
        "temp",
        vec![
            dir("run", 48),
            entry("run/old.sock", EntryKind::Other, 0, 48),
            entry("new.fifo", EntryKind::Other, 0, 1),
            locked(entry("busy.fifo", EntryKind::Other, 0, 48)),
        ],
    )]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.temporary_files.files_removed, 1);
    assert_eq!(report.temporary_files.directories_removed, 1);
    assert_eq!(report.skipped_in_use, 1);
    assert_eq!(fs.paths("temp"), ["new.fifo", "busy.fifo"]);
    let reasons: Vec<(&str, &str)> = report
        .removals
        .iter()
        .map(|removal| (removal.path.as_str(), removal.reason.as_str()))
        .collect();
    assert_eq!(reasons, [("run/old.sock", "age"), ("run", "age")]);

    let gib = 1024u64 * 1024 * 1024;
    let mut tiny = settings();
    tiny.max_cache_size_gb = 1000.0 / gib as f64; // a 1000-byte cap, trimmed to 800
    let fs = FakeFs::with(&[(
        CACHE_AREA,
        vec![
            entry("device", EntryKind::Other, 5000, 10),
            file("a.bin", 600, 2),
        ],
    )]);
    let report = run(&&fs, &tiny, &options(false, false)).expect("runs");
    assert_eq!(report.cache_cleanup.files_removed, 0, "600 bytes of files");
    assert_eq!(fs.paths(CACHE_AREA), ["device", "a.bin"]);
}
