//! Resource manager behaviours: cleanup by age and cache cap, resources JSON, dry runs.

use std::sync::Arc;

use bachata_common::resources::ResourceManager;
use bachata_common::{Policy, config};
use bachata_common_tests::{Sandbox, age};

/// A manager over `dir/data` with `areas` and extra settings.
fn manager(dir: &std::path::Path, areas: &str, extra: &[(&str, &str)]) -> ResourceManager {
    let policy = Arc::new(Policy::embedded().expect("embedded policy"));
    let mut env = vec![
        (
            "BACHATA_DATA_DIR".to_string(),
            dir.join("data").display().to_string(),
        ),
        ("BACHATA_AREAS".to_string(), areas.to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = config::resolve(&policy, &env, None).expect("valid config");
    ResourceManager::new(policy, &config.resources).expect("manager")
}

#[test]
fn force_cleanup_removes_all_three_files_of_a_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manager = manager(dir.path(), "temp", &[]);
    let temp = dir.path().join("data/temp");
    for name in ["a.txt", "b.mp4", "c.wav"] {
        std::fs::write(temp.join(name), b"content").expect("write");
    }
    let report = manager.cleanup(true, false).expect("cleanup");
    assert_eq!(report.temporary_files.files_removed, 3);
    assert_eq!(report.temporary_files.bytes_freed, 21);
    assert_eq!(report.directories_processed, 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(std::fs::read_dir(&temp).expect("read").count(), 0);
}

#[test]
fn age_cleanup_keeps_recent_files_and_removes_emptied_old_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manager = manager(dir.path(), "temp,output", &[("MAX_TEMP_AGE_HOURS", "24")]);
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("temp/job/frames")).expect("mkdir");
    std::fs::write(data.join("temp/job/frames/1.png"), b"x").expect("write");
    std::fs::write(data.join("temp/recent.txt"), b"x").expect("write");
    std::fs::write(data.join("output/old.mp4"), b"xyz").expect("write");
    age(&data.join("temp/job/frames/1.png"), 30);
    age(&data.join("temp/job/frames"), 30);
    age(&data.join("temp/job"), 30);
    age(&data.join("output/old.mp4"), 48);
    let report = manager.cleanup(false, false).expect("cleanup");
    assert_eq!(report.temporary_files.files_removed, 2);
    assert_eq!(report.temporary_files.directories_removed, 2);
    assert_eq!(report.directories_processed, 2);
    assert!(data.join("temp/recent.txt").exists());
    assert!(!data.join("temp/job").exists());
    assert!(!data.join("output/old.mp4").exists());
}

#[test]
fn cache_over_a_tiny_cap_evicts_oldest_first_to_the_low_water_mark() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A 1000-byte cap, low water 80 %: 800 bytes.
    let cap_gb = (1000.0 / (1024.0f64 * 1024.0 * 1024.0)).to_string();
    let manager = manager(dir.path(), "temp,cache", &[("MAX_CACHE_SIZE_GB", &cap_gb)]);
    let cache = dir.path().join("data/cache");
    for (name, hours) in [("d.bin", 1), ("a.bin", 10), ("c.bin", 4), ("b.bin", 8)] {
        let path = cache.join(name);
        std::fs::write(&path, vec![0u8; 300]).expect("write");
        age(&path, hours);
    }
    let report = manager.cleanup(false, false).expect("cleanup");
    assert_eq!(report.cache_cleanup.files_removed, 2);
    assert_eq!(report.cache_cleanup.bytes_freed, 600);
    assert!(!cache.join("a.bin").exists() && !cache.join("b.bin").exists());
    assert!(cache.join("c.bin").exists() && cache.join("d.bin").exists());
}

#[test]
fn dry_run_deletes_nothing_and_lists_what_would_go() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    std::fs::write(temp.join("old.tmp"), b"12345").expect("write");
    age(&temp.join("old.tmp"), 48);
    let before = bachata_common_tests::tree_digest(&temp);
    let run = sandbox.run(&["cleanup", "--dry-run", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(before, bachata_common_tests::tree_digest(&temp));
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["total_files_removed"], 1);
    assert_eq!(json["removals"][0]["path"], "old.tmp");
    assert_eq!(json["removals"][0]["area"], "temp");

    let text = sandbox.run(&["cleanup", "--dry-run"]);
    assert!(
        text.stdout.contains("would remove temp/old.tmp"),
        "{}",
        text.stdout
    );
    let real = sandbox.run(&["cleanup", "--json"]).json();
    assert_eq!(real["total_files_removed"], 1);
    assert_eq!(real["total_bytes_freed"], 5);
    assert!(!temp.join("old.tmp").exists());
}

#[test]
fn resources_json_has_every_key_with_sane_percentages() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["resources", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    for key in [
        "total_gb",
        "available_gb",
        "used_gb",
        "percent_used",
        "total_bytes",
        "available_bytes",
        "used_bytes",
    ] {
        assert!(json["memory"][key].is_number(), "memory.{key}");
    }
    for key in [
        "total_gb",
        "free_gb",
        "used_gb",
        "percent_used",
        "total_bytes",
        "free_bytes",
        "used_bytes",
    ] {
        assert!(json["disk"][key].is_number(), "disk.{key}");
    }
    for section in ["memory", "disk", "cpu"] {
        let percent = json[section]["percent_used"].as_f64().expect("percent");
        assert!((0.0..=100.0).contains(&percent), "{section}: {percent}");
    }
    for area in ["temp", "cache", "output"] {
        let entry = &json["temp_directories"][area];
        assert_eq!(entry["exists"], true, "{area}");
        assert!(entry["size_mb"].is_number() && entry["file_count"].is_number());
    }
    // The areas were created on first use.
    assert!(sandbox.path().join("data/cache").is_dir());
}
