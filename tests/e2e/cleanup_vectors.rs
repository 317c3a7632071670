//! `tests/vectors/cleanup.json` through the native host: each case's tree built on disk, the
//! stock policy's `cleanup.run` over it, the report and the disk compared with the case. The
//! Python host runs the same file (`bindings/python/tests/test_cleanup_vectors.py`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bachata_common::Policy;
use bachata_common::capabilities::fs::{Areas, names, now_secs};
use bachata_common::cleanup::{CleanupReport, CleanupSettings, PhaseReport};
use bachata_common::policy::CleanupOptions;
use serde_json::{Value, json};

use crate::vectors::vectors;

/// A vector path (`/`-separated, names in the hosts' form) under `root`.
fn on_disk(root: &Path, path: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for part in path.split('/') {
        let name = names::decode(part).expect("a name in the hosts' form");
        out.push(OsStr::from_bytes(name.as_bytes()));
    }
    out
}

fn set_times(path: &Path, hours: f64) {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, utimensat};
    let when = SystemTime::now() - Duration::from_secs_f64(hours * 3600.0);
    let since = when
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch");
    let time = Timespec {
        tv_sec: since.as_secs() as i64,
        tv_nsec: i64::from(since.subsec_nanos()),
    };
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).expect("set times");
}

/// Builds a case's tree; returns the handles holding its locks.
fn build(root: &Path, tree: &[Value]) -> Vec<std::fs::File> {
    for entry in tree {
        let path = on_disk(root, entry["path"].as_str().expect("path"));
        let parent = path.parent().expect("a parent");
        std::fs::create_dir_all(parent).expect("mkdir");
        if entry["directory"].as_bool() == Some(true) {
            std::fs::create_dir_all(&path).expect("mkdir");
        } else if let Some(target) = entry["symlink"].as_str() {
            std::os::unix::fs::symlink(target, &path).expect("symlink");
        } else {
            let size = entry["size"].as_u64().expect("size") as usize;
            std::fs::write(&path, vec![b'x'; size]).expect("write");
        }
    }
    // Times last, deepest first, so that making a child does not touch its parent's.
    let mut by_depth: Vec<&Value> = tree.iter().collect();
    by_depth.sort_by_key(|entry| {
        std::cmp::Reverse(
            entry["path"]
                .as_str()
                .unwrap_or_default()
                .matches('/')
                .count(),
        )
    });
    for entry in by_depth {
        let path = on_disk(root, entry["path"].as_str().expect("path"));
        set_times(&path, entry["age-hours"].as_f64().expect("age-hours"));
    }
    tree.iter()
        .filter(|entry| entry["locked"].as_bool() == Some(true))
        .map(|entry| {
            let file = std::fs::File::open(on_disk(root, entry["path"].as_str().expect("path")))
                .expect("open to lock");
            file.lock().expect("lock");
            file
        })
        .collect()
}

fn settings(value: &Value) -> CleanupSettings {
    let number = |name: &str| value[name].as_f64().expect(name);
    CleanupSettings {
        max_temp_age_hours: number("max-temp-age-hours"),
        max_cache_size_gb: number("max-cache-size-gb"),
        cache_low_water_ratio: number("cache-low-water-ratio"),
        memory_warning_threshold: number("memory-warning-threshold"),
        disk_warning_threshold: number("disk-warning-threshold"),
        memory_critical_threshold: number("memory-critical-threshold"),
    }
}

/// The report's totals and sorted removals in the vectors' (WIT) names.
fn observed(report: &CleanupReport) -> (Value, Value) {
    let phase = |p: &PhaseReport| {
        json!({
            "files-removed": p.files_removed,
            "bytes-freed": p.bytes_freed,
            "directories-removed": p.directories_removed,
        })
    };
    let totals = json!({
        "temporary-files": phase(&report.temporary_files),
        "cache-cleanup": phase(&report.cache_cleanup),
        "directories-processed": report.directories_processed,
        "skipped-in-use": report.skipped_in_use,
        "vanished": report.vanished,
        "error-count": report.error_count,
        "dry-run": report.dry_run,
    });
    let mut removals: Vec<Value> = report
        .removals
        .iter()
        .map(|r| json!({"area": r.area, "path": r.path, "bytes": r.bytes, "reason": r.reason}))
        .collect();
    removals.sort_by_key(|r| (r["area"].to_string(), r["path"].to_string()));
    (totals, Value::Array(removals))
}

#[test]
fn every_cleanup_vector_through_the_native_host() {
    let file = vectors("cleanup.json");
    let area_names: Vec<String> = file["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .map(|name| name.as_str().expect("area").to_string())
        .collect();
    let policy = Policy::embedded().expect("policy");
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let root = tempfile::tempdir().expect("tempdir");
        let locks = build(root.path(), case["tree"].as_array().expect("tree"));
        let areas = Arc::new(Areas::open(&root.path().join("data"), &area_names).expect("areas"));
        let options = CleanupOptions {
            force: case["force"].as_bool().expect("force"),
            dry_run: case["dry-run"].as_bool().expect("dry-run"),
            ..CleanupOptions::default()
        };
        let report = policy
            .cleanup_with(
                &areas,
                None,
                &settings(&case["settings"]),
                now_secs(),
                &options,
                None,
            )
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        drop(locks);
        let (totals, removals) = observed(&report);
        assert_eq!(totals, case["expect"]["report"], "{name}: totals");
        assert_eq!(removals, case["expect"]["removals"], "{name}: removals");
        for path in case["expect"]["present"].as_array().expect("present") {
            let path = path.as_str().expect("path");
            assert!(
                std::fs::symlink_metadata(on_disk(root.path(), path)).is_ok(),
                "{name}: {path} is still there"
            );
        }
        for path in case["expect"]["absent"].as_array().expect("absent") {
            let path = path.as_str().expect("path");
            assert!(
                std::fs::symlink_metadata(on_disk(root.path(), path)).is_err(),
                "{name}: {path} is gone"
            );
        }
    }
}
