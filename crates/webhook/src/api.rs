//! The HTTP API: a door that can only propose. A token (kept in
//! `opsbot.yaml` as its SHA-256) acts for one person in one room; what it
//! proposes is read like that person's chat message and posted to the room
//! as a question or confirmation the person answers there. Only read-only
//! dialogs answer in the response.
//!
//! - `POST /v1/requests` `{"text": "back up the orders database"}` — 202 with
//!   the request's id and state when posted; 200 with the answer of a
//!   read-only dialog; 403 when the token's scope or the person's access does
//!   not cover the dialog; 409 when the person has a request open in the
//!   room; 422 when the text is no request (an answer, a command, not
//!   understood — the reason is what the bot would have said); 503 when the
//!   room cannot be posted to. Nothing is posted or kept on a refusal.
//! - `GET /v1/requests/{id}` — where the request stands (asking, awaiting
//!   confirmation, …, ended with its audited outcome); 404 for an id the
//!   token's person does not have.
//! - `GET /v1/dialogs` — what the token may ask, with each dialog's slots.
//! - `GET /v1/openapi.json` — this API's OpenAPI document, generated from
//!   the handlers and the types they answer with (`utoipa`).
//!
//! Every answer is JSON; errors are `{"error": reason}`. 401 without a known
//! token, 413 over 16 KiB, 408 for a slow body, 429 over the token's
//! `per_minute`. Tokens are compared as hashes in constant time and never
//! logged.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use opsbot_runtime::proposal::{Proposal, Proposed, Refusal, RequestStatus, Scope};
use opsbot_runtime::Runtime;
use opsbot_spec::api::{ApiSettings, ApiToken};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::answer;

/// A proposal is a sentence; anything larger is not one.
const MAX_BODY: usize = 16 * 1024;
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

struct Token {
    settings: ApiToken,
    /// Proposals in the current minute: (the minute's start, how many).
    window: Mutex<(Instant, u32)>,
}

struct Api {
    runtime: Arc<Runtime>,
    tokens: Vec<Token>,
}

/// The API's routes over `runtime`, for the tokens of `settings`.
pub fn api_router(runtime: Arc<Runtime>, settings: &ApiSettings) -> Router {
    let tokens = settings
        .tokens
        .iter()
        .map(|t| Token {
            settings: t.clone(),
            window: Mutex::new((Instant::now(), 0)),
        })
        .collect();
    Router::new()
        .route("/v1/requests", post(propose))
        .route("/v1/requests/{id}", get(status))
        .route("/v1/dialogs", get(dialogs))
        .route("/v1/openapi.json", get(openapi))
        .with_state(Arc::new(Api { runtime, tokens }))
}

impl Api {
    /// The token the request's bearer token hashes to, every configured hash
    /// compared in constant time.
    fn token(&self, headers: &HeaderMap) -> Option<&Token> {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(Sha256::digest)?;
        let mut found = None;
        for token in &self.tokens {
            if bool::from(given.as_slice().ct_eq(&token.settings.sha256)) {
                found = Some(token);
            }
        }
        found
    }
}

/// 401 for a request without a known token (logged without the token).
fn no_token(headers: &HeaderMap) -> Response {
    tracing::warn!(
        has_authorization = headers.contains_key(axum::http::header::AUTHORIZATION),
        "API refused: no known token"
    );
    error(
        StatusCode::UNAUTHORIZED,
        "send a token of api.tokens as `Authorization: Bearer <token>`".into(),
    )
}

impl Token {
    fn key(&self) -> opsbot_runtime::key::ConversationKey {
        opsbot_runtime::key::ConversationKey::new(&self.settings.room, &self.settings.person)
    }

    /// Counts a proposal against `per_minute`; `false` when over it.
    fn admit(&self) -> bool {
        let mut window = self.window.lock().expect("rate window lock");
        if window.0.elapsed() >= Duration::from_secs(60) {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 <= self.settings.per_minute
    }

    fn scope(&self) -> Scope {
        Scope {
            changes: self.settings.changes,
            reads: self.settings.reads,
            dialogs: self.settings.dialogs.clone(),
        }
    }
}

fn error(status: StatusCode, reason: String) -> Response {
    answer(status, serde_json::json!({ "error": reason }))
}

/// A request, as the person would write it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProposeBody {
    #[schema(example = "back up the orders database")]
    text: String,
}

/// Why a call was refused.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only its schema is used: errors are built as JSON values
struct ErrorBody {
    error: String,
}

/// A slot of a dialog, as `GET /v1/dialogs` lists it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SlotInfo {
    name: String,
    entity: String,
    /// No default: the person is asked when the request does not say it.
    required: bool,
}

/// A dialog the token may ask for.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct DialogInfo {
    name: String,
    description: String,
    read_only: bool,
    slots: Vec<SlotInfo>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct DialogList {
    dialogs: Vec<DialogInfo>,
}

/// The API's OpenAPI document, from the handlers and types below.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "opsbot API", description = "Proposals a person confirms in the room."),
    paths(propose, status, dialogs),
    components(schemas(ProposeBody, ErrorBody, DialogList, DialogInfo, SlotInfo, Proposed, RequestStatus)),
    modifiers(&BearerToken)
)]
struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Response {
    use utoipa::OpenApi;
    answer(
        StatusCode::OK,
        serde_json::to_value(ApiDoc::openapi()).expect("the document serialises"),
    )
}

/// Proposes a request for the token's person, posted in the token's room.
#[utoipa::path(post, path = "/v1/requests", request_body = ProposeBody,
    security(("token" = [])),
    responses(
        (status = 202, description = "Posted; the person answers in the room", body = Proposed),
        (status = 200, description = "A read-only dialog's answer", body = Proposed),
        (status = 400, description = "Not the expected JSON", body = ErrorBody),
        (status = 401, description = "No known token", body = ErrorBody),
        (status = 403, description = "The token's scope or the person's access does not cover it", body = Proposed),
        (status = 409, description = "The person has a request open in the room", body = Proposed),
        (status = 413, description = "Over 16 KiB", body = ErrorBody),
        (status = 422, description = "Not a request (an answer, a command, not understood)", body = Proposed),
        (status = 429, description = "Over the token's per_minute", body = ErrorBody),
        (status = 503, description = "The room cannot be posted to", body = Proposed),
    ))]
async fn propose(State(api): State<Arc<Api>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(token) = api.token(&parts.headers) else {
        return no_token(&parts.headers);
    };
    if !token.admit() {
        tracing::warn!(token = %token.settings.name, "API refused: over per_minute");
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "more than {} proposals in a minute from this token; try again later",
                token.settings.per_minute
            ),
        );
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_BODY} bytes"),
            )
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive within 10s".into(),
            )
        }
    };
    let body: ProposeBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected a JSON object {{\"text\": \"…\"}}: {e}"),
            )
        }
    };
    if body.text.trim().is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "text is empty; write the request as the person would".into(),
        );
    }
    let proposal = Proposal {
        key: token.key(),
        proposer: token.settings.name.clone(),
        text: body.text,
        scope: token.scope(),
    };
    match api.runtime.ingress().propose(proposal).await {
        Ok(proposed) => {
            let status = match &proposed {
                Proposed::Posted { .. } => StatusCode::ACCEPTED,
                Proposed::Answered { .. } => StatusCode::OK,
                Proposed::Refused { refusal, .. } => match refusal {
                    Refusal::Forbidden => StatusCode::FORBIDDEN,
                    Refusal::Busy => StatusCode::CONFLICT,
                    Refusal::NotARequest => StatusCode::UNPROCESSABLE_ENTITY,
                    Refusal::Unpostable => StatusCode::SERVICE_UNAVAILABLE,
                },
            };
            tracing::info!(token = %token.settings.name, status = status.as_u16(), "API proposal");
            let mut body = serde_json::to_value(&proposed).expect("a proposal serialises");
            if let Proposed::Refused { reason, .. } = &proposed {
                body["error"] = reason.clone().into();
            }
            answer(status, body)
        }
        Err(e) => {
            tracing::error!(error = %e, "API proposal failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the bot could not take the proposal, and nothing was posted: {e}"),
            )
        }
    }
}

/// Where a request of the token's person stands.
#[utoipa::path(get, path = "/v1/requests/{id}", security(("token" = [])),
    params(("id" = String, Path, description = "The id a proposal was given")),
    responses(
        (status = 200, body = RequestStatus),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Not a request of the token's person", body = ErrorBody),
    ))]
async fn status(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = api.token(&headers) else {
        return no_token(&headers);
    };
    match api.runtime.ingress().request_status(&token.key(), &id) {
        Ok(Some(status)) => answer(
            StatusCode::OK,
            serde_json::to_value(status).expect("a status serialises"),
        ),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("{} has no request `{id}`", token.settings.person),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The dialogs the token may ask for, with their slots.
#[utoipa::path(get, path = "/v1/dialogs", security(("token" = [])),
    responses((status = 200, body = DialogList), (status = 401, body = ErrorBody)))]
async fn dialogs(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let Some(token) = api.token(&headers) else {
        return no_token(&headers);
    };
    let loaded = api.runtime.model().snapshot();
    let scope = token.scope();
    let listed: Vec<serde_json::Value> = loaded
        .project
        .dialogs
        .values()
        .filter(|d| scope.covers(d))
        .map(|d| {
            let slots: Vec<serde_json::Value> = d
                .slots
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "name": s.name,
                        "entity": s.entity,
                        "required": s.default.is_none(),
                    })
                })
                .collect();
            serde_json::json!({
                "name": d.name,
                "description": d.description,
                "read_only": d.read_only,
                "slots": slots,
            })
        })
        .collect();
    answer(StatusCode::OK, serde_json::json!({ "dialogs": listed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document names every route with its statuses and the schemas of
    /// what they answer, so a client generated from it matches the server.
    #[test]
    fn the_openapi_document_describes_every_route() {
        use utoipa::OpenApi;
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = &document["paths"];
        for (path, method) in [
            ("/v1/requests", "post"),
            ("/v1/requests/{id}", "get"),
            ("/v1/dialogs", "get"),
        ] {
            assert!(paths[path][method].is_object(), "{path} {method}");
        }
        let statuses: Vec<&String> = paths["/v1/requests"]["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        for status in [
            "200", "202", "400", "401", "403", "409", "413", "422", "429", "503",
        ] {
            assert!(
                statuses.iter().any(|s| *s == status),
                "{status}: {statuses:?}"
            );
        }
        let schemas = &document["components"]["schemas"];
        for schema in [
            "Proposed",
            "RequestStatus",
            "RequestState",
            "Refusal",
            "ProposeBody",
            "DialogList",
        ] {
            assert!(schemas[schema].is_object(), "{schema}");
        }
        assert_eq!(
            document["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
    }
}
