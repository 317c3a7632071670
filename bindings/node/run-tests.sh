#!/usr/bin/env bash
# Installs the Node binding's pinned tools and runs its tests (including every shared vector of
# tests/vectors/) against the policy component.
#
# BACHATA_POLICY_WASM  the component to test (default: the one cargo builds,
#                      target/guest-build/wasm32-wasip2/wasm-release/bachata_common_policy.wasm)
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm test
