//! The host's filesystem rules hold whatever is asked: no symlink following, no escape, no
//! removal of files in use, problems reported rather than raised.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use bachata_common::capabilities::fs::{Areas, RemovalStatus};
use bachata_common_tests::{Sandbox, age, tree_digest};

fn areas(root: &std::path::Path) -> Areas {
    Areas::open(
        &root.join("data"),
        &["temp".to_string(), "cache".to_string()],
    )
    .expect("areas")
}

#[test]
fn symlinks_are_never_followed_and_link_dirs_never_descended() {
    let sandbox = Sandbox::new();
    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(outside.join("dir")).expect("mkdir");
    std::fs::write(outside.join("precious.txt"), b"keep me").expect("write");
    std::fs::write(outside.join("dir/inner.txt"), b"keep me too").expect("write");
    age(&outside.join("precious.txt"), 100);
    age(&outside.join("dir/inner.txt"), 100);
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    std::os::unix::fs::symlink(outside.join("precious.txt"), temp.join("file-link"))
        .expect("symlink");
    std::os::unix::fs::symlink(outside.join("dir"), temp.join("dir-link")).expect("symlink");
    let before = tree_digest(&outside);

    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(before, tree_digest(&outside), "nothing outside changed");
    // The stale links themselves went, not what they point at.
    assert!(std::fs::symlink_metadata(temp.join("file-link")).is_err());
    assert!(std::fs::symlink_metadata(temp.join("dir-link")).is_err());
    let json = run.json();
    assert!(
        !json["removals"].to_string().contains("inner.txt"),
        "link dir was descended"
    );
}

#[test]
fn the_host_refuses_escapes_whatever_the_policy_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let areas = areas(dir.path());
    std::fs::write(dir.path().join("x"), b"outside").expect("write");
    std::fs::create_dir_all(dir.path().join("data/temp/sub")).expect("mkdir");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("data/temp/up")).expect("symlink");
    std::fs::write(dir.path().join("data/cache/in-cache"), b"c").expect("write");
    let asked: Vec<String> = [
        "../x",
        "/etc/passwd",
        "sub/../../x",
        "up/x",
        "",
        ".",
        "sub/",
        "../cache/in-cache",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let outcomes = areas.remove("temp", &asked);
    for outcome in &outcomes {
        assert_eq!(outcome.status, RemovalStatus::OutOfBounds, "{outcome:?}");
        assert!(outcome.reason.is_some());
    }
    assert!(dir.path().join("x").exists());
    assert!(std::path::Path::new("/etc/passwd").exists());
    assert!(dir.path().join("data/cache/in-cache").exists());
    // An unknown area is refused too.
    let unknown = areas.remove("etc", &["passwd".to_string()]);
    assert_eq!(unknown[0].status, RemovalStatus::OutOfBounds);
}

#[test]
fn locked_files_are_skipped_and_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let areas = Arc::new(areas(dir.path()));
    let path = dir.path().join("data/temp/busy.mp4");
    std::fs::write(&path, b"video").expect("write");
    let holder = std::fs::File::open(&path).expect("open");
    holder.lock_shared().expect("lock");
    let scan = areas.scan("temp").expect("scan");
    assert!(
        scan.entries
            .iter()
            .any(|e| e.path == "busy.mp4" && e.locked)
    );
    let outcome = areas.remove("temp", &["busy.mp4".to_string()]);
    assert_eq!(outcome[0].status, RemovalStatus::InUse);
    assert!(path.exists());

    // Through the whole cleanup (a separate process holds nothing: this process does).
    let sandbox = Sandbox::new();
    let busy = sandbox.path().join("data/temp/busy.bin");
    std::fs::create_dir_all(busy.parent().expect("parent")).expect("mkdir");
    std::fs::write(&busy, b"x").expect("write");
    let lock = std::fs::File::open(&busy).expect("open");
    lock.lock().expect("lock");
    let json = sandbox.run(&["cleanup", "--force", "--json"]).json();
    assert_eq!(json["skipped_in_use"], 1);
    assert!(busy.exists());
    drop(lock);
    let json = sandbox.run(&["cleanup", "--force", "--json"]).json();
    assert_eq!(json["total_files_removed"], 1);
}

#[test]
fn a_file_that_vanished_is_counted_not_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let areas = areas(dir.path());
    let outcome = areas.remove(
        "temp",
        &["never-there.tmp".to_string(), "gone/deeper.tmp".to_string()],
    );
    assert!(
        outcome.iter().all(|o| o.status == RemovalStatus::Vanished),
        "{outcome:?}"
    );
}

/// Runs the binary as an unprivileged user when the tests run as root (root ignores
/// permissions), so permission errors really happen.
fn unprivileged(sandbox: &Sandbox, args: &[&str]) -> bachata_common_tests::Run {
    if !rustix::process::geteuid().is_root() {
        return sandbox.run(args);
    }
    // A copy inside the sandbox, so the unprivileged user can run it wherever the build is.
    let binary = sandbox.path().join("bachata-common");
    std::fs::copy(bachata_common_tests::binary(), &binary).expect("copy the binary");
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut command = std::process::Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&binary)
        .args(args)
        .current_dir(sandbox.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    bachata_common_tests::Run::from_output(command.output().expect("setpriv (util-linux) runs"))
}

#[test]
fn permission_errors_are_reported_not_raised() {
    let sandbox = Sandbox::new();
    let root = sandbox.path();
    let temp = root.join("data/temp");
    std::fs::create_dir_all(temp.join("sealed")).expect("mkdir");
    std::fs::create_dir_all(temp.join("readonly")).expect("mkdir");
    std::fs::create_dir_all(root.join("data/cache")).expect("mkdir");
    std::fs::create_dir_all(root.join("data/output")).expect("mkdir");
    std::fs::write(temp.join("sealed/secret.tmp"), b"s").expect("write");
    std::fs::write(temp.join("readonly/stuck.tmp"), b"r").expect("write");
    std::fs::write(temp.join("free.tmp"), b"f").expect("write");
    if rustix::process::geteuid().is_root() {
        // Everything belongs to the unprivileged user except the two guarded directories.
        let nobody = Some(rustix::process::Uid::from_raw(65534));
        let nogroup = Some(rustix::process::Gid::from_raw(65534));
        for path in [
            root.to_path_buf(),
            root.join("data"),
            temp.clone(),
            root.join("data/cache"),
            root.join("data/output"),
            temp.join("free.tmp"),
        ] {
            rustix::fs::chown(&path, nobody, nogroup).expect("chown");
        }
        let mut mode = std::fs::metadata(root).expect("meta").permissions();
        mode.set_mode(0o755);
        std::fs::set_permissions(root, mode).expect("chmod");
    }
    std::fs::set_permissions(temp.join("sealed"), std::fs::Permissions::from_mode(0o000))
        .expect("chmod");
    std::fs::set_permissions(
        temp.join("readonly"),
        std::fs::Permissions::from_mode(0o555),
    )
    .expect("chmod");
    let run = unprivileged(&sandbox, &["cleanup", "--force", "--json"]);
    std::fs::set_permissions(temp.join("sealed"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::fs::set_permissions(
        temp.join("readonly"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    let errors = json["errors"].to_string();
    assert!(errors.contains("sealed"), "scan problem reported: {errors}");
    assert!(
        errors.contains("readonly/stuck.tmp"),
        "EACCES on unlink reported: {errors}"
    );
    assert!(
        errors.to_lowercase().contains("permission denied"),
        "{errors}"
    );
    assert_eq!(
        json["temporary_files"]["files_removed"], 1,
        "the free file still went"
    );
    assert!(temp.join("sealed/secret.tmp").exists());
    assert!(temp.join("readonly/stuck.tmp").exists());
}

#[test]
fn an_open_sqlite_database_in_an_area_keeps_its_files() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    let database = temp.join("other.sqlite3");
    // Another program's database, open (WAL) while the cleanup runs, with committed data in
    // its -wal that is not in the database file yet.
    let connection = rusqlite::Connection::open(&database).expect("open");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    connection
        .pragma_update(None, "wal_autocheckpoint", 0)
        .expect("no checkpoint");
    connection
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")
        .expect("write");
    let files = ["other.sqlite3", "other.sqlite3-wal", "other.sqlite3-shm"];
    // Aged by path: closing any descriptor of a file drops the process's POSIX locks on it,
    // SQLite's included.
    let old = rustix::fs::Timespec {
        tv_sec: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |now| now.as_secs() as i64)
            - 100 * 3600,
        tv_nsec: 0,
    };
    for file in files {
        rustix::fs::utimensat(
            rustix::fs::CWD,
            temp.join(file),
            &rustix::fs::Timestamps {
                last_access: old,
                last_modification: old,
            },
            rustix::fs::AtFlags::empty(),
        )
        .expect("age");
    }
    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    for file in files {
        assert!(
            temp.join(file).exists(),
            "{file} was removed: {}",
            run.stdout
        );
    }
    let count: i64 = connection
        .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
        .expect("read");
    assert_eq!(count, 3);
    drop(connection);
    // Closed, it is an ordinary old file again.
    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!database.exists());
}
