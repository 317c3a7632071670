//! Pose inference end to end: the real model on a real photograph, devices, bad inputs.

use std::sync::Arc;

use bachata_common::pose::PoseDetector;
use bachata_common::{Policy, config};
use bachata_common_tests::{Run, Sandbox, shared};

fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env(
        "YOLOV8_MODEL",
        shared("models/yolo11n-pose.onnx").to_str().expect("utf-8"),
    );
    sandbox
}

fn astronaut() -> String {
    shared("fixtures/astronaut.png").display().to_string()
}

fn assert_astronaut(person: &serde_json::Value) {
    let score = person["score"].as_f64().expect("score");
    assert!((0.85..=0.95).contains(&score), "score {score}");
    let bbox = &person["bbox"];
    for (key, expected) in [("x1", 12.0), ("y1", 18.0), ("x2", 360.0), ("y2", 511.0)] {
        let value = bbox[key].as_f64().expect("coordinate");
        assert!(
            (value - expected).abs() <= 3.0,
            "{key} = {value}, expected about {expected}"
        );
    }
    let confidence = |name: &str| {
        person["keypoints"]
            .as_array()
            .expect("keypoints")
            .iter()
            .find(|k| k["name"] == name)
            .and_then(|k| k["confidence"].as_f64())
            .unwrap_or_else(|| panic!("{name}"))
    };
    for name in [
        "nose",
        "left_eye",
        "right_eye",
        "left_shoulder",
        "right_shoulder",
    ] {
        assert!(confidence(name) > 0.9, "{name}: {}", confidence(name));
    }
    for name in ["left_knee", "right_knee", "left_ankle", "right_ankle"] {
        assert!(confidence(name) < 0.1, "{name}: {}", confidence(name));
    }
}

#[test]
fn astronaut_is_one_person_cut_at_the_waist() {
    let run = sandbox().run(&["pose", &astronaut(), "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["provider"], "CPUExecutionProvider");
    let people = json["frames"][0]["people"].as_array().expect("people");
    assert_eq!(people.len(), 1, "{people:?}");
    assert_astronaut(&people[0]);
    assert_eq!(json["frames"][0]["width"], 512);
    assert_eq!(json["summary"]["people"], 1);
    assert!(run.stderr.contains("1 frames, 1 people"), "{}", run.stderr);
    assert!(run.stderr.contains("inference"));
}

#[test]
fn library_detect_gives_the_same_person() {
    let policy = Arc::new(Policy::embedded().expect("policy"));
    let env = vec![(
        "YOLOV8_MODEL".to_string(),
        shared("models/yolo11n-pose.onnx").display().to_string(),
    )];
    let mut config = config::resolve(&policy, &env, None).expect("config");
    config.yolo.runtime_library = bachata_common_tests::ort_library();
    let detector = PoseDetector::new(policy, &config.yolo).expect("model loads");
    let image = image::open(shared("fixtures/astronaut.png")).expect("image");
    let people = detector.detect(&image).expect("detects");
    assert_eq!(people.len(), 1);
    assert_astronaut(&serde_json::to_value(&people[0]).expect("json"));
    let (batch, times) = detector
        .detect_batch(&[image.clone(), image])
        .expect("batch");
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0], batch[1]);
    assert!(times.inference_ms > 0.0);
}

#[test]
fn annotate_writes_a_decodable_image_of_the_same_size() {
    let sandbox = sandbox();
    let out = sandbox.path().join("annotated");
    let run = sandbox.run(&[
        "pose",
        &astronaut(),
        "--annotate",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 person"));
    let written = image::open(out.join("astronaut.png")).expect("decodable");
    assert_eq!((written.width(), written.height()), (512, 512));
    let original = image::open(shared("fixtures/astronaut.png"))
        .expect("original")
        .to_rgb8();
    assert_ne!(written.to_rgb8(), original, "something was drawn");
}

#[test]
fn a_directory_of_frames_is_read_in_name_order() {
    let sandbox = sandbox();
    let frames = sandbox.path().join("frames");
    std::fs::create_dir_all(&frames).expect("mkdir");
    for name in ["b.png", "a.png"] {
        std::fs::copy(shared("fixtures/astronaut.png"), frames.join(name)).expect("copy");
    }
    std::fs::write(frames.join("notes.txt"), "not an image").expect("write");
    let json = sandbox
        .run(&["pose", frames.to_str().expect("utf-8"), "--json"])
        .json();
    let images: Vec<String> = json["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            f["image"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(images, ["a.png", "b.png"]);
    assert_eq!(json["summary"]["people"], 2);
}

#[test]
fn cuda_without_a_gpu_fails_clearly_and_auto_falls_back() {
    let mut cuda = sandbox();
    cuda.env("YOLOV8_DEVICE", "cuda");
    let run = cuda.run(&["pose", &astronaut()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.error_line().contains("CUDAExecutionProvider"),
        "{}",
        run.error_line()
    );
    assert!(!run.stderr.contains("panicked"));

    let mut auto = sandbox();
    auto.env("YOLOV8_DEVICE", "auto");
    let run = auto.run(&["pose", &astronaut(), "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["provider"], "CPUExecutionProvider");
    assert!(
        run.stderr.contains("running pose inference on the CPU"),
        "{}",
        run.stderr
    );
}

fn assert_fails(run: &Run, code: i32, error_code: &str, needle: &str) {
    assert_eq!(run.code, code, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.error_line().contains(needle),
        "{needle:?} not in {}",
        run.error_line()
    );
    if run.stdout.trim_start().starts_with('{') {
        assert_eq!(run.json()["error_code"], error_code);
    }
}

#[test]
fn bad_models_images_and_runtimes_are_clear_errors() {
    let image = astronaut();
    let mut missing = Sandbox::new();
    missing.env("YOLOV8_MODEL", "nowhere/model.onnx");
    assert_fails(
        &missing.run(&["pose", &image, "--json"]),
        2,
        "VALIDATION_ERROR",
        "model file not found",
    );

    let default_pt = Sandbox::new();
    assert_fails(
        &default_pt.run(&["pose", &image, "--json"]),
        2,
        "VALIDATION_ERROR",
        "yolo export model=yolov8n-pose.pt format=onnx",
    );

    let corrupt_model = Sandbox::new();
    let path = corrupt_model.write("broken.onnx", b"this is not a protobuf");
    let mut corrupt_model = corrupt_model;
    corrupt_model.env("YOLOV8_MODEL", path.to_str().expect("utf-8"));
    assert_fails(
        &corrupt_model.run(&["pose", &image, "--json"]),
        1,
        "MOVE_ANALYSIS_ERROR",
        "cannot load the pose model",
    );

    let sandbox = sandbox();
    let bad_image = sandbox.write("frame.png", b"\x89PNG\r\n\x1a\nnot really");
    assert_fails(
        &sandbox.run(&["pose", bad_image.to_str().expect("utf-8"), "--json"]),
        2,
        "VALIDATION_ERROR",
        "not a readable PNG or JPEG",
    );
    assert_fails(
        &sandbox.run(&["pose", "missing.png", "--json"]),
        2,
        "VALIDATION_ERROR",
        "does not exist",
    );

    let mut no_runtime = sandbox;
    no_runtime.env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so");
    assert_fails(
        &no_runtime.run(&["pose", &image, "--json"]),
        1,
        "SERVICE_UNAVAILABLE_ERROR",
        "pip install onnxruntime==1.31.1",
    );
}

/// Runs `pose` with `args`, failing the test when it takes longer than `limit` (it must not
/// wait on a FIFO or read a device forever).
fn run_within(sandbox: &Sandbox, args: &[&str], limit: std::time::Duration) -> Run {
    let child = sandbox
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
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

/// The astronaut as a JPEG file in the sandbox, whole; its bytes.
fn astronaut_jpeg() -> Vec<u8> {
    let image = image::open(shared("fixtures/astronaut.png")).expect("image");
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .to_rgb8()
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .expect("encode");
    bytes.into_inner()
}

#[test]
fn fifos_devices_and_oversized_files_are_refused_at_once() {
    let sandbox = sandbox();
    let fifo = sandbox.path().join("frame.png");
    bachata_common_tests::fifo(&fifo);
    let big = sandbox.path().join("big.png");
    std::fs::File::create(&big)
        .expect("create")
        .set_len(bachata_common::pose::MAX_IMAGE_BYTES + 1)
        .expect("sparse file");
    for (input, needle) in [
        (
            fifo.to_str().expect("utf-8"),
            "is not a regular file (a FIFO)",
        ),
        ("/dev/zero", "is not a regular file (a character device)"),
        (
            big.to_str().expect("utf-8"),
            "images are limited to 67108864 bytes",
        ),
    ] {
        let run = run_within(
            &sandbox,
            &["pose", input, "--json"],
            std::time::Duration::from_secs(30),
        );
        assert_fails(&run, 2, "VALIDATION_ERROR", needle);
        assert!(run.error_line().contains(input), "{}", run.error_line());
    }
}

#[test]
fn a_truncated_jpeg_is_an_error_naming_the_file() {
    let sandbox = sandbox();
    let whole = astronaut_jpeg();
    let path = sandbox.write("cut.jpg", &whole[..whole.len() / 2]);
    let run = run_within(
        &sandbox,
        &["pose", path.to_str().expect("utf-8"), "--json"],
        std::time::Duration::from_secs(60),
    );
    assert_fails(&run, 2, "VALIDATION_ERROR", "is truncated");
    assert!(run.error_line().contains("cut.jpg"), "{}", run.error_line());

    // The library refuses it the same way; the whole file decodes.
    let error = bachata_common::pose::open_image(&path).expect_err("truncated");
    assert!(error.to_string().contains("cut.jpg"), "{error}");
    let whole_path = sandbox.write("whole.jpg", &whole);
    let image = bachata_common::pose::open_image(&whole_path).expect("whole");
    assert_eq!((image.width(), image.height()), (512, 512));
}
