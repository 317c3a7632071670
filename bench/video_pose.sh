#!/usr/bin/env bash
# Pose on video: `bachata-common pose VIDEO --fps FPS --couple --jsonl OUT` against a Python peer
# doing the same job the simple way (bench/video_pose_peer.py: OpenCV decoding every frame,
# one onnxruntime session of THREADS threads, NMS, an IoU tracker, lead and follow), on a
# generated 60 s 1280x720 30 fps H.264 clip of two people moving; then our peak RSS on a
# 10-minute clip made the same way. Both sides load the same ONNX Runtime library and model and
# use THREADS threads (ours: THREADS sessions of one thread). RUNS rounds on the 60 s clip, ours
# and the peer in alternating order; each run is a whole process timed by GNU time (wall clock;
# peak RSS is the largest single process among the command and the children it waited for).
# Frames/s is the frames processed over the process's wall time; the loop's own figure (model
# load excluded) is shown beside it.
# Usage: bench/video_pose.sh
#   FPS (15), RUNS (3), THREADS (2), LONG (1; 0 skips the 10-minute clip),
#   MODEL (../shared/models/yolo11n-pose.onnx),
#   PYTHON (an interpreter with onnxruntime 1.31.1, numpy and opencv-python-headless; by default
#   they are installed into .venv), BIN (a built binary; by default the release build's).
set -euo pipefail
cd "$(dirname "$0")/.."
fps=${FPS:-15}
runs=${RUNS:-3}
threads=${THREADS:-2}
long=${LONG:-1}
model=$(realpath "${MODEL:-../shared/models/yolo11n-pose.onnx}")
image=$(realpath ../shared/fixtures/astronaut.png)
peer=$(realpath bench/video_pose_peer.py)

if [ -z "${PYTHON:-}" ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check onnxruntime==1.31.1 numpy \
        opencv-python-headless
    PYTHON=.venv/bin/python
fi
python=$(command -v "$PYTHON")
[[ $python == /* ]] || python=$PWD/$python
ORT_DYLIB_PATH=$("$python" -c 'import glob, os, onnxruntime as o
print(sorted(glob.glob(os.path.join(os.path.dirname(o.__file__), "capi", "libonnxruntime.so.1*")))[0])')
export ORT_DYLIB_PATH YOLOV8_MODEL="$model" YOLOV8_THREADS="$threads" YOLOV8_DEVICE=cpu
if [ -z "${BIN:-}" ]; then
    rustup target add wasm32-wasip2 >/dev/null
    cargo build --release --quiet -p bachata-common --bin bachata-common
    BIN=target/release/bachata-common
fi
bin=$(realpath "$BIN")
mkdir -p target
work=$(mktemp -d "$PWD/target/video-pose-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# Two scaled copies of the photograph over a plain background, moving in opposite directions.
make_clip() {
    ffmpeg -nostdin -hide_banner -loglevel error -y \
        -f lavfi -i "color=c=0x506070:s=1280x720:r=30:d=$1" -loop 1 -i "$image" \
        -filter_complex "[1:v]scale=300:300,split[a][b];[0:v][a]overlay=x='200+300*sin(t/3)':y=300[t];[t][b]overlay=x='780-300*sin(t/3)':y=350:shortest=1,format=yuv420p" \
        -c:v libx264 -preset veryfast -t "$1" "$2"
}

# run SIDE CLIP: one whole process; appends "side clip wall_s rss_kib frames loop_fps" to results.
run() {
    local side=$1 clip=$2 loop
    if [ "$side" = ours ]; then
        /usr/bin/time -v -o time.txt "$bin" pose "$clip" --fps "$fps" --couple --jsonl "$side.jsonl" \
            2>stderr.txt
        loop=$(sed -n 's/.* \([0-9.]*\) frames\/s on .*/\1/p' stderr.txt)
    else
        /usr/bin/time -v -o time.txt "$python" "$peer" "$model" "$clip" "$fps" "$threads" \
            "$side.jsonl" >stdout.txt
        loop=$(sed -n 's/.* \([0-9.]*\) frames\/s.*/\1/p' stdout.txt)
    fi
    "$python" - "$side" "$clip" "$(wc -l <"$side.jsonl")" "$loop" >>results <<'PY'
import sys
side, clip, frames, loop = sys.argv[1:]
fields = dict(line.strip().split(": ", 1) for line in open("time.txt") if ": " in line)
wall = 0.0
for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
    wall = wall * 60 + float(part)
print(side, clip, f"{wall:.2f}", fields["Maximum resident set size (kbytes)"], frames, loop)
PY
    tail -n 1 results >&2
}

echo "making the 60 s clip" >&2
make_clip 60 clip60.mp4
for round in $(seq 1 "$runs"); do
    if (( round % 2 == 1 )); then
        run ours clip60.mp4
        run peer clip60.mp4
    else
        run peer clip60.mp4
        run ours clip60.mp4
    fi
done
# Do the two agree? (the last run of each on the 60 s clip)
"$python" - >agreement.txt <<'PY'
import json
ours = [json.loads(line) for line in open("ours.jsonl")]
peer = [json.loads(line) for line in open("peer.jsonl")]
same = sum(len(a["people"]) == len(b["people"]) for a, b in zip(ours, peer))
edges = []
for a, b in zip(ours, peer):
    if len(a["people"]) == len(b["people"]):
        key = lambda p: p["bbox"]["x1"]
        for p, q in zip(sorted(a["people"], key=key), sorted(b["people"], key=key)):
            edges += [abs(p["bbox"][k] - q["bbox"][k]) for k in ("x1", "y1", "x2", "y2")]
edges.sort()
both = lambda frames: 100 * sum(f["has_both_dancers"] for f in frames) / max(len(frames), 1)
print(f"frames: ours {len(ours)}, peer {len(peer)}; same number of people in {same} frames; "
      f"both dancers: ours {both(ours):.1f}%, peer {both(peer):.1f}%; box edges apart by "
      f"{edges[len(edges) // 2] if edges else 0:.2f} px (median), {edges[-1] if edges else 0:.2f} px (most)")
PY
if [ "$long" != 0 ]; then
    echo "making the 10-minute clip" >&2
    make_clip 600 clip600.mp4
    run ours clip600.mp4
fi

"$python" - "$fps" "$threads" "$runs" <<'PY'
import statistics, sys
fps, threads, runs = sys.argv[1:]
rows = [line.split() for line in open("results")]
def pick(side, clip):
    return [dict(wall=float(r[2]), rss=int(r[3]) / 1024, frames=int(r[4]), loop=float(r[5] or 0))
            for r in rows if r[0] == side and r[1] == clip]
ours, peer = pick("ours", "clip60.mp4"), pick("peer", "clip60.mp4")
rate = lambda r: r["frames"] / r["wall"]
med = lambda runs, f: statistics.median(f(r) for r in runs)
ratios = [rate(a) / rate(b) for a, b in zip(ours, peer)]
print(f"60 s clip, 1280x720 30 fps, --fps {fps}, {threads} threads each, median of {runs} runs")
print()
print("| | frames | wall | frames/s (whole process) | frames/s (loop) | peak RSS |")
print("|---|---|---|---|---|---|")
for name, side in (("`bachata-common pose --couple --jsonl`", ours),
                   ("Python peer (OpenCV + onnxruntime)", peer)):
    print(f"| {name} | {side[0]['frames']} | {med(side, lambda r: r['wall']):.2f} s | "
          f"{med(side, rate):.2f} | {med(side, lambda r: r['loop']):.2f} | "
          f"{med(side, lambda r: r['rss']):.1f} MiB |")
print()
print(f"ratio ours / peer, frames/s: {statistics.median(ratios):.2f} "
      f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})")
print(open("agreement.txt").read().strip())
long = pick("ours", "clip600.mp4")
if long:
    short = med(ours, lambda r: r["rss"])
    print()
    print(f"10-minute clip: {long[0]['frames']} frames in {long[0]['wall']:.1f} s "
          f"({rate(long[0]):.2f} frames/s), peak RSS {long[0]['rss']:.1f} MiB against "
          f"{short:.1f} MiB on the 60 s clip ({long[0]['rss'] / short - 1:+.1%})")
PY
