//! The organizer's annotation files (`organizer`'s `Annotations`: JSON with a `clips` list,
//! or CSV with a header row), each input read both as `a.json` and as `a.csv`: reading never
//! panics, finds at most one clip per byte, and a file read is written back (as the organizer
//! does after moving clips) to a file that reads to the same clips, with the one path changed.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bachata_common::capabilities::dataset::annotations::Annotations;
use libfuzzer_sys::fuzz_target;

/// A folder for the files, on tmpfs when there is one (each write is fsynced).
fn folder() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let shm = Path::new("/dev/shm");
            let builder = tempfile::Builder::new()
                .prefix("bachata-fuzz-")
                .tempdir_in(shm);
            builder
                .or_else(|_| tempfile::tempdir())
                .expect("a temporary folder")
        })
        .path()
}

fn check(data: &[u8], name: &str) {
    let path: PathBuf = folder().join(name);
    let mut backup = path.clone().into_os_string();
    backup.push(".bak");
    let _ = std::fs::remove_file(&backup);
    std::fs::write(&path, data).expect("write the input");
    let Ok(mut annotations) = Annotations::read(&path) else {
        return;
    };
    let clips = annotations.clips().to_vec();
    assert!(clips.len() <= data.len());
    if clips.is_empty() {
        annotations.write().expect("write back");
        let again = Annotations::read(&path).expect("read back what was written");
        assert_eq!(again.clips(), &clips[..]);
        return;
    }
    annotations.set_path(0, "moved/clip 0, \"new\".mp4");
    annotations.write().expect("write back");
    assert_eq!(
        std::fs::read(&backup).expect("the .bak"),
        data,
        "the .bak is the file read"
    );
    let again = Annotations::read(&path).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        panic!("written back, not read back: {e}\n{text}")
    });
    let mut expected = clips;
    expected[0].video_path = "moved/clip 0, \"new\".mp4".to_string();
    assert_eq!(again.clips(), &expected[..]);
}

fuzz_target!(|data: &[u8]| {
    check(data, "a.json");
    check(data, "a.csv");
});
