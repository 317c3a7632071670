"""Behaviour of the exception classes, the messages and the problem documents."""

import pytest

from bachata_common import (
    ERROR_MESSAGES,
    ChoreographyGenerationError,
    MoveAnalysisError,
    MusicAnalysisError,
    ResourceError,
    ServiceUnavailableError,
    ValidationError,
    VideoGenerationError,
    YouTubeDownloadError,
    get_user_friendly_message,
    policy,
)

CASES = [
    (
        YouTubeDownloadError("HTTP 410", url="https://youtu.be/x"),
        "YOUTUBE_DOWNLOAD_ERROR",
        400,
        {"url": "https://youtu.be/x"},
    ),
    (
        MusicAnalysisError("too short", audio_path="/tmp/a.mp3"),
        "MUSIC_ANALYSIS_ERROR",
        422,
        {"audio_path": "/tmp/a.mp3"},
    ),
    (MoveAnalysisError("no pose", video_path="/v/b.mp4"), "MOVE_ANALYSIS_ERROR", 422, {"video_path": "/v/b.mp4"}),
    (VideoGenerationError("ffmpeg failed"), "VIDEO_GENERATION_ERROR", 500, {}),
    (
        ValidationError("bad", field="difficulty", value="expert"),
        "VALIDATION_ERROR",
        400,
        {"field": "difficulty", "value": "expert"},
    ),
    (ResourceError("no memory", resource_type="memory"), "RESOURCE_ERROR", 503, {"resource_type": "memory"}),
    (
        ServiceUnavailableError("down", service_name="youtube"),
        "SERVICE_UNAVAILABLE_ERROR",
        503,
        {"service_name": "youtube"},
    ),
    (ChoreographyGenerationError("failed"), "GENERATION_ERROR", 500, {}),
]


@pytest.mark.parametrize("error, code, status, details", CASES, ids=[type(case[0]).__name__ for case in CASES])
def test_codes_details_and_statuses_come_from_the_policy(error, code, status, details):
    assert isinstance(error, ChoreographyGenerationError) and isinstance(error, Exception)
    assert error.error_code == code
    assert error.details == details
    assert error.http_status == status
    assert str(error) == error.message == error.app_error["message"]


def test_context_attributes_and_given_details():
    error = YouTubeDownloadError("HTTP 410", url="https://youtu.be/x", details={"attempt": 2})
    assert error.url == "https://youtu.be/x"
    assert error.details == {"url": "https://youtu.be/x", "attempt": "2"}
    assert list(error.details) == ["url", "attempt"]
    assert YouTubeDownloadError("no url").details == {}


def test_validation_error_is_a_value_error_and_keeps_the_given_value():
    error = ValidationError("bad port", field="port", value=-1)
    assert isinstance(error, ValueError)
    assert (error.field, error.value, error.details["value"]) == ("port", -1, "-1")


def test_base_error_code_may_be_given():
    error = ChoreographyGenerationError("custom", error_code="CUSTOM_ERROR", details={"k": "v"})
    assert (error.error_code, error.details) == ("CUSTOM_ERROR", {"k": "v"})
    assert error.http_status == 500
    assert error.to_problem()["error_code"] == "CUSTOM_ERROR"


def test_from_app_error_picks_the_class_of_the_kind():
    app_error = policy.make_error({"tag": "resource", "val": "disk"}, "disk full")
    error = ChoreographyGenerationError.from_app_error(app_error)
    assert type(error) is ResourceError
    assert (error.resource_type, error.message, error.details) == ("disk", "disk full", {"resource_type": "disk"})


def test_to_problem_with_and_without_type_and_instance():
    error = MusicAnalysisError("track is 12 s long", audio_path="/tmp/song.mp3")
    document = error.to_problem("too_short", "/v1/choreographies/7")
    assert document["status"] == 422 and document["instance"] == "/v1/choreographies/7"
    assert document["detail"] == get_user_friendly_message("MUSIC_ANALYSIS_ERROR", "too_short")
    assert document["details"] == {"audio_path": "/tmp/song.mp3"}
    plain = error.to_problem()
    assert "instance" not in plain and plain["error_type"] == "default"


def test_user_friendly_messages():
    assert get_user_friendly_message("VALIDATION_ERROR") == ERROR_MESSAGES["VALIDATION_ERROR"]["default"]
    assert "30 seconds" in get_user_friendly_message("MUSIC_ANALYSIS_ERROR", "too_short")
    assert get_user_friendly_message("NOPE_ERROR", "default") == "An error occurred: NOPE_ERROR"


def test_error_messages_mapping_is_the_catalog():
    assert len(ERROR_MESSAGES) == 8
    assert all("default" in messages for messages in ERROR_MESSAGES.values())
    entries = policy.catalog()
    assert sum(len(messages) for messages in ERROR_MESSAGES.values()) == len(entries)
    assert ERROR_MESSAGES["RESOURCE_ERROR"]["cpu_overload"].startswith("Our servers")
    with pytest.raises(TypeError):
        ERROR_MESSAGES["VALIDATION_ERROR"]["default"] = "changed"
