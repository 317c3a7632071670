#!/usr/bin/env bash
# YOLO pose per stage: bachata-common against a Python onnxruntime + numpy + Pillow peer.
# Usage: bench/pose.sh [MODEL] [IMAGE]   (defaults: ../shared's model and astronaut.png)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/models/yolo11n-pose.onnx}
image=${2:-../shared/fixtures/astronaut.png}
rustup target add wasm32-wasip2 >/dev/null
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check onnxruntime==1.31.1 numpy pillow
ORT_DYLIB_PATH=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1* | head -n 1)
export ORT_DYLIB_PATH
cargo build --release --quiet
python3 bench/pose.py "$(realpath "$model")" "$(realpath "$image")" .venv/bin/python
