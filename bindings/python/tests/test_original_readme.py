"""The original ``common`` app's README examples, verbatim but for the package name, each run in
a fresh interpreter in an empty working directory with a 30 second limit.

The README showed its snippets as statements with top-level ``await``; each runs here inside one
``async def`` (``asyncio.run``), with what a snippet leaves undefined (``video_data``) given."""

import os
import subprocess
import sys
import textwrap

import pytest

LIMIT_SECS = 30


def _renamed(code: str) -> str:
    return "\n".join(
        line.replace("from common ", "from bachata_common ").replace("import common", "import bachata_common")
        for line in code.splitlines()
    )


def run(snippet: str, tmp_path, *, asynchronous: bool = False, prelude: str = "", check: str = "") -> str:
    """Runs a README snippet (``common`` renamed ``bachata_common`` on import lines only) and
    then ``check``; returns what it printed."""
    code = _renamed(textwrap.dedent(snippet).strip("\n"))
    prelude = _renamed(prelude)
    if asynchronous:
        body = textwrap.indent(prelude + "\n" + code + "\n" + check, "    ")
        program = f"import asyncio\n\nasync def main():\n{body}\n\nasyncio.run(main())\n"
    else:
        program = prelude + "\n" + code + "\n" + check
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BACHATA_", "ELASTICSEARCH_", "YOLOV8_", "MONITOR_", "ENVIRONMENT"))}
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=LIMIT_SECS
    )
    assert done.returncode == 0, f"{program}\n--- stderr ---\n{done.stderr}"
    return done.stdout


RESOURCE_MANAGER = '''
from common import resource_manager

# Get current system resources
resources = resource_manager.get_system_resources()
print(f"Memory usage: {resources['memory']['percent_used']}%")

# Clean up temporary files
stats = await resource_manager.cleanup_temporary_files()
print(f"Removed {stats['files_removed']} files")

# Start background monitoring
await resource_manager.start_monitoring()

# Schedule periodic cleanup (every 6 hours)
await resource_manager.schedule_cleanup(interval_hours=6)

# Shutdown gracefully
await resource_manager.shutdown()
'''


def test_resource_manager_usage(tmp_path):
    old = tmp_path / "data" / "temp" / "old.bin"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    out = run(RESOURCE_MANAGER, tmp_path, asynchronous=True, check="print('done')")
    lines = out.splitlines()
    assert lines[0].startswith("Memory usage: ") and lines[0].endswith("%")
    assert lines[1] == "Removed 1 files"
    assert lines[-1] == "done"
    assert not old.exists()


TEMP_FILE_MANAGER = '''
from common import temp_file_manager

# Create a temporary file
async with temp_file_manager.temp_file(suffix=".mp4", user_id="123") as temp_path:
    # Use the temporary file
    with open(temp_path, 'wb') as f:
        f.write(video_data)
    # File is automatically cleaned up when context exits

# Create a temporary directory
async with temp_file_manager.temp_directory(prefix="processing_", user_id="123") as temp_dir:
    # Use the temporary directory
    output_file = temp_dir / "output.mp4"
    # Directory and all contents are automatically cleaned up

# Clean up all files for a specific user
await temp_file_manager.cleanup_user_temp_files(user_id="123")

# Get user-specific temp directory
user_temp_dir = temp_file_manager.get_user_temp_directory(user_id="123")
'''


def test_temp_file_manager_usage(tmp_path):
    check = "print(temp_path.exists(), temp_dir.exists(), output_file.name, user_temp_dir)"
    out = run(TEMP_FILE_MANAGER, tmp_path, asynchronous=True, prelude="video_data = b'\\x00' * 1024", check=check)
    assert out.split() == ["False", "False", "output.mp4", os.path.join("data", "temp", "user_123")]


ENVIRONMENT_CONFIG = '''
from common import EnvironmentConfig

# Initialize configuration (reads ENVIRONMENT variable)
config = EnvironmentConfig()

# Access Elasticsearch configuration
es_config = config.elasticsearch
print(f"Elasticsearch host: {es_config.host}:{es_config.port}")

# Access YOLOv8 configuration
yolo_config = config.yolov8
print(f"YOLOv8 model: {yolo_config.model_name}")
'''


def test_environment_config_usage(tmp_path):
    assert run(ENVIRONMENT_CONFIG, tmp_path).splitlines() == [
        "Elasticsearch host: localhost:9200",
        "YOLOv8 model: yolov8n-pose.pt",
    ]


def test_environment_config_reads_the_env_file_of_the_readme(tmp_path):
    (tmp_path / ".env").write_text(
        "ENVIRONMENT=local\nELASTICSEARCH_HOST=localhost\nELASTICSEARCH_PORT=9200\n"
        "ELASTICSEARCH_INDEX=bachata_move_embeddings\nELASTICSEARCH_USERNAME=elastic\n"
        "ELASTICSEARCH_PASSWORD=changeme\nELASTICSEARCH_USE_SSL=false\nYOLOV8_MODEL=yolov8n-pose.pt\n"
        "YOLOV8_CONFIDENCE=0.3\nYOLOV8_DEVICE=cpu\nYOLOV8_IOU_THRESHOLD=0.5\nYOLOV8_MAX_DET=10\n",
        encoding="utf-8",
    )
    check = "import os\nprint(os.environ['ELASTICSEARCH_USERNAME'], config.elasticsearch.username)"
    assert run(ENVIRONMENT_CONFIG, tmp_path, check=check).splitlines()[-1] == "elastic elastic"


DATA_CLASSES = '''
from common import ElasticsearchConfig

# Create custom configuration
es_config = ElasticsearchConfig(
    host="localhost",
    port=9200,
    index_name="my_index",
    use_ssl=False
)

from common import YOLOv8Config

# Create custom configuration
yolo_config = YOLOv8Config(
    model_name='yolov8m-pose.pt',
    confidence_threshold=0.5,
    device='cuda'
)
'''


def test_configuration_classes_usage(tmp_path):
    check = "print(es_config.index_name, es_config.max_connections, yolo_config.model_name, yolo_config.max_det)"
    assert run(DATA_CLASSES, tmp_path, check=check).split() == ["my_index", "10", "yolov8m-pose.pt", "10"]


#: Each exception example of the README and the error code it raises.
EXCEPTIONS = {
    "ChoreographyGenerationError": ('''
from common import ChoreographyGenerationError

raise ChoreographyGenerationError(
    message="Failed to generate choreography",
    error_code="GENERATION_ERROR",
    details={"step": "music_analysis", "duration": 120}
)
''', "GENERATION_ERROR"),
    "YouTubeDownloadError": ('''
from common import YouTubeDownloadError

raise YouTubeDownloadError(
    message="Video is unavailable",
    url="https://youtube.com/watch?v=...",
    details={"reason": "video_removed"}
)
''', "YOUTUBE_DOWNLOAD_ERROR"),
    "MusicAnalysisError": ('''
from common import MusicAnalysisError

raise MusicAnalysisError(
    message="Audio file is corrupted",
    audio_path="/path/to/audio.mp3",
    details={"file_size": 0}
)
''', "MUSIC_ANALYSIS_ERROR"),
    "MoveAnalysisError": ('''
from common import MoveAnalysisError

raise MoveAnalysisError(
    message="Pose detection failed",
    video_path="/path/to/video.mp4",
    details={"frames_processed": 0}
)
''', "MOVE_ANALYSIS_ERROR"),
    "VideoGenerationError": ('''
from common import VideoGenerationError

raise VideoGenerationError(
    message="FFmpeg encoding failed",
    details={"exit_code": 1, "stderr": "..."}
)
''', "VIDEO_GENERATION_ERROR"),
    "ValidationError": ('''
from common import ValidationError

raise ValidationError(
    message="Invalid difficulty level",
    field="difficulty",
    value="expert",
    details={"allowed_values": ["beginner", "intermediate", "advanced"]}
)
''', "VALIDATION_ERROR"),
    "ResourceError": ('''
from common import ResourceError

raise ResourceError(
    message="Insufficient memory",
    resource_type="memory",
    details={"required_mb": 2048, "available_mb": 512}
)
''', "RESOURCE_ERROR"),
    "ServiceUnavailableError": ('''
from common import ServiceUnavailableError

raise ServiceUnavailableError(
    message="Elasticsearch is not responding",
    service_name="elasticsearch",
    details={"timeout": 30}
)
''', "SERVICE_UNAVAILABLE_ERROR"),
}


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_exception_examples(name, tmp_path):
    snippet, code = EXCEPTIONS[name]
    body = textwrap.indent(textwrap.dedent(snippet).strip("\n"), "    ")
    wrapped = (
        f"try:\n{body}\nexcept ChoreographyGenerationError as e:\n"
        "    print(type(e).__name__, e.error_code, e.message, sorted(e.details))\n"
    )
    out = run(wrapped, tmp_path, prelude="from common import ChoreographyGenerationError")
    kind, error_code, *_ = out.split()
    assert (kind, error_code) == (name, code)


FRIENDLY = '''
from common import get_user_friendly_message, YouTubeDownloadError

try:
    # ... download video
    raise YouTubeDownloadError(message="Video is unavailable", url="https://youtube.com/watch?v=x")
except YouTubeDownloadError as e:
    user_message = get_user_friendly_message(e.error_code, "video_unavailable")
    # Display user_message in the UI
'''


def test_user_friendly_message_usage(tmp_path):
    from bachata_common import ERROR_MESSAGES

    out = run(FRIENDLY, tmp_path, check="print(user_message)")
    assert out.strip() == ERROR_MESSAGES["YOUTUBE_DOWNLOAD_ERROR"]["video_unavailable"]
    assert not out.startswith("An error occurred")


IMPORTS = '''
from common import EnvironmentConfig, ElasticsearchConfig, YOLOv8Config

# Load environment-specific configuration
config = EnvironmentConfig()
es_config = config.elasticsearch
yolo_config = config.yolov8

from common import (
    ChoreographyGenerationError,
    YouTubeDownloadError,
    MusicAnalysisError,
    VideoGenerationError,
    ValidationError,
    get_user_friendly_message
)

from common import (
    resource_manager,
    temp_file_manager,
    ResourceManager,
    TempFileManager,
    PerformanceMonitor,
    DirectoryOrganizer
)

from common import *  # Not recommended, but available

from common import EnvironmentConfig
from common import ChoreographyGenerationError
from common import resource_manager
'''


def test_import_examples(tmp_path):
    check = "print(type(es_config).__name__, type(yolo_config).__name__, ERROR_MESSAGES is not None)"
    assert run(IMPORTS, tmp_path, check=check).split() == ["ElasticsearchConfig", "YOLOv8Config", "True"]


MODULE_PATHS = '''
from common.config.environment_config import EnvironmentConfig
from common.exceptions import ChoreographyGenerationError
from common.services.resource_manager import resource_manager
from common.services.temp_file_manager import temp_file_manager
from common.services.performance_monitor import PerformanceMonitor
from common.services.directory_organizer import DirectoryOrganizer
'''


def test_module_paths_of_the_original(tmp_path):
    run(MODULE_PATHS.replace("from common.", "from bachata_common."), tmp_path, check="print(resource_manager)")
