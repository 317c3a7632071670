//! `bachata-common pose`: people and keypoints per image, optional annotated copies, and a
//! summary of time per stage.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use bachata_common::config::YoloConfig;
use bachata_common::pose::{PoseDetector, StageTimes, annotate, check_image_file, open_image};
use bachata_common::{AppError, Error, Policy};

const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

fn invalid(field: &str, path: &Path, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: Some(path.display().to_string()),
        details: Vec::new(),
    })
}

/// Expands inputs: files as given, directories into their images in name order. Each must
/// be a regular file within the size limit (checked before the model is loaded).
fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut images = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|source| Error::Io {
                    path: input.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.is_file()
                        && path
                            .extension()
                            .and_then(|ext| ext.to_str())
                            .is_some_and(|ext| {
                                IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
                            })
                })
                .collect();
            if found.is_empty() {
                return Err(invalid(
                    "INPUT",
                    input,
                    format!("{} holds no PNG or JPEG images", input.display()),
                ));
            }
            found.sort();
            for path in &found {
                check_image_file(path)?;
            }
            images.extend(found);
        } else {
            check_image_file(input)?;
            images.push(input.clone());
        }
    }
    Ok(images)
}

/// Runs the command.
pub fn run(
    policy: Arc<Policy>,
    config: &YoloConfig,
    inputs: &[PathBuf],
    annotate_dir: Option<&Path>,
    json: bool,
) -> Result<ExitCode, Error> {
    let images = expand(inputs)?;
    // Loaded once the first image is read, so that a bad input is reported at once.
    let mut detector: Option<PoseDetector> = None;
    if let Some(dir) = annotate_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let progress = (images.len() > 1 && !json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(images.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} frames {elapsed} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut totals = StageTimes::default();
    let mut decode_ms = 0.0;
    let mut people_total = 0usize;
    let mut frames = Vec::with_capacity(images.len());
    for path in &images {
        let started = Instant::now();
        let image = open_image(path)?;
        let frame_decode_ms = started.elapsed().as_secs_f64() * 1000.0;
        decode_ms += frame_decode_ms;
        let detector = match &mut detector {
            Some(detector) => detector,
            None => detector.insert(PoseDetector::new(Arc::clone(&policy), config)?),
        };
        let (mut people, times) = detector.detect_batch(std::slice::from_ref(&image))?;
        let people = people.pop().unwrap_or_default();
        totals.preprocess_ms += times.preprocess_ms;
        totals.inference_ms += times.inference_ms;
        totals.postprocess_ms += times.postprocess_ms;
        people_total += people.len();
        let annotated = match annotate_dir {
            Some(dir) => {
                let name = path
                    .file_stem()
                    .map(|stem| format!("{}.png", stem.to_string_lossy()))
                    .unwrap_or_else(|| "frame.png".to_string());
                let out = dir.join(name);
                annotate(&image, &people)
                    .save(&out)
                    .map_err(|error| Error::Io {
                        path: out.clone(),
                        source: std::io::Error::other(error),
                    })?;
                Some(out)
            }
            None => None,
        };
        if json {
            frames.push(json!({
                "image": path,
                "width": image.width(),
                "height": image.height(),
                "people": people,
                "annotated": annotated,
                "timing_ms": {
                    "decode_ms": frame_decode_ms,
                    "preprocess_ms": times.preprocess_ms,
                    "inference_ms": times.inference_ms,
                    "postprocess_ms": times.postprocess_ms,
                },
            }));
        } else {
            let line = format!(
                "{}: {} {}",
                path.display(),
                people.len(),
                if people.len() == 1 {
                    "person"
                } else {
                    "people"
                }
            );
            match &progress {
                Some(bar) => bar.println(line),
                None => println!("{line}"),
            }
            for (index, person) in people.iter().enumerate() {
                let b = person.bbox;
                let visible = person
                    .keypoints
                    .iter()
                    .filter(|k| k.confidence >= 0.5)
                    .count();
                let text = format!(
                    "  #{} score {:.2} box ({:.0}, {:.0}, {:.0}, {:.0}) {} of 17 keypoints visible",
                    index + 1,
                    person.score,
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2,
                    visible
                );
                match &progress {
                    Some(bar) => bar.println(text),
                    None => println!("{text}"),
                }
            }
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let count = images.len().max(1) as f64;
    let mean = json!({
        "decode_ms": decode_ms / count,
        "preprocess_ms": totals.preprocess_ms / count,
        "inference_ms": totals.inference_ms / count,
        "postprocess_ms": totals.postprocess_ms / count,
    });
    let detector = match detector {
        Some(detector) => detector,
        None => PoseDetector::new(policy, config)?,
    };
    let engine = detector.engine();
    if json {
        let document = json!({
            "model": engine.model(),
            "provider": engine.provider(),
            "model_load_ms": engine.load_ms(),
            "frames": frames,
            "summary": {"frames": images.len(), "people": people_total, "mean_ms_per_frame": mean},
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_else(|_| document.to_string())
        );
    }
    eprintln!(
        "{} frames, {} people, {} on {}; mean ms/frame: decode {:.1}, preprocess {:.1}, inference {:.1}, postprocess {:.1} (model load {:.0} ms)",
        images.len(),
        people_total,
        engine.model().display(),
        engine.provider(),
        decode_ms / count,
        totals.preprocess_ms / count,
        totals.inference_ms / count,
        totals.postprocess_ms / count,
        engine.load_ms()
    );
    Ok(ExitCode::SUCCESS)
}
