//! The temp file manager: scoped files and directories, tracking, per-user directories.

use std::sync::Arc;

use bachata_common::capabilities::fs::Areas;
use bachata_common::temp::TempManager;
use bachata_common::{AppError, Error};

fn manager() -> (tempfile::TempDir, TempManager) {
    let dir = tempfile::tempdir().expect("temp dir");
    let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
    let manager = TempManager::new(Arc::new(areas)).expect("manager");
    (dir, manager)
}

#[test]
fn temp_file_is_tracked_in_scope_and_gone_after() {
    let (_dir, temp) = manager();
    let path = {
        let file = temp.temp_file(".wav", "mix_", None).expect("temp file");
        assert_eq!(temp.active_count(), 1);
        let path = file.path().to_path_buf();
        assert!(path.exists());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(name.starts_with("mix_") && name.ends_with(".wav"), "{name}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        path
    };
    assert!(!path.exists());
    assert_eq!(temp.active_count(), 0);
}

#[test]
fn temp_file_is_removed_when_the_body_fails() {
    let (_dir, temp) = manager();
    let mut seen = None;
    let result: Result<(), Error> = temp.with_temp_file(".tmp", "job_", Some("7"), |file| {
        seen = Some(file.path().to_path_buf());
        assert_eq!(temp.active_count(), 1);
        Err(Error::App(AppError::Generation {
            message: "boom".into(),
            details: vec![],
        }))
    });
    assert!(result.is_err());
    let path = seen.expect("body ran");
    assert!(path.to_string_lossy().contains("user_7"));
    assert!(!path.exists());
    assert_eq!(temp.active_count(), 0);
}

#[test]
fn async_scope_removes_on_error_too() {
    let (_dir, temp) = manager();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut seen = None;
    let result: Result<(), Error> =
        runtime.block_on(temp.with_temp_file_async(".bin", "a_", None, |path| {
            seen = Some(path.clone());
            async move {
                assert!(path.exists());
                Err(Error::App(AppError::Generation {
                    message: "async boom".into(),
                    details: vec![],
                }))
            }
        }));
    assert!(result.is_err());
    assert!(!seen.expect("ran").exists());
    assert_eq!(temp.active_count(), 0);
}

#[test]
fn temp_dir_and_its_contents_are_gone_after_scope() {
    let (_dir, temp) = manager();
    let path = temp
        .with_temp_dir("frames_", None, |dir| {
            std::fs::create_dir_all(dir.path().join("nested")).expect("mkdir");
            std::fs::write(dir.path().join("nested/1.png"), b"png").expect("write");
            Ok::<_, Error>(dir.path().to_path_buf())
        })
        .expect("scope");
    assert!(!path.exists());
    assert_eq!(temp.active_count(), 0);
}

#[test]
fn cleanup_all_active_releases_everything_and_guards_stay_harmless() {
    let (_dir, temp) = manager();
    let file = temp.temp_file(".a", "x", None).expect("file");
    let dir = temp.temp_dir("d", Some("3")).expect("dir");
    let other = temp.temp_file(".b", "y", Some("3")).expect("file");
    assert_eq!(temp.active_count(), 3);
    // As at shutdown while files are alive.
    assert_eq!(temp.cleanup_all_active(), 3);
    assert_eq!(temp.active_count(), 0);
    assert!(!file.path().exists() && !dir.path().exists() && !other.path().exists());
    drop((file, dir, other));
    assert_eq!(temp.active_count(), 0);
}

#[test]
fn user_directories_are_separate_and_ids_are_checked() {
    let (_dir, temp) = manager();
    let one = temp.user_temp_dir("1").expect("user 1");
    let ten = temp.user_temp_dir("10").expect("user 10");
    std::fs::write(one.join("a"), b"1").expect("write");
    std::fs::write(ten.join("b"), b"10").expect("write");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&one).expect("meta").permissions().mode() & 0o777,
        0o700
    );

    let report = temp.cleanup_user("1").expect("cleanup user 1");
    assert_eq!(report.files_removed, 1);
    assert!(report.directory_removed);
    assert!(!one.exists());
    assert!(ten.join("b").exists(), "user 10 untouched");

    for bad in ["../x", "../../etc", "", "a/b", "x y", &"a".repeat(65)] {
        let error = temp.user_temp_dir(bad).expect_err("refused");
        assert!(
            matches!(error, Error::App(AppError::Validation { .. })),
            "{bad}: {error}"
        );
        assert!(temp.cleanup_user(bad).is_err());
    }
    assert!(temp.temp_file("x", "../", None).is_err());
}

#[test]
fn cleanup_user_keeps_files_in_use() {
    let (_dir, temp) = manager();
    let busy = temp.temp_file(".wav", "busy", Some("5")).expect("file");
    std::fs::write(temp.user_temp_dir("5").expect("dir").join("idle"), b"x").expect("write");
    let report = temp.cleanup_user("5").expect("cleanup");
    assert_eq!(report.files_removed, 1);
    assert_eq!(report.skipped_in_use, 1);
    assert!(!report.directory_removed);
    assert!(busy.path().exists());
}

#[test]
fn tmp_commands_on_the_cli() {
    let sandbox = bachata_common_tests::Sandbox::new();
    let run = sandbox.run(&["tmp", "user-dir", "42"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.trim().ends_with("data/temp/user_42"));
    let bad = sandbox.run(&["tmp", "user-dir", "../../etc"]);
    assert_eq!(bad.code, 2);
    assert!(bad.error_line().contains("invalid user id"));
    let clean = sandbox.run(&["tmp", "clean-user", "42", "--json"]);
    assert_eq!(clean.json()["cleanup"]["directory_removed"], true);
}
