"""The original app's ``temp_file_manager`` API over the Python host: scoped files and
directories (0600/0700, locked, removed on exit and on error), per-user directories, cleanup of
one user's files."""

import asyncio
import fcntl
import os
import stat

import pytest

from bachata_common import ResourceManager, TempFileManager, ValidationError, temp_file_manager
from bachata_common.temp_files import TempFileManager as TempFileManagerClass


@pytest.fixture
def manager(tmp_path):
    resources = ResourceManager(data_dir=tmp_path / "data")
    yield TempFileManager(resources)
    resources.areas.close()


def locked_by_someone(path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_original_names():
    assert TempFileManager is TempFileManagerClass
    assert isinstance(temp_file_manager, TempFileManager)


def test_a_temp_file_exists_private_and_locked_inside_the_block_and_is_gone_after(manager):
    async def scenario():
        async with manager.temp_file(suffix=".wav", prefix="mix_") as path:
            assert path.is_file() and path.name.startswith("mix_") and path.name.endswith(".wav")
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert path.parent == manager.temp_root
            assert locked_by_someone(path)
            assert manager.get_active_file_count() == 1
            path.write_bytes(b"RIFF")
            return path

    path = asyncio.run(scenario())
    assert not path.exists()
    assert manager.get_active_file_count() == 0


def test_cleanup_all_active_files_can_be_awaited_as_the_original(manager):
    import asyncio

    scoped = manager.temp_file()
    path = scoped.__enter__()
    assert asyncio.run(manager.cleanup_all_active_files()) == 1
    assert not path.exists()
    scoped.__exit__(None, None, None)


def test_a_temp_file_is_removed_when_the_block_fails(manager):
    seen = []
    with pytest.raises(RuntimeError):
        with manager.temp_file() as path:
            seen.append(path)
            raise RuntimeError("boom")
    assert not seen[0].exists()


def test_the_cleaner_skips_a_live_temp_file(manager, tmp_path):
    resources = manager._manager()
    with manager.temp_file(user_id="7") as path:
        old = path.stat().st_mtime - 48 * 3600
        os.utime(path, (old, old))
        result = resources.cleanup_temporary_files_sync(force=True)
        assert path.exists()
        assert result["skipped_in_use"] >= 1


def test_a_temp_directory_and_what_it_holds_go_after_the_block(manager, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")

    async def scenario():
        async with manager.temp_directory(prefix="frames_", user_id="u1") as path:
            assert path.is_dir() and stat.S_IMODE(path.stat().st_mode) == 0o700
            assert path.parent.name == "user_u1"
            (path / "a" / "b").mkdir(parents=True)
            (path / "a" / "b" / "f.png").write_bytes(b"png")
            (path / "link").symlink_to(outside)
            return path

    path = asyncio.run(scenario())
    assert not path.exists()
    assert outside.read_text() == "keep"


def test_user_directories_are_private_and_validated(manager):
    path = manager.get_user_temp_directory(42)
    assert path.name == "user_42" and stat.S_IMODE(path.stat().st_mode) == 0o700
    os.chmod(path, 0o777)
    assert stat.S_IMODE(manager.get_user_temp_directory("42").stat().st_mode) == 0o700
    for hostile in ["../..", "..", "a/b", "", "x" * 65, "user 1", "ü"]:
        with pytest.raises(ValidationError):
            manager.get_user_temp_directory(hostile)
        with pytest.raises(ValueError):
            asyncio.run(manager.cleanup_user_temp_files(hostile))


def test_a_user_directory_that_is_a_link_is_refused(manager, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (manager.temp_root / "user_evil").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValidationError, match="symbolic link"):
        manager.get_user_temp_directory("evil")
    with pytest.raises(ValidationError):
        with manager.temp_file(user_id="evil"):
            pass


def test_prefixes_and_suffixes_cannot_climb(manager):
    for field, value in [("prefix", "../x"), ("suffix", "/etc"), ("prefix", "a..b")]:
        with pytest.raises(ValidationError):
            with manager.temp_file(**{field: value}):
                pass


def test_a_directory_outside_the_temp_area_is_refused(manager, tmp_path):
    with pytest.raises(ValidationError, match="not inside the temp area"):
        with manager.temp_file(directory=tmp_path):
            pass
    with pytest.raises(ValidationError):
        with manager.temp_file(directory="../../etc"):
            pass
    with manager.temp_file(directory="jobs/42") as path:
        assert path.parent == manager.temp_root / "jobs" / "42"


def test_cleaning_user_1_never_touches_user_10(manager):
    one = manager.get_user_temp_directory("1")
    ten = manager.get_user_temp_directory("10")
    (one / "a.tmp").write_bytes(b"12345")
    (one / "deep").mkdir()
    (one / "deep" / "b.tmp").write_bytes(b"12")
    (ten / "keep.tmp").write_bytes(b"ten")
    result = asyncio.run(manager.cleanup_user_temp_files("1"))
    assert result == {"files_removed": 2, "bytes_freed": 7, "skipped_in_use": 0, "directory_removed": True}
    assert not one.exists()
    assert (ten / "keep.tmp").read_bytes() == b"ten"
    assert manager.cleanup_user_temp_files_sync("nobody") == {
        "files_removed": 0, "bytes_freed": 0, "skipped_in_use": 0, "directory_removed": False,
    }


def test_a_user_cleanup_keeps_files_in_use(manager):
    with manager.temp_file(user_id="9") as path:
        result = manager.cleanup_user_temp_files_sync("9")
        assert path.exists()
        assert result["skipped_in_use"] == 1 and result["directory_removed"] is False


def test_cleanup_all_active_files(manager):
    first = manager.temp_file()
    second = manager.temp_directory()
    a = first.__enter__()
    b = second.__enter__()
    assert manager.get_active_file_count() == 2 and manager.active_files == {a, b}
    assert manager.cleanup_all_active_files_sync() == 2
    assert not a.exists() and not b.exists()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert manager.get_active_file_count() == 0


def test_a_replaced_temp_file_is_not_removed(manager):
    with manager.temp_file() as path:
        path.unlink()
        path.write_text("someone else's")
    assert path.read_text() == "someone else's"
