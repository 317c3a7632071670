//! Catalog errors: the WIT `app-error` and [`AppError`] (the kind's context travels in the
//! variant's fields; the other pairs stay details).

use super::super::bindings::wit;
use crate::types::catalog::{BuiltError, CatalogEntry};
use crate::types::error::{AppError, Details};

impl From<wit::AppError> for AppError {
    fn from(error: wit::AppError) -> Self {
        use wit::ErrorKind as K;
        let wit::AppError {
            kind,
            message,
            details,
            ..
        } = error;
        // The kind's context travels in the variant; keep the other pairs as details.
        let without = |keys: &[&str]| -> Details {
            details
                .iter()
                .filter(|(key, _)| !keys.contains(&key.as_str()))
                .cloned()
                .collect()
        };
        match kind {
            K::Generation => Self::Generation {
                message,
                details: details.clone(),
            },
            K::YoutubeDownload(url) => Self::YoutubeDownload {
                details: without(if url.is_some() { &["url"] } else { &[] }),
                message,
                url,
            },
            K::MusicAnalysis(audio_path) => Self::MusicAnalysis {
                details: without(if audio_path.is_some() {
                    &["audio_path"]
                } else {
                    &[]
                }),
                message,
                audio_path,
            },
            K::MoveAnalysis(video_path) => Self::MoveAnalysis {
                details: without(if video_path.is_some() {
                    &["video_path"]
                } else {
                    &[]
                }),
                message,
                video_path,
            },
            K::VideoGeneration => Self::VideoGeneration {
                message,
                details: details.clone(),
            },
            K::Validation(context) => Self::Validation {
                details: without(match (&context.field, &context.value) {
                    (Some(_), Some(_)) => &["field", "value"],
                    (Some(_), None) => &["field"],
                    (None, Some(_)) => &["value"],
                    (None, None) => &[],
                }),
                message,
                field: context.field,
                value: context.value,
            },
            K::Resource(resource_type) => Self::Resource {
                details: without(if resource_type.is_some() {
                    &["resource_type"]
                } else {
                    &[]
                }),
                message,
                resource_type,
            },
            K::ServiceUnavailable(service_name) => Self::ServiceUnavailable {
                details: without(if service_name.is_some() {
                    &["service_name"]
                } else {
                    &[]
                }),
                message,
                service_name,
            },
        }
    }
}

impl From<&AppError> for wit::AppError {
    fn from(error: &AppError) -> Self {
        use wit::ErrorKind as K;
        let (kind, context): (K, Details) = match error {
            AppError::Generation { .. } => (K::Generation, vec![]),
            AppError::YoutubeDownload { url, .. } => {
                (K::YoutubeDownload(url.clone()), pair("url", url))
            }
            AppError::MusicAnalysis { audio_path, .. } => (
                K::MusicAnalysis(audio_path.clone()),
                pair("audio_path", audio_path),
            ),
            AppError::MoveAnalysis { video_path, .. } => (
                K::MoveAnalysis(video_path.clone()),
                pair("video_path", video_path),
            ),
            AppError::VideoGeneration { .. } => (K::VideoGeneration, vec![]),
            AppError::Validation { field, value, .. } => (
                K::Validation(wit::ValidationContext {
                    field: field.clone(),
                    value: value.clone(),
                }),
                pair("field", field)
                    .into_iter()
                    .chain(pair("value", value))
                    .collect(),
            ),
            AppError::Resource { resource_type, .. } => (
                K::Resource(resource_type.clone()),
                pair("resource_type", resource_type),
            ),
            AppError::ServiceUnavailable { service_name, .. } => (
                K::ServiceUnavailable(service_name.clone()),
                pair("service_name", service_name),
            ),
        };
        let mut details = context;
        for (key, value) in error.details() {
            if !details.iter().any(|(existing, _)| existing == key) {
                details.push((key.clone(), value.clone()));
            }
        }
        wit::AppError {
            kind,
            message: error.message().to_string(),
            error_code: error.error_code().to_string(),
            details,
        }
    }
}

fn pair(key: &str, value: &Option<String>) -> Details {
    value
        .iter()
        .map(|value| (key.to_string(), value.clone()))
        .collect()
}

impl From<wit::CatalogEntry> for CatalogEntry {
    fn from(entry: wit::CatalogEntry) -> Self {
        Self {
            error_code: entry.error_code,
            error_type: entry.error_type,
            message: entry.message,
            http_status: entry.http_status,
        }
    }
}

/// An error the policy's `errors.make-error` built, with the host's form of it.
pub(crate) fn built_error(built: wit::AppError) -> BuiltError {
    BuiltError {
        error_code: built.error_code.clone(),
        message: built.message.clone(),
        details: built.details.clone(),
        error: AppError::from(built),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<AppError> {
        let details = vec![("attempt".to_string(), "2".to_string())];
        vec![
            AppError::Generation {
                message: "m".into(),
                details: details.clone(),
            },
            AppError::YoutubeDownload {
                message: "m".into(),
                url: Some("https://youtu.be/x".into()),
                details: details.clone(),
            },
            AppError::MusicAnalysis {
                message: "m".into(),
                audio_path: Some("a.mp3".into()),
                details: details.clone(),
            },
            AppError::MoveAnalysis {
                message: "m".into(),
                video_path: None,
                details: details.clone(),
            },
            AppError::VideoGeneration {
                message: "m".into(),
                details: details.clone(),
            },
            AppError::Validation {
                message: "m".into(),
                field: Some("f".into()),
                value: Some("v".into()),
                details: details.clone(),
            },
            AppError::Resource {
                message: "m".into(),
                resource_type: Some("disk".into()),
                details: details.clone(),
            },
            AppError::ServiceUnavailable {
                message: "m".into(),
                service_name: Some("secret_manager".into()),
                details,
            },
        ]
    }

    #[test]
    fn wit_round_trip_keeps_kind_context_and_details() {
        for error in all_kinds() {
            let wit_error = wit::AppError::from(&error);
            assert_eq!(wit_error.error_code, error.error_code());
            assert!(wit_error.details.iter().any(|(k, _)| k == "attempt"));
            assert_eq!(AppError::from(wit_error), error);
        }
    }

    #[test]
    fn codes_and_statuses() {
        let codes: Vec<_> = all_kinds()
            .iter()
            .map(|e| (e.error_code(), e.http_status()))
            .collect();
        assert_eq!(
            codes,
            [
                ("GENERATION_ERROR", 500),
                ("YOUTUBE_DOWNLOAD_ERROR", 400),
                ("MUSIC_ANALYSIS_ERROR", 422),
                ("MOVE_ANALYSIS_ERROR", 422),
                ("VIDEO_GENERATION_ERROR", 500),
                ("VALIDATION_ERROR", 400),
                ("RESOURCE_ERROR", 503),
                ("SERVICE_UNAVAILABLE_ERROR", 503),
            ]
        );
    }
}
