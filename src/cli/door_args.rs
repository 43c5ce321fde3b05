//! The arguments of `opsbot ask` and `opsbot mcp`, which need the HTTP door.
//! They are parsed in every build, so a build without the doors (`make run`'s
//! terminal-only binary) still lists them and explains what they need.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The request, as the person would write it.
    pub text: String,
    /// Follow the request until it ends; exit 0 only if it succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long, e.g. 30m.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The API's address [default: api.listen of the project].
    #[arg(long)]
    pub url: Option<String>,
    /// Propose for this person (one of the token's people:) instead of the
    /// token's own person; they confirm it in the room.
    #[arg(long = "as", value_name = "PERSON")]
    pub as_person: Option<String>,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// The API's address [default: api.listen of the project].
    #[arg(long)]
    pub url: Option<String>,
}
