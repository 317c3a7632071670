//! Policies written to misbehave (`tests/policies`): for each, the host survives, the call
//! fails with a clear error, no file changes, and a running daemon keeps its last good policy.

use std::path::Path;

use bachata_common::capabilities::metrics::SystemResources;
use bachata_common::cleanup::CleanupSettings;
use bachata_common::{Error, Policy};
use bachata_common_tests::{Sandbox, age, test_policy, tree_digest};

/// A data directory with an old file, a locked old file, a link out of the area and files
/// outside the areas: everything a hostile policy could go after.
struct Scene {
    sandbox: Sandbox,
    _holder: std::fs::File,
}

fn scene() -> Scene {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_POLICY_TIMEOUT_MS", "500")
        .env("BACHATA_LISTEN", "127.0.0.1:0");
    let root = sandbox.path().to_path_buf();
    for dir in ["data/temp/a", "data/cache", "data/output", "secret"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    let write = |relative: &str, contents: &[u8]| {
        let path = root.join(relative);
        std::fs::write(&path, contents).expect("write");
        path
    };
    age(&write("data/temp/old.tmp", b"stale"), 48);
    let locked = write("data/temp/locked.bin", b"in use");
    age(&locked, 48);
    write("data/cache/keep.bin", b"cache");
    write("data/outside.txt", b"next to the areas");
    write("outside.txt", b"outside the data directory");
    write("secret/target.txt", b"reached only through a link");
    std::os::unix::fs::symlink(root.join("secret"), root.join("data/temp/link")).expect("link");
    let holder = std::fs::File::open(&locked).expect("open");
    holder.lock_shared().expect("lock");
    Scene {
        sandbox,
        _holder: holder,
    }
}

/// Runs a forced cleanup with `fixture` and checks the failure and that nothing changed.
fn cleanup_fails_and_nothing_changes(fixture: &str, expected: &[&str]) {
    let scene = scene();
    let root = scene.sandbox.path();
    let before = tree_digest(root);
    let policy = test_policy(fixture);
    let run = scene.sandbox.run(&[
        "--policy",
        policy.to_str().expect("utf-8 path"),
        "cleanup",
        "--force",
    ]);
    assert!(
        matches!(run.code, 1 | 2),
        "{fixture}: a clean failure, not a crash: {run:?}"
    );
    let line = run.error_line();
    for needle in expected {
        assert!(line.contains(needle), "{fixture}: {needle:?} not in {line}");
    }
    assert!(line.contains(&policy.display().to_string()), "{line}");
    assert_eq!(tree_digest(root), before, "{fixture} changed files");
}

#[test]
fn an_endless_loop_is_stopped_at_the_deadline() {
    cleanup_fails_and_nothing_changes("spin", &["exceeded its 500 ms deadline in `cleanup.run`"]);
}

#[test]
fn a_memory_bomb_is_stopped_at_the_cap() {
    cleanup_fails_and_nothing_changes(
        "memory_bomb",
        &["exceeded its memory limit of 67108864 bytes"],
    );
}

#[test]
fn a_panic_is_a_clear_error_with_what_the_policy_said() {
    cleanup_fails_and_nothing_changes(
        "trap",
        &[
            "failed in `cleanup.run`",
            "the trap policy gives up on every cleanup",
        ],
    );
}

#[test]
fn escapes_are_refused_and_fail_the_call() {
    cleanup_fails_and_nothing_changes(
        "escape",
        &[
            "was stopped in `cleanup.run`",
            "asked to remove `../outside.txt` in area `temp`",
            "`/etc/passwd`",
            "`a/../../outside.txt`",
            "`link/target.txt`",
            "`../cache/keep.bin`",
            "more",
        ],
    );
    assert!(Path::new("/etc/passwd").exists());
}

#[test]
fn a_flood_of_paths_is_stopped() {
    cleanup_fails_and_nothing_changes(
        "flood",
        &["asked to remove 65537 paths in one call (at most 65536)"],
    );
}

#[test]
fn a_policy_that_never_stops_asking_for_pages_is_stopped() {
    cleanup_fails_and_nothing_changes(
        "pager",
        &[
            "was stopped in `cleanup.run`",
            "asked for a page after the end of a scan",
        ],
    );
}

#[test]
fn a_policy_that_opens_scans_without_end_is_stopped() {
    cleanup_fails_and_nothing_changes(
        "rescan",
        &[
            "was stopped in `cleanup.run`",
            "opened more than 16 scans of area `",
        ],
    );
}

#[test]
fn a_component_of_the_previous_package_version_is_refused_naming_both() {
    let sandbox = Sandbox::new();
    let policy = test_policy("old_version");
    let run = sandbox.run(&[
        "--policy",
        policy.to_str().expect("utf-8"),
        "policy",
        "info",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    let line = run.error_line();
    assert!(
        line.contains("built against bachata:common@0.1.0"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "this host speaks {}",
            bachata_common::policy::WIT_PACKAGE
        )),
        "{line}"
    );
}

#[test]
fn impossible_reports_and_assessments_are_rejected() {
    cleanup_fails_and_nothing_changes(
        "nonsense",
        &[
            "returned an impossible report",
            "`never-existed.bin` in area `temp` is listed as removed, but it is not among the \
             first 1000 removals the host made",
        ],
    );
    let policy = Policy::from_file(&test_policy("nonsense")).expect("loads");
    let settings = CleanupSettings::default();
    match policy.assess(&settings, &SystemResources::empty()) {
        Err(Error::PolicyViolation { reason, .. }) => {
            assert!(reason.contains("an impossible assessment"), "{reason}");
            assert!(reason.contains("value -3"), "{reason}");
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn the_self_check_rejects_every_hostile_policy() {
    let sandbox = {
        let mut sandbox = Sandbox::new();
        sandbox.env("BACHATA_POLICY_TIMEOUT_MS", "500");
        sandbox
    };
    for (fixture, reason) in [
        ("spin", "deadline"),
        ("memory_bomb", "memory limit"),
        ("trap", "the trap policy gives up"),
        ("escape", "which is outside the area"),
        ("flood", "65537 paths"),
        ("pager", "asked for a page after the end of a scan"),
        ("rescan", "opened more than 16 scans of area"),
        ("old_version", "built against bachata:common@0.1.0"),
        ("nonsense", "impossible assessment"),
    ] {
        let policy = test_policy(fixture);
        let run = sandbox.run(&["policy", "check", policy.to_str().expect("utf-8")]);
        assert!(matches!(run.code, 1 | 2), "{fixture}: {run:?}");
        assert!(
            run.error_line().contains(reason),
            "{fixture}: {}",
            run.error_line()
        );
    }
    let good = sandbox.run(&[
        "policy",
        "check",
        test_policy("size-first").to_str().expect("utf-8"),
    ]);
    assert_eq!(good.code, 0, "{good:?}");
    assert!(
        good.stdout.contains("passed the self-check"),
        "{}",
        good.stdout
    );
}

#[test]
fn a_cleanup_is_lent_real_system_metrics() {
    let sandbox = Sandbox::new();
    let policy = test_policy("metrics_probe");
    let run = sandbox.run(&["--policy", policy.to_str().expect("utf-8"), "cleanup"]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("areas temp,cache,output"), "{line}");
    let total = |label: &str| -> u64 {
        let start = line.find(label).expect(label) + label.len();
        line[start..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    assert!(total("memory total ") > 0, "{line}");
    assert!(total("disk total ") > 0, "{line}");
}
