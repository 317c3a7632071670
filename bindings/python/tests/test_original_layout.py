"""The original app's module layout: every public name of ``common`` is where the original had
it, under ``bachata_common``, so moving a project over is renaming the package in its imports."""

import importlib
import subprocess
import sys

import pytest

import bachata_common

#: The original app's modules and the public names each defined.
ORIGINAL = {
    "bachata_common": [
        "EnvironmentConfig", "ElasticsearchConfig", "YOLOv8Config",
        "ChoreographyGenerationError", "YouTubeDownloadError", "MusicAnalysisError",
        "MoveAnalysisError", "VideoGenerationError", "ValidationError", "ResourceError",
        "ServiceUnavailableError", "get_user_friendly_message", "ERROR_MESSAGES",
        "ResourceManager", "resource_manager", "TempFileManager", "temp_file_manager",
        "PerformanceMonitor", "DirectoryOrganizer",
    ],
    "bachata_common.config": ["EnvironmentConfig", "ElasticsearchConfig", "YOLOv8Config"],
    "bachata_common.config.environment_config": ["EnvironmentConfig", "ElasticsearchConfig", "YOLOv8Config"],
    "bachata_common.exceptions": [
        "ChoreographyGenerationError", "YouTubeDownloadError", "MusicAnalysisError",
        "MoveAnalysisError", "VideoGenerationError", "ValidationError", "ResourceError",
        "ServiceUnavailableError", "get_user_friendly_message", "ERROR_MESSAGES",
    ],
    "bachata_common.services": [
        "ResourceManager", "resource_manager", "TempFileManager", "temp_file_manager",
        "PerformanceMonitor", "DirectoryOrganizer",
    ],
    "bachata_common.services.resource_manager": ["ResourceManager", "resource_manager"],
    "bachata_common.services.temp_file_manager": ["TempFileManager", "temp_file_manager"],
    "bachata_common.services.performance_monitor": [
        "RecommendationDecision", "UserFeedback", "PerformanceMetrics", "ABTestConfig", "PerformanceMonitor",
    ],
    "bachata_common.services.directory_organizer": ["DirectoryOrganizer"],
}


@pytest.mark.parametrize("module", sorted(ORIGINAL))
def test_every_original_name_is_in_its_original_module(module):
    imported = importlib.import_module(module)
    for name in ORIGINAL[module]:
        assert hasattr(imported, name), f"{module}.{name}"
        assert name in imported.__all__, f"{module}.__all__ lacks {name}"


@pytest.mark.parametrize("module", sorted(ORIGINAL))
def test_each_name_is_one_object_whatever_the_path(module):
    imported = importlib.import_module(module)
    for name in ORIGINAL[module]:
        assert getattr(imported, name) is getattr(bachata_common, name), f"{module}.{name}"


def test_the_existing_paths_keep_working():
    from bachata_common.resources import resource_manager
    from bachata_common.temp_files import temp_file_manager
    from bachata_common.temp_files import __all__ as temp_files_all

    assert resource_manager is bachata_common.resource_manager
    assert temp_file_manager is bachata_common.temp_file_manager
    assert "temp_file_manager" in temp_files_all


def test_star_import_gives_the_original_names():
    namespace: dict = {}
    exec("from bachata_common import *", namespace)
    assert set(ORIGINAL["bachata_common"]) <= set(namespace)


def test_importing_the_package_needs_neither_django_nor_the_cloud_client():
    code = (
        "import sys\n"
        "sys.modules['django'] = None\n"
        "sys.modules['google'] = None\n"
        "import bachata_common, bachata_common.services, bachata_common.config.environment_config\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
