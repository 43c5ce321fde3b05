//! Muting alerts from chat: "mute web-01 for 2 hours" holds new alert
//! messages about web-01 in that room until the time is up or someone says
//! "unmute web-01"; "what is muted" lists them. A mute matches an alert when
//! the target equals one of its label values (or the host of its
//! `instance`). Messages already posted keep being edited; an alert that
//! fires and resolves while muted is not posted at all (the timeline keeps it).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::group::TrackedAlert;

/// The shortest and longest mute.
pub const MUTE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(7 * 24 * 3600));

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    pub room: String,
    pub target: String,
    pub until: DateTime<Utc>,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Mute {
    /// The store key of a mute: room and target.
    pub fn id(room: &str, target: &str) -> String {
        format!("{room}\u{0}{}", target.to_lowercase())
    }

    pub fn active(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }

    pub fn matches(&self, alert: &TrackedAlert) -> bool {
        let target = self.target.as_str();
        alert.labels.iter().any(|(name, value)| {
            value.eq_ignore_ascii_case(target)
                || (name == "instance"
                    && opsbot_spec::alerts::host_of(value).eq_ignore_ascii_case(target))
        })
    }
}

/// Below this many alerts known in a room, no share of them is "most".
const FEW_ALERTS: usize = 4;

/// Whether a mute of `target` would silence most of a room's alerts: a
/// severity or a word for everything, or a value that more than half of the
/// alerts the room has seen carry (e.g. `env=prod` on every alert).
pub fn matches_most(target: &str, groups: &[super::AlertGroup]) -> bool {
    if opsbot_spec::alerts::is_broad_target(target) {
        return true;
    }
    let probe = Mute {
        room: String::new(),
        target: target.to_string(),
        until: DateTime::<Utc>::MIN_UTC,
        by: String::new(),
        at: DateTime::<Utc>::MIN_UTC,
    };
    let alerts: Vec<&TrackedAlert> = groups
        .iter()
        .filter(|g| g.digest.is_none())
        .flat_map(|g| g.alerts.values())
        .collect();
    let matched = alerts.iter().filter(|a| probe.matches(a)).count();
    alerts.len() >= FEW_ALERTS && matched * 2 > alerts.len()
}

/// A mute command from chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuteCommand {
    Mute { target: String, duration: Duration },
    Unmute { target: String },
    List,
}

/// "mute web-01 for 2 hours", "mute ApacheDown for 30m", "unmute web-01",
/// "what is muted"; `None` for anything else (it goes to the dialogs). A
/// duration that does not parse is still a mute command, answered with why.
pub fn parse_mute(text: &str) -> Option<Result<MuteCommand, String>> {
    let lower = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let original: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["what", "is", "muted"] | ["what's", "muted"] | ["mutes"] | ["list", "mutes"] => {
            Some(Ok(MuteCommand::List))
        }
        ["unmute", _] => Some(Ok(MuteCommand::Unmute {
            target: original[1].to_string(),
        })),
        ["mute", _, "for", rest @ ..] if !rest.is_empty() => {
            let target = original[1].to_string();
            Some(
                parse_duration(&rest.join(" "))
                    .map(|duration| MuteCommand::Mute { target, duration }),
            )
        }
        _ => None,
    }
}

/// "2 hours", "30m", "an hour", "1h30m" within [`MUTE_RANGE`].
fn parse_duration(text: &str) -> Result<Duration, String> {
    let normalised = text
        .replace("an hour", "1 hour")
        .replace("a day", "1 day")
        .replace(" ", "");
    let duration = humantime::parse_duration(&normalised)
        .map_err(|_| format!("“{text}” is not a duration; say e.g. “for 2 hours” or “for 30m”"))?;
    let (least, most) = MUTE_RANGE;
    if duration < least || duration > most {
        return Err(format!("a mute lasts from 1 minute to 7 days, not {text}"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn mute_commands_are_told_from_other_messages() {
        assert_eq!(
            parse_mute("mute web-01 for 2 hours"),
            Some(Ok(MuteCommand::Mute {
                target: "web-01".into(),
                duration: Duration::from_secs(7200)
            }))
        );
        assert_eq!(
            parse_mute("Mute ApacheDown for an hour."),
            Some(Ok(MuteCommand::Mute {
                target: "ApacheDown".into(),
                duration: Duration::from_secs(3600)
            }))
        );
        assert_eq!(
            parse_mute("unmute web-01"),
            Some(Ok(MuteCommand::Unmute {
                target: "web-01".into()
            }))
        );
        assert_eq!(
            parse_mute("what is muted?".trim_end_matches('?')),
            Some(Ok(MuteCommand::List))
        );
        assert!(
            matches!(parse_mute("mute web-01 for ever"), Some(Err(e)) if e.contains("not a duration"))
        );
        assert!(
            matches!(parse_mute("mute web-01 for 30 days"), Some(Err(e)) if e.contains("7 days"))
        );
        assert!(matches!(parse_mute("mute web-01 for 5s"), Some(Err(e)) if e.contains("1 minute")));
        for other in [
            "mute",
            "mute the channel",
            "restart apache on web-01",
            "muted web-01 for 2h",
        ] {
            assert_eq!(parse_mute(other), None, "{other}");
        }
    }

    #[test]
    fn a_mute_matches_label_values_and_hosts() {
        let alert = TrackedAlert {
            labels: BTreeMap::from([
                ("alertname".to_string(), "ApacheDown".to_string()),
                ("instance".to_string(), "web-01:80".to_string()),
            ]),
            annotations: BTreeMap::new(),
            firing: true,
            starts_at: Utc::now(),
            ends_at: None,
        };
        let mute = |target: &str| Mute {
            room: "!r".into(),
            target: target.into(),
            until: Utc::now(),
            by: "alice".into(),
            at: Utc::now(),
        };
        assert!(mute("web-01").matches(&alert));
        assert!(mute("WEB-01").matches(&alert));
        assert!(mute("apachedown").matches(&alert));
        assert!(mute("web-01:80").matches(&alert));
        assert!(!mute("web-0").matches(&alert));
        assert!(!mute("web-02").matches(&alert));
    }
}
