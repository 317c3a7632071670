//! Pose on video end to end: clips generated here with `ffmpeg` from the fixtures, followed
//! by `pose VIDEO --couple` with the real model: track ids, lead and follow, timestamps,
//! rotation, variable frame rates, and bad files refused whole.
//!
//! Without `ffmpeg` on `PATH` the tests say so and pass, unless `BACHATA_REQUIRE_FFMPEG=1`
//! (CI installs FFmpeg and sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use bachata_common_tests::{Run, Sandbox, shared};

pub(super) fn have_ffmpeg() -> bool {
    let found = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("BACHATA_REQUIRE_FFMPEG").is_none(),
            "BACHATA_REQUIRE_FFMPEG is set but ffmpeg is not on PATH"
        );
        eprintln!("ffmpeg is not on PATH: video tests skipped");
    }
    found
}

pub(super) fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env(
        "YOLOV8_MODEL",
        shared("models/yolo11n-pose.onnx").to_str().expect("utf-8"),
    );
    sandbox.env("YOLOV8_THREADS", "2");
    sandbox
}

/// Runs `ffmpeg` with `args` (quiet, overwriting).
pub(super) fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A 640×360 30 fps clip of `seconds` with the astronaut (160 px) overlaid by `layout`, a
/// filter taking `[0:v]` (background) and `[a]`, `[b]` (two copies) to `[out]`.
fn clip(dir: &Path, name: &str, seconds: u32, layout: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let background = format!("color=c=0x506070:s=640x360:r=30:d={seconds}");
    let filter = format!("[1:v]scale=160:160,split[a][b];{layout};[out]format=yuv420p[v]");
    let mut args = vec!["-f", "lavfi", "-i", &background, "-loop", "1", "-i"];
    let astronaut = shared("fixtures/astronaut.png");
    args.push(astronaut.to_str().expect("utf-8"));
    args.extend([
        "-filter_complex",
        &filter,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ]);
    let duration = seconds.to_string();
    args.extend(["-t", &duration]);
    args.extend(extra);
    args.push(path.to_str().expect("utf-8"));
    ffmpeg(&args);
    path
}

/// Two people: one from the left moving right, one from the right moving left, crossing.
fn crossing(dir: &Path) -> PathBuf {
    clip(
        dir,
        "crossing.mp4",
        4,
        "[0:v][a]overlay=x='60+120*t':y=150[t];[t][b]overlay=x='420-120*t':y=170:shortest=1[out]",
        &[],
    )
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}

pub(super) fn pose(
    sandbox: &Sandbox,
    video: &Path,
    extra: &[&str],
) -> (Run, Vec<serde_json::Value>) {
    let out = sandbox.path().join("out.jsonl");
    let _ = std::fs::remove_file(&out);
    let mut args = vec![
        "pose",
        video.to_str().expect("utf-8"),
        "--couple",
        "--jsonl",
    ];
    args.push(out.to_str().expect("utf-8"));
    args.extend(extra);
    let run = sandbox.run(&args);
    let frames = if run.code == 0 {
        lines(&out)
    } else {
        Vec::new()
    };
    (run, frames)
}

fn x1(frame: &serde_json::Value, index: &serde_json::Value) -> f64 {
    frame["people"][index.as_u64().expect("index") as usize]["bbox"]["x1"]
        .as_f64()
        .expect("x1")
}

#[test]
fn two_dancers_crossing_keep_their_ids_and_the_left_one_leads() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = crossing(sandbox.path());
    let (run, frames) = pose(&sandbox, &video, &["--fps", "10"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 120 frames at 30 fps, every 3rd: 40 processed, at the sampled frames' times.
    assert_eq!(frames.len(), 40);
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame["frame_idx"], index as u64);
        assert_eq!(frame["source_frame"], 3 * index as u64);
        let timestamp = frame["timestamp"].as_f64().expect("timestamp");
        assert!((timestamp - index as f64 * 0.1).abs() < 1e-3, "{timestamp}");
        let people = frame["people"].as_array().expect("people");
        assert_eq!(frame["has_both_dancers"], people.len() >= 2);
        match people.len() {
            0 => assert!(frame["lead"].is_null() && frame["follow"].is_null()),
            1 => assert!(frame["lead"] == 0 && frame["follow"].is_null()),
            _ => {
                let lead = x1(frame, &frame["lead"]);
                let follow = x1(frame, &frame["follow"]);
                assert!(
                    people
                        .iter()
                        .all(|p| p["bbox"]["x1"].as_f64().expect("x1") >= lead)
                );
                assert!(
                    people
                        .iter()
                        .all(|p| p["bbox"]["x1"].as_f64().expect("x1") <= follow)
                );
                assert_eq!(
                    frame["lead_id"],
                    people[frame["lead"].as_u64().expect("lead") as usize]["id"]
                );
            }
        }
    }
    // Apart, before they meet: two people, the one from the left is track 0 and leads.
    let apart: Vec<_> = frames[..10]
        .iter()
        .filter(|f| f["has_both_dancers"] == true)
        .collect();
    assert!(
        apart.len() >= 9,
        "{} of the first 10 frames have both",
        apart.len()
    );
    for frame in apart {
        assert_eq!(frame["lead_id"], 0, "{frame}");
        assert_eq!(frame["follow_id"], 1, "{frame}");
    }
    assert!(run.stderr.contains("40 frames processed"), "{}", run.stderr);
    assert!(run.stderr.contains("both dancers in"), "{}", run.stderr);
}

#[test]
fn one_dancer_alone_leads_and_the_rate_is_low() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = clip(
        sandbox.path(),
        "alone.mp4",
        2,
        "[0:v][a]overlay=x='100+50*t':y=150[t];[t][b]overlay=x=-2000:y=0:shortest=1[out]",
        &[],
    );
    let (run, frames) = pose(&sandbox, &video, &["--fps", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(frames.len(), 10);
    for frame in &frames {
        assert_eq!(
            frame["people"].as_array().expect("people").len(),
            1,
            "{frame}"
        );
        assert_eq!(frame["lead"], 0);
        assert_eq!(frame["lead_id"], 0);
        assert!(frame["follow"].is_null());
        assert_eq!(frame["has_both_dancers"], false);
    }
    assert!(
        run.stderr.contains("low couple detection rate"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_cut_to_an_empty_frame_keeps_the_timing() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    // The dancers are there for the first and last second, not in between.
    let video = clip(
        sandbox.path(),
        "cut.mp4",
        3,
        "[0:v][a]overlay=x=60:y=150:enable='not(between(t,1,2))'[t];\
         [t][b]overlay=x=420:y=170:shortest=1:enable='not(between(t,1,2))'[out]",
        &[],
    );
    let (run, frames) = pose(&sandbox, &video, &["--fps", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(frames.len(), 15);
    for (index, frame) in frames.iter().enumerate() {
        let timestamp = frame["timestamp"].as_f64().expect("timestamp");
        assert!((timestamp - index as f64 * 0.2).abs() < 1e-3);
        let people = frame["people"].as_array().expect("people").len();
        if (1.05..1.95).contains(&timestamp) {
            assert_eq!(people, 0, "at {timestamp}");
            assert!(frame["lead"].is_null());
        } else if !(0.95..=2.05).contains(&timestamp) {
            assert_eq!(people, 2, "at {timestamp}");
        }
    }
    // Back within 30 frames: the same ids.
    assert_eq!(frames[14]["lead_id"], 0);
    assert_eq!(frames[14]["follow_id"], 1);
}

#[test]
fn rotation_metadata_is_honoured() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let plain = crossing(sandbox.path());
    let rotated = sandbox.path().join("rotated.mp4");
    ffmpeg(&[
        "-i",
        plain.to_str().expect("utf-8"),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        rotated.to_str().expect("utf-8"),
    ]);
    let (run, frames) = pose(&sandbox, &rotated, &["--fps", "10"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Shown upright as 360×640: the dancers stand across the width now, so their boxes are
    // wider than tall and lie within 360 pixels across.
    let people: Vec<&serde_json::Value> = frames
        .iter()
        .flat_map(|f| f["people"].as_array().expect("people"))
        .collect();
    assert!(!people.is_empty());
    for person in people {
        let b = &person["bbox"];
        let x2 = b["x2"].as_f64().expect("x2");
        assert!(x2 <= 361.0, "{b}");
    }
}

#[test]
fn a_variable_frame_rate_gives_the_real_times() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let plain = crossing(sandbox.path());
    let gap = sandbox.path().join("gap.mp4");
    // Frames 30 to 59 dropped, the others keeping their times: a one-second gap.
    ffmpeg(&[
        "-i",
        plain.to_str().expect("utf-8"),
        "-vf",
        "select='not(between(n\\,30\\,59))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        gap.to_str().expect("utf-8"),
    ]);
    let (run, frames) = pose(&sandbox, &gap, &["--fps", "10"]);
    assert_eq!(run.code, 0, "{run:?}");
    let times: Vec<f64> = frames
        .iter()
        .map(|f| f["timestamp"].as_f64().expect("t"))
        .collect();
    assert!(times.windows(2).all(|pair| pair[1] > pair[0]), "{times:?}");
    assert!(
        times.windows(2).any(|pair| pair[1] - pair[0] > 0.9),
        "no gap in {times:?}"
    );
}

#[test]
fn annotate_writes_a_whole_video_of_the_processed_frames() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let video = crossing(sandbox.path());
    let out = sandbox.path().join("drawn.mp4");
    let (run, frames) = pose(
        &sandbox,
        &video,
        &["--fps", "10", "--annotate", out.to_str().expect("utf-8")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(text.trim(), format!("640,360,{}", frames.len()));
    // No partial file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_videos_are_refused_whole_and_nothing_is_written() {
    if !have_ffmpeg() {
        return;
    }
    let sandbox = sandbox();
    let whole = crossing(sandbox.path());
    let bytes = std::fs::read(&whole).expect("read");
    // Moov atom at the end: half a file is no video at all.
    let half = sandbox.write("half.mp4", &bytes[..bytes.len() / 2]);
    // Moov atom first: the header is whole, the frames stop half way.
    let faststart = sandbox.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        whole.to_str().expect("utf-8"),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        faststart.to_str().expect("utf-8"),
    ]);
    let bytes = std::fs::read(&faststart).expect("read");
    let cut = sandbox.write("cut.mp4", &bytes[..bytes.len() * 2 / 3]);
    let text = sandbox.write("notes.mp4", b"these are not frames\n");
    let empty = sandbox.write("empty.mp4", b"");
    let dir = sandbox.path().join("folder.mp4");
    std::fs::create_dir(&dir).expect("dir");
    let fifo = sandbox.path().join("pipe.mp4");
    bachata_common_tests::fifo(&fifo);
    let missing = sandbox.path().join("missing.mp4");
    for (path, needle) in [
        (&half, "cannot open video"),
        (&cut, "cannot decode video"),
        (&text, "cannot open video"),
        (&empty, "the file is empty"),
        (&dir, "a directory"),
        (&fifo, "a FIFO"),
        (&missing, "video not found"),
    ] {
        let started = std::time::Instant::now();
        let (run, _) = pose(&sandbox, path, &[]);
        assert_eq!(run.code, 2, "{}: {run:?}", path.display());
        assert!(
            run.error_line().contains(needle),
            "{}: {}",
            path.display(),
            run.error_line()
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(started.elapsed().as_secs() < 60);
        assert!(
            !sandbox.path().join("out.jsonl").exists(),
            "{}",
            path.display()
        );
    }
    let run = sandbox.run(&["pose", whole.to_str().expect("utf-8"), "--fps", "0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.error_line().contains("--fps"), "{}", run.error_line());
}

#[test]
fn cuda_without_a_gpu_is_refused_for_videos_too() {
    if !have_ffmpeg() {
        return;
    }
    let mut sandbox = sandbox();
    sandbox.env("YOLOV8_DEVICE", "cuda");
    let video = crossing(sandbox.path());
    let (run, _) = pose(&sandbox, &video, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.error_line().contains("CUDAExecutionProvider"),
        "{}",
        run.error_line()
    );
    assert!(!sandbox.path().join("out.jsonl").exists());
}
