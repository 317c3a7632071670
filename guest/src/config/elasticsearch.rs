//! The Elasticsearch section: `ELASTICSEARCH_*`, with an API key forcing TLS (port 443 by
//! default, SSL on, certificates verified) and SSL on by default in the cloud.

use super::resolver::Resolver;
use super::values::parse_port;
use crate::types::{ElasticsearchConfig, Environment, Source};

/// Default Elasticsearch host.
pub const DEFAULT_ES_HOST: &str = "localhost";
/// Default Elasticsearch port without an API key.
pub const DEFAULT_ES_PORT: u16 = 9200;
/// Default Elasticsearch port with an API key (TLS).
pub const DEFAULT_ES_TLS_PORT: u16 = 443;
/// Default Elasticsearch index.
pub const DEFAULT_ES_INDEX: &str = "bachata_move_embeddings";

/// Resolves the Elasticsearch settings.
pub(super) fn resolve(r: &mut Resolver<'_>) -> ElasticsearchConfig {
    let host = r.text("ELASTICSEARCH_HOST", DEFAULT_ES_HOST);
    let api_key = r.optional("ELASTICSEARCH_API_KEY");
    let default_port = if api_key.is_some() {
        DEFAULT_ES_TLS_PORT
    } else {
        DEFAULT_ES_PORT
    };
    let port = r.typed(
        "ELASTICSEARCH_PORT",
        default_port,
        "a port number from 1 to 65535",
        parse_port,
    );
    if api_key.is_some() && r.source_of("ELASTICSEARCH_PORT") == Some(Source::Default) {
        r.derive("ELASTICSEARCH_PORT", port.to_string());
    }
    let index = r.text("ELASTICSEARCH_INDEX", DEFAULT_ES_INDEX);
    let username = r.optional("ELASTICSEARCH_USERNAME");
    let password = r.optional("ELASTICSEARCH_PASSWORD");
    // In the cloud the service talks to a managed cluster over TLS, as the original app always
    // did there; locally plain HTTP is the default.
    let ssl_by_default = r.environment == Environment::Cloud;
    let mut use_ssl = r.boolean("ELASTICSEARCH_USE_SSL", ssl_by_default);
    let mut verify_certs = r.boolean("ELASTICSEARCH_VERIFY_CERTS", true);
    if api_key.is_some() {
        if !use_ssl {
            r.derive("ELASTICSEARCH_USE_SSL", "true".to_string());
        }
        if !verify_certs {
            r.derive("ELASTICSEARCH_VERIFY_CERTS", "true".to_string());
        }
        use_ssl = true;
        verify_certs = true;
    }
    let max_connections = r.whole(
        "ELASTICSEARCH_MAX_CONNECTIONS",
        10u32,
        1..=10_000,
        "a whole number of connections from 1 to 10000",
    );
    let timeout_secs = r.whole(
        "ELASTICSEARCH_TIMEOUT",
        30u32,
        1..=86_400,
        "a whole number of seconds from 1 to 86400 (1 day)",
    );
    let retry_on_timeout = r.boolean("ELASTICSEARCH_RETRY_ON_TIMEOUT", true);
    ElasticsearchConfig {
        host,
        port,
        index,
        username,
        password,
        api_key,
        use_ssl,
        verify_certs,
        max_connections,
        timeout_secs,
        retry_on_timeout,
    }
}
