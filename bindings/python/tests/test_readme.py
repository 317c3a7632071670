"""The Python snippet of the repository's README runs in this installation and prints what
the README says it prints."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def readme_snippet(index: int = 0):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python / Node", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[index]


def test_readme_snippet_prints_a_resolved_config_and_a_friendly_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", readme_snippet()],
        cwd=tmp_path,
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "local localhost 9200 0.3",
        "This song is too short. Please choose a song that is at least 30 seconds long.",
    ]


def test_readme_services_snippet_runs_the_original_api(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", readme_snippet(1)],
        cwd=tmp_path,
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    cleaned, resources, user = result.stdout.splitlines()
    assert cleaned.startswith("['bytes_freed', 'directories_processed',") and "'files_removed'" in cleaned
    assert "['bytes_freed', 'dry_run', 'files_removed', 'skipped_in_use']" in cleaned
    assert resources.startswith("['cpu', 'disk', 'memory', 'temp_directories', 'timestamp']")
    assert user == "{'files_removed': 0, 'bytes_freed': 0, 'skipped_in_use': 0, 'directory_removed': True}"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cache", "output", "temp"]


def test_readme_monitor_snippet_runs_the_original_api(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", readme_snippet(2)],
        cwd=tmp_path,
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == ["1 1.0 True", "not_enough_data", "not"]
    assert (tmp_path / "data" / "monitor" / "monitor.sqlite3").is_file()
