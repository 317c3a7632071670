//! A whole run while the dataset changes under it, between the plan and the moves.

use std::path::Path;
use std::sync::Once;

use super::{OrganizeOptions, Organizer};
use crate::runtime::Policy;
use crate::types::organizer::ClipStatus;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Every name below `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("list") {
            let path = entry.expect("entry").path();
            names.push(path.strip_prefix(dir).expect("below").display().to_string());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn folders_and_files_changed_after_the_plan_are_refused_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("dir");
    let (root, outside) = (dir.path().join("data"), dir.path().join("outside"));
    std::fs::create_dir_all(&outside).expect("mkdir");
    for (folder, name) in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")] {
        write(&root.join(format!("raw/{folder}/{name}.mp4")), name);
    }
    let clips = serde_json::json!({"clips": [
        {"clip_id": "first", "video_path": "raw/a/1.mp4", "move_label": "spin"},
        {"clip_id": "source-swapped", "video_path": "raw/b/2.mp4", "move_label": "dip"},
        {"clip_id": "target-swapped", "video_path": "raw/c/3.mp4", "move_label": "spin"},
        {"clip_id": "file-replaced", "video_path": "raw/d/4.mp4", "move_label": "dip"},
        {"clip_id": "last", "video_path": "raw/e/5.mp4", "move_label": "dip"},
    ]});
    let annotations = root.join("annotations.json");
    std::fs::write(&annotations, clips.to_string()).expect("write");

    // Once the first clip is moved: `raw/b` and `turns_spins/spin` (both opened by then) taken
    // out of the root with a link to each left in their place, `raw/d/4.mp4` replaced.
    let once = Once::new();
    let change = |done: u64, _total: u64| {
        if done != 1 {
            return;
        }
        once.call_once(|| {
            std::fs::rename(root.join("raw/b"), outside.join("b")).expect("move away");
            std::os::unix::fs::symlink(outside.join("b"), root.join("raw/b")).expect("link");
            std::fs::rename(root.join("turns_spins/spin"), outside.join("spin")).expect("away");
            std::os::unix::fs::symlink(outside.join("spin"), root.join("turns_spins/spin"))
                .expect("link");
            std::fs::remove_file(root.join("raw/d/4.mp4")).expect("rm");
            write(&root.join("raw/d/4.mp4"), "replacement");
        });
    };
    let policy = Policy::embedded().expect("policy");
    let report = Organizer::new(&policy)
        .with_progress(&change)
        .organize(&OrganizeOptions::new(&annotations))
        .expect("organize");

    let statuses: Vec<(&str, ClipStatus)> = report
        .moves
        .iter()
        .map(|clip| (clip.clip_id.as_str(), clip.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("first", ClipStatus::Moved),
            ("source-swapped", ClipStatus::Refused),
            ("target-swapped", ClipStatus::Refused),
            ("file-replaced", ClipStatus::Error),
            ("last", ClipStatus::Moved),
        ],
        "{:?}",
        report.moves
    );
    assert!(!report.success);
    // Outside: only what was taken there, nothing added or removed by the run.
    assert_eq!(listing(&outside), ["b", "b/2.mp4", "spin", "spin/1.mp4"]);
    // Inside: the refused clips where they were, the replacement kept, the last one moved.
    assert_eq!(
        std::fs::read_to_string(root.join("raw/c/3.mp4")).expect("read"),
        "3"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("raw/d/4.mp4")).expect("read"),
        "replacement"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("advanced/dip/5.mp4")).expect("read"),
        "5"
    );
    // The annotation file follows the two moves only; the journal is gone.
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&annotations).expect("read")).expect("json");
    let paths: Vec<&str> = written["clips"]
        .as_array()
        .expect("clips")
        .iter()
        .map(|clip| clip["video_path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "turns_spins/spin/1.mp4",
            "raw/b/2.mp4",
            "raw/c/3.mp4",
            "raw/d/4.mp4",
            "advanced/dip/5.mp4"
        ]
    );
    assert!(root.join("annotations.json.bak").is_file());
    assert!(!root.join(".annotations.json.organize-journal").exists());
}
