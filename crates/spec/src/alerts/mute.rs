//! `alerts.mute:` — who may mute a room's alerts from chat, and which broad
//! targets (those that match most alerts, like a bare severity) may be muted
//! at all. A mute silences alerts for everyone in the room, so it is
//! refused unless opsbot.yaml names who may do it.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::access::{Access, Groups};
use crate::diag::{Diagnostics, PositionIndex};
use crate::people::People;

/// Words that name every alert rather than one of them.
pub const EVERYTHING: &[&str] = &["all", "everything", "alerts", "*", "any"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMute {
    /// Who may mute and unmute: user ids, person names, `group:NAME`, or `"*"`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Broad targets that may be muted anyway, e.g. `[info]` (a target
    /// listed here is allowed however many alerts it matches).
    #[serde(default)]
    pub broad: Vec<String>,
}

/// The rules for mutes from chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteRules {
    /// `None`: nobody may mute (no `alerts.mute:` block, or an empty `allow`).
    pub access: Option<Access>,
    /// Broad targets allowed anyway, lower case.
    pub broad: BTreeSet<String>,
}

impl Default for MuteRules {
    /// Nobody may mute: a mute hides alerts from everyone in the room.
    fn default() -> Self {
        MuteRules {
            access: None,
            broad: BTreeSet::new(),
        }
    }
}

impl MuteRules {
    /// May `user` mute or unmute in `room`? The error says why not.
    pub fn check(&self, groups: &Groups, user: &str, room: &str) -> Result<(), String> {
        match &self.access {
            None => Err(
                "nobody may mute alerts here until opsbot.yaml says who may (`alerts.mute.allow`)"
                    .to_string(),
            ),
            Some(access) => access.check_start(groups, user, room),
        }
    }

    /// Whether a broad `target` is listed as allowed.
    pub fn allows_broad(&self, target: &str) -> bool {
        self.broad.contains(&target.to_lowercase())
    }
}

/// Whether `target` names a severity or every alert: a mute of it would
/// silence most of a room's alerts.
pub fn is_broad_target(target: &str) -> bool {
    let lower = target.to_lowercase();
    super::severity_rank(&lower).is_some() || EVERYTHING.contains(&lower.as_str())
}

pub(crate) fn check_mute(
    raw: Option<RawMute>,
    groups: &Groups,
    people: &People,
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> MuteRules {
    let Some(raw) = raw else {
        return MuteRules::default();
    };
    let (allow, unknown) = crate::access::principals(&raw.allow, groups, people);
    for (_, group) in unknown {
        diagnostics.push(
            index.locate("alerts.mute.allow"),
            crate::access::unknown_group(&group, groups),
        );
    }
    let access = allow.map(|allow| Access {
        allow,
        ..Access::default()
    });
    MuteRules {
        access,
        broad: raw.broad.iter().map(|t| t.to_lowercase()).collect(),
    }
}
