//! `opsbot ask "deploy shop 1.2 to staging" [--wait]`: the HTTP API's door
//! from a terminal or a CI job. It proposes through the running bot's API
//! (`api.listen` of the project, or `--url`) with the token in
//! `OPSBOT_API_TOKEN` (never an argument, which `ps` would show); the person
//! the token acts for confirms in the room. With `--wait` it follows the
//! request until it ends and exits with its outcome.

use std::time::Duration;

use super::door_args::AskArgs;
use crate::app::Paths;
use anyhow::{anyhow, bail, Context, Result};

/// How often `--wait` asks where the request stands.
const POLL: Duration = Duration::from_secs(2);

pub(super) fn ask(paths: &Paths, args: &AskArgs) -> Result<std::process::ExitCode> {
    let token = std::env::var("OPSBOT_API_TOKEN")
        .map_err(|_| anyhow!("set OPSBOT_API_TOKEN to a token of api.tokens in opsbot.yaml"))?;
    let base = api_base(paths, args.url.as_deref())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("setting up the HTTP client")?;
    super::runtime()?.block_on(async {
        let response = client
            .post(format!("{base}/v1/requests"))
            .bearer_auth(&token)
            .json(&match &args.as_person {
                Some(person) => serde_json::json!({ "text": args.text, "as": person }),
                None => serde_json::json!({ "text": args.text }),
            })
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the bot's API at {base}; is `opsbot run` up with api: set?")
            })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.context("reading the API's answer")?;
        match body["result"].as_str() {
            Some("answered") => {
                for line in said(&body) {
                    println!("{line}");
                }
                return Ok(std::process::ExitCode::SUCCESS);
            }
            Some("posted") => {}
            _ => bail!(
                "{} ({status})",
                body["error"]
                    .as_str()
                    .unwrap_or("the API refused the request")
            ),
        }
        let id = body["id"].as_str().unwrap_or_default().to_string();
        println!(
            "posted as {id} ({}); the person confirms it in the room:",
            body["state"].as_str().unwrap_or("?")
        );
        for line in said(&body) {
            println!("  {line}");
        }
        if !args.wait {
            return Ok(std::process::ExitCode::SUCCESS);
        }
        let started = std::time::Instant::now();
        loop {
            tokio::time::sleep(POLL).await;
            let status: serde_json::Value = client
                .get(format!("{base}/v1/requests/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .context("asking where the request stands")?
                .json()
                .await
                .context("reading where the request stands")?;
            if status["state"] == "ended" {
                let outcome = status["outcome"].as_str().unwrap_or("?");
                println!("{id} ended: {outcome}");
                if let Some(detail) = status["detail"].as_str() {
                    println!("{detail}");
                }
                return Ok(if outcome == "succeeded" {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                });
            }
            if started.elapsed() > args.timeout {
                bail!(
                    "{id} has not ended after {}; it is {}",
                    humantime::format_duration(args.timeout),
                    status["state"]
                );
            }
        }
    })
}

/// The running bot's API: `url`, or `api.listen` of the project.
pub(super) fn api_base(paths: &Paths, url: Option<&str>) -> Result<String> {
    Ok(match url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let project = crate::app::load_project(paths)?;
            let api = project.settings.api.ok_or_else(|| {
                anyhow!("opsbot.yaml has no api: section; add one (see the book's HTTP API chapter) or give --url")
            })?;
            format!("http://{}", api.listen)
        }
    })
}

fn said(body: &serde_json::Value) -> Vec<&str> {
    body["said"]
        .as_array()
        .map(|lines| lines.iter().filter_map(|l| l.as_str()).collect())
        .unwrap_or_default()
}
