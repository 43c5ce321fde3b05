//! The HTTP API: a door that can only propose. A token (kept in
//! `opsbot.yaml` as its SHA-256) acts for one person in one room; what it
//! proposes is read like that person's chat message and posted to the room
//! as a question or confirmation the person answers there. Only read-only
//! dialogs answer in the response.
//!
//! - `POST /v1/requests` `{"text": "back up the orders database"}`, or
//!   `{"dialog": "backup_database", "slots": {"database": "orders"}}` — 202 with
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
//! - `/mcp` — the same door for MCP clients (see [`crate::mcp`]).
//!
//! Every answer is JSON; errors are `{"error": reason}`. 401 without a known
//! token, 413 over 16 KiB, 408 for a slow body, 429 over the token's
//! `per_minute`. Tokens are compared as hashes in constant time and never
//! logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use opsbot_runtime::proposal::{Asked, Proposed, Refusal, RequestStatus};
use opsbot_runtime::Runtime;
use opsbot_spec::api::ApiSettings;
use serde::Deserialize;

use crate::answer;
use crate::dialogs::{dialogs_for, DialogInfo, DialogList, SlotInfo};
use crate::tokens::{checked_via, Api, Token};

/// A proposal is a sentence; anything larger is not one.
const MAX_BODY: usize = 16 * 1024;
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The API's routes over `runtime`, for the tokens of `settings`.
pub fn api_router(runtime: Arc<Runtime>, settings: &ApiSettings) -> Router {
    let api = Arc::new(Api::new(runtime, settings));
    Router::new()
        .route("/v1/requests", post(propose))
        .route("/v1/requests/{id}", get(status))
        .route("/v1/dialogs", get(dialogs))
        .route("/v1/openapi.json", get(openapi))
        .with_state(api.clone())
        .nest_service("/mcp", crate::mcp::http_service(api))
}

/// 401 for a request without a known token (logged without the token).
pub(crate) fn no_token(headers: &HeaderMap) -> Response {
    tracing::warn!(
        has_authorization = headers.contains_key(axum::http::header::AUTHORIZATION),
        "API refused: no known token"
    );
    error(
        StatusCode::UNAUTHORIZED,
        "send a token of api.tokens as `Authorization: Bearer <token>`".into(),
    )
}

fn error(status: StatusCode, reason: String) -> Response {
    answer(status, serde_json::json!({ "error": reason }))
}

/// A request: in words, as the person would write it (`text`), or as a
/// dialog (`dialog`, or its `intent`) and the values of its slots, each
/// taken exactly as given.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProposeBody {
    #[schema(example = "back up the orders database")]
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    #[schema(example = "backup_database")]
    dialog: Option<String>,
    #[serde(default)]
    intent: Option<String>,
    /// Slot name → value (a string or a number).
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"database": "orders"}))]
    slots: BTreeMap<String, serde_json::Value>,
    /// The client behind the token (an MCP client's name), kept in the
    /// audit beside the token's name.
    #[serde(default)]
    via: Option<String>,
    /// Whom it is for, when not the token's person: one of its `people`.
    #[serde(default, rename = "as")]
    #[schema(example = "@kim:example.org")]
    as_person: Option<String>,
}

impl ProposeBody {
    /// What is asked, or why the body asks nothing one can take.
    fn asked(&self, runtime: &Runtime) -> Result<Asked, String> {
        match (&self.text, self.dialog.is_some() || self.intent.is_some()) {
            (Some(_), true) => {
                Err("give the request as text or as a dialog and slots, not both".into())
            }
            (Some(text), false) if text.trim().is_empty() => {
                Err("text is empty; write the request as the person would".into())
            }
            (Some(_), false) if !self.slots.is_empty() => {
                Err("slots go with a dialog or an intent, not with text".into())
            }
            (Some(text), false) => Ok(Asked::Words(text.clone())),
            (None, true) => crate::tokens::given(
                runtime,
                self.dialog.as_deref(),
                self.intent.as_deref(),
                &self.slots,
            ),
            (None, false) => {
                Err("give the request as text, or as a dialog (or intent) and slots".into())
            }
        }
    }
}

/// Why a call was refused.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only its schema is used: errors are built as JSON values
struct ErrorBody {
    error: String,
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
        (status = 403, description = "The token's scope or the person's access does not cover it (a refusal), or `as` names someone the token may not propose for (an error)", body = Proposed),
        (status = 409, description = "The person has a request open in the room", body = Proposed),
        (status = 413, description = "Over 16 KiB", body = ErrorBody),
        (status = 422, description = "Not a request (an answer, a command, not understood), or values given that do not fit", body = Proposed),
        (status = 429, description = "Over the token's per_minute", body = ErrorBody),
        (status = 503, description = "The room cannot be posted to", body = Proposed),
    ))]
async fn propose(State(api): State<Arc<Api>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(token) = api.token(&parts.headers) else {
        return no_token(&parts.headers);
    };
    if let Some(tag) = parts.extensions.get::<crate::listener::ConnectionTag>() {
        tag.authenticated();
    }
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
                format!("expected a JSON object {{\"text\": \"…\"}} or {{\"dialog\": \"…\", \"slots\": {{…}}}}: {e}"),
            )
        }
    };
    let asked = match body.asked(&api.runtime) {
        Ok(asked) => asked,
        Err(why) => return error(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    let via = match body.via.as_deref().map(checked_via).transpose() {
        Ok(via) => via,
        Err(why) => return error(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    let key = match token.key_for(body.as_person.as_deref()) {
        Ok(key) => key,
        Err(why) => return error(StatusCode::FORBIDDEN, why),
    };
    match api.propose(token, key, asked, via).await {
        Ok(proposed) => {
            let status = match &proposed {
                Proposed::Posted { .. } => StatusCode::ACCEPTED,
                Proposed::Answered { .. } => StatusCode::OK,
                Proposed::Refused { refusal, .. } => match refusal {
                    Refusal::Forbidden => StatusCode::FORBIDDEN,
                    Refusal::Busy => StatusCode::CONFLICT,
                    Refusal::NotARequest | Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
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
    match find_status(&api, token, &id) {
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

/// Where request `id` stands, among the requests of the people the token
/// proposes for (`None`: none of theirs).
pub(crate) fn find_status(
    api: &Api,
    token: &Token,
    id: &str,
) -> Result<Option<RequestStatus>, opsbot_runtime::RuntimeError> {
    for key in token.keys() {
        if let Some(status) = api.runtime.ingress().request_status(&key, id)? {
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// The dialogs the token may ask for, with their slots.
#[utoipa::path(get, path = "/v1/dialogs", security(("token" = [])),
    responses((status = 200, body = DialogList), (status = 401, body = ErrorBody)))]
async fn dialogs(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let Some(token) = api.token(&headers) else {
        return no_token(&headers);
    };
    let loaded = api.runtime.model().snapshot();
    let list = DialogList {
        dialogs: dialogs_for(&loaded.project, &token.scope()),
    };
    answer(
        StatusCode::OK,
        serde_json::to_value(list).expect("a dialog list serialises"),
    )
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
