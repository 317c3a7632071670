//! The monitor's HTML report in a real browser: a week of decisions and feedback logged
//! through the library, the report rendered to a file and opened offline by headless
//! Chromium, which must show the key figures and the four charts without a console error,
//! and paint a full page. Skipped (with a note) when Chromium is not installed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bachata_common::Policy;
use bachata_common::config::{Database, MonitorSettings};
use bachata_common::monitor::{DecisionInput, FeedbackInput, Monitor};
use serde_json::json;

/// How long one Chromium run may take.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);
/// The move id that must come out escaped.
const HOSTILE_MOVE: &str = "<script>alert(1)</script>";

/// `$CHROMIUM`, else the usual places of a Chromium binary.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (days to civil date: H. Hinnant's algorithm).
fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[test]
fn rfc3339_of_known_times() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_715_083_200 + 3_723), "2024-05-07T13:02:03Z");
}

/// What was logged: decisions and feedback events.
struct Logged {
    decisions: usize,
    feedback: usize,
}

/// Six busy days out of the last seven (three days ago is quiet), two algorithm versions,
/// feedback of every type.
fn log_week(monitor: &Monitor) -> Logged {
    let policy = bachata_common::Policy::shared().expect("policy");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let moves = ["basic", "cross_body_lead", "dips", HOSTILE_MOVE];
    let mut decisions = Vec::new();
    for days_ago in [6i64, 5, 4, 2, 1, 0] {
        let timestamp = rfc3339(now - days_ago * 86_400);
        for index in 0..(4 + days_ago as usize * 2) {
            let first = index % moves.len();
            let input: DecisionInput = serde_json::from_value(json!({
                "timestamp": timestamp,
                "input_song": format!("Song {days_ago}-{index}"),
                "recommended_moves": [moves[first], moves[(first + 1) % moves.len()], "basic_turn"],
                "recommendation_scores": [0.95 - index as f64 * 0.01, 0.8, 0.6],
                "algorithm_version": if index % 3 == 0 { "2.0" } else { "1.0" },
                "processing_time_ms": 18.0 + (index * 7 % 40) as f64 + days_ago as f64 * 3.0,
            }))
            .expect("decision input");
            decisions.push(((timestamp.clone(), moves[first]), input));
        }
    }
    let count = decisions.len();
    let (judged, inputs): (Vec<(String, &str)>, Vec<DecisionInput>) = decisions.into_iter().unzip();
    let logged = monitor
        .log_decisions(policy, inputs)
        .expect("decisions logged");
    assert_eq!(logged.len(), count);
    let kinds = ["like", "use", "rating", "dislike", "like", "skip", "rating"];
    let feedback: Vec<FeedbackInput> = logged
        .iter()
        .zip(&judged)
        .enumerate()
        .filter(|(index, _)| index % 4 != 3)
        .map(|(index, (decision, (timestamp, first)))| {
            let kind = kinds[index % kinds.len()];
            serde_json::from_value(json!({
                "decision_id": decision.id,
                "timestamp": timestamp,
                "feedback_type": kind,
                "feedback_value": (kind == "rating").then_some(if index % 2 == 0 { 5.0 } else { 3.0 }),
                "move_id": first,
            }))
            .expect("feedback input")
        })
        .collect();
    let feedback_count = feedback.len();
    monitor
        .log_feedbacks(policy, feedback)
        .expect("feedback logged");
    Logged {
        decisions: count,
        feedback: feedback_count,
    }
}

/// A finished Chromium run.
struct Browser {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs Chromium headless on `page` with `extra` flags, its profile and output in `dir`.
fn run_chromium(binary: &Path, dir: &Path, name: &str, extra: &[String], page: &Path) -> Browser {
    let profile = dir.join(format!("profile-{name}"));
    let stdout_path = dir.join(format!("{name}.stdout"));
    let stderr_path = dir.join(format!("{name}.stderr"));
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .map(str::to_string)
    .to_vec();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().cloned());
    args.push(format!("file://{}", page.display()));
    let mut child = Command::new(binary)
        .args(&args)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|error| panic!("{} does not start: {error}", binary.display()));
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish in {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Browser {
        status: status.code(),
        stdout: String::from_utf8_lossy(&fs::read(&stdout_path).expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&stderr_path).expect("stderr")).into_owned(),
    }
}

/// The lines where the page logged to its console or threw.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            line.contains("CONSOLE(")
                || line.contains("CONSOLE:")
                || line.contains("Uncaught")
                || line.contains("Content Security Policy")
        })
        .collect()
}

/// The text of the key figure `id` in `html` (its `<dd>`).
fn key_figure<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"kpi-{id}\""))
        .unwrap_or_else(|| panic!("no key figure {id}"));
    let rest = &html[start..];
    let value = &rest[rest.find("<dd>").expect("<dd>") + 4..];
    &value[..value.find("</dd>").expect("</dd>")]
}

#[test]
fn report_page_renders_offline_in_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let monitor = Monitor::open(&MonitorSettings {
        database: Database::new(dir.path().join("m.sqlite3").display().to_string()),
        retention_days: 90,
    })
    .expect("monitor");
    let logged = log_week(&monitor);
    let policy = Policy::embedded().expect("policy");
    let report = monitor.report(&policy, 7).expect("report");
    let html = report.to_html();
    let page = dir.path().join("report.html");
    fs::write(&page, &html).expect("page written");

    // The page itself: nothing to fetch, nothing to run, the hostile move escaped.
    let lower = html.to_ascii_lowercase();
    for needle in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(",
        "@import",
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
    ] {
        assert!(!lower.contains(needle), "the page holds {needle:?}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("NaN"));
    assert_eq!(
        key_figure(&html, "decisions"),
        logged.decisions.to_string(),
        "decisions"
    );

    let Some(chromium) = chromium() else {
        eprintln!("skipped: chromium not found (apt-get install chromium)");
        return;
    };

    // The DOM Chromium built from the page.
    let dom = run_chromium(
        &chromium,
        dir.path(),
        "dom",
        &["--dump-dom".to_string()],
        &page,
    );
    assert_eq!(dom.status, Some(0), "chromium failed:\n{}", dom.stderr);
    let console = console_lines(&dom.stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.stdout
            .contains("<h1 id=\"title\">Bachata Buddy — recommender performance</h1>"),
        "no title in the DOM:\n{}",
        dom.stdout
    );
    assert_eq!(dom.stdout.matches("<svg ").count(), 4, "{}", dom.stdout);
    for id in ["decisions", "latency", "satisfaction", "feedback"] {
        assert!(
            dom.stdout.contains(&format!("<figure id=\"figure-{id}\"")),
            "figure {id}"
        );
        assert!(
            dom.stdout.contains(&format!("<svg id=\"chart-{id}\"")),
            "chart {id}"
        );
    }
    assert_eq!(
        key_figure(&dom.stdout, "decisions"),
        logged.decisions.to_string()
    );
    assert_eq!(
        key_figure(&dom.stdout, "feedback"),
        format!("{} <small>events</small>", logged.feedback)
    );
    for id in [
        "latency-mean",
        "latency-p50",
        "latency-p95",
        "latency-p99",
        "score",
        "satisfaction",
        "rating",
        "precision",
        "recall",
        "f1",
        "ndcg",
        "mrr",
        "hit-rate",
        "accuracy",
    ] {
        let value = key_figure(&dom.stdout, id);
        let number = value.split_whitespace().next().unwrap_or_default();
        assert!(
            number.parse::<f64>().is_ok_and(f64::is_finite),
            "{id} = {value:?}"
        );
    }
    assert!(dom.stdout.contains("id=\"versions-table\""), "two versions");
    assert!(dom.stdout.contains("id=\"top-moves-table\""));
    assert!(
        dom.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile move is text"
    );
    assert!(!dom.stdout.contains("<script"), "no script element");
    assert!(!dom.stdout.contains("id=\"no-data\""));

    // A screenshot: the page paints, charts included.
    let shot = dir.path().join("report.png");
    let screenshot = run_chromium(
        &chromium,
        dir.path(),
        "screenshot",
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2000".to_string(),
        ],
        &page,
    );
    assert_eq!(
        screenshot.status,
        Some(0),
        "chromium failed:\n{}",
        screenshot.stderr
    );
    let console = console_lines(&screenshot.stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let bytes = fs::metadata(&shot).expect("screenshot written").len();
    assert!(bytes > 40_000, "the screenshot is only {bytes} bytes");
    let image = image::open(&shot).expect("screenshot decodes").to_rgb8();
    assert_eq!(image.dimensions(), (1200, 2000));
    let colors: std::collections::HashSet<[u8; 3]> =
        image.pixels().step_by(7).map(|pixel| pixel.0).collect();
    assert!(colors.len() > 50, "{} colours only", colors.len());
    if let Some(keep) = std::env::var_os("REPORT_HTML_KEEP") {
        let keep = PathBuf::from(keep);
        fs::create_dir_all(&keep).expect("keep dir");
        fs::copy(&page, keep.join("report.html")).expect("page kept");
        fs::copy(&shot, keep.join("report.png")).expect("screenshot kept");
    }
}

/// A report with nothing in it renders in Chromium too.
#[test]
fn empty_report_renders_in_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let monitor = Monitor::open(&MonitorSettings {
        database: Database::new(dir.path().join("m.sqlite3").display().to_string()),
        retention_days: 90,
    })
    .expect("monitor");
    let policy = Policy::embedded().expect("policy");
    let html = monitor.report(&policy, 1).expect("report").to_html();
    assert!(html.contains("id=\"no-data\""));
    let page = dir.path().join("empty.html");
    fs::write(&page, &html).expect("page written");
    let Some(chromium) = chromium() else {
        eprintln!("skipped: chromium not found (apt-get install chromium)");
        return;
    };
    let dom = run_chromium(
        &chromium,
        dir.path(),
        "empty",
        &["--dump-dom".to_string()],
        &page,
    );
    assert_eq!(dom.status, Some(0), "chromium failed:\n{}", dom.stderr);
    assert!(console_lines(&dom.stderr).is_empty(), "{}", dom.stderr);
    assert!(dom.stdout.contains("id=\"no-data\""));
    assert_eq!(dom.stdout.matches("<svg ").count(), 4);
    assert_eq!(key_figure(&dom.stdout, "decisions"), "0");
}
