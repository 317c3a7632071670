"""The management commands against hostile targets and inputs: ``monitor_report --html`` refuses a
FIFO, a device and a directory before writing anything and keeps the previous report when the
disk fills; a PostgreSQL password in ``MONITOR_DATABASE`` is never in a command's error;
``organize_clips`` refuses a FIFO annotation file at once (exit 2) and clip paths that leave the
dataset root or pass through a link."""

import errno
import io
import json
import os

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "bachata_common.apps.CommonConfig"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from django.core.management import CommandError, call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from bachata_common.management import _common  # noqa: E402

PASSWORD = "hunter2-s3cr3t"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out, no_color=True)
    return out.getvalue()


@pytest.fixture
def data(tmp_path):
    value = {"DATA_DIR": str(tmp_path / "data"), "MONITOR_DIR": str(tmp_path / "monitor")}
    with override_settings(BACHATA_COMMON=value):
        yield tmp_path / "data"


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_html_to_a_fifo_a_directory_or_a_device_is_refused_before_anything_is_written(data, tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "report.html"
        os.mkfifo(target)
    elif kind == "directory":
        target = tmp_path / "report.html"
        target.mkdir()
    else:
        target = "/dev/full" if os.path.exists("/dev/full") else "/dev/null"
    with pytest.raises(CommandError) as refused:
        run("monitor_report", "--html", str(target))
    assert refused.value.returncode == 2
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_a_full_disk_keeps_the_previous_report_and_leaves_no_temporary_file(data, tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("previous")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_common.os, "fsync", full)
    with pytest.raises(CommandError) as failed:
        run("monitor_report", "--html", str(target))
    assert failed.value.returncode == 1 and "No space left" in str(failed.value)
    assert target.read_text() == "previous"
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "database",
    [
        f"postgres://alice:{PASSWORD}@127.0.0.1:1/bachata",
        f"postgresql://alice:{PASSWORD}@127.0.0.1:1/bachata?connect_timeout=2",
        f"host=127.0.0.1 port=1 user=alice password={PASSWORD} dbname=bachata connect_timeout=2",
    ],
)
def test_a_postgres_password_is_never_in_a_command_error(tmp_path, database):
    with override_settings(BACHATA_COMMON={"DATA_DIR": str(tmp_path / "data"), "MONITOR_DATABASE": database}):
        out = io.StringIO()
        with pytest.raises(CommandError) as failed:
            call_command("monitor_report", stdout=out, stderr=out, no_color=True)
    assert PASSWORD not in str(failed.value) and PASSWORD not in out.getvalue()


def test_a_fifo_annotation_file_is_refused_at_once(data, tmp_path):
    (data / "Bachata_steps").mkdir(parents=True)
    fifo = tmp_path / "annotations.json"
    os.mkfifo(fifo)
    with pytest.raises(CommandError) as refused:
        run("organize_clips", "--annotations", str(fifo))
    assert refused.value.returncode == 2


def test_clip_paths_leaving_the_root_or_through_a_link_are_refused(data, tmp_path):
    root = data / "Bachata_steps"
    root.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.mp4").write_bytes(b"x")
    (root / "link").symlink_to(outside)
    clips = [
        {"clip_id": "up", "video_path": "../../outside/a.mp4", "move_label": "basic_step"},
        {"clip_id": "absolute", "video_path": str(outside / "a.mp4"), "move_label": "basic_step"},
        {"clip_id": "linked", "video_path": "link/a.mp4", "move_label": "basic_step"},
    ]
    annotations = tmp_path / "clips.json"
    annotations.write_text(json.dumps({"clips": clips}))
    with pytest.raises(CommandError) as failed:
        run("organize_clips", "--annotations", str(annotations), "--json")
    assert failed.value.returncode == 1
    assert (outside / "a.mp4").read_bytes() == b"x" and os.listdir(outside) == ["a.mp4"]
    assert sorted(os.listdir(root)) == ["link"]


@pytest.mark.parametrize(
    "value",
    [
        {"DATA_DIR": "/tmp/a\x00b"},
        {"MONITOR_DIR": "m\x00n"},
        {"MONITOR_DATABASE": "x\x00.sqlite3"},
        {"MAX_TEMP_AGE_HOURS": 10**400},
        {"MEMORY_WARNING_THRESHOLD": -(10**400)},
    ],
)
def test_hostile_setting_values_are_reported_by_the_checks_never_raised(value):
    from bachata_common import _django_settings

    found = _django_settings.problems(value)
    assert [problem.id for problem in found] in (["bachata_common.E003"], ["bachata_common.E004"])
    assert _django_settings.valid_values(value) == {}


def test_a_deeply_nested_annotation_file_is_invalid_input(data, tmp_path):
    annotations = data / "bachata_annotations.json"
    (data / "Bachata_steps").mkdir(parents=True, exist_ok=True)
    annotations.write_text('{"clips": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        run("organize_clips", "--dry-run")
    assert raised.value.returncode == 2
    assert "nested too deeply" in str(raised.value)
