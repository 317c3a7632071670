//! Errors: the catalog's kinds as a Rust enum ([`AppError`]) and the library's own
//! failures ([`Error`]).

use std::path::PathBuf;

use super::config::Problem;

/// Ordered key/value context of an error.
pub type Details = Vec<(String, String)>;

/// An error of the catalog, mirroring the WIT `app-error`: one variant per kind, each with a
/// message, its kind's context and further `details`.
///
/// ```
/// use bachata_common::AppError;
/// let error = AppError::Validation {
///     message: "unknown difficulty".into(),
///     field: Some("difficulty".into()),
///     value: Some("expert".into()),
///     details: vec![],
/// };
/// assert_eq!(error.error_code(), "VALIDATION_ERROR");
/// assert_eq!(error.to_string(), "unknown difficulty");
/// assert_eq!(error.http_status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// `GENERATION_ERROR`: choreography generation failed.
    #[error("{message}")]
    Generation {
        /// What went wrong, for developers and logs.
        message: String,
        /// Further context.
        details: Details,
    },
    /// `YOUTUBE_DOWNLOAD_ERROR`: a video could not be downloaded.
    #[error("{message}")]
    YoutubeDownload {
        /// What went wrong.
        message: String,
        /// The video URL.
        url: Option<String>,
        /// Further context.
        details: Details,
    },
    /// `MUSIC_ANALYSIS_ERROR`: an audio track could not be analysed.
    #[error("{message}")]
    MusicAnalysis {
        /// What went wrong.
        message: String,
        /// The audio file.
        audio_path: Option<String>,
        /// Further context.
        details: Details,
    },
    /// `MOVE_ANALYSIS_ERROR`: moves could not be extracted from a video.
    #[error("{message}")]
    MoveAnalysis {
        /// What went wrong.
        message: String,
        /// The video file.
        video_path: Option<String>,
        /// Further context.
        details: Details,
    },
    /// `VIDEO_GENERATION_ERROR`: the output video could not be produced.
    #[error("{message}")]
    VideoGeneration {
        /// What went wrong.
        message: String,
        /// Further context.
        details: Details,
    },
    /// `VALIDATION_ERROR`: an input or setting was rejected.
    #[error("{message}")]
    Validation {
        /// What went wrong.
        message: String,
        /// The rejected field or variable.
        field: Option<String>,
        /// The rejected value (`***` for secrets).
        value: Option<String>,
        /// Further context.
        details: Details,
    },
    /// `RESOURCE_ERROR`: a system resource ran short.
    #[error("{message}")]
    Resource {
        /// What went wrong.
        message: String,
        /// `memory`, `disk`, `cpu`, ...
        resource_type: Option<String>,
        /// Further context.
        details: Details,
    },
    /// `SERVICE_UNAVAILABLE_ERROR`: a service did not answer.
    #[error("{message}")]
    ServiceUnavailable {
        /// What went wrong.
        message: String,
        /// The service, for example `secret_manager`.
        service_name: Option<String>,
        /// Further context.
        details: Details,
    },
}

impl AppError {
    /// The stable machine code, for example `VALIDATION_ERROR`.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Generation { .. } => "GENERATION_ERROR",
            Self::YoutubeDownload { .. } => "YOUTUBE_DOWNLOAD_ERROR",
            Self::MusicAnalysis { .. } => "MUSIC_ANALYSIS_ERROR",
            Self::MoveAnalysis { .. } => "MOVE_ANALYSIS_ERROR",
            Self::VideoGeneration { .. } => "VIDEO_GENERATION_ERROR",
            Self::Validation { .. } => "VALIDATION_ERROR",
            Self::Resource { .. } => "RESOURCE_ERROR",
            Self::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE_ERROR",
        }
    }

    /// The developer message.
    pub fn message(&self) -> &str {
        match self {
            Self::Generation { message, .. }
            | Self::YoutubeDownload { message, .. }
            | Self::MusicAnalysis { message, .. }
            | Self::MoveAnalysis { message, .. }
            | Self::VideoGeneration { message, .. }
            | Self::Validation { message, .. }
            | Self::Resource { message, .. }
            | Self::ServiceUnavailable { message, .. } => message,
        }
    }

    /// The further context pairs (the kind's own context is in the variant's fields).
    pub fn details(&self) -> &Details {
        match self {
            Self::Generation { details, .. }
            | Self::YoutubeDownload { details, .. }
            | Self::MusicAnalysis { details, .. }
            | Self::MoveAnalysis { details, .. }
            | Self::VideoGeneration { details, .. }
            | Self::Validation { details, .. }
            | Self::Resource { details, .. }
            | Self::ServiceUnavailable { details, .. } => details,
        }
    }
}

/// A failure of the library itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A catalog error reported by the policy or the host.
    #[error(transparent)]
    App(#[from] AppError),
    /// Configuration could not be resolved; `problems` lists every invalid setting.
    #[error("{error}")]
    Config {
        /// The catalog error (`VALIDATION_ERROR` or `SERVICE_UNAVAILABLE_ERROR`).
        error: AppError,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A policy component could not be loaded (not a component, missing exports, bad imports).
    #[error("cannot load policy {origin}: {reason}")]
    PolicyLoad {
        /// Where the policy came from (`embedded` or its path).
        origin: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A call into the policy trapped or failed in the host.
    #[error("policy {origin} (sha256 {sha256}) failed in `{function}`: {reason}")]
    PolicyCall {
        /// Where the policy came from.
        origin: String,
        /// The policy's sha256, short form.
        sha256: String,
        /// The export called.
        function: &'static str,
        /// The trap or host failure.
        reason: String,
    },
    /// A policy broke the host's rules (asked to remove paths outside its areas, removed
    /// during a dry run, flooded the host) or answered something impossible.
    #[error("policy {origin} (sha256 {sha256}) was stopped in `{function}`: it {reason}")]
    PolicyViolation {
        /// Where the policy came from.
        origin: String,
        /// The policy's sha256, short form.
        sha256: String,
        /// The export called.
        function: &'static str,
        /// What it did, for example `asked to remove `../x` in area `temp`, ...`.
        reason: String,
    },
    /// A call was cancelled (the daemon is shutting down) before it finished; what the host
    /// removed until then is counted.
    #[error(
        "`{function}` was cancelled before it finished; {files_removed} file(s) \
         ({bytes_freed} bytes) had been removed"
    )]
    Cancelled {
        /// The export called.
        function: &'static str,
        /// Files (and links) removed before the call stopped.
        files_removed: u64,
        /// Bytes freed before the call stopped.
        bytes_freed: u64,
    },
    /// Another cleanup of the same data directory is running (in this process or another).
    #[error("another cleanup of {} is running; try again when it has finished", data_dir.display())]
    Busy {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A record was sent again under the id of a stored one with other content (HTTP 409);
    /// nothing was written.
    #[error("{0}")]
    Conflict(AppError),
    /// What a request names (an experiment) is not stored (HTTP 404).
    #[error("{0}")]
    NotFound(AppError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An output could not be written (a closed pipe, a full disk).
    #[error("cannot write {what}: {source}")]
    Write {
        /// What was written to (`standard output`).
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the failure is the caller's input (exit code 2) rather than an operational
    /// failure (exit code 1).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::App(error) | Self::Config { error, .. } => {
                matches!(error, AppError::Validation { .. })
            }
            Self::PolicyLoad { .. } | Self::Conflict(_) | Self::NotFound(_) => true,
            Self::PolicyCall { .. }
            | Self::PolicyViolation { .. }
            | Self::Cancelled { .. }
            | Self::Busy { .. }
            | Self::Write { .. } => false,
            Self::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        }
    }

    /// Whether a cleanup did not run or stopped early because of another cleanup or a
    /// shutdown ([`Error::Busy`], [`Error::Cancelled`]) rather than failing.
    pub fn is_interruption(&self) -> bool {
        matches!(self, Self::Busy { .. } | Self::Cancelled { .. })
    }

    /// This failure as a catalog error: catalog errors as they are, a rejected policy or a
    /// missing file as `VALIDATION_ERROR`, anything else as `GENERATION_ERROR`.
    pub fn to_app_error(&self) -> AppError {
        match self {
            Self::App(error)
            | Self::Config { error, .. }
            | Self::Conflict(error)
            | Self::NotFound(error) => error.clone(),
            Self::PolicyLoad { origin, .. } => AppError::Validation {
                message: self.to_string(),
                field: Some("policy".to_string()),
                value: Some(origin.clone()),
                details: Vec::new(),
            },
            Self::Io { path, .. } if self.is_invalid_input() => AppError::Validation {
                message: self.to_string(),
                field: Some("path".to_string()),
                value: Some(path.display().to_string()),
                details: Vec::new(),
            },
            Self::Cancelled { .. } => AppError::ServiceUnavailable {
                message: self.to_string(),
                service_name: Some("cleanup".to_string()),
                details: Vec::new(),
            },
            Self::Busy { .. } => AppError::Resource {
                message: self.to_string(),
                resource_type: Some("cleanup".to_string()),
                details: Vec::new(),
            },
            Self::PolicyCall { .. }
            | Self::PolicyViolation { .. }
            | Self::Io { .. }
            | Self::Write { .. } => AppError::Generation {
                message: self.to_string(),
                details: Vec::new(),
            },
        }
    }

    /// The catalog error behind this failure, when there is one.
    pub fn app_error(&self) -> Option<&AppError> {
        match self {
            Self::App(error)
            | Self::Config { error, .. }
            | Self::Conflict(error)
            | Self::NotFound(error) => Some(error),
            _ => None,
        }
    }
}

/// Why configuration could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFailure {
    /// The catalog error.
    pub error: AppError,
    /// Every problem found (empty for service failures).
    pub problems: Vec<Problem>,
}

impl From<ConfigFailure> for Error {
    fn from(failure: ConfigFailure) -> Self {
        Error::Config {
            error: failure.error,
            problems: failure.problems,
        }
    }
}
