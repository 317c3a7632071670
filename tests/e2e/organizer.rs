//! The directory organizer through the CLI and the library: a generated dataset of a few
//! hundred clips in annotators' label folders, dry runs that change no byte, a run then a
//! second that moves nothing, hostile paths refused with nothing outside touched, runs killed
//! and finished, JSON and CSV inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bachata_common_tests::{Sandbox, tree_digest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Labels as annotators write them, and where the stock mapping puts them.
const LABELS: [(&str, &str); 12] = [
    ("basic", "basic_moves/basic"),
    ("Basic-Step", "basic_moves/basic_step"),
    ("golpes", "basic_moves/golpes"),
    ("CROSS BODY LEAD", "partner_work/cross_body_lead"),
    ("Lady-Turn", "turns_spins/ladyturn"),
    ("spin", "turns_spins/spin"),
    ("body roll", "styling/body_roll"),
    ("hiprolls", "styling/hiprolls"),
    ("DIP", "advanced/dip"),
    ("shadow_position", "advanced/shadow_position"),
    ("intros", "transitions/intros"),
    ("Outro", "transitions/outro"),
];

/// `count` clips in folders named after their labels, with an annotation file (extra keys and
/// fields included); each clip's content is unique.
fn dataset(root: &Path, count: usize) -> Value {
    let mut clips = Vec::new();
    for i in 0..count {
        let (label, _) = LABELS[i % LABELS.len()];
        let folder = format!("raw/{label}");
        let name = if i % 7 == 0 {
            format!("clip ñ {i:04}.MP4")
        } else {
            format!("clip_{i:04}.mp4")
        };
        std::fs::create_dir_all(root.join(&folder)).expect("mkdir");
        std::fs::write(root.join(&folder).join(&name), format!("video {i}")).expect("write");
        clips.push(json!({
            "clip_id": format!("clip-{i:04}"),
            "video_path": format!("{folder}/{name}"),
            "move_label": label,
            "duration_s": 2.5,
            "annotator": "Zoë",
        }));
    }
    let annotations = json!({"dataset": "bachata-steps", "version": 2, "clips": clips});
    std::fs::write(root.join("annotations.json"), annotations.to_string()).expect("write");
    annotations
}

/// Every clip's content hash at the path its annotation now names (each must exist).
fn contents(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root.join("annotations.json")).expect("read");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["clips"]
        .as_array()
        .expect("clips")
        .iter()
        .map(|clip| {
            let path = root.join(clip["video_path"].as_str().expect("path"));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{} does not exist: {e}", path.display()));
            hex::encode(Sha256::digest(bytes))
        })
        .collect()
}

fn organize(sandbox: &Sandbox, extra: &[&str]) -> bachata_common_tests::Run {
    let mut args = vec![
        "organize",
        "--annotations",
        "data/annotations.json",
        "--json",
    ];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

fn data(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("data")
}

/// A dry run's report and the real run's say the same: per clip (`would_move` for `moved`),
/// in the counts, the structure found and the result.
fn assert_same_outcome(dry: &Value, real: &Value) {
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
    assert_eq!(statuses(dry), statuses(real));
    let (mut dry_summary, mut summary) = (dry["summary"].clone(), real["summary"].clone());
    dry_summary["moved"] = dry_summary["would_move"].take();
    (dry_summary["would_move"], summary["would_move"]) = (json!(0), json!(0));
    assert_eq!(dry_summary, summary);
    for key in ["structure", "organized", "success", "per_category"] {
        assert_eq!(dry[key], real[key], "{key}");
    }
}

/// The facts by which the organizer knows a file again (its journal's `file`).
fn file_id(path: &Path) -> Value {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).expect("stat");
    json!({"inode": meta.ino(), "size": meta.size(), "mtime": meta.mtime(),
           "mtime_nsec": meta.mtime_nsec()})
}

/// The journal's record of a root: its canonical path, its device and inode.
fn root_record(root: &Path) -> (String, Value) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(root).expect("stat");
    (
        root.canonicalize()
            .expect("canonical")
            .display()
            .to_string(),
        json!({"device": meta.dev(), "inode": meta.ino()}),
    )
}

#[test]
fn a_dataset_is_organized_once_and_a_dry_run_changes_nothing() {
    let sandbox = Sandbox::new();
    let root = data(&sandbox);
    std::fs::create_dir_all(&root).expect("mkdir");
    let original = dataset(&root, 300);
    let before = tree_digest(&root);
    let hashes = contents(&root);

    let run = organize(&sandbox, &["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = run.json();
    assert_eq!(report["summary"]["would_move"], 300);
    assert_eq!(report["dry_run"], true);
    assert_eq!(tree_digest(&root), before, "a dry run changes no byte");

    let run = organize(&sandbox, &["--report", "report.md"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = run.json();
    assert_eq!(report["summary"]["moved"], 300, "{}", report["summary"]);
    assert_eq!(report["success"], true);
    for (i, clip) in report["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .enumerate()
    {
        let (_, folder) = LABELS[i % LABELS.len()];
        let target = clip["target_path"].as_str().expect("target");
        assert!(target.starts_with(folder), "{target} under {folder}");
        assert_eq!(clip["status"], "moved");
        assert!(root.join(target).is_file());
    }
    assert_eq!(
        contents(&root),
        hashes,
        "every clip's content at its new path"
    );
    // The annotation file keeps everything else; the previous one is kept.
    let rewritten: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("annotations.json")).expect("read"),
    )
    .expect("JSON");
    assert_eq!(rewritten["dataset"], "bachata-steps");
    assert_eq!(rewritten["clips"][3]["annotator"], "Zoë");
    assert_eq!(rewritten["clips"][3]["duration_s"], 2.5);
    let backup: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("annotations.json.bak")).expect("read"),
    )
    .expect("JSON");
    assert_eq!(backup, original);
    let markdown = std::fs::read_to_string(sandbox.path().join("report.md")).expect("report");
    assert!(markdown.contains("| moved | 300 |"), "{markdown}");
    assert!(markdown.contains("not organized"), "{markdown}");

    // Again: nothing to do.
    let after = tree_digest(&root);
    let run = organize(&sandbox, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = run.json();
    assert_eq!(report["summary"]["already_organized"], 300);
    assert_eq!(report["summary"]["moved"], 0);
    assert_eq!(report["organized"], "organized");
    let again = tree_digest(&root);
    assert_eq!(
        again
            .keys()
            .filter(|k| k.ends_with(".mp4") || k.ends_with(".MP4"))
            .count(),
        after
            .keys()
            .filter(|k| k.ends_with(".mp4") || k.ends_with(".MP4"))
            .count()
    );
}

#[test]
fn hostile_paths_are_refused_and_nothing_outside_is_touched() {
    let sandbox = Sandbox::new();
    let root = data(&sandbox);
    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(root.join("raw/spin")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("x.mp4"), "outside").expect("write");
    std::fs::write(root.join("raw/spin/a.mp4"), "a").expect("write");
    std::fs::write(root.join("raw/spin/b.mp4"), "b").expect("write");
    std::fs::create_dir_all(root.join("turns_spins/spin")).expect("mkdir");
    std::fs::write(root.join("turns_spins/spin/b.mp4"), "another b").expect("write");
    std::os::unix::fs::symlink(&outside, root.join("linked")).expect("symlink");
    let clips = json!({"clips": [
        {"clip_id": "up", "video_path": "../outside/x.mp4", "move_label": "spin"},
        {"clip_id": "absolute", "video_path": outside.join("x.mp4").display().to_string(), "move_label": "spin"},
        {"clip_id": "through-link", "video_path": "linked/x.mp4", "move_label": "spin"},
        {"clip_id": "missing", "video_path": "raw/spin/none.mp4", "move_label": "spin"},
        {"clip_id": "taken", "video_path": "raw/spin/b.mp4", "move_label": "spin"},
        {"clip_id": "unknown", "video_path": "raw/spin/a.mp4", "move_label": "mambo"},
        {"clip_id": "text", "video_path": "raw/spin/notes.txt", "move_label": "spin"},
    ]});
    std::fs::write(root.join("annotations.json"), clips.to_string()).expect("write");
    let outside_before = tree_digest(&outside);
    let run = organize(&sandbox, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let report = run.json();
    let statuses: BTreeMap<String, String> = report["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| {
            (
                m["clip_id"].as_str().unwrap_or_default().to_string(),
                m["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("up", "refused"),
        ("absolute", "refused"),
        ("through-link", "refused"),
        ("missing", "missing"),
        ("taken", "target_exists"),
        ("unknown", "unmapped"),
        ("text", "refused"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses, expected);
    assert_eq!(
        tree_digest(&outside),
        outside_before,
        "nothing outside the root changed"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("turns_spins/spin/b.mp4")).expect("read"),
        "another b",
        "nothing overwritten"
    );
    assert!(root.join("raw/spin/b.mp4").is_file() && root.join("raw/spin/a.mp4").is_file());
    // The unknown label goes to a default category when one is given.
    let run = organize(&sandbox, &["--default-category", "other"]);
    let report = run.json();
    let unknown = report["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .find(|m| m["clip_id"] == "unknown")
        .cloned()
        .expect("unknown");
    assert_eq!(unknown["status"], "moved");
    assert_eq!(unknown["target_path"], "other/mambo/a.mp4");
    for bad in [
        ["--default-category", "../up"],
        ["--mapping", "missing.toml"],
    ] {
        let run = organize(&sandbox, &bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.all_output());
    }
}

#[test]
fn mappings_csv_and_a_conflict() {
    let sandbox = Sandbox::new();
    let root = data(&sandbox);
    std::fs::create_dir_all(root.join("in")).expect("mkdir");
    std::fs::write(root.join("in/é 1.webm"), "1").expect("write");
    std::fs::write(root.join("in/2.MKV"), "2").expect("write");
    std::fs::write(
        root.join("clips.csv"),
        "clip_id,video_path,move_label,notes\nc1,in/é 1.webm,Sabrosura,\"a, quoted\"\nc2,in/2.MKV,spin,\n",
    )
    .expect("write");
    sandbox.write(
        "mapping.toml",
        "flavour = [\"sabrosura\", \"Spin\"]\nother = [\"basic\"]\n",
    );
    let run = sandbox.run(&[
        "organize",
        "--annotations",
        "data/clips.csv",
        "--mapping",
        "mapping.toml",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(root.join("flavour/sabrosura/é 1.webm").is_file());
    assert!(root.join("flavour/spin/2.MKV").is_file());
    let csv = std::fs::read_to_string(root.join("clips.csv")).expect("read");
    assert_eq!(
        csv,
        "clip_id,video_path,move_label,notes\nc1,flavour/sabrosura/é 1.webm,Sabrosura,\"a, quoted\"\nc2,flavour/spin/2.MKV,spin,\n"
    );
    sandbox.write("conflict.json", r#"{"a": ["spin"], "b": ["Spin"]}"#);
    let run = sandbox.run(&[
        "organize",
        "--annotations",
        "data/clips.csv",
        "--mapping",
        "conflict.json",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("two categories"),
        "{}",
        run.error_line()
    );
    std::fs::write(root.join("broken.json"), r#"{"clips": [{"clip_id": "x"}]}"#).expect("write");
    let run = sandbox.run(&["organize", "--annotations", "data/broken.json"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("clips[0].video_path"),
        "{}",
        run.error_line()
    );
}

#[test]
fn a_run_killed_at_any_point_is_finished_by_the_next() {
    let sandbox = Sandbox::new();
    let root = data(&sandbox);
    std::fs::create_dir_all(&root).expect("mkdir");
    dataset(&root, 3_000);
    let hashes = contents(&root);
    let everything: BTreeSet<String> = tree_digest(&root)
        .into_iter()
        .filter(|(path, _)| path.to_lowercase().ends_with(".mp4"))
        .map(|(_, hash)| hash)
        .collect();
    let journal = root.join(".annotations.json.organize-journal");
    let mut resumed_runs = 0;
    // Killed while planning (before the journal), then at several points of the moves (after
    // the journal appears), each next run finishing what the last left.
    for (after_journal, delay_ms) in [(false, 5), (true, 0), (true, 3), (true, 15), (true, 40)] {
        let mut child = sandbox
            .command(&[
                "organize",
                "--annotations",
                "data/annotations.json",
                "--json",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        if after_journal {
            let waited = std::time::Instant::now();
            while !journal.exists()
                && child.try_wait().ok().flatten().is_none()
                && waited.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            resumed_runs += usize::from(journal.exists());
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment, no clip is lost: every video is somewhere under the root.
        let now: BTreeSet<String> = tree_digest(&root)
            .into_iter()
            .filter(|(path, _)| path.to_lowercase().ends_with(".mp4"))
            .map(|(_, hash)| hash)
            .collect();
        assert_eq!(
            now, everything,
            "after a kill ({after_journal}, {delay_ms} ms)"
        );
    }
    assert!(
        resumed_runs > 0,
        "at least one run was killed in the middle of its moves"
    );
    // A dry run says what the finishing run does, and changes nothing (the journal kept).
    let before = tree_digest(&root);
    let dry = organize(&sandbox, &["--dry-run"]);
    assert_eq!(tree_digest(&root), before, "a dry run changes no byte");
    let run = organize(&sandbox, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(dry.code, run.code, "{}", dry.stderr);
    let report = run.json();
    assert_same_outcome(&dry.json(), &report);
    let summary = &report["summary"];
    assert_eq!(
        summary["moved"].as_u64().unwrap_or(0) + summary["already_organized"].as_u64().unwrap_or(0),
        3_000,
        "{summary}"
    );
    assert_eq!(
        contents(&root),
        hashes,
        "the annotation file names every clip where it is"
    );
    assert!(
        !root.join(".annotations.json.organize-journal").exists(),
        "the journal is gone"
    );
    let run = organize(&sandbox, &[]);
    assert_eq!(run.json()["summary"]["already_organized"], 3_000);
}

#[test]
fn an_interrupted_run_is_finished_from_its_journal_in_its_own_root_only() {
    use std::os::unix::fs::MetadataExt;
    let sandbox = Sandbox::new();
    let root = data(&sandbox);
    std::fs::create_dir_all(root.join("raw/spin")).expect("mkdir");
    std::fs::create_dir_all(root.join("turns_spins/spin")).expect("mkdir");
    std::fs::create_dir_all(sandbox.path().join("elsewhere")).expect("mkdir");
    std::fs::write(root.join("raw/spin/a.mp4"), "a").expect("write");
    std::fs::write(root.join("raw/spin/b.mp4"), "b").expect("write");
    let annotations = json!({"clips": [
        {"clip_id": "a", "video_path": "raw/spin/a.mp4", "move_label": "spin"},
        {"clip_id": "b", "video_path": "raw/spin/b.mp4", "move_label": "spin"},
    ]})
    .to_string();
    std::fs::write(root.join("annotations.json"), &annotations).expect("write");
    // A run killed after its first move: the journal lists both, `a` is at its target.
    let id = |path: &Path| {
        let meta = std::fs::metadata(path).expect("stat");
        json!({"inode": meta.ino(), "size": meta.size(), "mtime": meta.mtime(),
               "mtime_nsec": meta.mtime_nsec()})
    };
    let journal = json!({"root": root, "moves": [
        {"index": 0, "clip_id": "a", "from": "raw/spin/a.mp4", "to": "turns_spins/spin/a.mp4",
         "file": id(&root.join("raw/spin/a.mp4"))},
        {"index": 1, "clip_id": "b", "from": "raw/spin/b.mp4", "to": "turns_spins/spin/b.mp4",
         "file": id(&root.join("raw/spin/b.mp4"))},
    ]});
    std::fs::rename(
        root.join("raw/spin/a.mp4"),
        root.join("turns_spins/spin/a.mp4"),
    )
    .expect("the first move");
    let journal_path = root.join(".annotations.json.organize-journal");
    std::fs::write(&journal_path, journal.to_string()).expect("journal");

    // Another root: refused, the journal kept.
    let run = organize(&sandbox, &["--root", "elsewhere"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(journal_path.exists());
    // Its own root: the journal's moves finished (`b` moved, `a` recorded), then nothing
    // left to do.
    let run = organize(&sandbox, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = run.json();
    assert_eq!(report["summary"]["resumed"], 2, "{report}");
    assert_eq!(report["summary"]["moved"], 0);
    assert_eq!(report["summary"]["already_organized"], 2);
    assert!(!journal_path.exists());
    assert_eq!(
        contents(&root),
        ["a", "b"]
            .iter()
            .map(|text| hex::encode(Sha256::digest(text.as_bytes())))
            .collect()
    );
    // The backup is the file as it was before the interrupted run.
    assert_eq!(
        std::fs::read_to_string(root.join("annotations.json.bak")).expect("read"),
        annotations
    );
}

#[test]
fn a_dry_run_finishes_an_interrupted_run_on_paper_as_the_run_does() {
    // Killed after all its moves (before the annotation file was rewritten), then after half.
    for done in [120, 50] {
        let sandbox = Sandbox::new();
        let root = data(&sandbox);
        std::fs::create_dir_all(&root).expect("mkdir");
        dataset(&root, 120);
        let hashes = contents(&root);
        let plan = organize(&sandbox, &["--dry-run"]).json();
        let moves: Vec<Value> = plan["moves"]
            .as_array()
            .expect("moves")
            .iter()
            .enumerate()
            .map(|(index, clip)| {
                let from = clip["current_path"].as_str().expect("from");
                json!({"index": index, "clip_id": clip["clip_id"], "from": from,
                       "to": clip["target_path"], "file": file_id(&root.join(from))})
            })
            .collect();
        let (canonical, id) = root_record(&root);
        let journal = root.join(".annotations.json.organize-journal");
        std::fs::write(
            &journal,
            json!({"root": canonical, "root_id": id, "moves": moves}).to_string(),
        )
        .expect("journal");
        for planned in &moves[..done] {
            let to = root.join(planned["to"].as_str().expect("to"));
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::rename(root.join(planned["from"].as_str().expect("from")), &to).expect("move");
        }

        let before = tree_digest(&root);
        let dry = organize(&sandbox, &["--dry-run"]);
        assert_eq!(tree_digest(&root), before, "a dry run changes no byte");
        assert!(journal.exists(), "the dry run keeps the journal");
        let text = sandbox.run(&[
            "organize",
            "--annotations",
            "data/annotations.json",
            "--dry-run",
        ]);
        let real = organize(&sandbox, &[]);
        assert_eq!(real.code, 0, "{}", real.all_output());
        assert_eq!((dry.code, text.code), (0, 0), "{}", text.stdout);
        let (dry, real) = (dry.json(), real.json());
        assert_same_outcome(&dry, &real);
        assert_eq!(dry["summary"]["resumed"], 120, "{}", dry["summary"]);
        assert_eq!(dry["summary"]["already_organized"], 120);
        assert_eq!(dry["organized"], "organized");
        assert!(
            text.stdout.contains("0 would move, 120 already organized")
                && text
                    .stdout
                    .contains("(120 finished from an interrupted run)"),
            "{}",
            text.stdout
        );
        assert!(!journal.exists());
        assert_eq!(contents(&root), hashes);
    }
}

/// `organize --annotations ../ann/ann.json --root ds` from `dir`.
fn organize_from(sandbox: &Sandbox, dir: &Path, extra: &[&str]) -> bachata_common_tests::Run {
    let mut args = vec![
        "organize",
        "--annotations",
        "../ann/ann.json",
        "--root",
        "ds",
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = sandbox
        .command(&args)
        .current_dir(dir)
        .output()
        .expect("run");
    bachata_common_tests::Run::from_output(output)
}

#[test]
fn a_journal_of_another_directory_s_root_is_refused_and_kept() {
    let sandbox = Sandbox::new();
    let (a, b, ann) = (
        sandbox.path().join("A"),
        sandbox.path().join("B"),
        sandbox.path().join("ann"),
    );
    std::fs::create_dir_all(&ann).expect("mkdir");
    let journal = ann.join(".ann.json.organize-journal");
    // A run in A (`ds` relative to A) killed in the middle of its moves.
    let mut interrupted = false;
    for _ in 0..5 {
        for dir in [&a, &b] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir.join("ds")).expect("mkdir");
            // B/ds: another dataset, with the same names and bytes.
            dataset(&dir.join("ds"), 2_000);
            std::fs::rename(dir.join("ds/annotations.json"), ann.join("ann.json")).expect("move");
        }
        let mut child = sandbox
            .command(&[
                "organize",
                "--annotations",
                "../ann/ann.json",
                "--root",
                "ds",
            ])
            .current_dir(&a)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let waited = std::time::Instant::now();
        while !journal.exists()
            && child.try_wait().ok().flatten().is_none()
            && waited.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill();
        let _ = child.wait();
        if journal.exists() {
            interrupted = true;
            break;
        }
    }
    assert!(interrupted, "a run was killed in the middle of its moves");
    let recorded = std::fs::read(&journal).expect("journal");
    let document: Value = serde_json::from_slice(&recorded).expect("JSON");
    let (canonical, id) = root_record(&a.join("ds"));

    // From B, `ds` is another dataset: refused, dry or not, nothing changed, nothing it
    // records repeated as advice.
    let before = (tree_digest(&a), tree_digest(&b), tree_digest(&ann));
    for extra in [&["--dry-run"][..], &[]] {
        let run = organize_from(&sandbox, &b, extra);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.all_output());
        assert!(
            run.error_line().contains("another dataset root"),
            "{}",
            run.stderr
        );
        let output = run.all_output();
        assert!(!output.contains("finishing an interrupted"), "{output}");
        assert!(!output.contains(&canonical), "{output}");
        assert!(!output.contains("organize-journal"), "{output}");
        assert_eq!(
            (tree_digest(&a), tree_digest(&b), tree_digest(&ann)),
            before,
            "{extra:?}: nothing changed"
        );
    }
    assert_eq!(std::fs::read(&journal).expect("kept"), recorded);
    // The journal records A's root: its canonical path, device and inode.
    assert_eq!(document["root"], canonical.as_str());
    assert_eq!(document["root_id"], id);
    // An older journal (the root as typed, relative) is refused there too: its files are not
    // B's.
    let mut older = document.clone();
    older["root"] = json!("ds");
    older.as_object_mut().expect("object").remove("root_id");
    std::fs::write(&journal, older.to_string()).expect("older");
    let before = (tree_digest(&a), tree_digest(&b), tree_digest(&ann));
    let run = organize_from(&sandbox, &b, &[]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("another dataset root"),
        "{}",
        run.stderr
    );
    assert_eq!(
        (tree_digest(&a), tree_digest(&b), tree_digest(&ann)),
        before
    );

    // A renamed: still its root. The journal as written is finished (on paper by a dry run),
    // then the older one by the run.
    let renamed = sandbox.path().join("A renamed");
    std::fs::rename(&a, &renamed).expect("rename");
    std::fs::write(&journal, &recorded).expect("restore");
    let dry = organize_from(&sandbox, &renamed, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.json()["summary"]["resumed"], 2_000, "{}", dry.stdout);
    assert_eq!(std::fs::read(&journal).expect("kept"), recorded);
    std::fs::write(&journal, older.to_string()).expect("older");
    let run = organize_from(&sandbox, &renamed, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = run.json();
    assert_eq!(report["summary"]["resumed"], 2_000, "{}", report["summary"]);
    assert_eq!(report["summary"]["already_organized"], 2_000);
    assert!(!journal.exists());
    let text = std::fs::read_to_string(ann.join("ann.json")).expect("read");
    let after: Value = serde_json::from_str(&text).expect("JSON");
    for clip in after["clips"].as_array().expect("clips") {
        let path = clip["video_path"].as_str().expect("path");
        assert!(renamed.join("ds").join(path).is_file(), "{path}");
    }
    // B was never touched.
    assert_eq!(tree_digest(&b), before.1);
}
