//! The MCP tools over streamable HTTP at `/mcp` on the API's listener, with
//! the runtime in this process: every HTTP request is authenticated by the
//! API's bearer token before the MCP service sees it (401 otherwise), and
//! the token found rides in the request's extensions to the tool calls,
//! which propose for its person within its scope and `per_minute`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use opsbot_runtime::proposal::{Given, Proposed, RequestStatus};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::RoleServer;

use super::{Door, Tools};
use crate::dialogs::{dialogs_for, DialogInfo};
use crate::tokens::{Api, Token};

/// An MCP message is a tool call with a few values; more is not one.
const MAX_BODY: usize = 64 * 1024;

/// Which of the API's tokens authenticated the request (its index).
#[derive(Debug, Clone, Copy)]
struct Caller(usize);

/// `/mcp`'s service: the MCP tools behind the token check.
pub(crate) fn http_service(api: Arc<Api>) -> Router {
    let door = LocalDoor { api: api.clone() };
    let tools = Tools::new(door);
    let config = StreamableHttpServerConfig::default().with_max_request_body_bytes(MAX_BODY);
    let service: StreamableHttpService<Tools<LocalDoor>, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(tools.clone()), Default::default(), config);
    Router::new()
        .fallback_service(service)
        .layer(axum::middleware::from_fn_with_state(api, authenticate))
}

async fn authenticate(State(api): State<Arc<Api>>, mut request: Request, next: Next) -> Response {
    match api.token_index(request.headers()) {
        Some(index) => {
            // A token holder's stream is not closed to make room for others.
            if let Some(tag) = request.extensions().get::<crate::listener::ConnectionTag>() {
                tag.authenticated();
            }
            request.extensions_mut().insert(Caller(index));
            next.run(request).await
        }
        None => crate::api::no_token(request.headers()),
    }
}

struct LocalDoor {
    api: Arc<Api>,
}

impl LocalDoor {
    /// The token the HTTP request behind this call was authenticated with.
    fn token(&self, ctx: &RequestContext<RoleServer>) -> Result<&Token, String> {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .and_then(|caller| self.api.tokens.get(caller.0))
            .ok_or_else(|| "this call came without the API's token".to_string())
    }
}

impl Door for LocalDoor {
    async fn dialogs(&self, ctx: &RequestContext<RoleServer>) -> Result<Vec<DialogInfo>, String> {
        let token = self.token(ctx)?;
        let loaded = self.api.runtime.model().snapshot();
        Ok(dialogs_for(&loaded.project, &token.scope()))
    }

    async fn propose(
        &self,
        ctx: &RequestContext<RoleServer>,
        given: Given,
        via: Option<String>,
    ) -> Result<Proposed, String> {
        let token = self.token(ctx)?;
        if !token.admit() {
            tracing::warn!(token = %token.settings.name, "MCP refused: over per_minute");
            return Err(format!(
                "more than {} proposals in a minute from this token; try again later",
                token.settings.per_minute
            ));
        }
        let via = via
            .as_deref()
            .map(crate::tokens::checked_via)
            .transpose()?
            .map(|name| format!("MCP client {name}"));
        let via = via.unwrap_or_else(|| "MCP".to_string());
        let proposed = self
            .api
            .propose(
                token,
                token.key(),
                opsbot_runtime::proposal::Asked::Given(given),
                Some(&via),
            )
            .await
            .map_err(|e| {
                format!("the bot could not take the proposal, and nothing was posted: {e}")
            })?;
        tracing::info!(token = %token.settings.name, taken = !matches!(proposed, Proposed::Refused { .. }), "MCP proposal");
        Ok(proposed)
    }

    async fn status(
        &self,
        ctx: &RequestContext<RoleServer>,
        id: String,
    ) -> Result<Option<RequestStatus>, String> {
        let token = self.token(ctx)?;
        crate::api::find_status(&self.api, token, &id).map_err(|e| e.to_string())
    }
}
