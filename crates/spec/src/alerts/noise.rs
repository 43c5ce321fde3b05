//! Noise limits of alert routes and rooms: at most so many new messages per
//! route and room in a window (more go into one digest message), and quiet
//! hours in which a room gets only critical alerts, the rest in a digest
//! posted when they end. Times are UTC.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use serde::Deserialize;

use crate::diag::{Diagnostics, PositionIndex};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub messages: u32,
    pub per: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuietHours {
    pub rooms: Vec<String>,
    pub from: String,
    pub to: String,
}

/// At most `messages` new alert messages per route and room within `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRateLimit {
    pub messages: u32,
    pub per: Duration,
}

/// From `from` to `to` (UTC, wrapping past midnight when `to` is earlier),
/// the rooms get critical alerts only; the rest wait for a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    pub rooms: Vec<String>,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl QuietHours {
    /// When the quiet hours that hold `now` end, or `None` outside them.
    pub fn ends_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let time = now.time();
        let inside = if self.from <= self.to {
            time >= self.from && time < self.to
        } else {
            time >= self.from || time < self.to
        };
        if !inside {
            return None;
        }
        let today_end = now.date_naive().and_time(self.to).and_utc();
        Some(if today_end > now {
            today_end
        } else {
            today_end + chrono::Duration::days(1)
        })
    }
}

pub(crate) fn check_rate_limit(
    raw: RawRateLimit,
    at: &str,
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Option<RouteRateLimit> {
    match humantime::parse_duration(&raw.per) {
        Ok(per)
            if raw.messages > 0
                && per >= Duration::from_secs(1)
                && per <= Duration::from_secs(24 * 3600) =>
        {
            Some(RouteRateLimit {
                messages: raw.messages,
                per,
            })
        }
        _ => {
            diagnostics.push(
                index.locate(at),
                "rate_limit is invalid; expected `messages:` above 0 and `per:` a duration from 1s to 24h, such as `1m`",
            );
            None
        }
    }
}

fn clock(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

pub(crate) fn check_quiet_hours(
    raw: Vec<RawQuietHours>,
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Vec<QuietHours> {
    let mut checked = Vec::new();
    for (i, quiet) in raw.into_iter().enumerate() {
        let at = format!("alerts.quiet_hours.{i}");
        let (from, to) = (clock(&quiet.from), clock(&quiet.to));
        for (name, text, parsed) in [("from", &quiet.from, from), ("to", &quiet.to, to)] {
            if parsed.is_none() {
                diagnostics.push(
                    index.locate(&format!("{at}.{name}")),
                    format!("`{text}` is not a time of day; expected HH:MM in UTC, e.g. `22:00`"),
                );
            }
        }
        if quiet.rooms.is_empty() {
            diagnostics.push(
                index.locate(&at),
                "quiet_hours name no rooms; expected `rooms:` with at least one room id",
            );
        }
        if let (Some(from), Some(to)) = (from, to) {
            if from == to {
                diagnostics.push(index.locate(&at), "quiet hours from and to are the same time; expected a span such as 22:00 to 07:00");
                continue;
            }
            checked.push(QuietHours {
                rooms: quiet.rooms,
                from,
                to,
            });
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(hour, minute, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn quiet_hours_wrap_past_midnight_and_say_when_they_end() {
        let night = QuietHours {
            rooms: vec!["!r".into()],
            from: clock("22:00").unwrap(),
            to: clock("07:00").unwrap(),
        };
        assert_eq!(
            night.ends_after(at(23, 0)),
            Some(at(7, 0) + chrono::Duration::days(1))
        );
        assert_eq!(night.ends_after(at(3, 0)), Some(at(7, 0)));
        assert_eq!(night.ends_after(at(7, 0)), None);
        assert_eq!(night.ends_after(at(12, 0)), None);
        let lunch = QuietHours {
            rooms: vec!["!r".into()],
            from: clock("12:00").unwrap(),
            to: clock("13:00").unwrap(),
        };
        assert_eq!(lunch.ends_after(at(12, 30)), Some(at(13, 0)));
        assert_eq!(lunch.ends_after(at(13, 30)), None);
    }
}
