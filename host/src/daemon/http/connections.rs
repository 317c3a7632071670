//! The daemon's connections: accepted at once, served by hyper, and never more than
//! [`MAX_CONNECTIONS`] of them. When all slots are taken, the connection that has been open
//! longest without a request in progress (idle between requests, or still sending its first
//! headers) is closed to make room, so idle or slow sockets cannot keep others out; only when
//! every connection is in the middle of a request does a new one wait for a slot.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Bytes, HttpBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Longest wait for a request's headers, and longest idle time of a kept-alive connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Largest request head (request line and headers) and read buffer of a connection.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// How often a full server looks again for a connection it can close.
const EVICT_RETRY: Duration = Duration::from_millis(100);

/// One open connection, as the registry sees it.
#[derive(Debug, Default)]
struct Connection {
    /// Requests in progress (from their headers to the end of their response).
    requests: AtomicUsize,
    /// Told to close: to make room, or because the daemon stops.
    close: Notify,
}

impl Connection {
    fn idle(&self) -> bool {
        self.requests.load(Ordering::Acquire) == 0
    }
}

/// The open connections, oldest first.
#[derive(Debug, Default)]
struct Registry {
    open: Mutex<(u64, BTreeMap<u64, Arc<Connection>>)>,
}

impl Registry {
    fn add(&self) -> (u64, Arc<Connection>) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let id = open.0;
        open.0 += 1;
        let connection = Arc::new(Connection::default());
        open.1.insert(id, Arc::clone(&connection));
        (id, connection)
    }

    fn remove(&self, id: u64) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        open.1.remove(&id);
    }

    /// Tells the oldest connection without a request in progress to close; whether there
    /// was one.
    fn close_oldest_idle(&self) -> bool {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let oldest = open
            .1
            .iter()
            .find(|(_, connection)| connection.idle())
            .map(|(&id, connection)| (id, Arc::clone(connection)));
        match oldest {
            Some((id, connection)) => {
                // Out of the registry at once, so the next look picks another.
                open.1.remove(&id);
                connection.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn close_all(&self) {
        let open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for connection in open.1.values() {
            connection.close.notify_one();
        }
    }
}

/// Counts a request as in progress until its response body is finished or dropped.
struct InProgress(Arc<Connection>);

impl InProgress {
    fn new(connection: &Arc<Connection>) -> Self {
        connection.requests.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(connection))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress while it is sent.
struct Tracked {
    body: axum::body::Body,
    _request: InProgress,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `stream` until it closes, it is told to close (then a request in progress is
/// finished first), or it has been idle for [`HEADER_READ_TIMEOUT`].
async fn serve_connection(stream: TcpStream, router: Router, connection: Arc<Connection>) {
    let inner = TowerToHyperService::new(router);
    let tracker = Arc::clone(&connection);
    let service = hyper::service::service_fn(move |request| {
        let in_progress = InProgress::new(&tracker);
        let response = hyper::service::Service::call(&inner, request);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| Tracked {
                body,
                _request: in_progress,
            }))
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let mut served = std::pin::pin!(served);
    let outcome = tokio::select! {
        outcome = served.as_mut() => outcome,
        () = connection.close.notified() => {
            if connection.idle() {
                // Nothing in progress: closed now (a partial request head is dropped).
                return;
            }
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, "HTTP connection ended with an error");
    }
}

/// Waits for a connection slot, closing the oldest idle connection while none is free.
async fn slot_for(slots: &Arc<Semaphore>, registry: &Registry) -> Option<OwnedSemaphorePermit> {
    loop {
        match Arc::clone(slots).try_acquire_owned() {
            Ok(slot) => return Some(slot),
            Err(tokio::sync::TryAcquireError::Closed) => return None,
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        if registry.close_oldest_idle() {
            tracing::debug!("connection limit reached: closing the connection idle longest");
        }
        if let Ok(Ok(slot)) =
            tokio::time::timeout(EVICT_RETRY, Arc::clone(slots).acquire_owned()).await
        {
            return Some(slot);
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then closes idle connections and
/// lets those in a request finish it (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let registry = Arc::new(Registry::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, a connection reset before accept...: wait a little
                    // and go on serving the others.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = tokio::select! {
            slot = slot_for(&slots, &registry) => match slot {
                Some(slot) => slot,
                None => break,
            },
            () = &mut shutdown => break,
        };
        let (id, connection) = registry.add();
        let router = router.clone();
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            serve_connection(stream, router, connection).await;
            registry.remove(id);
            drop(slot);
        });
    }
    drop(listener);
    registry.close_all();
    // Every slot back: every connection closed.
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}
