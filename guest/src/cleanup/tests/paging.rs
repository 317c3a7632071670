//! The streaming walk: page boundaries, directories finished across pages, entries that
//! vanish between pages, and the cache cut-off found in bounded memory, exact at ties.

use super::*;

fn numbered(count: usize) -> Vec<Entry> {
    let mut entries = vec![dir("job", 48)];
    entries.extend((0..count).map(|n| file(&format!("job/f{n:04}"), 1, 48)));
    entries.push(file("young", 1, 1));
    entries
}

#[test]
fn every_page_boundary_gives_the_same_cleanup() {
    const PAGE_SIZE: usize = 8;
    for count in [
        0,
        1,
        PAGE_SIZE - 2,
        PAGE_SIZE - 1,
        PAGE_SIZE,
        PAGE_SIZE + 1,
        3 * PAGE_SIZE,
    ] {
        let mut fs = FakeFs::with(&[("temp", numbered(count))]);
        fs.page = PAGE_SIZE;
        let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
        assert_eq!(
            report.temporary_files.files_removed, count as u64,
            "{count}"
        );
        assert_eq!(
            report.temporary_files.directories_removed, 1,
            "{count}: `job` emptied across pages goes"
        );
        assert_eq!(fs.paths("temp"), ["young"], "{count}");
        assert_eq!(report.areas[0].entries_scanned, count as u64 + 2);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
}

#[test]
fn a_directory_whose_last_entry_is_on_the_next_page_waits_for_it() {
    let mut fs = FakeFs::with(&[(
        "temp",
        vec![
            dir("a", 48),
            file("a/old", 1, 48),
            dir("a/b", 48),
            file("a/b/old", 1, 48),
            file("a/new", 1, 1),
            file("z", 1, 48),
        ],
    )]);
    fs.page = 1;
    run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(fs.paths("temp"), ["a", "a/new"]);
}

#[test]
fn entries_vanishing_between_pages_are_not_errors() {
    let mut fs = FakeFs::with(&[("temp", numbered(20))]);
    fs.page = 4;
    *fs.vanish_after_first_page.borrow_mut() = vec!["job/f0001".into(), "job/f0010".into()];
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    // One was already listed (its removal finds it gone), one is never listed.
    assert_eq!(report.temporary_files.files_removed, 18);
    assert_eq!(report.vanished, 1);
    assert!(report.errors.is_empty());
    assert_eq!(fs.paths("temp"), ["young"]);
}

fn tiny_cap(bytes: u64) -> CleanupSettings {
    let gib = 1024u64 * 1024 * 1024;
    let mut tiny = settings();
    tiny.max_cache_size_gb = bytes as f64 / gib as f64;
    tiny.cache_low_water_ratio = 1.0;
    tiny.max_temp_age_hours = 1_000_000.0;
    tiny
}

fn at(path: &str, size: u64, mtime: u64, nanos: u32) -> Entry {
    let mut entry = file(path, size, 0);
    entry.mtime = mtime;
    entry.mtime_nanos = nanos;
    entry
}

#[test]
fn the_cut_off_at_a_tie_of_equal_times_takes_just_enough_in_walk_order() {
    let fs = FakeFs::with(&[(
        CACHE_AREA,
        vec![
            at("new", 100, NOW - 10, 0),
            at("tie-a", 100, NOW - 50, 7),
            at("old", 100, NOW - 90, 0),
            at("tie-b", 100, NOW - 50, 7),
            at("tie-c", 100, NOW - 50, 7),
            at("newer-by-a-nanosecond", 100, NOW - 50, 8),
        ],
    )]);
    // 600 bytes, cap 350: 250 must go: `old`, then two of the three tied files.
    let report = run(&&fs, &tiny_cap(350), &options(false, false)).expect("runs");
    assert_eq!(report.cache_cleanup.files_removed, 3);
    assert_eq!(report.cache_cleanup.bytes_freed, 300);
    assert_eq!(
        fs.paths(CACHE_AREA),
        ["new", "tie-c", "newer-by-a-nanosecond"]
    );
}

#[test]
fn the_cut_off_is_exact_over_many_distinct_times_in_bounded_memory() {
    // More distinct times than the histogram has buckets: the cut-off is narrowed by
    // further scans, and exactly the oldest go.
    let count = 3 * histogram::BUCKETS as u64 + 17;
    let entries: Vec<Entry> = (0..count)
        .map(|n| {
            // A shuffled order of times, spread over seconds and nanoseconds.
            let t = (n * 7919) % count;
            at(
                &format!("f{n}"),
                10,
                NOW - 1_000_000 + t * 13,
                (t % 1000) as u32 * 1000,
            )
        })
        .collect();
    let fs = FakeFs::with(&[(CACHE_AREA, entries.clone())]);
    let cap = count * 10 - 12_345;
    let report = run(&&fs, &tiny_cap(cap), &options(false, false)).expect("runs");
    let need = 12_345u64.div_ceil(10);
    assert_eq!(report.cache_cleanup.files_removed, need);
    let mut sorted = entries;
    sorted.sort_by_key(oldest_first);
    let expected: Vec<String> = sorted[need as usize..]
        .iter()
        .map(|e| e.path.clone())
        .collect();
    let mut left = fs.paths(CACHE_AREA);
    left.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(left, expected);
    assert!(
        *fs.scans.borrow() >= 3,
        "the cut-off took more than one scan"
    );
}

#[test]
fn the_size_first_order_streams_too() {
    let largest_first: Eviction = |entry| u64::MAX - entry.size;
    let count = 2 * histogram::BUCKETS as u64;
    let entries: Vec<Entry> = (0..count)
        .map(|n| at(&format!("f{n}"), 1 + (n * 7919) % count, NOW - 100, 0))
        .collect();
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let fs = FakeFs::with(&[(CACHE_AREA, entries.clone())]);
    let report = run_with(
        &&fs,
        &tiny_cap(total / 2),
        &options(false, false),
        largest_first,
    )
    .expect("runs");
    let mut sizes: Vec<u64> = entries.iter().map(|e| e.size).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut freed = 0;
    let mut gone = 0;
    for size in sizes {
        if total - freed <= total / 2 {
            break;
        }
        freed += size;
        gone += 1;
    }
    assert_eq!(report.cache_cleanup.files_removed, gone);
    assert_eq!(report.cache_cleanup.bytes_freed, freed);
}

#[test]
fn samples_and_problems_are_bounded() {
    let mut fs = FakeFs::with(&[("temp", numbered(50))]);
    fs.scan_problems = (0..30)
        .map(|n| ScanProblem {
            path: format!("p{n}"),
            reason: "permission denied".into(),
        })
        .collect();
    let mut few = options(false, false);
    few.max_samples = 10;
    let report = run(&&fs, &settings(), &few).expect("runs");
    assert_eq!(report.removals.len(), 10);
    assert_eq!(report.removals[0].path, "job/f0000", "the first ones made");
    assert_eq!(report.errors.len(), 10);
    assert_eq!(report.error_count, 30);
    assert_eq!(report.temporary_files.files_removed, 50);
}
