//! Cleanup at scale: hundreds of thousands of files in bounded memory (the policy runs under a
//! memory cap far below what the tree would need if held whole), the cache cap exact over many
//! files, bounded reports with the complete list in a removals log, from the CLI and the API.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bachata_common_tests::{Sandbox, age};

/// `count` one-byte files in directories of 1,000 (frames of clips), modified at `when`.
fn frames(root: &Path, count: usize, when: SystemTime) {
    for index in 0..count {
        let dir = root.join(format!("clip{:04}", index / 1000));
        if index % 1000 == 0 {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        let mut file =
            std::fs::File::create(dir.join(format!("{:06}.png", index % 1000))).expect("create");
        file.write_all(b"x").expect("write");
        file.set_modified(when).expect("mtime");
    }
    // Last, the directories' own times (adding files changed them).
    for index in (0..count).step_by(1000) {
        let dir = root.join(format!("clip{:04}", index / 1000));
        std::fs::File::open(&dir)
            .expect("open dir")
            .set_modified(when)
            .expect("dir mtime");
    }
}

fn count_files(root: &Path) -> usize {
    let mut count = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_dir() {
                stack.push(entry.path());
            } else {
                count += 1;
            }
        }
    }
    count
}

#[test]
fn a_hundred_thousand_files_are_cleaned_in_a_small_policy_memory() {
    files_are_cleaned_in_a_small_policy_memory(100_000);
}

/// Over a minute on 2 cores with a debug build: `bench/cleanup.sh` runs it.
#[test]
#[ignore = "over a minute on 2 cores; bench/cleanup.sh runs it"]
fn three_hundred_thousand_files_are_cleaned_in_a_small_policy_memory() {
    files_are_cleaned_in_a_small_policy_memory(300_000);
}

fn files_are_cleaned_in_a_small_policy_memory(count: usize) {
    let mut sandbox = Sandbox::new();
    // Far below what the whole tree would take as one list (tens of MiB): the walk streams.
    sandbox.env("BACHATA_POLICY_MAX_MEMORY_MB", "16");
    let temp = sandbox.path().join("data/temp");
    let old = SystemTime::now() - Duration::from_secs(48 * 3600);
    frames(&temp, count, old);
    frames(&temp.join("young"), 2_000, SystemTime::now());
    let log = sandbox.path().join("removals.jsonl");
    let run = sandbox.run(&[
        "cleanup",
        "--json",
        "--removals-log",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(report["temporary_files"]["files_removed"], count as u64);
    assert_eq!(
        report["temporary_files"]["directories_removed"],
        count.div_ceil(1000) as u64
    );
    assert_eq!(report["removals"].as_array().expect("samples").len(), 1000);
    assert_eq!(count_files(&temp), 2_000, "only the young files are left");
    let lines = std::fs::read_to_string(&log).expect("log");
    let mut files = 0;
    for line in lines.lines() {
        let removal: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(removal["area"], "temp");
        assert_eq!(removal["reason"], "age");
        if removal["bytes"] == 1 {
            files += 1;
        }
    }
    assert_eq!(files, count, "every file removed is in the log");
    assert_eq!(lines.lines().count(), count + count.div_ceil(1000));
}

#[test]
fn the_cache_cap_removes_exactly_the_oldest_files_splitting_a_tie() {
    let mut sandbox = Sandbox::new();
    // 20,000 files of 1 KiB, pairs sharing one time, in shuffled order. A cap of 5,001 KiB
    // takes 14,999 files: the cut-off falls inside a pair of equal times.
    let cap_kib = 5_001u64;
    sandbox
        .env(
            "MAX_CACHE_SIZE_GB",
            &format!("{}", cap_kib as f64 / (1024.0 * 1024.0)),
        )
        .env("CACHE_LOW_WATER_RATIO", "1");
    let cache = sandbox.path().join("data/cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    let base = SystemTime::now() - Duration::from_secs(3600);
    let mut files = Vec::new();
    for index in 0..20_000u64 {
        let path = cache.join(format!("{}/{index}.bin", index % 7));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, [0u8; 1024]).expect("write");
        let when = base + Duration::from_millis((index * 7_919) % 20_000 / 2 * 3);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open")
            .set_modified(when)
            .expect("mtime");
        files.push((when, path));
    }
    let run = sandbox.run(&["cleanup", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let removed = 20_000 - cap_kib;
    assert_eq!(run.json()["cache_cleanup"]["files_removed"], removed);
    let (gone, kept): (Vec<_>, Vec<_>) = files.iter().partition(|(_, path)| !path.exists());
    assert_eq!(gone.len() as u64, removed);
    let newest_gone = gone.iter().map(|(when, _)| *when).max().expect("some");
    let oldest_kept = kept.iter().map(|(when, _)| *when).min().expect("some");
    assert_eq!(newest_gone, oldest_kept, "the tie at the cut-off is split");
    let at_cut = files
        .iter()
        .filter(|(when, _)| *when == newest_gone)
        .count();
    assert_eq!(at_cut, 2, "one of the pair went, one stayed");
}

#[test]
fn page_boundaries_through_the_real_host() {
    // The policy asks for pages of 1,024 entries: directories of 0, 1, 1,023, 1,024 and 1,025
    // old files (each directory is one more entry), all emptied, some across pages.
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    let old = SystemTime::now() - Duration::from_secs(48 * 3600);
    let sizes = [0usize, 1, 1_022, 1_023, 1_024, 1_025];
    for size in sizes {
        let dir = temp.join(format!("dir{size}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for index in 0..size {
            let path = dir.join(format!("{index}"));
            std::fs::write(&path, b"x").expect("write");
            std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open")
                .set_modified(old)
                .expect("mtime");
        }
        std::fs::File::open(&dir)
            .expect("dir")
            .set_modified(old)
            .expect("dir mtime");
    }
    let run = sandbox.run(&["cleanup", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    let files: usize = sizes.iter().sum();
    assert_eq!(report["temporary_files"]["files_removed"], files as u64);
    assert_eq!(
        report["temporary_files"]["directories_removed"],
        sizes.len() as u64
    );
    assert_eq!(report["error_count"], 0);
    assert_eq!(std::fs::read_dir(&temp).expect("list").count(), 0);
}

#[test]
fn a_dry_run_logs_every_planned_removal_and_lists_a_few() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    frames(
        &temp,
        2_500,
        SystemTime::now() - Duration::from_secs(48 * 3600),
    );
    let log = sandbox.path().join("plan.jsonl");
    let run = sandbox.run(&[
        "cleanup",
        "--dry-run",
        "--samples",
        "5",
        "--removals-log",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("would remove temp/"))
            .count(),
        5
    );
    assert!(
        run.stdout.contains("the first 5 of 2503 are listed"),
        "{}",
        run.stdout
    );
    let lines = std::fs::read_to_string(&log).expect("log");
    assert_eq!(lines.lines().count(), 2_503);
    assert!(lines.lines().all(|line| line.contains("\"dry_run\":true")));
    assert_eq!(count_files(&temp), 2_500, "nothing removed");
}

#[test]
fn the_api_streams_the_removals_log_then_the_report() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    for index in 0..300 {
        let path = temp.join(format!("{index}.tmp"));
        std::fs::write(&path, b"abc").expect("write");
        age(&path, 48);
    }
    let daemon = sandbox.daemon();
    let response = reqwest::blocking::Client::new()
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "application/json")
        .body(r#"{"removals_log": true, "samples": 10}"#)
        .send()
        .expect("cleanup");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().expect("body");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 301);
    assert!(lines[..300].iter().all(|line| line["bytes"] == 3));
    let report = &lines[300]["report"];
    assert_eq!(report["temporary_files"]["files_removed"], 300);
    assert_eq!(report["removals"].as_array().expect("samples").len(), 10);
}

#[test]
fn the_size_first_policy_evicts_the_largest_files_in_a_small_memory() {
    let mut sandbox = Sandbox::new();
    let cache = sandbox.path().join("data/cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    let mut files = Vec::new();
    for index in 0..10_000u64 {
        let size = 1 + (index * 7_919) % 997;
        let path = cache.join(format!("{}/{index}.bin", index % 13));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, vec![0u8; size as usize]).expect("write");
        files.push((size, path));
    }
    let total: u64 = files.iter().map(|(size, _)| size).sum();
    let cap = total / 2;
    sandbox
        .env("BACHATA_POLICY_MAX_MEMORY_MB", "16")
        .env(
            "MAX_CACHE_SIZE_GB",
            &format!("{}", cap as f64 / (1u64 << 30) as f64),
        )
        .env("CACHE_LOW_WATER_RATIO", "1");
    let policy = bachata_common_tests::test_policy("size-first");
    let run = sandbox.run(&[
        "--policy",
        policy.to_str().expect("utf-8"),
        "cleanup",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let freed = run.json()["cache_cleanup"]["bytes_freed"]
        .as_u64()
        .expect("bytes");
    assert!(total - freed <= cap, "down to the cap");
    let (gone, kept): (Vec<_>, Vec<_>) = files.iter().partition(|(_, path)| !path.exists());
    let smallest_gone = gone.iter().map(|(size, _)| *size).min().expect("some gone");
    let largest_kept = kept.iter().map(|(size, _)| *size).max().expect("some kept");
    assert!(
        smallest_gone >= largest_kept,
        "{smallest_gone} < {largest_kept}"
    );
    assert_eq!(gone.iter().map(|(size, _)| size).sum::<u64>(), freed);
}
