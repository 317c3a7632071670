//! The compile cache: a second start uses it; corrupt, stale or unprotected entries are
//! recompiled, never fatal.

use std::os::unix::fs::PermissionsExt;

use bachata_common_tests::Sandbox;

fn from_cache(sandbox: &Sandbox) -> bool {
    let run = sandbox.run(&["policy", "info", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["from_compile_cache"].as_bool().expect("flag")
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cache_serves_second_start_and_survives_corruption() {
    let mut sandbox = Sandbox::new();
    let cache = sandbox.path().join("cache");
    sandbox.env("BACHATA_CACHE_DIR", cache.to_str().expect("utf-8"));
    assert!(!from_cache(&sandbox), "cold start compiles");
    assert!(from_cache(&sandbox), "warm start uses the cache");
    let entry = entries(&cache).pop().expect("one entry");
    assert_eq!(
        std::fs::metadata(&cache).expect("dir").permissions().mode() & 0o777,
        0o700
    );

    // Corrupt the entry: recompiled, answers still right, entry rewritten.
    let mut bytes = std::fs::read(&entry).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).expect("write");
    assert!(!from_cache(&sandbox));
    let message = sandbox.run(&[
        "errors",
        "message",
        "VALIDATION_ERROR",
        "invalid_difficulty",
    ]);
    assert!(message.stdout.contains("beginner"));
    assert!(from_cache(&sandbox), "rewritten after corruption");

    // Truncated to nothing.
    std::fs::write(&entry, b"").expect("truncate");
    assert!(!from_cache(&sandbox));

    // A directory others can write is not trusted.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert!(!from_cache(&sandbox));
    assert!(!from_cache(&sandbox));
}

#[test]
fn cache_can_be_turned_off() {
    let mut sandbox = Sandbox::new();
    let home = sandbox.path().to_str().expect("utf-8").to_string();
    sandbox.env("BACHATA_CACHE_DIR", "off").env("HOME", &home);
    assert!(!from_cache(&sandbox));
    assert!(!from_cache(&sandbox));
    assert!(!sandbox.path().join(".cache").exists());
}
