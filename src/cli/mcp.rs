//! `opsbot mcp`: the MCP tool server on stdin and stdout, for an LLM
//! assistant that starts it as a local process. It holds no store and no
//! model: every tool call goes to the running bot's HTTP API (`api.listen`
//! of the project, or `--url`) with the token in `OPSBOT_API_TOKEN`, so the
//! tools, their schemas and the proposals are exactly those of `/mcp` on the
//! bot's listener. Logs go to stderr; stdout carries only the protocol.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use opsbot_runtime::proposal::{Given, Proposed, RequestStatus};
use opsbot_webhook::dialogs::{DialogInfo, DialogList};
use opsbot_webhook::mcp::{serve_stdio, Door, McpContext};

use super::door_args::McpArgs;
use crate::app::Paths;

pub(super) fn mcp(paths: &Paths, args: &McpArgs) -> Result<()> {
    let token = std::env::var("OPSBOT_API_TOKEN")
        .map_err(|_| anyhow!("set OPSBOT_API_TOKEN to a token of api.tokens in opsbot.yaml"))?;
    let base = super::ask::api_base(paths, args.url.as_deref())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("setting up the HTTP client")?;
    let door = ApiDoor {
        client,
        base,
        token,
    };
    super::runtime()?
        .block_on(serve_stdio(door))
        .context("serving MCP on stdio")
}

/// The tools' calls, sent to the running bot's HTTP API.
struct ApiDoor {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ApiDoor {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, String> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::read(response).await.map(Some)
    }

    async fn read<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
    ) -> Result<T, String> {
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("the API's answer is not JSON: {e}"))?;
        match serde_json::from_value(body.clone()) {
            Ok(answer) => Ok(answer),
            Err(_) => Err(body["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the API answered {status}: {body}"))),
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> String {
        tracing::warn!(error = %e, "the bot's API cannot be reached");
        format!(
            "cannot reach the bot's API at {}; is `opsbot run` up with api: set?",
            self.base
        )
    }
}

impl Door for ApiDoor {
    async fn dialogs(&self, _ctx: &McpContext) -> Result<Vec<DialogInfo>, String> {
        let list: Option<DialogList> = self.get("/v1/dialogs").await?;
        Ok(list.map(|l| l.dialogs).unwrap_or_default())
    }

    async fn propose(
        &self,
        _ctx: &McpContext,
        given: Given,
        via: Option<String>,
    ) -> Result<Proposed, String> {
        let via = format!("MCP client {}", via.as_deref().unwrap_or("on stdio"));
        let response = self
            .client
            .post(format!("{}/v1/requests", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({
                "dialog": given.dialog,
                "slots": given.slots,
                "via": via,
            }))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::read(response).await
    }

    async fn status(&self, _ctx: &McpContext, id: String) -> Result<Option<RequestStatus>, String> {
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        self.get(&format!("/v1/requests/{id}")).await
    }
}
