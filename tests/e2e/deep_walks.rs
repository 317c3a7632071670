//! Trees deeper than the walk's depth limit, cleaned by a daemon with few descriptors while
//! other walks of the same areas run: the limit is reported, descriptors never run out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bachata_common::capabilities::fs::MAX_DEPTH;
use bachata_common_tests::Sandbox;

/// Open files the daemon may hold (its hard limit, so it cannot raise it).
const DESCRIPTORS: u32 = 512;

/// A chain `d/d/…/d` of `depth` directories in `base`, an old file `f` in `base` and in each
/// but the last. Built through handles: the full path is longer than `PATH_MAX`.
fn deep_tree(base: &std::path::Path, depth: usize) {
    use rustix::fs::{Mode, OFlags, Timespec, Timestamps};
    let old = std::time::SystemTime::now() - Duration::from_secs(240 * 3600);
    let since = old
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch");
    let stamp = Timespec {
        tv_sec: since.as_secs() as i64,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: stamp,
        last_modification: stamp,
    };
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    let create = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(base, flags, Mode::empty()).expect("open");
    for _ in 0..depth {
        let file =
            rustix::fs::openat(&dir, "f", create, Mode::from_raw_mode(0o600)).expect("create");
        rustix::io::write(&file, b"old").expect("write");
        rustix::fs::futimens(&file, &times).expect("age");
        rustix::fs::mkdirat(&dir, "d", Mode::from_raw_mode(0o700)).expect("mkdir");
        dir = rustix::fs::openat(&dir, "d", flags, Mode::empty()).expect("open");
    }
}

/// `bachata-common run` with at most [`DESCRIPTORS`] open files, killed when dropped.
struct Limited {
    child: Child,
    base: String,
}

impl Limited {
    fn start(sandbox: &Sandbox) -> Self {
        let template = sandbox.command(&["run"]);
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={DESCRIPTORS}:{DESCRIPTORS}"))
            .arg(template.get_program())
            .args(template.get_args())
            .current_dir(sandbox.path())
            .env_clear()
            .envs(
                template
                    .get_envs()
                    .filter_map(|(name, value)| value.map(|value| (name, value))),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("start the daemon under prlimit");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("daemon did not start: {line:?}"))
            .to_string();
        Self {
            child,
            base: address,
        }
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cleanups_of_a_tree_deeper_than_the_limit_report_it_with_few_descriptors() {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("BACHATA_POLICY_TIMEOUT_MS", "600000");
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    deep_tree(&temp, MAX_DEPTH + 904);
    let daemon = Limited::start(&sandbox);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("client");
    // A dry run and a real cleanup, one after the other, while the areas are measured over
    // and over (each measurement walks the tree too).
    let measuring = std::sync::atomic::AtomicBool::new(true);
    let reports = std::thread::scope(|scope| {
        let measure = scope.spawn(|| {
            let mut answers = Vec::new();
            while measuring.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client
                    .get(format!("{}/v1/resources", daemon.base))
                    .send()
                    .expect("resources");
                answers.push(response.status().as_u16());
            }
            answers
        });
        let mut reports = Vec::new();
        for body in [r#"{"dry_run": true}"#, r#"{"force": false}"#] {
            let response = client
                .post(format!("{}/v1/cleanup", daemon.base))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .expect("cleanup");
            let status = response.status().as_u16();
            reports.push((status, response.text().expect("report")));
        }
        measuring.store(false, std::sync::atomic::Ordering::Relaxed);
        let answers = measure.join().expect("measuring thread");
        assert!(!answers.is_empty());
        assert!(answers.iter().all(|&status| status == 200), "{answers:?}");
        reports
    });
    for (status, report) in &reports {
        let document: serde_json::Value = serde_json::from_str(report).expect("json");
        let errors = document["errors"].to_string();
        assert_eq!(*status, 200, "{errors}");
        assert!(
            errors.contains(&format!("deeper than {MAX_DEPTH} levels")),
            "the depth limit is reported: {errors}"
        );
        for exhausted in ["Too many open files", "os error 24"] {
            assert!(!report.contains(exhausted), "{exhausted}: {errors}");
        }
    }
    // Every old file within the limit went: one per level the walk entered.
    let done: serde_json::Value = serde_json::from_str(&reports[1].1).expect("json");
    assert_eq!(done["total_files_removed"], MAX_DEPTH, "{}", done["errors"]);
}
