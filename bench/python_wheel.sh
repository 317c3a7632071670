# Sourced by the Python benchmarks: a temporary directory `$work` (removed on exit), the policy
# component packaged (BACHATA_POLICY_WASM, else the release build's), and the binding installed
# with any extra packages given as arguments into a fresh virtualenv at `$work/venv`.
# Usage: . bench/python_wheel.sh NAME [PACKAGE...]
work="$(mktemp -d "${TMPDIR:-/tmp}/bachata-$1.XXXXXX")"
shift
trap 'rm -rf "$work"' EXIT
if [ -z "${BACHATA_POLICY_WASM:-}" ]; then
    rustup target add wasm32-wasip2 >/dev/null
    cargo build --release --quiet
    target/release/bachata-common policy save "$work/policy.wasm"
    export BACHATA_POLICY_WASM="$work/policy.wasm"
fi
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip --quiet --disable-pip-version-check install ./bindings/python "$@"
