//! Swapping the policy of a running daemon: a component that fails its self-check is
//! rejected while the last good policy keeps serving; a good one changes behaviour at once.

use std::path::Path;

use bachata_common_tests::{Daemon, Sandbox, age, test_policy};

/// Replaces `target` with a copy of `source` in one rename, as a deployment would.
fn deploy(source: &Path, target: &Path) {
    let staging = target.with_extension("staging");
    std::fs::copy(source, &staging).expect("copy");
    std::fs::rename(&staging, target).expect("rename");
}

/// The cache files a dry-run cleanup would evict.
fn planned_evictions(daemon: &Daemon) -> Vec<String> {
    let report = daemon.cleanup(r#"{"dry_run": true}"#);
    let mut paths: Vec<String> = report["removals"]
        .as_array()
        .expect("removals")
        .iter()
        .filter(|removal| removal["reason"] == "cache-cap")
        .map(|removal| removal["path"].as_str().unwrap_or_default().to_string())
        .collect();
    paths.sort();
    paths
}

#[test]
fn hot_swap_rejects_bad_policies_and_takes_good_ones_without_a_restart() {
    let mut sandbox = Sandbox::new();
    let policy_file = sandbox.path().join("policy.wasm");
    let saved = sandbox.run(&["policy", "save", policy_file.to_str().expect("utf-8")]);
    assert_eq!(saved.code, 0, "{saved:?}");
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("BACHATA_POLICY", policy_file.to_str().expect("utf-8"))
        .env("BACHATA_POLICY_TIMEOUT_MS", "500")
        // A cache cap of about 1 KiB, trimmed to 80%.
        .env("MAX_CACHE_SIZE_GB", "0.000001");
    let cache = sandbox.path().join("data/cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    for (name, size, hours) in [
        ("old-small.bin", 100, 3),
        ("mid.bin", 300, 2),
        ("big.bin", 700, 1),
    ] {
        let path = cache.join(name);
        std::fs::write(&path, vec![b'x'; size]).expect("write");
        age(&path, hours);
    }
    let daemon = sandbox.daemon();
    let stock_sha = {
        let text = daemon.metrics();
        let start = text.find("sha256=\"").expect("policy info") + 8;
        text[start..start + 64].to_string()
    };
    // The stock policy evicts the oldest files first.
    assert_eq!(planned_evictions(&daemon), ["mid.bin", "old-small.bin"]);

    // Hostile policies are rejected one after the other; the stock policy keeps serving.
    let hostile = ["spin", "memory_bomb", "trap", "escape", "flood", "nonsense"];
    for (count, fixture) in hostile.iter().enumerate() {
        deploy(&test_policy(fixture), &policy_file);
        let text = daemon.wait_for_metric(&format!(
            "bachata_common_policy_reloads_total{{result=\"failure\"}} {}",
            count + 1
        ));
        assert!(
            text.contains(&stock_sha),
            "{fixture}: the stock policy stays active"
        );
        assert_eq!(
            planned_evictions(&daemon),
            ["mid.bin", "old-small.bin"],
            "{fixture}"
        );
    }
    // So is a file that is not a component at all.
    std::fs::write(sandbox.path().join("junk"), b"not wasm").expect("write");
    deploy(&sandbox.path().join("junk"), &policy_file);
    daemon.wait_for_metric(&format!(
        "bachata_common_policy_reloads_total{{result=\"failure\"}} {}",
        hostile.len() + 1
    ));

    // The size-first example policy (cleanup only) is taken at once and evicts the largest
    // file instead; the file's old component no longer answers anything.
    deploy(&test_policy("size-first"), &policy_file);
    let text = daemon.wait_for_metric("bachata_common_policy_reloads_total{result=\"success\"} 1");
    let from_file = format!(
        "origin=\"{}\",sha256=\"",
        policy_file.to_str().expect("utf-8")
    );
    assert!(
        !text.contains(&format!("{from_file}{stock_sha}")),
        "the old policy's info is gone:\n{text}"
    );
    assert!(
        text.contains(&format!("concern=\"cleanup\",{from_file}")),
        "cleanup comes from the file:\n{text}"
    );
    assert_eq!(planned_evictions(&daemon), ["big.bin"]);

    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("policy reload rejected"), "{stderr}");
    assert!(stderr.contains("policy reloaded"), "{stderr}");
}
