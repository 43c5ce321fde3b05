//! `alerts:` in `opsbot.yaml`: where the bot listens for alert webhooks, how
//! senders prove who they are, and routes from an alert's labels to rooms
//! (matched in order; the first match stops unless it says `continue: true`,
//! as Alertmanager's routes do). Checked like everything else: every mistake
//! names file, line and column.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use regex::Regex;
use serde::Deserialize;

mod check;
mod hooks;
mod mute;
mod noise;
mod template;

pub(crate) use check::{check, check_slots};

pub use hooks::{FieldTemplate, Hook};
pub use mute::{is_broad_target, MuteRules};
pub use noise::{QuietHours, RouteRateLimit};
pub use template::{host_of, LabelTemplate};

/// Where the listener binds when `alerts:` names no address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";
/// The largest webhook body accepted unless `max_body` says otherwise.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Severities from least to most urgent; a label value outside the list ranks
/// below all of them.
pub const SEVERITIES: &[&str] = &["info", "warning", "error", "critical"];
/// How long after an alert's last change a request in its room, not in reply
/// to it, still takes the alert's values.
/// Connections the listener holds open at once unless `max_connections` says
/// otherwise (each is a file descriptor; the rest are left for the bot's state).
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// How long a sender may take to send a request's headers, or its body,
/// unless `read_timeout` says otherwise.
pub const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub const DEFAULT_CONTEXT_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    pub listen: Option<String>,
    /// Needed to listen anywhere but loopback: webhooks carry operational data.
    #[serde(default)]
    pub listen_beyond_loopback: bool,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub hmac_secret_env: Option<String>,
    pub hmac_secret_file: Option<String>,
    pub max_body: Option<usize>,
    /// Connections held open at once (idle ones beyond it are closed).
    pub max_connections: Option<usize>,
    /// How long a sender may take over a request's headers, and over its body.
    pub read_timeout: Option<String>,
    /// How long after an alert a request in its room (not in reply to it)
    /// still takes its values, e.g. `15m`.
    pub context_window: Option<String>,
    #[serde(default)]
    pub quiet_hours: Vec<noise::RawQuietHours>,
    /// Generic JSON webhooks by name (`/hooks/NAME`).
    #[serde(default)]
    pub hooks: BTreeMap<String, hooks::RawHook>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Who may mute alerts from chat (nobody when absent).
    pub mute: Option<mute::RawMute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub name: Option<String>,
    /// Label → exact value.
    #[serde(default, rename = "match")]
    pub equals: BTreeMap<String, String>,
    /// Label → regular expression the whole value must match.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// The `severity` label must be at least this (see [`SEVERITIES`]).
    pub min_severity: Option<String>,
    #[serde(default)]
    pub rooms: Vec<String>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Slot name → template over the alert's labels and annotations, e.g.
    /// `'{labels.instance | host}'`: values for a request made about the alert.
    #[serde(default)]
    pub slots: BTreeMap<String, String>,
    /// At most so many new messages per room in a window; more go into a digest.
    pub rate_limit: Option<noise::RawRateLimit>,
    /// Who the message addresses: a user id or person, or a rota lookup.
    pub mention: Option<RawMention>,
    /// The line under the status line, over the alert's labels and
    /// annotations (default: `summary: {annotations.summary}`).
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMention {
    /// `mention: '@oncall:example.org'` or a person's name from `people:`.
    Fixed(String),
    /// `mention: { file: data/oncall.tsv, match: '{labels.team}', column: 3 }`.
    Rota {
        file: String,
        #[serde(rename = "match")]
        key: String,
        column: usize,
    },
}

/// Who an alert's first message mentions.
#[derive(Debug, Clone)]
pub enum Mention {
    Fixed(String),
    /// The row of a tab-separated file (relative to the project) whose first
    /// column is the rendered key; the value of the 1-based column.
    Rota {
        file: PathBuf,
        key: LabelTemplate,
        column: usize,
    },
}

/// A secret read when the listener starts (never stored in the project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub listen: SocketAddr,
    /// A bearer token (`Authorization: Bearer …`), as Alertmanager sends.
    pub token: Option<Secret>,
    /// A key for `X-Hub-Signature-256: sha256=HMAC(body)`, as GitHub sends.
    pub hmac_secret: Option<Secret>,
    pub max_body: usize,
    pub max_connections: usize,
    pub read_timeout: std::time::Duration,
    pub context_window: std::time::Duration,
    pub quiet_hours: Vec<QuietHours>,
    pub hooks: Vec<Hook>,
    pub routes: Vec<AlertRoute>,
    pub mute: MuteRules,
}

#[derive(Debug, Clone)]
pub enum LabelMatch {
    Equals(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub struct AlertRoute {
    pub name: String,
    pub labels: Vec<(String, LabelMatch)>,
    /// Index into [`SEVERITIES`].
    pub min_severity: Option<usize>,
    pub rooms: Vec<String>,
    pub continue_matching: bool,
    /// Slot name → where its value comes from in the alert.
    pub slots: BTreeMap<String, LabelTemplate>,
    /// Where each slot was written, to check it against the dialogs.
    pub(crate) slots_at: BTreeMap<String, crate::diag::Location>,
    pub rate_limit: Option<RouteRateLimit>,
    pub mention: Option<Mention>,
    /// The summary line's template, as written (checked to parse).
    pub summary: Option<String>,
}

/// The rank of a severity label value, `None` when it is not one of [`SEVERITIES`].
pub fn severity_rank(value: &str) -> Option<usize> {
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(value))
}

impl AlertRoute {
    /// Whether an alert with these labels takes this route.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let labels_match = self.labels.iter().all(|(name, expected)| {
            let value = labels.get(name).map(String::as_str).unwrap_or("");
            match expected {
                LabelMatch::Equals(text) => value == text,
                LabelMatch::Regex(re) => re.is_match(value),
            }
        });
        let severe_enough = self.min_severity.is_none_or(|least| {
            labels
                .get("severity")
                .and_then(|s| severity_rank(s))
                .is_some_and(|rank| rank >= least)
        });
        labels_match && severe_enough
    }
}

impl AlertSettings {
    /// The routes an alert takes, in order: up to and including the first
    /// match that does not continue.
    pub fn routes_for(&self, labels: &BTreeMap<String, String>) -> Vec<&AlertRoute> {
        let mut taken = Vec::new();
        for route in &self.routes {
            if route.matches(labels) {
                taken.push(route);
                if !route.continue_matching {
                    break;
                }
            }
        }
        taken
    }
}

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod tests;
