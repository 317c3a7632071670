"""The Django app (``bachata_common.apps.CommonConfig``): the ``BACHATA_COMMON`` setting and its
system checks, and the management commands ``cleanup_temp``, ``resources``, ``monitor_report`` and
``organize_clips`` run with ``call_command`` on temporary directories (and through ``python -m
django`` for the exit codes). Skipped when Django is not installed; ``import bachata_common``
never needs it."""

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

django = pytest.importorskip("django")

from bachata_common import ResourceManager, _django_settings  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[3]


def test_the_package_imports_without_django():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["django"] = None  # any import of Django fails
        import bachata_common, bachata_common.resources, bachata_common.performance_monitor
        import bachata_common.directory_organizer, bachata_common._django_settings
        print(bachata_common.resource_manager.max_temp_age_hours)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={}, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "24.0"


def test_the_rules_of_the_setting_need_no_django():
    ids = lambda value: [problem.id for problem in _django_settings.problems(value)]  # noqa: E731
    assert ids(None) == [] and ids({}) == []
    assert ids(["DATA_DIR"]) == ["bachata_common.E001"]
    assert ids({"DATA_DIRS": "data"}) == ["bachata_common.E002"]
    assert "Did you mean 'DATA_DIR'?" == _django_settings.problems({"DATA_DIRS": "x"})[0].hint
    assert ids({"MAX_TEMP_AGE_HOURS": "24"}) == ["bachata_common.E003"]
    assert ids({"MAX_TEMP_AGE_HOURS": True}) == ["bachata_common.E003"]
    assert ids({"MAX_TEMP_AGE_HOURS": -1}) == ["bachata_common.E004"]
    assert ids({"MAX_CACHE_SIZE_GB": 0}) == ["bachata_common.E004"]
    assert ids({"MEMORY_WARNING_THRESHOLD": 101}) == ["bachata_common.E004"]
    assert ids({"DISK_WARNING_THRESHOLD": 0.9}) == ["bachata_common.W001"]
    assert ids({"AREAS": ["cache"]}) == ["bachata_common.E004"]
    assert ids({"AREAS": "temp"}) == ["bachata_common.E003"]
    assert ids({"AREAS": ["temp", "Bad/Name"]}) == ["bachata_common.E004"]
    assert ids({"DATA_DIR": 5}) == ["bachata_common.E003"]
    assert ids({"DATA_DIR": __file__}) == ["bachata_common.E005"]
    assert ids({"MONITOR_DIR": "m", "MONITOR_DATABASE": "m.sqlite3"}) == ["bachata_common.E006"]
    value = {"DATA_DIR": "data", "MAX_TEMP_AGE_HOURS": "1", "BOGUS": 1, "DISK_WARNING_THRESHOLD": 0.5}
    assert _django_settings.valid_values(value) == {"DATA_DIR": "data", "DISK_WARNING_THRESHOLD": 0.5}


from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "bachata_common.apps.CommonConfig"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from django.apps import apps  # noqa: E402
from django.core import checks  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

import bachata_common  # noqa: E402
from bachata_common import PerformanceMonitor  # noqa: E402

DAY = 86_400


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, no_color=True)
    return out.getvalue()


def old(path: Path, content: bytes = b"x" * 100, days: float = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - days * DAY
    os.utime(path, (then, then))
    return path


@pytest.fixture
def data(tmp_path):
    """``BACHATA_COMMON`` on a temporary data directory and monitor directory."""
    data_dir = tmp_path / "data"
    value = {"DATA_DIR": str(data_dir), "MONITOR_DIR": str(tmp_path / "monitor"), "MAX_TEMP_AGE_HOURS": 24}
    with override_settings(BACHATA_COMMON=value):
        yield data_dir


def test_the_app_is_registered_under_its_package_name():
    config = apps.get_app_config("bachata_common")
    assert config.name == "bachata_common" and config.label == "bachata_common"
    assert config.default_auto_field == "django.db.models.BigAutoField"
    assert type(config).__module__ == "bachata_common.apps"


def test_the_setting_points_the_process_wide_manager_at_its_data_dir(tmp_path, monkeypatch):
    from bachata_common import resources

    shared = ResourceManager()
    monkeypatch.setattr(resources, "resource_manager", shared)
    value = {
        "DATA_DIR": tmp_path / "data",
        "AREAS": ["temp", "cache"],
        "MAX_TEMP_AGE_HOURS": 2,
        "MAX_CACHE_SIZE_GB": 0.5,
        "MEMORY_WARNING_THRESHOLD": 70,
        "DISK_WARNING_THRESHOLD": 95,
    }
    with override_settings(BACHATA_COMMON=value):
        manager = apps.get_app_config("bachata_common").resource_manager
        assert manager is shared, "app code and the commands share the process-wide manager"
        assert (shared.max_temp_age_hours, shared.max_cache_size_gb) == (2.0, 0.5)
        assert (shared.memory_warning_threshold, shared.disk_warning_threshold) == (70.0, 95.0)
        assert shared.data_dir == (tmp_path / "data").resolve()
        assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["cache", "temp"]
        # Changed after the manager was used: a manager of the new directory.
        with override_settings(BACHATA_COMMON={"DATA_DIR": tmp_path / "other"}):
            other = apps.get_app_config("bachata_common").resource_manager
            assert other is not shared and other.data_dir == (tmp_path / "other").resolve()
    # The setting gone, the process-wide manager is back, with the configured thresholds.
    assert apps.get_app_config("bachata_common").resource_manager is shared
    assert (shared.max_temp_age_hours, shared.memory_warning_threshold) == (24.0, 85.0)
    shared.shutdown(final_cleanup=False)


def test_a_data_dir_that_goes_away_before_use_leaves_the_manager_as_configured(tmp_path, monkeypatch):
    from bachata_common import resources

    shared = ResourceManager()
    monkeypatch.setattr(resources, "resource_manager", shared)
    with override_settings(BACHATA_COMMON={"DATA_DIR": tmp_path / "data"}):
        assert apps.get_app_config("bachata_common").resource_manager is shared
    monkeypatch.setenv("BACHATA_DATA_DIR", str(tmp_path / "env"))
    assert apps.get_app_config("bachata_common").resource_manager is shared
    assert shared.data_dir == (tmp_path / "env").resolve()
    assert not (tmp_path / "data").exists()


def test_system_checks_name_every_problem(tmp_path):
    bad = {"DATA_DIRS": "x", "MAX_TEMP_AGE_HOURS": "24", "MAX_CACHE_SIZE_GB": -1, "MEMORY_WARNING_THRESHOLD": 0.85}
    with override_settings(BACHATA_COMMON=bad):
        found = checks.run_checks(tags=["bachata_common"])
        assert sorted(message.id for message in found) == [
            "bachata_common.E002",
            "bachata_common.E003",
            "bachata_common.E004",
            "bachata_common.W001",
        ]
        assert all(message.obj == "BACHATA_COMMON" for message in found)
        with pytest.raises(Exception) as raised:
            call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
        assert "bachata_common.E002" in str(raised.value) and "Did you mean 'DATA_DIR'?" in str(raised.value)
        # call_command skips the checks: a command refuses the setting itself.
        with pytest.raises(CommandError) as refused:
            run("resources")
        assert refused.value.returncode == 2 and "bachata_common.E003" in str(refused.value)
    with override_settings(BACHATA_COMMON="data"):
        assert [message.id for message in checks.run_checks(tags=["bachata_common"])] == ["bachata_common.E001"]
    with override_settings(BACHATA_COMMON={"DATA_DIR": tmp_path}):
        assert checks.run_checks(tags=["bachata_common"]) == []


def test_cleanup_temp_removes_old_files_and_counts_them(data):
    stale = old(data / "temp" / "user_1" / "old.wav")
    then = time.time() - 3 * DAY
    os.utime(stale.parent, (then, then))
    cached = old(data / "cache" / "old.bin")
    fresh = data / "temp" / "fresh.wav"
    fresh.write_bytes(b"new")

    dry = run("cleanup_temp", "--dry-run")
    assert dry.startswith("would remove 2 files (200 B) by age and 0 files (0 B) from the cache; 1 empty directories;")
    assert stale.exists() and cached.exists()

    done = json.loads(run("cleanup_temp", "--json"))
    assert done["temporary_files"]["files_removed"] == 2 and done["total_bytes_freed"] == 200
    assert done["dry_run"] is False and done["data_dir"] == str(data.resolve())
    assert not stale.exists() and not cached.exists() and not stale.parent.exists()
    assert fresh.exists()

    assert run("cleanup_temp").startswith("removed 0 files (0 B) by age")
    assert run("cleanup_temp", "--force").startswith("removed 1 files (3 B) by age")
    assert not fresh.exists()


def test_cleanup_temp_trims_the_cache_to_its_cap(tmp_path):
    data_dir = tmp_path / "data"
    for index in range(4):
        old(data_dir / "cache" / f"{index}.bin", b"c" * 1000, days=0.5 - index * 0.01)
    # A cap of 2000 bytes: trimmed oldest first to 80 % of it.
    with override_settings(BACHATA_COMMON={"DATA_DIR": str(data_dir), "MAX_CACHE_SIZE_GB": 2000 / 1024**3}):
        out = run("cleanup_temp")
    assert "by age and 3 files (2.9 KiB) from the cache" in out
    assert [path.name for path in (data_dir / "cache").iterdir()] == ["3.bin"]


def test_resources_prints_figures_and_warnings(data):
    old(data / "temp" / "a.wav")
    out = run("resources")
    lines = out.splitlines()
    assert lines[0].startswith("memory") and lines[1].startswith("disk") and lines[2].startswith("cpu")
    assert any(line.startswith("area    ") and "temp" in line and "1 files" in line for line in lines)
    assert lines[-1] == "no warnings" or ": " in lines[-1]

    with override_settings(BACHATA_COMMON={"DATA_DIR": str(data), "MEMORY_WARNING_THRESHOLD": 0.001,
                                           "DISK_WARNING_THRESHOLD": 0.001}):
        warned = run("resources")
        assert "warning: memory use" in warned and "warning: disk use" in warned
        document = json.loads(run("resources", "--json"))
    assert {warning["resource"] for warning in document["warnings"]} == {"memory", "disk"}
    assert document["thresholds"] == {"memory_warning_threshold": 0.001, "disk_warning_threshold": 0.001}
    assert set(document) >= {"memory", "disk", "cpu", "temp_directories", "emergency_cleanup"}
    assert str(data.resolve() / "temp") in document["temp_directories"]


def log_decisions(monitor_dir: Path) -> None:
    monitor = PerformanceMonitor(monitor_dir)
    decision = monitor.log_recommendation_decision(
        input_song="Obsesión", recommended_moves=["basic", "<script>alert(1)</script>"],
        recommendation_scores=[0.9, 0.7], weights_used={}, processing_time_ms=38.0, song_features={},
    )
    monitor.log_user_feedback(decision, "like", move_id="basic")
    monitor.close()


def test_monitor_report_as_text_json_and_html(data, tmp_path):
    log_decisions(tmp_path / "monitor")
    text = run("monitor_report", "--days", "3")
    assert "(3 days, all versions)" in text.splitlines()[0]
    assert "decisions        1" in text and "satisfaction     1.000" in text
    assert text.count("\n") >= 11  # the metrics, then a line per day

    document = json.loads(run("monitor_report", "--json"))
    assert document["overall_metrics"]["total_recommendations"] == 1
    assert document["report_period"]["days"] == 7

    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    assert run("monitor_report", "--html", str(page)).strip() == str(page)
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<svg" in html
    assert oct(page.stat().st_mode & 0o777) == "0o600"
    page.chmod(0o644)
    run("monitor_report", "--html", str(page))
    assert oct(page.stat().st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(page.parent)) == ["report.html"]  # no temporary file left


def test_monitor_report_never_replaces_a_link(data, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    with pytest.raises(CommandError) as refused:
        run("monitor_report", "--html", str(link))
    assert refused.value.returncode == 2 and "not a regular file" in str(refused.value)
    assert link.is_symlink() and target.read_text() == "keep"
    os.mkfifo(tmp_path / "fifo.html")
    with pytest.raises(CommandError):
        run("monitor_report", "--html", str(tmp_path / "fifo.html"))
    with pytest.raises(CommandError) as days:
        run("monitor_report", "--days", "0")
    assert days.value.returncode == 2


def annotated_dataset(data_dir: Path) -> Path:
    """``data/Bachata_steps/raw/*.mp4`` and ``data/bachata_annotations.json``: three clips to move,
    one missing."""
    root = data_dir / "Bachata_steps"
    clips = []
    for clip_id, label in (("b1", "basic"), ("t1", "Lady-Turn"), ("d1", "DIP")):
        (root / "raw").mkdir(parents=True, exist_ok=True)
        (root / "raw" / f"{clip_id}.mp4").write_bytes(clip_id.encode())
        clips.append({"clip_id": clip_id, "video_path": f"raw/{clip_id}.mp4", "move_label": label})
    annotations = data_dir / "bachata_annotations.json"
    annotations.write_text(json.dumps({"clips": clips}))
    return annotations


def test_organize_clips_dry_run_then_run(data, tmp_path):
    annotations = annotated_dataset(data)
    before = annotations.read_text()
    dry = run("organize_clips", "--dry-run")
    assert dry.splitlines()[0] == (
        "3 clips: 3 would move, 0 already organized, 0 missing, 0 target exists, 0 unmapped, 0 refused, 0 errors"
    )
    assert annotations.read_text() == before and (data / "Bachata_steps" / "raw" / "b1.mp4").exists()

    report = tmp_path / "report.md"
    done = run("organize_clips", "--report", str(report))
    assert done.startswith("3 clips: 3 moved,")
    assert (data / "Bachata_steps" / "basic_moves" / "basic" / "b1.mp4").read_bytes() == b"b1"
    assert report.read_text().startswith("# Directory organization report")
    paths = [clip["video_path"] for clip in json.loads(annotations.read_text())["clips"]]
    assert paths == ["basic_moves/basic/b1.mp4", "turns_spins/ladyturn/t1.mp4", "advanced/dip/d1.mp4"]

    again = json.loads(run("organize_clips", "--json", "--annotations", str(annotations)))
    assert again["success"] and again["summary"]["already_organized"] == 3


def test_organize_clips_fails_on_clips_it_cannot_place(data, tmp_path):
    annotations = annotated_dataset(data)
    document = json.loads(annotations.read_text())
    document["clips"].append({"clip_id": "x9", "video_path": "raw/x9.mp4", "move_label": "basic"})
    document["clips"].append({"clip_id": "evil", "video_path": "../../etc/passwd.mp4", "move_label": "basic"})
    annotations.write_text(json.dumps(document))
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("organize_clips", stdout=out)
    assert failed.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("5 clips: 3 moved, 0 already organized, 1 missing,") and "1 refused" in lines[0]
    assert lines[1].split("\t")[:2] == ["  x9", "missing"] and lines[2].split("\t")[:2] == ["  evil", "refused"]

    # Invalid input: exit 2.
    with pytest.raises(CommandError) as missing:
        run("organize_clips", "--annotations", str(tmp_path / "none.json"))
    assert missing.value.returncode == 2
    with pytest.raises(CommandError) as no_root:
        run("organize_clips", "--root", str(tmp_path / "nowhere"))
    assert no_root.value.returncode == 2 and "--root" in str(no_root.value)
    link = tmp_path / "report.md"
    link.symlink_to(tmp_path / "elsewhere.md")
    with pytest.raises(CommandError) as refused:
        run("organize_clips", "--dry-run", "--report", str(link))
    assert refused.value.returncode == 2 and not (tmp_path / "elsewhere.md").exists()


def manage(tmp_path: Path, setting: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m django ARGS`` in a project whose settings hold ``BACHATA_COMMON = setting``."""
    (tmp_path / "project_settings.py").write_text(textwrap.dedent(f"""
        SECRET_KEY = "test"
        INSTALLED_APPS = ["bachata_common"]
        DATABASES = {{}}
        USE_TZ = True
        BACHATA_COMMON = {setting}
    """))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "project_settings",
        "HOME": str(tmp_path),
    }
    return subprocess.run([sys.executable, "-m", "django", *args], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_manage_py_reports_checks_and_exit_codes(tmp_path):
    data_dir = tmp_path / "data"
    good = repr({"DATA_DIR": str(data_dir), "MONITOR_DIR": str(tmp_path / "monitor")})
    checked = manage(tmp_path, good, "check")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout

    bad = manage(tmp_path, repr({"DATA_DIR": str(data_dir), "MAX_TEMP_AGE_HOUR": 1}), "check")
    assert bad.returncode == 1
    assert "BACHATA_COMMON: (bachata_common.E002) BACHATA_COMMON has an unknown key 'MAX_TEMP_AGE_HOUR'." in bad.stderr
    assert "(bachata_common.E002)" in bad.stderr and "Did you mean 'MAX_TEMP_AGE_HOURS'?" in bad.stderr
    # manage.py runs the checks before a command, too.
    refused = manage(tmp_path, repr({"MAX_TEMP_AGE_HOURS": "1"}), "cleanup_temp")
    assert refused.returncode == 1 and "bachata_common.E003" in refused.stderr

    help_text = manage(tmp_path, good, "help", "organize_clips")
    assert help_text.returncode == 0 and "--annotations FILE" in help_text.stdout and "--root DIR" in help_text.stdout

    annotated_dataset(data_dir)
    (data_dir / "Bachata_steps" / "raw" / "t1.mp4").unlink()
    failed = manage(tmp_path, good, "organize_clips")
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("3 clips: 2 moved, 0 already organized, 1 missing,")
    assert "CommandError: some clips could not be placed" in failed.stderr
    invalid = manage(tmp_path, good, "organize_clips", "--annotations", "missing.json")
    assert invalid.returncode == 2 and "cannot read the annotation file" in invalid.stderr


def test_docstring_examples_of_the_setting_rules():
    import doctest

    result = doctest.testmod(_django_settings)
    assert result.attempted > 0 and result.failed == 0
