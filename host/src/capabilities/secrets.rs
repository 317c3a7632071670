//! The `host-secrets` capability: Google Cloud Secret Manager over its REST API.
//!
//! `GET {endpoint}/v1/projects/{project}/secrets/{name}/versions/latest:access` with a bearer
//! token; the payload is base64 with a CRC32C checksum, which is verified. Tokens come from a
//! service-account key (`GOOGLE_APPLICATION_CREDENTIALS`, signed and exchanged by `gcp_auth`) or
//! from the GCE metadata server (`GCE_METADATA_HOST` overrides its address, as in Google's
//! own client libraries). `SECRET_MANAGER_ENDPOINT` overrides the API endpoint.
//!
//! Nothing here logs or returns a secret value in an error.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

/// Reads secrets for the policy's `host-secrets` import.
pub trait SecretSource: Send + Sync {
    /// The latest version of secret `name` in `project`: `Ok(None)` when it does not exist,
    /// `Err(reason)` when it could not be read. The reason never holds the value.
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String>;
}

/// The public Secret Manager endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com";
/// The metadata server's host name on Google Cloud.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
/// The OAuth scope Secret Manager accepts.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// Google Cloud Secret Manager client settings; the HTTP machinery starts on first use.
pub struct SecretManager {
    endpoint: String,
    credentials: Option<PathBuf>,
    metadata_host: String,
    client: OnceLock<Result<Client, String>>,
}

impl std::fmt::Debug for SecretManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretManager")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("metadata_host", &self.metadata_host)
            .finish_non_exhaustive()
    }
}

impl SecretManager {
    /// Settings from `SECRET_MANAGER_ENDPOINT`, `GOOGLE_APPLICATION_CREDENTIALS` and
    /// `GCE_METADATA_HOST`, with Google's defaults.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self::new(
            var("SECRET_MANAGER_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            var("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from),
            var("GCE_METADATA_HOST").unwrap_or_else(|| DEFAULT_METADATA_HOST.to_string()),
        )
    }

    /// Explicit settings: API endpoint, optional service-account key file, metadata host.
    pub fn new(endpoint: String, credentials: Option<PathBuf>, metadata_host: String) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
            metadata_host,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&Client, String> {
        self.client
            .get_or_init(|| Client::start(self.credentials.clone(), &self.metadata_host))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl SecretSource for SecretManager {
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String> {
        check_id("project", project)?;
        check_id("secret", name)?;
        tracing::debug!(project, secret = name, "reading secret from Secret Manager");
        let client = self.client()?;
        let url = format!(
            "{}/v1/projects/{project}/secrets/{name}/versions/latest:access",
            self.endpoint
        );
        client.run(access(client.http.clone(), Arc::clone(&client.tokens), url))
    }
}

/// Project and secret ids are single path segments of letters, digits, `-` and `_`.
fn check_id(what: &str, id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} id {id:?}: only letters, digits, `-` and `_` are allowed"
        ))
    }
}

/// The running HTTP machinery: its own small runtime, so callers need none.
struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
}

impl Client {
    fn start(credentials: Option<PathBuf>, metadata_host: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("secret-manager")
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the Secret Manager client: {error}"))?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| format!("cannot start the HTTP client: {error}"))?;
        let tokens = match credentials {
            Some(path) => {
                let account = gcp_auth::CustomServiceAccount::from_file(&path).map_err(|error| {
                    format!(
                        "GOOGLE_APPLICATION_CREDENTIALS={} is not a usable service-account key: {error}",
                        path.display()
                    )
                })?;
                TokenSource::ServiceAccount(Box::new(account))
            }
            None => TokenSource::Metadata {
                host: metadata_host.to_string(),
                cached: Mutex::new(None),
            },
        };
        Ok(Self {
            runtime,
            http,
            tokens: Arc::new(tokens),
        })
    }

    /// Runs `future` on the client's runtime and waits for it, from any thread (also from
    /// inside another runtime, where `block_on` would panic).
    fn run<T: Send + 'static>(
        &self,
        future: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, String> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver
            .recv()
            .map_err(|_| "the Secret Manager request was cancelled".to_string())?
    }
}

/// Where access tokens come from.
enum TokenSource {
    /// A service-account key file; `gcp_auth` signs the JWT and caches the token.
    ServiceAccount(Box<gcp_auth::CustomServiceAccount>),
    /// The GCE metadata server.
    Metadata {
        host: String,
        cached: Mutex<Option<(String, Instant)>>,
    },
}

#[derive(Deserialize)]
struct MetadataToken {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

impl TokenSource {
    async fn token(&self, http: &reqwest::Client) -> Result<String, String> {
        match self {
            Self::ServiceAccount(account) => {
                use gcp_auth::TokenProvider as _;
                account
                    .token(&[SCOPE])
                    .await
                    .map(|token| token.as_str().to_string())
                    .map_err(|error| {
                        format!("cannot get an access token for the service account: {error}")
                    })
            }
            Self::Metadata { host, cached } => {
                if let Ok(guard) = cached.lock()
                    && let Some((token, valid_until)) = guard.as_ref()
                    && Instant::now() < *valid_until
                {
                    return Ok(token.clone());
                }
                let url = format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
                );
                let no_credentials = |reason: String| {
                    format!(
                        "no Google Cloud credentials: set GOOGLE_APPLICATION_CREDENTIALS to a \
                         service-account key file, or run on Google Cloud where the metadata \
                         server provides a token ({host}: {reason})"
                    )
                };
                let response = http
                    .get(&url)
                    .header("Metadata-Flavor", "Google")
                    .timeout(METADATA_TIMEOUT)
                    .send()
                    .await
                    .map_err(|error| no_credentials(error_chain(&error)))?;
                if !response.status().is_success() {
                    return Err(no_credentials(format!("HTTP {}", response.status())));
                }
                let token: MetadataToken = response
                    .json()
                    .await
                    .map_err(|error| no_credentials(format!("unreadable token: {error}")))?;
                let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60));
                if let Ok(mut guard) = cached.lock() {
                    *guard = Some((token.access_token.clone(), Instant::now() + lifetime));
                }
                Ok(token.access_token)
            }
        }
    }
}

#[derive(Deserialize)]
struct AccessResponse {
    payload: Option<Payload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    data: String,
    data_crc32c: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct GoogleError {
    error: Option<GoogleErrorBody>,
}

#[derive(Deserialize)]
struct GoogleErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

async fn access(
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    url: String,
) -> Result<Option<String>, String> {
    let token = tokens.token(&http).await?;
    let response = http
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|error| format!("Secret Manager request failed: {}", error_chain(&error)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = response
        .bytes()
        .await
        .map_err(|error| format!("Secret Manager response could not be read: {error}"))?;
    if !status.is_success() {
        let reason = serde_json::from_slice::<GoogleError>(&body)
            .ok()
            .and_then(|error| error.error)
            .map(|error| format!(" {}: {}", error.status, error.message))
            .unwrap_or_default();
        return Err(format!(
            "Secret Manager answered HTTP {}{reason}",
            status.as_u16()
        ));
    }
    let parsed: AccessResponse = serde_json::from_slice(&body)
        .map_err(|error| format!("Secret Manager answered with unexpected JSON: {error}"))?;
    let payload = parsed
        .payload
        .ok_or_else(|| "Secret Manager answer has no payload".to_string())?;
    decode_payload(&payload).map(Some)
}

/// Decodes a payload, verifying its CRC32C checksum when present.
fn decode_payload(payload: &Payload) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.data.as_bytes())
        .map_err(|_| "the secret payload is not valid base64".to_string())?;
    if let Some(expected) = &payload.data_crc32c {
        let expected = match expected {
            serde_json::Value::String(text) => text.parse::<u64>().ok(),
            serde_json::Value::Number(number) => number.as_u64(),
            _ => None,
        }
        .ok_or_else(|| "the secret payload has an unreadable dataCrc32c".to_string())?;
        let actual = u64::from(crc32c::crc32c(&bytes));
        if actual != expected {
            return Err(format!(
                "the secret payload failed its CRC32C check (expected {expected}, got {actual}): corrupted in transit"
            ));
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| "the secret is not UTF-8 text".to_string())?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// An error with its causes, which reqwest keeps in its source chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(data: &[u8], crc: Option<serde_json::Value>) -> Payload {
        Payload {
            data: base64::engine::general_purpose::STANDARD.encode(data),
            data_crc32c: crc,
        }
    }

    #[test]
    fn payload_checksum_is_verified() {
        let crc = crc32c::crc32c(b"es.internal");
        let good = payload(b"es.internal\n", None);
        assert_eq!(decode_payload(&good).expect("valid"), "es.internal");
        let good = payload(b"es.internal", Some(crc.to_string().into()));
        assert_eq!(decode_payload(&good).expect("valid"), "es.internal");
        let bad = payload(b"es.internal", Some((crc ^ 1).to_string().into()));
        let error = decode_payload(&bad).expect_err("corrupt");
        assert!(error.contains("CRC32C"));
        assert!(!error.contains("es.internal"));
    }

    #[test]
    fn ids_are_single_safe_segments() {
        assert!(check_id("secret", "elasticsearch-host").is_ok());
        for bad in ["", "../x", "a/b", "a?b", "a b", "%2e%2e"] {
            assert!(check_id("secret", bad).is_err(), "{bad}");
        }
    }
}
