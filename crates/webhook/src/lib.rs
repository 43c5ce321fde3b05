//! opsbot's HTTP listener (the only crate with an HTTP server): Alertmanager
//! webhooks (version 4) authenticated by bearer token or HMAC signature, and
//! `/healthz`. A request is answered only after the runtime stored what it
//! brought, so Alertmanager's retry covers any failure before that.
//!
//! - `POST /alerts/alertmanager` — 200 `{"rooms":N,"changed":M}`; 401 on bad or
//!   missing authentication (logged, never posted to a room); 400 with the
//!   reason for a body that is not a version-4 notification; 413 over
//!   `alerts.max_body`; 500 when the store failed (Alertmanager retries).
//! - `POST /hooks/NAME` — any JSON, made into one alert by the hook `NAME` of
//!   `alerts.hooks` (its templates name the fields); 404 for an unknown hook,
//!   400 naming a field the body lacks; otherwise as above.
//! - `GET /healthz` — 200 `ok`.
//! - `GET /readyz` — 200 `ready` (a `warning:` line after it when the model
//!   is served stale), or 503 naming what is not (the store, the
//!   door's connection).
//! - `GET /metrics` — the bot's counters in the Prometheus text format.
//! - On the API's own listener (`api:`): `/v1/requests`, `/v1/dialogs` —
//!   proposals a person confirms in the room (see `api.rs`).
//!
//! A request's body is read only once its headers prove the bearer token, or
//! carry an HMAC signature the body can then be checked against; a declared
//! `Content-Length` over `max_body` is refused before any of it is read, and
//! a body must arrive within `read_timeout` (408 otherwise). Connection limits
//! are in `listener`.

mod api;
mod auth;
pub mod dialogs;
mod listener;
pub mod mcp;
mod tokens;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
/// What the routers here are (so the binary needs no axum of its own).
pub use axum::Router;
use opsbot_runtime::alerts::Notification;
use opsbot_runtime::Runtime;

pub use api::api_router;
pub use auth::{sign, Credentials, SIGNATURE_HEADER};
pub use listener::Limits;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Secret(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

struct Shared {
    runtime: Arc<Runtime>,
    credentials: Credentials,
    max_body: usize,
    read_timeout: std::time::Duration,
}

/// The listener's routes over `runtime`, with the body limits of `settings`.
pub fn router(
    runtime: Arc<Runtime>,
    credentials: Credentials,
    settings: &opsbot_spec::AlertSettings,
) -> Router {
    Router::new()
        .route("/alerts/alertmanager", post(alertmanager))
        .route("/hooks/{name}", post(hook))
        .with_state(Arc::new(Shared {
            runtime: runtime.clone(),
            credentials,
            max_body: settings.max_body,
            read_timeout: settings.read_timeout,
        }))
        .merge(health_router(runtime))
}

/// `/healthz` (alive), `/readyz` (the store answers, a model is loaded, the
/// door reaches its server: 200 or 503 naming what is not ready) and
/// `/metrics` (Prometheus text format). Nothing secret is in any of them.
pub fn health_router(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(runtime)
}

async fn readyz(State(runtime): State<Arc<Runtime>>) -> Response {
    let parts = runtime.readiness();
    let not_ready: Vec<String> = parts
        .iter()
        .filter_map(|(part, state)| state.as_ref().err().map(|why| format!("{part}: {why}")))
        .collect();
    let warnings = runtime.warnings();
    if not_ready.is_empty() {
        // Served, so ready; what needs attention is said on the lines after.
        let body: String = std::iter::once("ready".to_string())
            .chain(warnings.iter().map(|w| format!("\nwarning: {w}")))
            .collect();
        (StatusCode::OK, body).into_response()
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"ready": false, "not_ready": not_ready, "warnings": warnings}),
        )
    }
}

async fn metrics(State(runtime): State<Arc<Runtime>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        runtime.metrics().render(),
    )
        .into_response()
}

/// The body of an authenticated request, or the answer that ends it: 401
/// before any of the body is read when the headers prove nothing, 413 for a
/// declared or actual size over `max_body`, 408 when the body is too slow.
async fn authenticated_body(
    shared: &Shared,
    request: Request,
) -> Result<(HeaderMap, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let by_token = shared.credentials.admits_by_token(&parts.headers);
    if !by_token && !shared.credentials.may_sign(&parts.headers) {
        return Err(unauthorised(&parts.headers));
    }
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > shared.max_body as u64) {
        return Err(too_large(shared.max_body));
    }
    let read = axum::body::to_bytes(body, shared.max_body);
    let body = match tokio::time::timeout(shared.read_timeout, read).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(too_large(shared.max_body)),
        Err(_) => {
            tracing::warn!("webhook refused: the body did not arrive in time");
            return Err(answer(
                StatusCode::REQUEST_TIMEOUT,
                serde_json::json!({"error": format!("the body did not arrive within {}", humantime::format_duration(shared.read_timeout))}),
            ));
        }
    };
    if !by_token
        && !shared
            .credentials
            .admits_by_signature(&parts.headers, &body)
    {
        return Err(unauthorised(&parts.headers));
    }
    if let Some(tag) = parts.extensions.get::<listener::ConnectionTag>() {
        tag.authenticated();
    }
    Ok((parts.headers, body))
}

fn too_large(max_body: usize) -> Response {
    tracing::warn!(max_body, "webhook refused: body too large");
    answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        serde_json::json!({"error": format!("the body is larger than alerts.max_body ({max_body} bytes)")}),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// A refusal for a request without valid authentication (logged, never posted).
fn unauthorised(headers: &HeaderMap) -> Response {
    tracing::warn!(
        has_authorization = headers.contains_key(axum::http::header::AUTHORIZATION),
        has_signature = headers.contains_key(SIGNATURE_HEADER),
        "webhook refused: authentication failed"
    );
    answer(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({"error": "authentication failed: send the configured bearer token or an X-Hub-Signature-256 of the body"}),
    )
}

fn bad_request(reason: String) -> Response {
    tracing::warn!(%reason, "webhook refused: bad body");
    answer(
        StatusCode::BAD_REQUEST,
        serde_json::json!({"error": reason}),
    )
}

/// Hands a notification to the runtime: 200 once it is stored.
async fn accept(shared: &Shared, notification: &Notification) -> Response {
    match shared.runtime.alerts().accept(notification).await {
        Ok(receipt) => answer(
            StatusCode::OK,
            serde_json::json!({"rooms": receipt.rooms, "changed": receipt.changed}),
        ),
        Err(error) => {
            tracing::error!(%error, "alerts could not be stored");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": "the alerts could not be stored; retry"}),
            )
        }
    }
}

async fn alertmanager(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let body = match authenticated_body(&shared, request).await {
        Ok((_, body)) => body,
        Err(refused) => return refused,
    };
    match Notification::parse(&body) {
        Ok(notification) => accept(&shared, &notification).await,
        Err(reason) => bad_request(reason),
    }
}

/// `POST /hooks/NAME`: any JSON, made into an alert by the hook's templates.
async fn hook(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let body = match authenticated_body(&shared, request).await {
        Ok((_, body)) => body,
        Err(refused) => return refused,
    };
    let loaded = shared.runtime.model().snapshot();
    let Some(hook) = loaded
        .project
        .settings
        .alerts
        .as_ref()
        .and_then(|a| a.hooks.iter().find(|h| h.name == name))
    else {
        return answer(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": format!("no hook named `{name}`; opsbot.yaml lists them under alerts.hooks")}),
        );
    };
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return bad_request(format!("the body is not JSON: {e}")),
    };
    match opsbot_runtime::alerts::hook_notification(hook, &body, shared.runtime.now()) {
        Ok(notification) => accept(&shared, &notification).await,
        Err(reason) => bad_request(reason),
    }
}

/// Binds the listener (before anything else starts, so a taken port is an
/// error at start).
pub async fn bind(address: std::net::SocketAddr) -> Result<tokio::net::TcpListener, WebhookError> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| WebhookError::Bind { address, source })
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, max_connections = limits.max_connections, "listening for alert webhooks");
    }
    listener::serve(listener, router, limits, shutdown).await
}
