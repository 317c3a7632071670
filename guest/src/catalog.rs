//! The error catalog: stable codes, user-friendly messages, HTTP statuses and
//! RFC 9457 problem documents.

use crate::types::{AppError, CatalogEntry, ErrorKind, ValidationContext};

/// Code of the base error.
pub const GENERATION_ERROR: &str = "GENERATION_ERROR";
/// Code of YouTube download errors.
pub const YOUTUBE_DOWNLOAD_ERROR: &str = "YOUTUBE_DOWNLOAD_ERROR";
/// Code of music analysis errors.
pub const MUSIC_ANALYSIS_ERROR: &str = "MUSIC_ANALYSIS_ERROR";
/// Code of move analysis errors.
pub const MOVE_ANALYSIS_ERROR: &str = "MOVE_ANALYSIS_ERROR";
/// Code of video generation errors.
pub const VIDEO_GENERATION_ERROR: &str = "VIDEO_GENERATION_ERROR";
/// Code of validation errors.
pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
/// Code of resource errors.
pub const RESOURCE_ERROR: &str = "RESOURCE_ERROR";
/// Code of service-unavailable errors.
pub const SERVICE_UNAVAILABLE_ERROR: &str = "SERVICE_UNAVAILABLE_ERROR";

/// The user-facing messages: per code, `(error_type, message)` with `default` first.
const MESSAGES: &[(&str, &[(&str, &str)])] = &[
    (
        GENERATION_ERROR,
        &[(
            "default",
            "We couldn't create your choreography. Please try again in a few minutes.",
        )],
    ),
    (
        YOUTUBE_DOWNLOAD_ERROR,
        &[
            (
                "default",
                "We couldn't download the YouTube video. Check the link and try again.",
            ),
            (
                "invalid_url",
                "That doesn't look like a valid YouTube link. Copy the full address of the video (https://www.youtube.com/watch?v=...) and try again.",
            ),
            (
                "video_unavailable",
                "This video is unavailable: it may be private, deleted or blocked in your region. Please choose another video.",
            ),
            (
                "restricted_content",
                "This video is age-restricted or otherwise restricted, so we can't use it. Please choose another video.",
            ),
            (
                "network_error",
                "We couldn't reach YouTube because of a network problem. Check your connection and try again in a moment.",
            ),
            (
                "format_error",
                "We couldn't get a usable audio track from this video. Please try another video.",
            ),
        ],
    ),
    (
        MUSIC_ANALYSIS_ERROR,
        &[
            (
                "default",
                "We couldn't analyse the music. Please try another song.",
            ),
            (
                "file_not_found",
                "We couldn't find the audio file. Please upload it again.",
            ),
            (
                "unsupported_format",
                "This audio format isn't supported. Please use an MP3, WAV, M4A or OGG file.",
            ),
            (
                "corrupted_file",
                "The audio file appears to be damaged and can't be read. Please try a different copy of the song.",
            ),
            (
                "too_short",
                "This song is too short. Please choose a song that is at least 30 seconds long.",
            ),
            (
                "too_long",
                "This song is too long. Please choose a song that is at most 10 minutes long.",
            ),
            (
                "analysis_failed",
                "We couldn't detect the rhythm of this song. Please try a song with a clearer beat.",
            ),
        ],
    ),
    (
        MOVE_ANALYSIS_ERROR,
        &[
            (
                "default",
                "We couldn't analyse the dance moves. Please try again.",
            ),
            (
                "video_not_found",
                "We couldn't find the dance video. Please upload it again.",
            ),
            (
                "pose_detection_failed",
                "We couldn't recognise the dancers in this video. Use a well-lit video where the dancers are fully visible.",
            ),
            (
                "insufficient_frames",
                "The video is too short or too low in quality to analyse. Please use a longer, clearer video.",
            ),
            (
                "analysis_timeout",
                "Analysing the moves took too long. Please try a shorter video or try again later.",
            ),
        ],
    ),
    (
        VIDEO_GENERATION_ERROR,
        &[
            (
                "default",
                "We couldn't create your video. Please try again.",
            ),
            (
                "ffmpeg_error",
                "Something went wrong while encoding your video. Please try again; if it keeps happening, choose another song.",
            ),
            (
                "insufficient_moves",
                "We don't have enough dance moves for this song and difficulty. Try another difficulty level or a shorter song.",
            ),
            (
                "sync_error",
                "We couldn't match the moves to the music. Please try again or choose a song with a steadier beat.",
            ),
            (
                "output_error",
                "We couldn't save your video. Please try again in a few minutes.",
            ),
        ],
    ),
    (
        VALIDATION_ERROR,
        &[
            (
                "default",
                "Some of the information you entered is not valid. Please check it and try again.",
            ),
            (
                "invalid_difficulty",
                "Please choose a difficulty level: beginner, intermediate or advanced.",
            ),
            (
                "invalid_quality",
                "Please choose a quality mode: fast, balanced or high_quality.",
            ),
            (
                "invalid_url_format",
                "Please enter a valid YouTube link, for example https://www.youtube.com/watch?v=...",
            ),
            (
                "missing_required_field",
                "Some required information is missing. Please fill in all required fields.",
            ),
        ],
    ),
    (
        RESOURCE_ERROR,
        &[
            (
                "default",
                "Our servers are busy right now. Please try again in a few minutes.",
            ),
            (
                "insufficient_memory",
                "Our servers don't have enough memory for this request right now. Please try again in a few minutes or choose a shorter song.",
            ),
            (
                "disk_space_full",
                "Our servers are out of storage space right now. Please try again later.",
            ),
            (
                "cpu_overload",
                "Our servers are very busy right now. Please try again in a few minutes.",
            ),
        ],
    ),
    (
        SERVICE_UNAVAILABLE_ERROR,
        &[
            (
                "default",
                "A service we depend on is temporarily unavailable. Please try again in a few minutes.",
            ),
            (
                "youtube_service",
                "YouTube is not responding right now. Please try again in a few minutes.",
            ),
            (
                "analysis_service",
                "The analysis service is temporarily unavailable. Please try again in a few minutes.",
            ),
            (
                "generation_service",
                "The video generation service is temporarily unavailable. Please try again in a few minutes.",
            ),
        ],
    ),
];

/// The stable machine code of an error kind.
pub fn code_of(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Generation => GENERATION_ERROR,
        ErrorKind::YoutubeDownload(_) => YOUTUBE_DOWNLOAD_ERROR,
        ErrorKind::MusicAnalysis(_) => MUSIC_ANALYSIS_ERROR,
        ErrorKind::MoveAnalysis(_) => MOVE_ANALYSIS_ERROR,
        ErrorKind::VideoGeneration => VIDEO_GENERATION_ERROR,
        ErrorKind::Validation(_) => VALIDATION_ERROR,
        ErrorKind::Resource(_) => RESOURCE_ERROR,
        ErrorKind::ServiceUnavailable(_) => SERVICE_UNAVAILABLE_ERROR,
    }
}

/// The detail pairs that carry a kind's own context (`url`, `field`, ...), in a fixed order.
pub fn context_details(kind: &ErrorKind) -> Vec<(String, String)> {
    let pair = |key: &str, value: &Option<String>| {
        value.as_ref().map(|value| (key.to_string(), value.clone()))
    };
    match kind {
        ErrorKind::Generation | ErrorKind::VideoGeneration => Vec::new(),
        ErrorKind::YoutubeDownload(url) => pair("url", url).into_iter().collect(),
        ErrorKind::MusicAnalysis(path) => pair("audio_path", path).into_iter().collect(),
        ErrorKind::MoveAnalysis(path) => pair("video_path", path).into_iter().collect(),
        ErrorKind::Validation(ValidationContext { field, value }) => pair("field", field)
            .into_iter()
            .chain(pair("value", value))
            .collect(),
        ErrorKind::Resource(resource) => pair("resource_type", resource).into_iter().collect(),
        ErrorKind::ServiceUnavailable(service) => {
            pair("service_name", service).into_iter().collect()
        }
    }
}

/// Builds an error of `kind` with its stable code; the kind's context comes first in `details`,
/// followed by the given pairs whose keys it does not already hold.
pub fn make_error(kind: ErrorKind, message: String, details: Vec<(String, String)>) -> AppError {
    let mut all = context_details(&kind);
    for (key, value) in details {
        if !all.iter().any(|(existing, _)| *existing == key) {
            all.push((key, value));
        }
    }
    AppError {
        error_code: code_of(&kind).to_string(),
        kind,
        message,
        details: all,
    }
}

fn messages_of(error_code: &str) -> Option<&'static [(&'static str, &'static str)]> {
    MESSAGES
        .iter()
        .find(|(code, _)| *code == error_code)
        .map(|(_, messages)| *messages)
}

/// The end-user message for a code and type; `An error occurred: <CODE>` when either is unknown.
pub fn user_friendly_message(error_code: &str, error_type: &str) -> String {
    messages_of(error_code)
        .and_then(|messages| messages.iter().find(|(kind, _)| *kind == error_type))
        .map(|(_, message)| (*message).to_string())
        .unwrap_or_else(|| format!("An error occurred: {error_code}"))
}

/// The HTTP status an API answers with for an error code.
pub fn http_status(error_code: &str) -> u16 {
    match error_code {
        YOUTUBE_DOWNLOAD_ERROR | VALIDATION_ERROR => 400,
        MUSIC_ANALYSIS_ERROR | MOVE_ANALYSIS_ERROR => 422,
        RESOURCE_ERROR | SERVICE_UNAVAILABLE_ERROR => 503,
        _ => 500,
    }
}

/// Every catalog entry, by code in catalog order, `default` first.
pub fn catalog() -> Vec<CatalogEntry> {
    MESSAGES
        .iter()
        .flat_map(|(code, messages)| {
            messages
                .iter()
                .map(move |(error_type, message)| CatalogEntry {
                    error_code: (*code).to_string(),
                    error_type: (*error_type).to_string(),
                    message: (*message).to_string(),
                    http_status: http_status(code),
                })
        })
        .collect()
}

/// A short human title per code, used as the problem document's `title`.
fn title_of(error_code: &str) -> &'static str {
    match error_code {
        GENERATION_ERROR => "Choreography generation failed",
        YOUTUBE_DOWNLOAD_ERROR => "YouTube download failed",
        MUSIC_ANALYSIS_ERROR => "Music analysis failed",
        MOVE_ANALYSIS_ERROR => "Move analysis failed",
        VIDEO_GENERATION_ERROR => "Video generation failed",
        VALIDATION_ERROR => "Validation failed",
        RESOURCE_ERROR => "Insufficient resources",
        SERVICE_UNAVAILABLE_ERROR => "Service unavailable",
        _ => "Error",
    }
}

/// The `type` URI of a problem document: a stable URN naming the error code.
pub fn problem_type(error_code: &str) -> String {
    format!(
        "urn:bachata-common:error:{}",
        error_code.to_ascii_lowercase()
    )
}

/// Renders an error as an RFC 9457 `application/problem+json` document.
///
/// Standard members: `type`, `title`, `status`, `detail` (the user-friendly message for
/// `error_type`, `default` when absent) and `instance` when given. Extension members:
/// `error_code`, `error_type`, `message` (the developer message) and `details` (an object).
pub fn problem_json(error: &AppError, error_type: Option<&str>, instance: Option<&str>) -> String {
    let error_type = error_type.unwrap_or("default");
    let mut document = serde_json::Map::new();
    document.insert("type".into(), problem_type(&error.error_code).into());
    document.insert("title".into(), title_of(&error.error_code).into());
    document.insert("status".into(), http_status(&error.error_code).into());
    document.insert(
        "detail".into(),
        user_friendly_message(&error.error_code, error_type).into(),
    );
    if let Some(instance) = instance {
        document.insert("instance".into(), instance.into());
    }
    document.insert("error_code".into(), error.error_code.clone().into());
    document.insert("error_type".into(), error_type.into());
    document.insert("message".into(), error.message.clone().into());
    let details: serde_json::Map<String, serde_json::Value> = error
        .details
        .iter()
        .map(|(key, value)| (key.clone(), value.clone().into()))
        .collect();
    document.insert("details".into(), details.into());
    serde_json::Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: &[(&str, &[&str])] = &[
        (
            YOUTUBE_DOWNLOAD_ERROR,
            &[
                "invalid_url",
                "video_unavailable",
                "restricted_content",
                "network_error",
                "format_error",
            ],
        ),
        (
            MUSIC_ANALYSIS_ERROR,
            &[
                "file_not_found",
                "unsupported_format",
                "corrupted_file",
                "too_short",
                "too_long",
                "analysis_failed",
            ],
        ),
        (
            MOVE_ANALYSIS_ERROR,
            &[
                "video_not_found",
                "pose_detection_failed",
                "insufficient_frames",
                "analysis_timeout",
            ],
        ),
        (
            VIDEO_GENERATION_ERROR,
            &[
                "ffmpeg_error",
                "insufficient_moves",
                "sync_error",
                "output_error",
            ],
        ),
        (
            VALIDATION_ERROR,
            &[
                "invalid_difficulty",
                "invalid_quality",
                "invalid_url_format",
                "missing_required_field",
            ],
        ),
        (
            RESOURCE_ERROR,
            &["insufficient_memory", "disk_space_full", "cpu_overload"],
        ),
        (
            SERVICE_UNAVAILABLE_ERROR,
            &["youtube_service", "analysis_service", "generation_service"],
        ),
    ];

    #[test]
    fn every_required_pair_and_default_has_a_real_message() {
        for (code, types) in REQUIRED {
            for error_type in types.iter().chain(std::iter::once(&"default")) {
                let message = user_friendly_message(code, error_type);
                assert!(
                    !message.starts_with("An error occurred"),
                    "{code}/{error_type} has no message"
                );
                assert!(message.ends_with('.'), "{code}/{error_type}: {message}");
            }
        }
        assert!(!user_friendly_message(GENERATION_ERROR, "default").starts_with("An error"));
    }

    #[test]
    fn messages_carry_the_limits_users_must_know() {
        assert!(user_friendly_message(MUSIC_ANALYSIS_ERROR, "too_short").contains("30 seconds"));
        assert!(user_friendly_message(MUSIC_ANALYSIS_ERROR, "too_long").contains("10 minutes"));
        let difficulty = user_friendly_message(VALIDATION_ERROR, "invalid_difficulty");
        for level in ["beginner", "intermediate", "advanced"] {
            assert!(difficulty.contains(level));
        }
        let quality = user_friendly_message(VALIDATION_ERROR, "invalid_quality");
        for mode in ["fast", "balanced", "high_quality"] {
            assert!(quality.contains(mode));
        }
    }

    #[test]
    fn unknown_code_or_type_falls_back() {
        assert_eq!(
            user_friendly_message("NOPE_ERROR", "default"),
            "An error occurred: NOPE_ERROR"
        );
        assert_eq!(
            user_friendly_message(VALIDATION_ERROR, "no_such_type"),
            "An error occurred: VALIDATION_ERROR"
        );
    }

    #[test]
    fn catalog_lists_every_pair_once_with_default_first() {
        let entries = catalog();
        let expected: usize = REQUIRED
            .iter()
            .map(|(_, types)| types.len() + 1)
            .sum::<usize>()
            + 1;
        assert_eq!(entries.len(), expected);
        for (code, _) in REQUIRED {
            let first = entries
                .iter()
                .find(|entry| entry.error_code == *code)
                .expect("code listed");
            assert_eq!(first.error_type, "default");
        }
        let mut pairs: Vec<_> = entries
            .iter()
            .map(|entry| (&entry.error_code, &entry.error_type))
            .collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), entries.len());
    }

    #[test]
    fn http_mapping() {
        assert_eq!(http_status(YOUTUBE_DOWNLOAD_ERROR), 400);
        assert_eq!(http_status(VALIDATION_ERROR), 400);
        assert_eq!(http_status(MUSIC_ANALYSIS_ERROR), 422);
        assert_eq!(http_status(MOVE_ANALYSIS_ERROR), 422);
        assert_eq!(http_status(GENERATION_ERROR), 500);
        assert_eq!(http_status(VIDEO_GENERATION_ERROR), 500);
        assert_eq!(http_status("SOMETHING_ELSE"), 500);
        assert_eq!(http_status(RESOURCE_ERROR), 503);
        assert_eq!(http_status(SERVICE_UNAVAILABLE_ERROR), 503);
    }

    #[test]
    fn kinds_map_to_codes_and_context() {
        let error = make_error(
            ErrorKind::Validation(ValidationContext {
                field: Some("difficulty".into()),
                value: Some("expert".into()),
            }),
            "bad difficulty".into(),
            vec![
                ("hint".into(), "x".into()),
                ("field".into(), "ignored".into()),
            ],
        );
        assert_eq!(error.error_code, VALIDATION_ERROR);
        assert_eq!(
            error.details,
            vec![
                ("field".to_string(), "difficulty".to_string()),
                ("value".to_string(), "expert".to_string()),
                ("hint".to_string(), "x".to_string()),
            ]
        );
        let cases = [
            (ErrorKind::Generation, GENERATION_ERROR, None),
            (
                ErrorKind::YoutubeDownload(Some("u".into())),
                YOUTUBE_DOWNLOAD_ERROR,
                Some("url"),
            ),
            (
                ErrorKind::MusicAnalysis(Some("a".into())),
                MUSIC_ANALYSIS_ERROR,
                Some("audio_path"),
            ),
            (
                ErrorKind::MoveAnalysis(Some("v".into())),
                MOVE_ANALYSIS_ERROR,
                Some("video_path"),
            ),
            (ErrorKind::VideoGeneration, VIDEO_GENERATION_ERROR, None),
            (
                ErrorKind::Resource(Some("memory".into())),
                RESOURCE_ERROR,
                Some("resource_type"),
            ),
            (
                ErrorKind::ServiceUnavailable(Some("s".into())),
                SERVICE_UNAVAILABLE_ERROR,
                Some("service_name"),
            ),
        ];
        for (kind, code, key) in cases {
            let error = make_error(kind, "m".into(), Vec::new());
            assert_eq!(error.error_code, code);
            assert_eq!(error.details.first().map(|(k, _)| k.as_str()), key);
        }
    }

    #[test]
    fn problem_json_shape() {
        let error = make_error(
            ErrorKind::MusicAnalysis(Some("/tmp/song.mp3".into())),
            "track is 12 s long".into(),
            Vec::new(),
        );
        let text = problem_json(&error, Some("too_short"), Some("/v1/choreographies/7"));
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            value["type"],
            "urn:bachata-common:error:music_analysis_error"
        );
        assert_eq!(value["title"], "Music analysis failed");
        assert_eq!(value["status"], 422);
        assert_eq!(
            value["detail"],
            user_friendly_message(MUSIC_ANALYSIS_ERROR, "too_short")
        );
        assert_eq!(value["instance"], "/v1/choreographies/7");
        assert_eq!(value["error_code"], MUSIC_ANALYSIS_ERROR);
        assert_eq!(value["message"], "track is 12 s long");
        assert_eq!(value["details"]["audio_path"], "/tmp/song.mp3");

        let plain = problem_json(&error, None, None);
        let value: serde_json::Value = serde_json::from_str(&plain).expect("valid JSON");
        assert!(value.get("instance").is_none());
        assert_eq!(value["error_type"], "default");
    }
}
