//! The MCP tool server: the API's door for LLM assistants (Model Context
//! Protocol, the `rmcp` SDK). Each dialog the token may propose is a tool
//! whose input schema comes from its slots (types, listed values, bounds);
//! calling one proposes the request with exactly those values — a change is
//! posted to the person's room and runs only after a person's yes there, a
//! read-only dialog answers in the result. `request_status` follows a
//! request. The same tools are served over streamable HTTP on the API's
//! listener (`/mcp`, see [`local`]) and over stdio by `opsbot mcp`, which
//! reaches the running bot through its HTTP API (a [`Door`] of its own).

mod local;
mod tools;

use std::future::Future;

use opsbot_runtime::proposal::{Given, Proposed, RequestStatus};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::dialogs::DialogInfo;
pub(crate) use local::http_service;

/// A tool call's context (an HTTP door finds its caller's token in it).
pub type McpContext = RequestContext<RoleServer>;

/// The tool that follows a proposed request.
pub const STATUS_TOOL: &str = "request_status";

/// Where the tools' calls go: the runtime in this process (HTTP), or the
/// running bot's HTTP API (stdio). `ctx` is the call's context, from which
/// an HTTP door takes its caller's token.
pub trait Door: Send + Sync + 'static {
    /// The dialogs the caller may propose.
    fn dialogs(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<Vec<DialogInfo>, String>> + Send;

    /// Proposes `given` for the caller's person; `via` is the MCP client's
    /// name for itself, kept in the audit beside the token's.
    fn propose(
        &self,
        ctx: &RequestContext<RoleServer>,
        given: Given,
        via: Option<String>,
    ) -> impl Future<Output = Result<Proposed, String>> + Send;

    /// Where a request of the caller's person stands (`None`: not theirs).
    fn status(
        &self,
        ctx: &RequestContext<RoleServer>,
        id: String,
    ) -> impl Future<Output = Result<Option<RequestStatus>, String>> + Send;
}

/// The MCP server over a [`Door`].
pub struct Tools<D> {
    door: std::sync::Arc<D>,
}

// Not derived: that would ask `D: Clone`, and a door is shared, not copied.
impl<D> Clone for Tools<D> {
    fn clone(&self) -> Self {
        Tools {
            door: self.door.clone(),
        }
    }
}

impl<D: Door> Tools<D> {
    pub fn new(door: D) -> Tools<D> {
        Tools {
            door: std::sync::Arc::new(door),
        }
    }
}

impl<D: Door> ServerHandler for Tools<D> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("opsbot", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool proposes an operation to the chat room of the person this token acts for. \
                 A change never runs from a tool call: a person confirms it in the room, and the \
                 result says so with the request's id; call request_status with that id to follow it. \
                 Read-only tools answer directly.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let dialogs = self
            .door
            .dialogs(&context)
            .await
            .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(ListToolsResult::with_all_items(tools::listed(&dialogs)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        if request.name == STATUS_TOOL {
            let Some(id) = arguments.get("id").and_then(|v| v.as_str()) else {
                return Err(ErrorData::invalid_params(
                    "request_status takes {\"id\": \"<the id a proposal returned>\"}",
                    None,
                ));
            };
            let result = match self.door.status(&context, id.to_string()).await {
                Ok(Some(status)) => tools::status_result(&status),
                Ok(None) => {
                    tools::failed(format!("there is no request `{id}` of this token's person"))
                }
                Err(e) => tools::failed(e),
            };
            return Ok(result.into());
        }
        let given = match tools::given(&request.name, &arguments) {
            Ok(given) => given,
            Err(why) => return Ok(tools::failed(why).into()),
        };
        let via = context
            .peer
            .peer_info()
            .map(|info| info.client_info.name.clone());
        let result: CallToolResult = match self.door.propose(&context, given, via).await {
            Ok(proposed) => tools::proposed_result(&proposed),
            Err(e) => tools::failed(e),
        };
        Ok(result.into())
    }
}

/// Serves the tools on this process's stdin and stdout until the client
/// closes them.
pub async fn serve_stdio<D: Door>(door: D) -> Result<(), std::io::Error> {
    let running = Tools::new(door)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(())
}
