#!/usr/bin/env bash
# The Django app end to end, as a Django project uses it: a fresh virtualenv gets only
# `pip install "./bindings/python[django]"`, `django-admin startproject` makes a project whose
# INSTALLED_APPS lists bachata_common.apps.CommonConfig and whose BACHATA_COMMON setting points to
# throwaway directories; then `manage.py check` (and a wrong setting reported by its id) and the
# four commands on real files: cleanup_temp removes old files from the temp area, resources shows
# them, monitor_report reports stored decisions (--html writes a page and never replaces a link),
# organize_clips sorts a small annotated dataset (exit 0, 1 when a clip cannot be placed, 2 on
# invalid input). A second fresh virtualenv without the extra proves `import bachata_common`
# needs no Django.
#
# The component: $BACHATA_POLICY_WASM, else target/policy.wasm when present, else the install
# builds it with cargo (bindings/python/setup.py). Pip cache in target/pip-cache (PIP_CACHE_DIR
# overrides); only PyPI is needed. Takes about half a minute with a warm cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$root/target/pip-cache}"
if [ -z "${BACHATA_POLICY_WASM:-}" ] && [ -f target/policy.wasm ]; then
  export BACHATA_POLICY_WASM="$root/target/policy.wasm"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bachata-django.XXXXXX")
trap 'rm -rf "$work"' EXIT
pip=(--quiet --disable-pip-version-check)

fail() {
  echo "FAIL: $*" >&2
  for file in "$work"/out "$work"/err; do
    [ -f "$file" ] && { echo "--- ${file##*/}" >&2; cat "$file" >&2; }
  done
  exit 1
}
# expect CODE COMMAND...: runs COMMAND (stdout in $work/out, stderr in $work/err), exit CODE.
expect() {
  local want=$1 got=0
  shift
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || fail "exit $got (expected $want): $*"
}
has() { grep -qF -- "$2" "$work/$1" || fail "$1 lacks: $2"; }
first_line() { [ "$(head -n 1 "$work/out")" = "$1" ] || fail "first line is not: $1"; }

echo "--- a fresh virtualenv with only pip install ./bindings/python[django]"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install "${pip[@]}" "./bindings/python[django]"
python=$work/venv/bin/python

echo "--- django-admin startproject, with the app and BACHATA_COMMON"
mkdir "$work/project"
"$work/venv/bin/django-admin" startproject bachata_site "$work/project"
project=$work/project
data=$work/data
monitor=$work/monitor
"$python" - "$project/bachata_site/settings.py" "$data" "$monitor" <<'EOF'
import sys
path, data, monitor = sys.argv[1:]
text = open(path).read()
assert "INSTALLED_APPS = [\n" in text
text = text.replace("INSTALLED_APPS = [\n", 'INSTALLED_APPS = [\n    "bachata_common.apps.CommonConfig",\n', 1)
text += f"""
BACHATA_COMMON = {{
    "DATA_DIR": {data!r},
    "MONITOR_DIR": {monitor!r},
    "MAX_TEMP_AGE_HOURS": 24,
    "MAX_CACHE_SIZE_GB": 5.0,
    "MEMORY_WARNING_THRESHOLD": 99.9,
    "DISK_WARNING_THRESHOLD": 99.9,
}}
"""
open(path, "w").write(text)
EOF
cat >"$project/bachata_site/settings_wrong.py" <<'EOF'
from .settings import *  # noqa: F403

BACHATA_COMMON = {"DATA_DIRS": "data", "MAX_TEMP_AGE_HOURS": "24"}
EOF
# Only what the project needs: a developer's BACHATA_* variables and .env stay out of it.
manage() { (cd "$project" && env -i PATH="$PATH" HOME="$work" LANG=C.UTF-8 "$python" manage.py "$@"); }

echo "--- manage.py check"
expect 0 manage check
has out "System check identified no issues"
expect 1 manage check --settings bachata_site.settings_wrong
has err "BACHATA_COMMON: (bachata_common.E002) BACHATA_COMMON has an unknown key 'DATA_DIRS'."
has err "HINT: Did you mean 'DATA_DIR'?"
has err "(bachata_common.E003) BACHATA_COMMON['MAX_TEMP_AGE_HOURS'] must be a number"
expect 1 manage cleanup_temp --settings bachata_site.settings_wrong
has err "bachata_common.E002"

echo "--- manage.py cleanup_temp"
mkdir -p "$data/temp/user_42" "$data/cache"
printf 'old audio' >"$data/temp/user_42/old.wav"        # 9 bytes
printf 'old frame' >"$data/temp/old.png"                # 9 bytes
printf 'fresh' >"$data/temp/fresh.wav"
touch -d '3 days ago' "$data/temp/user_42/old.wav" "$data/temp/old.png" "$data/temp/user_42"
expect 0 manage cleanup_temp --dry-run
first_line "would remove 2 files (18 B) by age and 0 files (0 B) from the cache; 1 empty directories; 3 areas processed"
[ -f "$data/temp/old.png" ] && [ -f "$data/temp/user_42/old.wav" ] || fail "a dry run removed files"
expect 0 manage resources
has out "area    $data/temp  23 B  3 files"
expect 0 manage cleanup_temp
first_line "removed 2 files (18 B) by age and 0 files (0 B) from the cache; 1 empty directories; 3 areas processed"
[ ! -e "$data/temp/old.png" ] && [ ! -e "$data/temp/user_42/old.wav" ] || fail "old files are still there"
[ -f "$data/temp/fresh.wav" ] || fail "a fresh file was removed"
expect 0 manage cleanup_temp --force --json
"$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["temporary_files"]["files_removed"] == 1 and r["force"], r' "$work/out" \
  || fail "cleanup_temp --force --json"
[ ! -e "$data/temp/fresh.wav" ] || fail "--force kept a file"

echo "--- manage.py resources"
expect 0 manage resources
has out "memory  "
has out "disk    "
has out "cpu     "
has out "area    $data/cache  0 B  0 files"
has out "no warnings"
expect 0 manage resources --json
"$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["warnings"] == [] and r["thresholds"]["memory_warning_threshold"] == 99.9, r' "$work/out" \
  || fail "resources --json"

echo "--- manage.py monitor_report"
expect 0 manage shell -c '
from django.apps import apps
monitor = apps.get_app_config("bachata_common").services.performance_monitor()
decision = monitor.log_recommendation_decision(
    input_song="Obsesión", recommended_moves=["basic", "cross_body_lead", "dip"],
    recommendation_scores=[0.92, 0.81, 0.40], weights_used={}, processing_time_ms=38.0, song_features={})
monitor.log_user_feedback(decision, "like", move_id="cross_body_lead")
print(monitor.database)
'
has out "$monitor/monitor.sqlite3"
expect 0 manage monitor_report --days 7
has out "(7 days, all versions)"
has out "decisions        1"
has out "satisfaction     1.000"
has out "top moves        basic 1, cross_body_lead 1, dip 1"
expect 0 manage monitor_report --html "$work/report.html"
first_line "$work/report.html"
head -c 15 "$work/report.html" | grep -qF '<!DOCTYPE html>' || fail "report.html is not a page"
grep -qF 'cross_body_lead' "$work/report.html" || fail "report.html lacks the moves"
printf 'keep me' >"$work/precious.txt"
ln -s "$work/precious.txt" "$work/link.html"
expect 2 manage monitor_report --html "$work/link.html"
has err "exists and is not a regular file"
[ -L "$work/link.html" ] && [ "$(cat "$work/precious.txt")" = "keep me" ] || fail "--html replaced a link"
expect 2 manage monitor_report --days 0

echo "--- manage.py organize_clips"
mkdir -p "$data/Bachata_steps/raw"
for clip in b1 t1 d1; do printf '%s' "$clip" >"$data/Bachata_steps/raw/$clip.mp4"; done
cat >"$data/bachata_annotations.json" <<'EOF'
{"clips": [
  {"clip_id": "b1", "video_path": "raw/b1.mp4", "move_label": "basic"},
  {"clip_id": "t1", "video_path": "raw/t1.mp4", "move_label": "Lady-Turn"},
  {"clip_id": "d1", "video_path": "raw/d1.mp4", "move_label": "DIP"}
]}
EOF
expect 0 manage organize_clips --dry-run
first_line "3 clips: 3 would move, 0 already organized, 0 missing, 0 target exists, 0 unmapped, 0 refused, 0 errors"
[ -f "$data/Bachata_steps/raw/b1.mp4" ] || fail "a dry run moved a clip"
expect 0 manage organize_clips --report "$work/organize.md"
first_line "3 clips: 3 moved, 0 already organized, 0 missing, 0 target exists, 0 unmapped, 0 refused, 0 errors"
[ "$(cat "$data/Bachata_steps/turns_spins/ladyturn/t1.mp4")" = t1 ] || fail "t1 is not in turns_spins/ladyturn"
grep -qF '"video_path": "basic_moves/basic/b1.mp4"' "$data/bachata_annotations.json" || fail "the annotation file was not rewritten"
head -n 1 "$work/organize.md" | grep -qF '# Directory organization report' || fail "no Markdown report"
"$python" - "$data/bachata_annotations.json" <<'EOF'
import json, sys
document = json.load(open(sys.argv[1]))
document["clips"].append({"clip_id": "x9", "video_path": "raw/x9.mp4", "move_label": "basic"})
json.dump(document, open(sys.argv[1], "w"))
EOF
expect 1 manage organize_clips --annotations "$data/bachata_annotations.json"
first_line "4 clips: 0 moved, 3 already organized, 1 missing, 0 target exists, 0 unmapped, 0 refused, 0 errors"
has out "x9	missing	raw/x9.mp4	no file at its path"
has err "CommandError: some clips could not be placed"
expect 2 manage organize_clips --annotations "$work/missing.json"
has err "cannot read the annotation file"

echo "--- import bachata_common in a fresh virtualenv without Django"
python3 -m venv "$work/plain"
"$work/plain/bin/python" -m pip install "${pip[@]}" ./bindings/python
expect 0 env -i PATH="$PATH" HOME="$work" "$work/plain/bin/python" -c '
import importlib.util, sys
assert importlib.util.find_spec("django") is None, "Django is installed"
import bachata_common
from bachata_common import resource_manager, ValidationError, get_user_friendly_message
assert "django" not in sys.modules
print(get_user_friendly_message("NOPE_ERROR"), resource_manager.max_temp_age_hours)
'
first_line "An error occurred: NOPE_ERROR 24.0"
expect 1 "$work/plain/bin/python" -c 'import bachata_common.apps'
has err "No module named 'django'"

echo "python-django: all passed"
