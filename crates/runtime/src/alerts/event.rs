//! What happened to alerts, kept for the postmortem timeline: an alert fired
//! or resolved (at the times its source gives), or someone muted or unmuted
//! alerts from chat. Appended with the group changes they come from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEventKind {
    Fired,
    Resolved,
    Muted,
    Unmuted,
}

impl AlertEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEventKind::Fired => "alert fired",
            AlertEventKind::Resolved => "alert resolved",
            AlertEventKind::Muted => "alerts muted",
            AlertEventKind::Unmuted => "alerts unmuted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub at: DateTime<Utc>,
    pub room: String,
    /// The group's store id ([`super::AlertGroup::id`]); empty for mutes.
    pub group: String,
    pub kind: AlertEventKind,
    /// The alert ("ApacheDown on web-01"), or what was muted.
    pub subject: String,
    /// Who did it, for mutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The alert's summary, or the mute's expiry.
    #[serde(default)]
    pub detail: String,
}
