//! The host's promises under attack: linked area roots, bind mounts, hostile policy files,
//! absurd intervals, secrets in JSON, shutdown during a long cleanup, hostile HTTP clients,
//! locked directories, races, deep trees, odd names. Everything outside the managed areas is
//! hashed before and after.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bachata_common_tests::{Daemon, Run, Sandbox, age, test_policy, tree_digest};

/// An old file with `contents` at `path` (parents created).
fn old_file(path: &Path, contents: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
    age(path, 240);
}

/// A directory outside the data dir with old files in it, and its digest.
fn outside_tree(
    sandbox: &Sandbox,
) -> (
    std::path::PathBuf,
    std::collections::BTreeMap<String, String>,
) {
    let outside = sandbox.path().join("o");
    old_file(&outside.join("t.txt"), b"t");
    old_file(&outside.join("sub/s.txt"), b"s");
    let digest = tree_digest(&outside);
    (outside, digest)
}

/// Runs a command, killing it when it takes longer than `limit` (its output is read as it
/// comes, so a large one cannot block it).
fn run_within(sandbox: &Sandbox, args: &[&str], limit: Duration) -> Run {
    let child = sandbox
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => Run::from_output(output.expect("output")),
        Err(_) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("`{}` did not finish within {limit:?}", args.join(" "));
        }
    }
}

#[test]
fn a_linked_temp_root_is_refused_and_nothing_outside_changes() {
    let mut sandbox = Sandbox::new();
    let (outside, before) = outside_tree(&sandbox);
    std::fs::create_dir_all(sandbox.path().join("d/cache")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, sandbox.path().join("d/temp")).expect("link");
    sandbox.env("BACHATA_DATA_DIR", "d");
    for args in [
        &["cleanup", "--force"][..],
        &["tmp", "user-dir", "7"],
        &["tmp", "clean-user", "7"],
        &["resources"],
    ] {
        let run = sandbox.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.error_line().contains("is a symbolic link"),
            "{args:?}: {run:?}"
        );
    }
    assert_eq!(before, tree_digest(&outside));
    assert!(!outside.join("user_7").exists());
}

#[test]
fn a_relative_linked_cache_root_is_refused() {
    let mut sandbox = Sandbox::new();
    let (outside, before) = outside_tree(&sandbox);
    std::fs::create_dir_all(sandbox.path().join("d")).expect("mkdir");
    std::os::unix::fs::symlink("../o", sandbox.path().join("d/cache")).expect("link");
    sandbox.env("BACHATA_DATA_DIR", "d");
    let run = sandbox.run(&["cleanup", "--force"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("cache"), "{run:?}");
    assert_eq!(before, tree_digest(&outside));
}

#[test]
fn a_data_dir_reached_through_the_operators_link_is_fine() {
    let mut sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path().join("real")).expect("mkdir");
    std::os::unix::fs::symlink("real", sandbox.path().join("d")).expect("link");
    old_file(&sandbox.path().join("real/temp/old.txt"), b"x");
    sandbox.env("BACHATA_DATA_DIR", "d");
    let run = sandbox.run(&["cleanup", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["total_files_removed"], 1);
}

#[test]
fn a_broken_data_dir_or_area_root_says_what_is_wrong() {
    let mut sandbox = Sandbox::new();
    std::os::unix::fs::symlink("nowhere", sandbox.path().join("dangling")).expect("link");
    sandbox.env("BACHATA_DATA_DIR", "dangling");
    let run = sandbox.run(&["cleanup"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line()
            .contains("symbolic link to something that does not exist"),
        "{run:?}"
    );

    let mut sandbox = Sandbox::new();
    sandbox.write("file", b"x");
    sandbox.env("BACHATA_DATA_DIR", "file");
    let run = sandbox.run(&["cleanup"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("is not a directory"), "{run:?}");

    let mut sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path().join("d")).expect("mkdir");
    sandbox.write("d/temp", b"x");
    sandbox.env("BACHATA_DATA_DIR", "d");
    let run = sandbox.run(&["cleanup"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("temp"), "{run:?}");
    assert!(run.error_line().contains("is not a directory"), "{run:?}");
    assert!(!run.stderr.contains("os error 17"), "{run:?}");
}

#[test]
fn a_bind_mount_of_the_same_filesystem_is_not_crossed() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: bind mounts need root");
        return;
    }
    let sandbox = Sandbox::new();
    let (outside, before) = outside_tree(&sandbox);
    let mount_point = sandbox.path().join("data/cache/m");
    std::fs::create_dir_all(&mount_point).expect("mkdir");
    let mounted = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&outside)
        .arg(&mount_point)
        .status();
    if !mounted.is_ok_and(|status| status.success()) {
        eprintln!("skipped: `mount --bind` is not permitted here");
        return;
    }
    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    let digest_while_mounted = tree_digest(&outside);
    let _ = std::process::Command::new("umount")
        .arg(&mount_point)
        .status();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        before, digest_while_mounted,
        "files behind the bind mount changed"
    );
    assert!(!run.stdout.contains("t.txt"), "{}", run.stdout);
}

#[test]
fn policy_files_that_are_devices_fifos_or_directories_are_refused_at_once() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path().join("policy.fifo");
    bachata_common_tests::fifo(&fifo);
    for (path, what) in [
        ("/dev/zero", "a device"),
        (fifo.to_str().expect("utf-8"), "a FIFO"),
        (sandbox.path().to_str().expect("utf-8"), "a directory"),
    ] {
        for args in [
            vec!["--policy", path, "policy", "info"],
            vec!["policy", "check", path],
            vec!["--policy", path, "policy", "save", "out.wasm"],
        ] {
            let run = run_within(&sandbox, &args, Duration::from_secs(30));
            assert_eq!(run.code, 2, "{args:?}: {run:?}");
            assert!(run.error_line().contains(what), "{args:?}: {run:?}");
        }
    }
}

#[test]
fn an_oversized_policy_file_is_refused() {
    let mut sandbox = Sandbox::new();
    let big = sandbox.path().join("big.wasm");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(3 << 20).expect("sparse file");
    sandbox.env("BACHATA_POLICY_MAX_FILE_MB", "2");
    let run = sandbox.run(&["--policy", "big.wasm", "policy", "info"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line().contains("limited to 2097152 bytes"),
        "{run:?}"
    );
}

/// A daemon watching its policy file (the embedded policy saved there); the sandbox, the
/// file and the daemon.
fn daemon_watching_its_policy() -> (Sandbox, std::path::PathBuf, Daemon) {
    let mut sandbox = Sandbox::new();
    let policy_file = sandbox.path().join("policy.wasm");
    let saved = sandbox.run(&["policy", "save", "policy.wasm"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("BACHATA_POLICY", policy_file.to_str().expect("utf-8"));
    let daemon = sandbox.daemon();
    (sandbox, policy_file, daemon)
}

#[test]
fn a_watched_policy_replaced_by_a_device_or_fifo_never_wedges_reload() {
    let (sandbox, policy_file, daemon) = daemon_watching_its_policy();

    // A link to /dev/zero: refused at once, the daemon keeps serving.
    std::fs::remove_file(&policy_file).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &policy_file).expect("link");
    daemon.wait_for_metric("policy_reloads_total{result=\"failure\"} 1");
    // A FIFO with no writer: refused at once too.
    std::fs::remove_file(&policy_file).expect("rm");
    bachata_common_tests::fifo(&policy_file);
    daemon.wait_for_metric("policy_reloads_total{result=\"failure\"} 2");
    // A later valid component is taken.
    let staging = sandbox.path().join("staging.wasm");
    std::fs::copy(test_policy("size-first"), &staging).expect("copy");
    std::fs::remove_file(&policy_file).expect("rm");
    std::fs::rename(&staging, &policy_file).expect("rename");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 1");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_junk_policy_write_is_rejected_once_until_it_changes() {
    let (_sandbox, policy_file, daemon) = daemon_watching_its_policy();
    std::fs::write(&policy_file, b"junk").expect("write junk");
    daemon.wait_for_metric("policy_reloads_total{result=\"failure\"} 1");
    // Seconds later it has not been retried.
    std::thread::sleep(Duration::from_secs(3));
    let text = daemon.metrics();
    assert!(
        text.contains("policy_reloads_total{result=\"failure\"} 1"),
        "{text}"
    );
    // A new write is tried again.
    std::fs::write(&policy_file, b"other junk").expect("write junk");
    daemon.wait_for_metric("policy_reloads_total{result=\"failure\"} 2");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("policy reload rejected").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn intervals_outside_one_second_to_one_year_are_invalid() {
    for value in ["1e300", "1e-9", "0.0002", "8761", "inf", "NaN"] {
        let mut sandbox = Sandbox::new();
        sandbox
            .env("CLEANUP_INTERVAL_HOURS", value)
            .env("BACHATA_LISTEN", "127.0.0.1:0");
        let check = sandbox.run(&["config", "check"]);
        assert_eq!(check.code, 2, "{value}: {check:?}");
        assert!(check.stdout.contains("CLEANUP_INTERVAL_HOURS"), "{check:?}");
        let run = run_within(&sandbox, &["run"], Duration::from_secs(30));
        assert_eq!(run.code, 2, "{value}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
    for value in ["0", "31536001"] {
        let mut sandbox = Sandbox::new();
        sandbox.env("MONITOR_INTERVAL_SECS", value);
        let check = sandbox.run(&["config", "check"]);
        assert_eq!(check.code, 2, "{value}: {check:?}");
    }
}

#[test]
fn areas_without_temp_are_invalid_configuration() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_AREAS", "cache");
    let run = sandbox.run(&["config", "check"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("BACHATA_AREAS"), "{run:?}");
    assert!(run.stdout.contains("temp"), "{run:?}");
}

#[test]
fn a_value_expanded_from_a_secret_is_never_printed() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".env",
        "ELASTICSEARCH_PASSWORD=pw-7Hq2-expanded\nELASTICSEARCH_PORT=${ELASTICSEARCH_PASSWORD}\n",
    );
    for args in [
        &["config", "check"][..],
        &["config", "check", "--json"],
        &["config", "show"],
    ] {
        let run = sandbox.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.all_output().contains("ELASTICSEARCH_PORT"), "{run:?}");
        assert!(!run.all_output().contains("pw-7Hq2"), "{args:?}: {run:?}");
    }
}

#[test]
fn names_with_control_characters_are_escaped_in_text_output() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    old_file(&temp.join("a\nremoved data/temp/forged"), b"x");
    old_file(&temp.join("b\u{1b}[2Jclear"), b"x");
    let run = sandbox.run(&["cleanup", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("a\\nremoved data/temp/forged"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(
        !run.stdout
            .lines()
            .any(|line| line.starts_with("removed data/temp/forged")),
        "{}",
        run.stdout
    );
    // JSON carries the names as they are.
    let json = sandbox.run(&["cleanup", "--dry-run", "--json"]).json();
    assert!(
        json["removals"].to_string().contains("a\\nremoved"),
        "{json}"
    );

    // Configuration values are escaped too.
    let mut sandbox = Sandbox::new();
    sandbox.env("ELASTICSEARCH_INDEX", "idx\u{1b}]0;pwned\u{7}");
    let run = sandbox.run(&["config", "show"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("idx\\u{1b}]0;pwned\\u{7}"),
        "{}",
        run.stdout
    );
}

#[test]
fn non_utf8_names_fifos_and_sockets_are_cleaned_by_age() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    let dir = temp.join("odd");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let latin1 = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.wav"));
    std::fs::write(&latin1, b"abc").expect("write");
    let backslash = dir.join("back\\slash");
    std::fs::write(&backslash, b"de").expect("write");
    let fifo = dir.join("pipe");
    bachata_common_tests::fifo(&fifo);
    let socket = std::os::unix::net::UnixListener::bind(dir.join("sock")).expect("socket");
    drop(socket);
    let fresh = temp.join("fresh.txt");
    std::fs::write(&fresh, b"keep").expect("write");
    let when = filetime_ago(240);
    for path in [&latin1, &backslash] {
        age(path, 240);
    }
    for name in ["pipe", "sock"] {
        set_link_times(&dir.join(name), when);
    }
    set_link_times(&dir, when);

    let run = sandbox.run(&["cleanup", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["temporary_files"]["files_removed"], 4, "{json}");
    let removals = json["removals"].to_string();
    assert!(removals.contains("odd/caf\\\\xe9.wav"), "{removals}");
    assert!(removals.contains("odd/back\\\\\\\\slash"), "{removals}");
    assert!(!dir.exists(), "the emptied directory went too: {json}");
    assert!(fresh.exists());
}

/// A time `hours` ago.
fn filetime_ago(hours: u64) -> std::time::SystemTime {
    std::time::SystemTime::now() - Duration::from_secs(hours * 3600)
}

/// Sets the times of `path` itself (a FIFO, socket or directory) without opening it.
fn set_link_times(path: &Path, when: std::time::SystemTime) {
    let since = when
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch");
    let stamp = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: since.as_secs() as i64,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: since.as_secs() as i64,
            tv_nsec: 0,
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &stamp,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .expect("utimensat");
}

#[test]
fn a_locked_directory_keeps_itself_and_everything_in_it() {
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    let locked = temp.join("job");
    old_file(&locked.join("frame1.png"), b"1");
    old_file(&locked.join("deep/frame2.png"), b"2");
    old_file(&temp.join("loose.txt"), b"3");
    let holder = std::fs::File::open(&locked).expect("open dir");
    holder.lock().expect("flock the directory");
    let before = tree_digest(&locked);

    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(before, tree_digest(&locked), "{}", run.stdout);
    assert!(!temp.join("loose.txt").exists());
    assert!(run.json()["skipped_in_use"].as_u64().unwrap_or(0) >= 1);

    // The host refuses it too, whatever a policy asks.
    let areas = bachata_common::capabilities::fs::Areas::open(
        &sandbox.path().join("data"),
        &["temp".to_string()],
    )
    .expect("areas");
    let asked = [
        "job/deep/frame2.png".to_string(),
        "job/frame1.png".to_string(),
    ];
    for outcome in areas.remove("temp", &asked) {
        assert_eq!(
            outcome.status,
            bachata_common::capabilities::fs::RemovalStatus::InUse,
            "{outcome:?}"
        );
    }
    drop(holder);
    let run = sandbox.run(&["cleanup", "--force", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!locked.exists(), "{}", run.stdout);
}

#[test]
fn directory_and_link_swaps_during_cleanups_are_reported_not_fatal() {
    let sandbox = Sandbox::new();
    let (outside, before) = outside_tree(&sandbox);
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = std::sync::Arc::clone(&stop);
        let temp = temp.clone();
        let outside = outside.clone();
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                round += 1;
                let real = temp.join(format!("real{round}"));
                for index in 0..20 {
                    old_file(&real.join(format!("f{index}")), b"x");
                }
                let link = temp.join(format!("link{round}"));
                let _ = std::os::unix::fs::symlink(&outside, &link);
                // Swap the directory and the link under the cleaner.
                let _ = std::fs::rename(&link, temp.join("w"));
                let _ = std::fs::rename(&real, temp.join("x"));
                let _ = std::fs::rename(temp.join("w"), &real);
                let _ = std::fs::rename(temp.join("x"), &link);
            }
        })
    };
    let mut failures = Vec::new();
    for _ in 0..15 {
        let run = sandbox.run(&["cleanup", "--force", "--json"]);
        if run.code != 0 {
            failures.push(run);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().expect("swapper");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(before, tree_digest(&outside));
}

#[test]
fn two_thousand_levels_of_nesting_are_cleaned() {
    use rustix::fs::{Mode, OFlags};
    let sandbox = Sandbox::new();
    let temp = sandbox.path().join("data/temp");
    std::fs::create_dir_all(&temp).expect("mkdir");
    // Built through handles: the full path is longer than PATH_MAX.
    let mut dir = rustix::fs::open(&temp, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty())
        .expect("open temp");
    for _ in 0..2000 {
        rustix::fs::mkdirat(&dir, "d", Mode::from_raw_mode(0o700)).expect("mkdir");
        dir = rustix::fs::openat(&dir, "d", OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty())
            .expect("open");
    }
    let file = rustix::fs::openat(
        &dir,
        "bottom.txt",
        OFlags::CREATE | OFlags::WRONLY,
        Mode::from_raw_mode(0o600),
    )
    .expect("create");
    rustix::io::write(&file, b"deep").expect("write");
    drop((file, dir));

    let run = run_within(
        &sandbox,
        &["cleanup", "--force", "--json"],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["temporary_files"]["files_removed"], 1);
    assert_eq!(json["temporary_files"]["directories_removed"], 2000);
    assert!(!temp.join("d").exists());
}

#[test]
fn user_dirs_open_to_others_are_tightened_and_foreign_ones_refused() {
    let sandbox = Sandbox::new();
    let user_dir = sandbox.path().join("data/temp/user_7");
    std::fs::create_dir_all(&user_dir).expect("mkdir");
    std::fs::set_permissions(&user_dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let run = sandbox.run(&["tmp", "user-dir", "7"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mode = std::fs::metadata(&user_dir)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);

    let linked = sandbox.path().join("data/temp/user_8");
    std::os::unix::fs::symlink(sandbox.path(), &linked).expect("link");
    let run = sandbox.run(&["tmp", "user-dir", "8"]);
    assert_eq!(run.code, 2, "{run:?}");

    if rustix::process::geteuid().is_root() {
        let foreign = sandbox.path().join("data/temp/user_9");
        std::fs::create_dir_all(&foreign).expect("mkdir");
        std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).expect("chown");
        let run = sandbox.run(&["tmp", "user-dir", "9"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.error_line().contains("another user"), "{run:?}");
    }
}

/// A daemon on a random loopback port with `policy` (a test policy name) and a long deadline.
fn daemon_with(policy: Option<&str>, extra: &[(&str, &str)]) -> (Sandbox, Daemon) {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    if let Some(policy) = policy {
        sandbox
            .env(
                "BACHATA_POLICY",
                test_policy(policy).to_str().expect("utf-8"),
            )
            .env("BACHATA_POLICY_TIMEOUT_MS", "600000");
    }
    for (name, value) in extra {
        sandbox.env(name, value);
    }
    let daemon = sandbox.daemon();
    (sandbox, daemon)
}

fn post_cleanup(daemon: &Daemon, body: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("post")
}

#[test]
fn sigterm_during_a_long_cleanup_answers_and_exits_within_the_bound() {
    let (sandbox, daemon) = daemon_with(Some("slow"), &[]);
    let url = daemon.url("/v1/cleanup");
    let request = std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client")
            .post(url)
            .header("content-type", "application/json")
            .body(r#"{"force": true}"#)
            .send()
            .map(|response| {
                let status = response.status().as_u16();
                (status, response.text().unwrap_or_default())
            })
    });
    std::thread::sleep(Duration::from_millis(1500));
    // Meanwhile a second cleanup of the same data directory is refused, not interleaved.
    let second = post_cleanup(&daemon, "{}");
    assert_eq!(second.status(), 409);
    let cli = sandbox.run(&["cleanup"]);
    assert_eq!(cli.code, 1, "{cli:?}");
    assert!(cli.error_line().contains("another cleanup"), "{cli:?}");
    let started = Instant::now();
    let (code, stderr) = daemon.terminate();
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        took < bachata_common::daemon::SHUTDOWN_BOUND,
        "exit took {took:?}: {stderr}"
    );
    let (status, body) = request
        .join()
        .expect("request thread")
        .expect("the in-flight request got an answer");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cancelled"), "{body}");
}

/// Opens a raw connection to the daemon.
fn connect(daemon: &Daemon) -> TcpStream {
    let address = daemon.base.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
}

#[test]
fn idle_and_unfinished_connections_are_closed() {
    let (_sandbox, daemon) = daemon_with(None, &[]);
    let mut idle = connect(&daemon);
    let mut partial_headers = connect(&daemon);
    partial_headers
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .expect("write");
    let mut partial_body = connect(&daemon);
    partial_body
        .write_all(
            b"POST /v1/cleanup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"force\"",
        )
        .expect("write");
    let started = Instant::now();
    let mut buffer = Vec::new();
    // The server ends each connection (EOF, maybe after an error answer) instead of waiting.
    idle.read_to_end(&mut buffer).expect("idle closed");
    partial_headers
        .read_to_end(&mut buffer)
        .expect("headers closed");
    let mut answer = Vec::new();
    partial_body.read_to_end(&mut answer).expect("body closed");
    assert!(started.elapsed() < Duration::from_secs(50));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // And the daemon still answers.
    let health = reqwest::blocking::get(daemon.url("/healthz")).expect("healthz");
    assert_eq!(health.status(), 200);
}

#[test]
fn browsers_cannot_be_used_against_the_api() {
    let (sandbox, daemon) = daemon_with(None, &[]);
    let fresh = sandbox.path().join("data/temp/fresh.txt");
    std::fs::write(&fresh, b"fresh").expect("write");
    let client = reqwest::blocking::Client::new();
    // A cross-site form post: text/plain, from another origin.
    let cross_site = client
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "text/plain")
        .header("origin", "http://evil.example")
        .body(r#"{"force":true}"#)
        .send()
        .expect("post");
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        cross_site.headers()["content-type"],
        "application/problem+json"
    );
    // The same without an Origin header: still not JSON.
    let text_plain = client
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "text/plain")
        .body(r#"{"force":true}"#)
        .send()
        .expect("post");
    assert_eq!(text_plain.status(), 415);
    // DNS rebinding: a foreign Host name.
    let rebinding = client
        .get(daemon.url("/v1/resources"))
        .header("host", "evil.example:9464")
        .send()
        .expect("get");
    assert_eq!(rebinding.status(), 403);
    assert!(fresh.exists(), "nothing was removed");
    // Same-origin JSON works.
    let own = client
        .post(daemon.url("/v1/cleanup"))
        .header("content-type", "application/json")
        .header("origin", daemon.base.as_str())
        .body(r#"{"dry_run":true}"#)
        .send()
        .expect("post");
    assert_eq!(own.status(), 200);
}

#[test]
fn http_errors_are_problem_documents() {
    let (_sandbox, daemon) = daemon_with(None, &[]);
    let client = reqwest::blocking::Client::new();
    let json_post = |body: Vec<u8>| {
        client
            .post(daemon.url("/v1/cleanup"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("post")
    };
    for (response, status) in [
        (client.get(daemon.url("/nope")).send().expect("get"), 404),
        (
            client
                .delete(daemon.url("/v1/cleanup"))
                .send()
                .expect("delete"),
            405,
        ),
        (json_post(b"{\"force\": \xff}".to_vec()), 400),
    ] {
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{status}"
        );
        let document: serde_json::Value = response.json().expect("json");
        assert_eq!(document["status"], status, "{document}");
        assert!(document["detail"].is_string(), "{document}");
    }

    // A body declared larger than the limit is refused before it is read (sent raw: the
    // answer comes while a client would still be writing).
    let mut raw = connect(&daemon);
    raw.write_all(
        b"POST /v1/cleanup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 1048576\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut answer = String::new();
    raw.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let document: serde_json::Value = serde_json::from_str(body).expect("problem document");
    assert_eq!(document["status"], 413, "{document}");
}

#[test]
fn off_loopback_tokens_must_be_long_and_the_scheme_is_case_insensitive() {
    for token in ["x", " ", "short-token"] {
        let mut sandbox = Sandbox::new();
        sandbox
            .env("BACHATA_LISTEN", "0.0.0.0:0")
            .env("BACHATA_API_TOKEN", token);
        let run = run_within(&sandbox, &["run"], Duration::from_secs(30));
        assert_eq!(run.code, 2, "{token:?}: {run:?}");
    }
    let token = "a-long-enough-token-0123";
    let (_sandbox, daemon) = daemon_with(
        None,
        &[
            ("BACHATA_LISTEN", "0.0.0.0:0"),
            ("BACHATA_API_TOKEN", token),
        ],
    );
    let response = reqwest::blocking::Client::new()
        .post(daemon.url("/v1/cleanup"))
        .header("authorization", format!("bearer {token}"))
        .header("content-type", "application/json")
        .body(r#"{"dry_run": true}"#)
        .send()
        .expect("post");
    assert_eq!(response.status(), 200);
}

#[test]
fn an_area_root_moved_away_while_open_is_not_cleaned() {
    use bachata_common::capabilities::fs::{Areas, RemovalStatus};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let areas = Areas::open(&data, &["temp".to_string()]).expect("areas");
    old_file(&data.join("temp/old.txt"), b"x");
    // The operator moves the area away and puts a new one in its place.
    std::fs::rename(data.join("temp"), data.join("temp.keep")).expect("rename");
    std::fs::create_dir(data.join("temp")).expect("mkdir");
    let outcomes = areas.remove("temp", &["old.txt".to_string()]);
    assert_eq!(outcomes[0].status, RemovalStatus::Refused, "{outcomes:?}");
    assert!(
        outcomes[0]
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("moved or replaced")),
        "{outcomes:?}"
    );
    let scan = areas
        .scan("temp")
        .expect_err("a displaced root is not scanned");
    assert!(scan.contains("moved or replaced"), "{scan}");
    assert!(data.join("temp.keep/old.txt").exists());
}

#[test]
fn an_unloadable_policy_error_is_rendered_by_the_embedded_policy_and_says_so() {
    let sandbox = Sandbox::new();
    sandbox.write("junk.wasm", b"not a component");
    let run = sandbox.run(&["--policy", "junk.wasm", "--json", "policy", "info"]);
    assert_eq!(run.code, 2, "{run:?}");
    let document = run.json();
    assert_eq!(document["error_code"], "VALIDATION_ERROR", "{document}");
    assert!(
        document["rendered_by"]
            .as_str()
            .is_some_and(|by| by.contains("embedded")),
        "{document}"
    );
    // With a loadable policy, the active policy renders and says nothing more.
    let run = sandbox.run(&["--json", "tmp", "user-dir", "../x"]);
    assert_eq!(run.code, 2, "{run:?}");
    let document = run.json();
    assert_eq!(document["error_code"], "VALIDATION_ERROR", "{document}");
    assert!(document.get("rendered_by").is_none(), "{document}");
}

#[test]
fn a_cleanup_request_written_as_an_array_is_refused() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    let daemon = sandbox.daemon();
    for body in ["[]", "[false, true]", "[true, true, false, 5]"] {
        let response = post_cleanup(&daemon, body);
        assert_eq!(response.status().as_u16(), 400, "{body}");
    }
    assert_eq!(
        post_cleanup(&daemon, "{\"dry_run\": true}")
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn an_empty_cleanup_body_is_the_same_request_as_an_empty_object() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    for i in 0..3 {
        let path = sandbox.path().join(format!("data/temp/old-{i}.tmp"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, b"x").expect("write");
        age(&path, 100);
    }
    let daemon = sandbox.daemon();
    let samples = |body: &str| -> usize {
        let report: serde_json::Value = post_cleanup(&daemon, body).json().expect("json");
        report["removals"].as_array().map_or(0, Vec::len)
    };
    // A dry run removes nothing, so both list the same three removals.
    assert_eq!(samples(r#"{"dry_run": true}"#), 3);
    let empty: serde_json::Value = post_cleanup(&daemon, "").json().expect("json");
    assert_eq!(
        empty["removals"].as_array().map_or(0, Vec::len),
        3,
        "{empty}"
    );
}
