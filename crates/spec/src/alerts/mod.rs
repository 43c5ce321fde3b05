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

use crate::diag::{Diagnostics, PositionIndex};

mod hooks;
mod mute;
mod noise;
mod template;

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

fn secret(
    env: Option<String>,
    file: Option<String>,
    what: &str,
    at: &str,
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Option<Secret> {
    match (env, file) {
        (Some(_), Some(_)) => {
            diagnostics.push(
                index.locate(&format!("{at}.{what}_file")),
                format!("give the {what} once: `{what}_env` or `{what}_file`, not both"),
            );
            None
        }
        (Some(name), None) if name.trim().is_empty() => {
            diagnostics.push(
                index.locate(&format!("{at}.{what}_env")),
                format!("`{what}_env` is empty; expected the name of an environment variable"),
            );
            None
        }
        (Some(name), None) => Some(Secret::Env(name)),
        (None, Some(path)) => Some(Secret::File(PathBuf::from(path))),
        (None, None) => None,
    }
}

/// Route slots must name a slot some dialog has, or they would never fill one.
pub(crate) fn check_slots(
    settings: &AlertSettings,
    dialog_slots: impl Fn(&str) -> bool,
    diagnostics: &mut Diagnostics,
) {
    for route in &settings.routes {
        for (slot, at) in &route.slots_at {
            if !dialog_slots(slot) {
                diagnostics.push(
                    at.clone(),
                    format!("route `{}` fills a slot `{slot}` that no dialog has; expected the name of a dialog's slot", route.name),
                );
            }
        }
    }
}

pub(crate) fn check(
    raw: RawAlerts,
    root: &std::path::Path,
    (groups, people): (&crate::Groups, &crate::People),
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Option<AlertSettings> {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(addr) if !addr.ip().is_loopback() && !raw.listen_beyond_loopback => {
            diagnostics.push(
                index.locate("alerts.listen"),
                format!("`{listen_text}` is not a loopback address; webhooks carry operational data, so set `listen_beyond_loopback: true` to listen there (and put TLS in front)"),
            );
            None
        }
        Ok(addr) => Some(addr),
        Err(_) => {
            diagnostics.push(
                index.locate("alerts.listen"),
                format!(
                    "`{listen_text}` is not an address with a port; expected e.g. `127.0.0.1:9095`"
                ),
            );
            None
        }
    };
    let named_a_secret = raw.token_env.is_some()
        || raw.token_file.is_some()
        || raw.hmac_secret_env.is_some()
        || raw.hmac_secret_file.is_some();
    let token = secret(
        raw.token_env,
        raw.token_file,
        "token",
        "alerts",
        index,
        diagnostics,
    );
    let hmac_secret = secret(
        raw.hmac_secret_env,
        raw.hmac_secret_file,
        "hmac_secret",
        "alerts",
        index,
        diagnostics,
    );
    if !named_a_secret {
        diagnostics.push(
            index.locate("alerts"),
            "alerts need a way to authenticate senders; expected `token_env` or `token_file` (a bearer token) and/or `hmac_secret_env` or `hmac_secret_file` (X-Hub-Signature-256)",
        );
    }
    let max_body = raw.max_body.unwrap_or(DEFAULT_MAX_BODY);
    if !(1024..=64 * 1024 * 1024).contains(&max_body) {
        diagnostics.push(
            index.locate("alerts.max_body"),
            format!("max_body {max_body} is out of range; expected bytes from 1024 to 67108864"),
        );
    }
    let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if !(4..=4096).contains(&max_connections) {
        diagnostics.push(
            index.locate("alerts.max_connections"),
            format!("max_connections {max_connections} is out of range; expected 4 to 4096"),
        );
    }
    let read_timeout = match raw.read_timeout.as_deref().map(humantime::parse_duration) {
        None => DEFAULT_READ_TIMEOUT,
        Some(Ok(timeout))
            if (std::time::Duration::from_millis(100)..=std::time::Duration::from_secs(300))
                .contains(&timeout) =>
        {
            timeout
        }
        Some(_) => {
            diagnostics.push(
                index.locate("alerts.read_timeout"),
                "read_timeout is not a duration from 100ms to 5m; expected e.g. `10s`",
            );
            DEFAULT_READ_TIMEOUT
        }
    };
    let context_window = match raw.context_window.as_deref().map(humantime::parse_duration) {
        None => DEFAULT_CONTEXT_WINDOW,
        Some(Ok(window)) if window <= std::time::Duration::from_secs(24 * 3600) => window,
        Some(_) => {
            diagnostics.push(
                index.locate("alerts.context_window"),
                "context_window is not a duration up to 24h; expected e.g. `15m`, or `0s` for replies only",
            );
            DEFAULT_CONTEXT_WINDOW
        }
    };
    let mut routes = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, route) in raw.routes.into_iter().enumerate() {
        let at = format!("alerts.routes.{i}");
        let name = route.name.unwrap_or_else(|| format!("route {}", i + 1));
        if !names.insert(name.clone()) {
            diagnostics.push(
                index.locate(&format!("{at}.name")),
                format!(
                    "route name `{name}` is used twice; expected each route to have its own name"
                ),
            );
        }
        if route.rooms.is_empty() {
            diagnostics.push(
                index.locate(&at),
                format!(
                    "route `{name}` names no rooms; expected `rooms:` with at least one room id"
                ),
            );
        }
        for (j, room) in route.rooms.iter().enumerate() {
            if room.trim().is_empty() || room.chars().any(char::is_control) {
                diagnostics.push(
                    index.locate(&format!("{at}.rooms.{j}")),
                    "a room id is empty or holds control characters; expected e.g. `!abc:example.org`",
                );
            }
        }
        let mut labels: Vec<(String, LabelMatch)> = route
            .equals
            .into_iter()
            .map(|(label, value)| (label, LabelMatch::Equals(value)))
            .collect();
        for (label, pattern) in route.match_re {
            match Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => labels.push((label, LabelMatch::Regex(re))),
                Err(e) => diagnostics.push(
                    index.locate(&format!("{at}.match_re.{label}")),
                    format!(
                        "`{pattern}` is not a valid regular expression ({}); expected Rust regex syntax",
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches("error: ")
                    ),
                ),
            }
        }
        let min_severity = route.min_severity.and_then(|s| {
            let rank = severity_rank(&s);
            if rank.is_none() {
                diagnostics.push(
                    index.locate(&format!("{at}.min_severity")),
                    format!(
                        "unknown severity `{s}`; expected one of {}",
                        SEVERITIES.join(", ")
                    ),
                );
            }
            rank
        });
        let mut slots = BTreeMap::new();
        let mut slots_at = BTreeMap::new();
        for (slot, template) in route.slots {
            slots_at.insert(slot.clone(), index.locate(&format!("{at}.slots.{slot}")));
            match LabelTemplate::parse(&template) {
                Ok(parsed) => {
                    slots.insert(slot, parsed);
                }
                Err(why) => diagnostics.push(index.locate(&format!("{at}.slots.{slot}")), why),
            }
        }
        let rate_limit = route.rate_limit.and_then(|raw| {
            noise::check_rate_limit(raw, &format!("{at}.rate_limit"), index, diagnostics)
        });
        let mention = match route.mention {
            None => None,
            Some(RawMention::Fixed(who)) => Some(Mention::Fixed(who)),
            Some(RawMention::Rota { file, key, column }) => {
                let at = format!("{at}.mention");
                match LabelTemplate::parse(&key) {
                    Ok(_) if column == 0 => {
                        diagnostics.push(
                            index.locate(&at),
                            "mention column counts from 1; expected e.g. `column: 3`",
                        );
                        None
                    }
                    Ok(_) if !root.join(&file).is_file() => {
                        diagnostics.push(
                            index.locate(&format!("{at}.file")),
                            format!("`{file}` is not a file in the project; expected a tab-separated rota such as data/oncall.tsv"),
                        );
                        None
                    }
                    Ok(key) => Some(Mention::Rota {
                        file: PathBuf::from(file),
                        key,
                        column,
                    }),
                    Err(why) => {
                        diagnostics.push(index.locate(&format!("{at}.match")), why);
                        None
                    }
                }
            }
        };
        let summary = route
            .summary
            .filter(|text| match LabelTemplate::parse(text) {
                Ok(_) => true,
                Err(why) => {
                    diagnostics.push(index.locate(&format!("{at}.summary")), why);
                    false
                }
            });
        routes.push(AlertRoute {
            name,
            labels,
            min_severity,
            rooms: route.rooms,
            continue_matching: route.continue_matching,
            slots,
            slots_at,
            rate_limit,
            mention,
            summary,
        });
    }
    // Checked before the listen address decides whether there are settings,
    // so every mistake is reported at once.
    let quiet_hours = noise::check_quiet_hours(raw.quiet_hours, index, diagnostics);
    let hooks = hooks::check_hooks(raw.hooks, index, diagnostics);
    let mute = mute::check_mute(raw.mute, groups, people, index, diagnostics);
    Some(AlertSettings {
        listen: listen?,
        token,
        hmac_secret,
        max_body,
        max_connections,
        read_timeout,
        context_window,
        quiet_hours,
        hooks,
        routes,
        mute,
    })
}

#[cfg(test)]
mod tests;
