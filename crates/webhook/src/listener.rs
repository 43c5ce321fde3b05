//! The accept loop, with limits a sender cannot talk its way around: at most
//! `max_connections` sockets are held at once (each is a file descriptor the
//! bot's own state files also need), a request's headers must arrive within
//! `read_timeout` (idle keep-alive connections included), and when the cap is
//! reached the oldest connection that has not yet proved a secret is closed
//! to make room, so idle or slow unauthenticated sockets can never lock out
//! Alertmanager. An accept error (out of descriptors) is logged and retried;
//! it never ends the process.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{oneshot, watch, Semaphore};
use tower::ServiceExt;

/// What the listener holds a sender to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub read_timeout: Duration,
}

impl Limits {
    pub fn from_settings(settings: &opsbot_spec::AlertSettings) -> Limits {
        Limits {
            max_connections: settings.max_connections,
            read_timeout: settings.read_timeout,
        }
    }
}

/// Which connection a request came on (a request extension), so a handler
/// can mark it authenticated.
#[derive(Clone)]
pub(crate) struct ConnectionTag {
    id: u64,
    connections: Arc<Connections>,
}

impl ConnectionTag {
    /// The connection proved a secret: it is no longer closed to make room.
    pub(crate) fn authenticated(&self) {
        self.connections.authenticated(self.id);
    }
}

/// Connections that have not proved a secret yet, oldest first, each with
/// the way to close it.
#[derive(Default)]
pub(crate) struct Connections {
    unproven: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Connections {
    fn open(self: &Arc<Self>) -> (ConnectionTag, oneshot::Receiver<()>) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (close, closed) = oneshot::channel();
        self.unproven
            .lock()
            .expect("connections lock")
            .insert(id, close);
        let tag = ConnectionTag {
            id,
            connections: self.clone(),
        };
        (tag, closed)
    }

    fn authenticated(&self, id: u64) {
        self.unproven.lock().expect("connections lock").remove(&id);
    }

    fn forget(&self, id: u64) {
        self.unproven.lock().expect("connections lock").remove(&id);
    }

    /// Closes the oldest unproven connection; false when every open one has
    /// proved a secret.
    fn close_oldest_unproven(&self) -> bool {
        let oldest = self.unproven.lock().expect("connections lock").pop_first();
        match oldest {
            Some((_, close)) => {
                let _ = close.send(());
                true
            }
            None => false,
        }
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves;
/// open requests are finished first.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = Arc::new(Connections::default());
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if connections.close_oldest_unproven() {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "alert listener full: closed the oldest connection that had not authenticated"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was
                    // accepted: wait a little and go on.
                    tracing::warn!(%error, "alert listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (tag, closed) = connections.open();
        let router = router.clone();
        let mut stopping = stopping.clone();
        let read_timeout = limits.read_timeout;
        tokio::spawn(async move {
            let id = tag.id;
            let connections = tag.connections.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(tag.clone());
                    router.clone().oneshot(request.map(axum::body::Body::new))
                });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(read_timeout);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            // The watch's guard is dropped inside, never held across an await.
            let stop_requested = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "alert listener connection ended with an error");
                    }
                }
                Ok(()) = closed => {}
                _ = stop_requested => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(read_timeout, connection).await;
                }
            }
            connections.forget(id);
            drop(slot);
        });
    }
    let _ = stop.send(true);
    // Wait (bounded) for open requests to finish.
    let _ = tokio::time::timeout(
        limits.read_timeout,
        slots.acquire_many(limits.max_connections.max(1) as u32),
    )
    .await;
}
