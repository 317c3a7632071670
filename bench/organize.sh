#!/usr/bin/env bash
# The directory organizer on CLIPS clips (default 20,000) in annotators' label folders, next to
# a Python peer doing what the original app's organizer did (for each clip: makedirs, then
# shutil.move; then the annotation file rewritten). Each side gets a fresh copy of the same
# dataset; the time includes starting the process. Also a dry run and a second (no-op) run.
# ROUNDS rounds (default 3), each on fresh copies, ours and the peer in alternating order; the
# table gives the median of each figure and the ratio of ours to the peer's (median, and each
# round's).
# Usage: bench/organize.sh   (CLIPS and ROUNDS override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
bin="$PWD/target/release/bachata-common"
clips="${CLIPS:-20000}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bachata-organize-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

make_dataset() {
    python3 - "$1" "$clips" <<'PY'
import json, os, sys
root, count = sys.argv[1], int(sys.argv[2])
labels = ["basic", "Basic-Step", "golpes", "CROSS BODY LEAD", "Lady-Turn", "spin", "body roll",
          "hiprolls", "DIP", "shadow_position", "intros", "Outro"]
clips = []
for i in range(count):
    label = labels[i % len(labels)]
    folder = f"raw/{label}/batch{i // 1000:02d}"
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    name = f"clip_{i:06d}.mp4"
    with open(os.path.join(root, folder, name), "wb") as f:
        f.write(b"\0" * 1024)
    clips.append({"clip_id": f"c{i:06d}", "video_path": f"{folder}/{name}", "move_label": label,
                  "duration_s": 2.5})
with open(os.path.join(root, "annotations.json"), "w") as f:
    json.dump({"dataset": "bench", "clips": clips}, f)
PY
    sync
}

cat > "$work/peer.py" <<'PY'
# What the original organizer did: a category per clip, makedirs, shutil.move, then the
# annotation file rewritten with the new paths.
import json, os, shutil, sys
root = sys.argv[1]
mapping = {"basic_moves": ["basic", "basic_step", "golpes"], "partner_work": ["cross_body_lead"],
           "turns_spins": ["ladyturn", "lady_turn", "spin"], "styling": ["body_roll", "hiprolls"],
           "advanced": ["dip", "shadow_position"], "transitions": ["intros", "outro"]}
lookup = {label: category for category, labels in mapping.items() for label in labels}
path = os.path.join(root, "annotations.json")
with open(path) as f:
    doc = json.load(f)
for clip in doc["clips"]:
    label = clip["move_label"].strip().lower().replace("-", "_").replace(" ", "_")
    category = lookup.get(label, "other")
    name = os.path.basename(clip["video_path"])
    target = os.path.join(category, label, name)
    os.makedirs(os.path.join(root, category, label), exist_ok=True)
    shutil.move(os.path.join(root, clip["video_path"]), os.path.join(root, target))
    clip["video_path"] = target
with open(path, "w") as f:
    json.dump(doc, f)
PY

seconds() { python3 -c 'import sys,time; t=time.perf_counter(); import subprocess; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(f"{time.perf_counter()-t:.2f}")' "$@"; }

median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "$@"; }

dry=() ours=() again=() peer=() ratios=()
for round in $(seq 1 "$rounds"); do
    rm -rf "$work/ours" "$work/peer"
    make_dataset "$work/ours"
    make_dataset "$work/peer"
    if (( round % 2 == 0 )); then
        peer+=("$(seconds python3 "$work/peer.py" "$work/peer")")
    fi
    dry+=("$(seconds "$bin" organize --annotations "$work/ours/annotations.json" --dry-run --json)")
    ours+=("$(seconds "$bin" organize --annotations "$work/ours/annotations.json" --json)")
    again+=("$(seconds "$bin" organize --annotations "$work/ours/annotations.json" --json)")
    if (( round % 2 == 1 )); then
        peer+=("$(seconds python3 "$work/peer.py" "$work/peer")")
    fi
    ratios+=("$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "${ours[-1]}" "${peer[-1]}")")
done
moved=$("$bin" organize --annotations "$work/ours/annotations.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["already_organized"])')
ours_median=$(median "${ours[@]}")
peer_median=$(median "${peer[@]}")
echo "| $clips clips (1 KiB each), median of $rounds rounds | time |"
echo "|---|---|"
echo "| \`bachata-common organize --dry-run\` | $(median "${dry[@]}") s |"
echo "| \`bachata-common organize\` (journaled, RENAME_NOREPLACE, annotation rewritten) | $ours_median s |"
echo "| the same again (every clip already organized: $moved) | $(median "${again[@]}") s |"
echo "| Python peer: makedirs + shutil.move + json.dump (no checks) | $peer_median s |"
echo
echo "ratio ours / peer: $(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$ours_median" "$peer_median") (medians; per round: ${ratios[*]})"
