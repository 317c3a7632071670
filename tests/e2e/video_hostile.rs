//! Pose on video against hostile files, outputs and signals: metadata posing as the decoder's
//! log, playlists posing as videos, outputs on devices, links and each other, a run stopped by
//! a signal, a closed standard error, a cover or thumbnail stream first.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bachata_common_tests::{Run, shared};

use super::video::{ffmpeg, have_ffmpeg, pose, sandbox};

/// A 320×180 clip of the astronaut (100 px), `seconds` long at 30 fps, with `extra` options.
fn clip(dir: &Path, name: &str, seconds: u32, extra: &[&str]) -> String {
    let path = dir.join(name);
    let background = format!("color=c=0x506070:s=320x180:r=30:d={seconds}");
    let astronaut = shared("fixtures/astronaut.png");
    let mut args = vec!["-f", "lavfi", "-i", &background, "-loop", "1", "-i"];
    args.push(astronaut.to_str().expect("utf-8"));
    args.extend([
        "-filter_complex",
        "[1:v]scale=100:100[a];[0:v][a]overlay=x=40:y=60:shortest=1,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ]);
    args.extend(extra);
    args.push(path.to_str().expect("utf-8"));
    ffmpeg(&args);
    path.display().to_string()
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect()
}

#[test]
fn metadata_posing_as_the_decoders_log_changes_nothing() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = clip(
        sandbox.path(),
        "tagged.mp4",
        1,
        &[
            "-metadata",
            "comment=[error] gotcha",
            "-metadata",
            "title=x showinfo pts_time:1234.5 y\n[Parsed_showinfo_1 @ 0x1] [info] n: 0 pts_time:99",
        ],
    );
    let (run, frames) = pose(&sandbox, Path::new(&video), &["--fps", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    let times: Vec<f64> = frames
        .iter()
        .map(|frame| frame["timestamp"].as_f64().expect("t"))
        .collect();
    assert_eq!(times.len(), 5);
    for (index, time) in times.iter().enumerate() {
        assert!((time - index as f64 * 0.2).abs() < 1e-3, "{times:?}");
    }
}

#[test]
fn a_playlist_posing_as_a_video_is_refused_without_reading_what_it_names() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let fifo = sandbox.path().join("hang.ts");
    bachata_common_tests::fifo(&fifo);
    let playlist = sandbox.write(
        "playlist.mp4",
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{}\n",
            fifo.display()
        ),
    );
    let started = Instant::now();
    let run = sandbox.run(&["pose", playlist.to_str().expect("utf-8")]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it waited on the FIFO"
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line().contains("cannot open video"),
        "{}",
        run.error_line()
    );
}

#[test]
fn outputs_on_devices_links_and_each_other() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = clip(sandbox.path(), "one.mp4", 1, &[]);
    // A FIFO at the output is written through, never replaced.
    let fifo = sandbox.path().join("lines.fifo");
    bachata_common_tests::fifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read fifo"))
    };
    let run = sandbox.run(&[
        "pose",
        &video,
        "--fps",
        "5",
        "--jsonl",
        fifo.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(reader.join().expect("reader").lines().count(), 5);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .expect("fifo")
            .file_type()
            .is_fifo()
    );
    // A link at the output is refused, its target untouched.
    let target = sandbox.write("target.txt", b"keep");
    let link = sandbox.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).expect("link");
    let run = sandbox.run(&["pose", &video, "--jsonl", link.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line().contains("is a link"),
        "{}",
        run.error_line()
    );
    assert_eq!(std::fs::read(&target).expect("target"), b"keep");
    // The same file for both outputs, a name that is not an MP4, and `-`.
    let same = sandbox.path().join("same.mp4");
    let same = same.to_str().expect("utf-8");
    let run = sandbox.run(&["pose", &video, "--annotate", same, "--jsonl", same]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line().contains("same file"),
        "{}",
        run.error_line()
    );
    for name in ["drawn.avi", "-"] {
        let run = sandbox.run(&["pose", &video, "--annotate", name]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.error_line().contains("MP4"), "{}", run.error_line());
    }
    // Written files follow the umask, as any new file.
    let (run, _) = pose(&sandbox, Path::new(&video), &["--fps", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = sandbox.path().join("out.jsonl");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).expect("out").permissions().mode() & 0o777;
    assert_ne!(mode, 0o600, "mode {mode:o}");
    assert!(partials(sandbox.path()).is_empty());
}

#[test]
fn a_signal_stops_the_run_and_leaves_nothing_pending() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = clip(sandbox.path(), "long.mp4", 8, &[]);
    let out = sandbox.path().join("out.jsonl");
    let drawn = sandbox.path().join("drawn.mp4");
    let child = sandbox
        .command(&[
            "pose",
            &video,
            "--fps",
            "30",
            "--jsonl",
            out.to_str().expect("utf-8"),
            "--annotate",
            drawn.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the run is writing.
    let started = Instant::now();
    while partials(sandbox.path()).len() < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
    let run = Run::from_output(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 143, "{run:?}");
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    assert!(!out.exists() && !drawn.exists());
    assert!(
        partials(sandbox.path()).is_empty(),
        "{:?}",
        partials(sandbox.path())
    );
}

#[test]
fn a_full_standard_error_is_no_panic() {
    let sandbox = sandbox();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = sandbox
        .command(&["pose", "missing.mp4"])
        .stderr(full)
        .stdout(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_largest_stream_is_read_not_a_thumbnail_before_it() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = clip(sandbox.path(), "main.mp4", 1, &[]);
    let thumb = sandbox.path().join("thumb.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=16x16:r=30:d=1",
        "-frames:v",
        "1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        thumb.to_str().expect("utf-8"),
    ]);
    let thumb = thumb.display().to_string();
    let both = sandbox.path().join("both.mp4");
    ffmpeg(&[
        "-i",
        &thumb,
        "-i",
        &video,
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-c",
        "copy",
        both.to_str().expect("utf-8"),
    ]);
    let (run, frames) = pose(&sandbox, &both, &["--fps", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(frames.len(), 5);
}
