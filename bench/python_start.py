#!/usr/bin/env python3
"""Start-up of the Python host (run by ``bench/python_start.sh`` with the binding installed).

Each measure is a fresh interpreter timing, with ``time.perf_counter()``, what its ``-c`` code
does (the interpreter's own start is not counted):

- ``import wasmtime``: the floor, the runtime alone;
- ``import bachata_common``;
- ``import bachata_common`` and a first call, ``get_user_friendly_message("VALIDATION_ERROR")``
  (the stock policy read and checked, its compiled code loaded from the cache, an instance,
  the call).

One run first fills the compiled-component cache (``BACHATA_CACHE_DIR``). The three measures
alternate, ``RUNS`` times each (default 10); medians and the slowest and fastest run.
"""

import os
import statistics
import subprocess
import sys

RUNS = int(os.environ.get("RUNS", "10"))
TIMED = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
MEASURES = {
    "import wasmtime": TIMED.format("import wasmtime"),
    "import bachata_common": TIMED.format("import bachata_common"),
    "import bachata_common + first call": TIMED.format(
        "import bachata_common; bachata_common.get_user_friendly_message('VALIDATION_ERROR')"
    ),
}


def run(code: str) -> float:
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(output.stdout) * 1000


def main() -> None:
    run(MEASURES["import bachata_common + first call"])  # fills the compile cache
    times = {name: [] for name in MEASURES}
    for _ in range(RUNS):
        for name, code in MEASURES.items():
            times[name].append(run(code))
    print(f"fresh processes, {RUNS} runs each; ms")
    for name, values in times.items():
        print(f"| `{name}` | {statistics.median(values):.0f} ms | {min(values):.0f}–{max(values):.0f} ms |")


if __name__ == "__main__":
    main()
