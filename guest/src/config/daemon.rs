//! The daemon section: the address it listens on and its API token.

use super::resolver::Resolver;
use super::values::parse_listen;
use crate::types::DaemonSettings;

/// Default daemon address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Resolves the daemon settings.
pub(super) fn resolve(r: &mut Resolver<'_>) -> DaemonSettings {
    DaemonSettings {
        listen: r.typed(
            "BACHATA_LISTEN",
            DEFAULT_LISTEN.to_string(),
            "an IP address and port, for example 127.0.0.1:9464",
            parse_listen,
        ),
        api_token: r.optional("BACHATA_API_TOKEN"),
    }
}
