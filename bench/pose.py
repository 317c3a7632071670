#!/usr/bin/env python3
"""Pose benchmark: `bachata-common pose` against the Python peer on the same frames, in one run.
Reports the median ms/frame per stage and end to end (excluding the model load, reported apart)."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BINARY = os.environ.get("BINARY", "target/release/bachata-common")
FRAMES = int(os.environ.get("FRAMES", "30"))
STAGES = ["decode_ms", "preprocess_ms", "inference_ms", "postprocess_ms"]


def medians(frames):
    result = {stage: statistics.median(f[stage] for f in frames) for stage in STAGES}
    result["end_to_end_ms"] = statistics.median(sum(f[s] for s in STAGES) for f in frames)
    return {k: round(v, 2) for k, v in result.items()}


def main():
    model, image, python = sys.argv[1], sys.argv[2], sys.argv[3]
    work = tempfile.mkdtemp(prefix="bachata-pose-bench-")
    try:
        paths = []
        for index in range(FRAMES):
            path = os.path.join(work, f"frame{index:03}.png")
            shutil.copy(image, path)
            paths.append(path)
        env = dict(os.environ, YOLOV8_MODEL=model, RUST_LOG="error")
        ours = json.loads(subprocess.run([BINARY, "pose", work, "--json"], env=env, check=True,
                                         capture_output=True, text=True).stdout)
        ours_frames = [f["timing_ms"] for f in ours["frames"]][1:]  # the first frame warms up
        peer = json.loads(subprocess.run([python, "bench/pose_peer.py", model, *paths], check=True,
                                         capture_output=True, text=True).stdout)
        peer_frames = peer["frames"][1:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours_median, peer_median = medians(ours_frames), medians(peer_frames)
    print(json.dumps({
        "frames_measured": len(ours_frames),
        "bachata_common": ours_median,
        "python_peer": peer_median,
        "ratio_end_to_end": round(ours_median["end_to_end_ms"] / peer_median["end_to_end_ms"], 2),
        "model_load_ms": {"bachata_common": round(ours["model_load_ms"], 1),
                          "python_peer": round(peer["model_load_ms"], 1)},
        "provider": ours["provider"],
    }, indent=2))


if __name__ == "__main__":
    main()
