//! Policy sets: each concern answered by the first component that exports it, else by the
//! stock policy; a component exporting nothing known refused; hot reload of one file keeping
//! the others.

use bachata_common_tests::{Sandbox, test_policy};
use sha2::{Digest, Sha256};

fn text(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8")
}

#[test]
fn one_concern_from_a_component_and_the_rest_from_the_stock_policy() {
    let sandbox = Sandbox::new();
    let teapot = test_policy("teapot");
    let message = sandbox.run(&[
        "--policy",
        text(&teapot),
        "errors",
        "message",
        "MUSIC_ANALYSIS_ERROR",
        "too_short",
        "--json",
    ]);
    assert_eq!(message.code, 0, "{message:?}");
    let message = message.json();
    assert_eq!(message["http_status"], 418);
    assert_eq!(message["message"], "I am a teapot (MUSIC_ANALYSIS_ERROR)");
    // Configuration is the stock policy's.
    let config = sandbox.run(&["--policy", text(&teapot), "config", "show", "--json"]);
    assert_eq!(config.code, 0, "{config:?}");
    assert_eq!(config.json()["elasticsearch"]["port"], 9200);
    let info = sandbox
        .run(&["--policy", text(&teapot), "policy", "info", "--json"])
        .json();
    assert_eq!(info["concerns"]["errors"]["origin"], text(&teapot));
    let contract = bachata_common::policy::WIT_PACKAGE
        .split_once('@')
        .map(|(_, version)| version);
    assert_eq!(info["concerns"]["errors"]["contract"].as_str(), contract);
    for concern in [
        "config",
        "cleanup",
        "pose",
        "monitor",
        "events",
        "experiments",
        "organizer",
    ] {
        assert_eq!(info["concerns"][concern]["origin"], "embedded", "{concern}");
    }
    let components = info["components"].as_array().expect("components");
    assert_eq!(components.len(), 2);
    assert_eq!(components[0]["answers"], serde_json::json!(["errors"]));
    assert_eq!(components[1]["origin"], "embedded");
    let teapot_sha = hex::encode(Sha256::digest(std::fs::read(&teapot).expect("read")));
    assert_eq!(info["concerns"]["errors"]["sha256"], teapot_sha);
    // The text form names the component of each concern too.
    let info = sandbox.run(&["--policy", text(&teapot), "policy", "info"]);
    assert!(
        info.stdout
            .lines()
            .any(|line| line.trim_start().starts_with("errors") && line.contains("teapot.wasm")),
        "{}",
        info.stdout
    );
}

#[test]
fn the_first_component_exporting_a_concern_answers_it() {
    let mut sandbox = Sandbox::new();
    let teapot = test_policy("teapot");
    let size_first = test_policy("size-first");
    // The stock policy as a file: a component exporting every concern.
    let stock = sandbox.write("stock.wasm", bachata_common::policy::EMBEDDED_POLICY);
    let list = format!("{}:{}:{}", text(&teapot), text(&size_first), text(&stock));
    sandbox.env("BACHATA_POLICY", &list);
    let info = sandbox.run(&["policy", "info", "--json"]).json();
    assert_eq!(info["concerns"]["errors"]["origin"], text(&teapot));
    assert_eq!(info["concerns"]["cleanup"]["origin"], text(&size_first));
    assert_eq!(info["concerns"]["config"]["origin"], text(&stock));
    let components = info["components"].as_array().expect("components");
    assert_eq!(components.len(), 4);
    assert_eq!(components[1]["answers"], serde_json::json!(["cleanup"]));
    assert_eq!(components[3]["answers"], serde_json::json!([]));

    let reversed = Sandbox::new()
        .run(&[
            "--policy",
            text(&stock),
            "--policy",
            text(&teapot),
            "policy",
            "info",
            "--json",
        ])
        .json();
    assert_eq!(reversed["concerns"]["errors"]["origin"], text(&stock));
    assert_eq!(reversed["components"][1]["answers"], serde_json::json!([]));
}

#[test]
fn a_component_exporting_nothing_known_is_refused_naming_it() {
    let stranger = test_policy("stranger");
    let run = Sandbox::new().run(&["--policy", text(&stranger), "policy", "info"]);
    assert_ne!(run.code, 0, "{run:?}");
    let all = run.all_output();
    assert!(all.contains("stranger.wasm"), "{all}");
    assert!(all.contains("exports nothing this host calls"), "{all}");
}

#[test]
fn the_self_check_runs_each_concern_on_its_component() {
    let teapot = test_policy("teapot");
    let run = Sandbox::new().run(&["--policy", text(&teapot), "policy", "check", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let check = run.json();
    assert_eq!(
        check["self_check"]["catalog_entries"], 1,
        "the teapot's catalog"
    );
    assert!(check["self_check"]["settings"].as_u64().expect("settings") > 10);
}

#[test]
fn hot_reload_swaps_one_files_concerns_and_keeps_the_others() {
    let mut sandbox = Sandbox::new();
    let first = sandbox.write(
        "errors.wasm",
        std::fs::read(test_policy("teapot")).expect("teapot"),
    );
    let second = sandbox.write(
        "cleanup.wasm",
        std::fs::read(test_policy("size-first")).expect("size-first"),
    );
    let size_first_sha = hex::encode(Sha256::digest(
        std::fs::read(&second).expect("read size-first"),
    ));
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env(
            "BACHATA_POLICY",
            &format!("{}:{}", text(&first), text(&second)),
        );
    let daemon = sandbox.daemon();
    let answered_by = |concern: &str, path: &std::path::Path| {
        format!(
            "bachata_common_policy_info{{concern=\"{concern}\",origin=\"{}\"",
            text(path)
        )
    };
    let metrics = daemon.metrics();
    assert!(
        metrics.contains(&answered_by("errors", &first)),
        "{metrics}"
    );
    assert!(
        metrics.contains(&answered_by("cleanup", &second)),
        "{metrics}"
    );

    // A broken component in the second file: refused, the set keeps its last good one.
    let staging = sandbox.write(
        "staging.wasm",
        std::fs::read(test_policy("stranger")).expect("stranger"),
    );
    std::fs::rename(&staging, &second).expect("rename");
    let metrics = daemon.wait_for_metric("policy_reloads_total{result=\"failure\"} 1");
    assert!(
        metrics.contains(&answered_by("cleanup", &second)),
        "{metrics}"
    );

    // A good one (the stock policy): only that file's concerns change; the first file keeps
    // answering its own.
    let staging = sandbox.write("staging.wasm", bachata_common::policy::EMBEDDED_POLICY);
    let stock_sha = hex::encode(Sha256::digest(bachata_common::policy::EMBEDDED_POLICY));
    std::fs::rename(&staging, &second).expect("rename");
    let metrics = daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 1");
    let cleanup_line = format!("{},sha256=\"{stock_sha}\"", answered_by("cleanup", &second));
    assert!(metrics.contains(&cleanup_line), "{metrics}");
    assert!(
        metrics.contains(&answered_by("errors", &first)),
        "{metrics}"
    );
    assert!(!metrics.contains(&size_first_sha), "{metrics}");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_file_named_twice_is_refused_and_empty_list_entries_are_skipped() {
    let sandbox = Sandbox::new();
    let teapot = test_policy("teapot");
    let twice = sandbox.run(&[
        "--policy",
        text(&teapot),
        "--policy",
        text(&teapot),
        "policy",
        "info",
    ]);
    assert_eq!(twice.code, 2, "{twice:?}");
    assert!(
        twice.all_output().contains("names the same file as"),
        "{twice:?}"
    );
    let link = sandbox.path().join("link.wasm");
    std::os::unix::fs::symlink(&teapot, &link).expect("link");
    let through_a_link = sandbox.run(&[
        "--policy",
        text(&teapot),
        "--policy",
        text(&link),
        "policy",
        "info",
    ]);
    assert_eq!(through_a_link.code, 2, "{through_a_link:?}");

    for list in [
        String::new(),
        "::".to_string(),
        format!("::{}:", text(&teapot)),
    ] {
        let mut sandbox = Sandbox::new();
        sandbox.env("BACHATA_POLICY", &list);
        let info = sandbox.run(&["policy", "info", "--json"]);
        assert_eq!(info.code, 0, "{list:?}: {info:?}");
        let expected = if list.contains("teapot") {
            text(&teapot).to_string()
        } else {
            "embedded".to_string()
        };
        assert_eq!(
            info.json()["concerns"]["errors"]["origin"],
            expected.as_str()
        );
    }
}

#[test]
fn a_policy_flag_is_one_path_even_with_a_colon() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path().join("a:b")).expect("mkdir");
    let path = sandbox.write(
        "a:b/teapot.wasm",
        std::fs::read(test_policy("teapot")).expect("teapot"),
    );
    let info = sandbox.run(&["--policy", text(&path), "policy", "info", "--json"]);
    assert_eq!(info.code, 0, "{info:?}");
    assert_eq!(info.json()["concerns"]["errors"]["origin"], text(&path));
}

#[test]
fn two_files_of_a_set_changed_at_once_are_both_taken() {
    let mut sandbox = Sandbox::new();
    let teapot = std::fs::read(test_policy("teapot")).expect("teapot");
    let size_first = std::fs::read(test_policy("size-first")).expect("size-first");
    let stock = bachata_common::policy::EMBEDDED_POLICY.to_vec();
    let first = sandbox.write("a.wasm", &teapot);
    let second = sandbox.write("b.wasm", &stock);
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0").env(
        "BACHATA_POLICY",
        &format!("{}:{}", text(&first), text(&second)),
    );
    let daemon = sandbox.daemon();
    let cleanup_from = |path: &std::path::Path| {
        format!(
            "bachata_common_policy_info{{concern=\"cleanup\",origin=\"{}\"",
            text(path)
        )
    };
    for round in 0..4 {
        // Even rounds: the first file answers cleanup (size-first); odd rounds: errors only.
        let (a, b, answering) = if round % 2 == 0 {
            (&size_first, &teapot, &first)
        } else {
            (&teapot, &stock, &second)
        };
        let staged_a = sandbox.write("staged-a.wasm", a);
        let staged_b = sandbox.write("staged-b.wasm", b);
        std::fs::rename(&staged_a, &first).expect("rename a");
        std::fs::rename(&staged_b, &second).expect("rename b");
        let successes = 2 * (round + 1);
        let metrics = daemon.wait_for_metric(&format!(
            "policy_reloads_total{{result=\"success\"}} {successes}"
        ));
        assert!(
            metrics.contains(&cleanup_from(answering)),
            "round {round}: {metrics}"
        );
    }
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_set_of_many_files_is_watched_by_one_watcher_and_a_removed_file_is_said() {
    let mut sandbox = Sandbox::new();
    let teapot = std::fs::read(test_policy("teapot")).expect("teapot");
    let stock = bachata_common::policy::EMBEDDED_POLICY.to_vec();
    // More files than the usual 128 inotify instances a user may open: one watcher each
    // would fail to start.
    let files: Vec<std::path::PathBuf> = (0..200)
        .map(|i| sandbox.write(&format!("p{i:03}.wasm"), &teapot))
        .collect();
    let last = files.last().expect("files").clone();
    let list: Vec<&str> = files.iter().map(|path| text(path)).collect();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("BACHATA_POLICY", &list.join(":"));
    let daemon = sandbox.daemon();
    // The last file of the set changes: it is reloaded (errors still come from the first).
    let staged = sandbox.write("staged.wasm", &stock);
    std::fs::rename(&staged, &last).expect("rename");
    let metrics = daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 1");
    assert!(
        metrics.contains(&format!(
            "bachata_common_policy_info{{concern=\"errors\",origin=\"{}\"",
            text(&files[0])
        )),
        "{metrics}"
    );
    // The first file is removed: said once, and its component keeps serving.
    std::fs::remove_file(&files[0]).expect("remove");
    let metrics = daemon.wait_for_metric("policy_reloads_total{result=\"gone\"} 1");
    assert!(
        metrics.contains(&format!(
            "bachata_common_policy_info{{concern=\"errors\",origin=\"{}\"",
            text(&files[0])
        )),
        "{metrics}"
    );
    // Put back, it is loaded as a change.
    let staged = sandbox.write("staged.wasm", &stock);
    std::fs::rename(&staged, &files[0]).expect("rename back");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 2");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("policy file is gone").count(), 1, "{stderr}");
}

#[test]
fn a_file_named_through_a_linked_directory_is_reloaded_and_a_recreated_directory_is_watched_again()
{
    let mut sandbox = Sandbox::new();
    let teapot = std::fs::read(test_policy("teapot")).expect("teapot");
    let stock = bachata_common::policy::EMBEDDED_POLICY.to_vec();
    let real = sandbox.path().join("real");
    let gone = sandbox.path().join("gone");
    std::fs::create_dir(&real).expect("mkdir");
    std::fs::create_dir(&gone).expect("mkdir");
    std::os::unix::fs::symlink(&real, sandbox.path().join("alias")).expect("symlink");
    std::fs::write(real.join("a.wasm"), &teapot).expect("write");
    std::fs::write(real.join("b.wasm"), &teapot).expect("write");
    std::fs::write(gone.join("c.wasm"), &teapot).expect("write");
    let a = real.join("a.wasm");
    let b = sandbox.path().join("alias").join("b.wasm");
    let c = gone.join("c.wasm");
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0").env(
        "BACHATA_POLICY",
        &format!("{}:{}:{}", text(&b), text(&a), text(&c)),
    );
    let daemon = sandbox.daemon();
    // Both names of the one directory are heard.
    let staged = sandbox.write("staged.wasm", &stock);
    std::fs::rename(&staged, real.join("b.wasm")).expect("rename");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 1");
    let staged = sandbox.write("staged.wasm", &stock);
    std::fs::rename(&staged, &a).expect("rename");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 2");
    // A directory removed with its file and made again: the file is found and loaded.
    std::fs::remove_dir_all(&gone).expect("rm -r");
    daemon.wait_for_metric("policy_reloads_total{result=\"gone\"} 1");
    std::fs::create_dir(&gone).expect("mkdir again");
    std::fs::write(&c, &stock).expect("write again");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 3");
    // And it is watched again: a later change is heard too.
    let staged = sandbox.write("staged.wasm", &teapot);
    std::fs::rename(&staged, &c).expect("rename");
    daemon.wait_for_metric("policy_reloads_total{result=\"success\"} 4");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}
