//! The request guard and the bearer token: what keeps browsers (DNS rebinding, cross-site
//! requests) and weak tokens away from the API.
//!
//! A page elsewhere can make a browser send requests to the daemon in two ways, and the guard
//! refuses both, with or without a token configured:
//!
//! - DNS rebinding: the page's own name is made to resolve to the daemon, so its scripts read
//!   the answers as same-origin. Such a request's `Host` is always that name, never an IP
//!   address nor `localhost`. So a request whose `Host` is a name other than `localhost` is
//!   refused unless it carries the bearer token (which the page cannot know); without a
//!   token configured only loopback hosts are served at all.
//! - Cross-site requests: a request whose `Origin` is not the daemon itself is refused,
//!   whatever its method.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::super::Shared;
use super::http_problem;

/// Shortest bearer token accepted off loopback.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The name or address of a `Host` header, without its port.
fn host_name(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    }
}

/// Whether `host` (a `Host` header: name or address, with an optional port) names this
/// machine's loopback interface.
pub(super) fn loopback_host(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether `host` is an IP address (with an optional port): no DNS rebinding can produce it.
pub(super) fn address_host(host: &str) -> bool {
    host_name(host).parse::<IpAddr>().is_ok()
}

/// Whether `origin` (an `Origin` header) is this very daemon, as reached through `host`.
pub(super) fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// Whether the request carries the configured bearer token.
fn has_token(shared: &Shared, headers: &HeaderMap) -> bool {
    shared.api_token.as_ref().is_some_and(|expected| {
        let given = bearer_token(headers).unwrap_or_default();
        same_token(given.as_bytes(), expected.as_bytes())
    })
}

/// Refuses what browsers could be tricked into sending (see the module's documentation);
/// the handlers refuse a body that is not JSON and check the token of writes.
pub(super) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !loopback_host(&host) {
        if shared.api_token.is_none() {
            tracing::debug!(host = %host.escape_debug(), path, "refused: not a loopback host");
            return http_problem(
                StatusCode::FORBIDDEN,
                "this daemon answers only requests addressed to a loopback host (127.0.0.1, \
                 localhost, [::1]); set BACHATA_API_TOKEN to serve other addresses",
                &path,
            );
        }
        if !address_host(&host) && !has_token(&shared, headers) {
            tracing::debug!(host = %host.escape_debug(), path, "refused: a host name without the token");
            let mut response = http_problem(
                StatusCode::UNAUTHORIZED,
                "a request addressed to a host name other than localhost must carry the bearer \
                 token (Authorization: Bearer <token>); or address the daemon by its IP address",
                &path,
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && !same_origin(origin.to_str().unwrap_or_default(), &host)
    {
        tracing::debug!(path, "refused: a cross-origin request");
        return http_problem(
            StatusCode::FORBIDDEN,
            "cross-origin requests are refused",
            &path,
        );
    }
    next.run(request).await
}

/// Compares without an early exit, so timing reveals nothing about the token.
pub(super) fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Whether a daemon listening on `listen` with `token` is safe to start: off loopback a
/// token of at least [`MIN_TOKEN_CHARS`] non-blank characters is required.
pub fn listen_problem(listen: SocketAddr, token: Option<&str>) -> Option<String> {
    if listen.ip().is_loopback() {
        return None;
    }
    match token {
        None => Some(format!(
            "refusing to serve on {listen} (not loopback) without BACHATA_API_TOKEN: set a \
             token so that POST /v1/cleanup cannot be called by anyone on the network"
        )),
        Some(token) if token.trim().chars().count() < MIN_TOKEN_CHARS => Some(format!(
            "refusing to serve on {listen} (not loopback) with a BACHATA_API_TOKEN of fewer \
             than {MIN_TOKEN_CHARS} characters: use a long random token, for example \
             `openssl rand -hex 32`"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
        assert!(!same_token(b"", b"abc"));
    }

    #[test]
    fn bearer_scheme_in_any_case() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc", Some("abc")),
            ("Basic abc", None),
            ("Bearerabc", None),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_token(&headers), expected, "{value}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1:9464",
            "127.0.0.1",
            "localhost:9464",
            "LOCALHOST",
            "[::1]:9464",
            "[::1]",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in ["evil.example:9464", "10.0.0.1:9464", "", "[::2]:1"] {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn address_hosts() {
        for host in ["10.0.0.1:9464", "10.0.0.1", "[fe80::1]:9464", "[::1]"] {
            assert!(address_host(host), "{host}");
        }
        for host in ["evil.example:9464", "localhost", "", "10.0.0.1.nip.io:80"] {
            assert!(!address_host(host), "{host}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:9464", "127.0.0.1:9464"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:9464"));
        assert!(!same_origin("null", "127.0.0.1:9464"));
    }

    #[test]
    fn tokens_off_loopback() {
        let remote: SocketAddr = "0.0.0.0:9464".parse().expect("address");
        let local: SocketAddr = "127.0.0.1:9464".parse().expect("address");
        assert!(listen_problem(local, None).is_none());
        assert!(listen_problem(remote, None).is_some());
        assert!(listen_problem(remote, Some("x")).is_some());
        assert!(listen_problem(remote, Some("                 ")).is_some());
        assert!(listen_problem(remote, Some("0123456789abcdef")).is_none());
    }
}
