"""The Python snippet of the repository's README runs in this installation and prints what
the README says it prints."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def readme_snippet():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python / Node", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


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
