//! Recurring times: a cron expression read in a time zone (the `croner`
//! crate: "09:00 Europe/Berlin" stays 09:00 local across a DST change; a
//! time the spring change skips runs at the first valid minute after it, one
//! the autumn change repeats runs once), and the few spoken forms a reminder
//! may use ("every weekday at 9", "every Monday at 09:30", "every 2 hours"),
//! turned into one.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use regex::Regex;

/// A checked cron expression and the zone it is read in.
#[derive(Debug, Clone)]
pub struct Every {
    expression: String,
    zone: Tz,
    cron: croner::Cron,
}

impl PartialEq for Every {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.zone == other.zone
    }
}

impl Eq for Every {}

impl Every {
    /// `expression` ("0 9 * * MON-FRI": minute, hour, day of month, month,
    /// day of week) read in `zone`; the error says what is wrong with it.
    pub fn parse(expression: &str, zone: Tz) -> Result<Every, String> {
        let expression = expression.trim();
        if expression.split_whitespace().count() != 5 {
            return Err(format!(
                "`{expression}` is not a cron expression of five fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let cron = croner::Cron::from_str(expression)
            .map_err(|error| format!("`{expression}` is not a cron expression: {error}"))?;
        Ok(Every {
            expression: expression.to_string(),
            zone,
            cron,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first time after `after` (strictly), or `None` for an expression
    /// that never falls again (the 30th of February).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Whole seconds: croner carries a start's fraction into its answer.
        let after = after.with_nanosecond(0)?;
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// In words: "At 09:00 on Monday through Friday" (croner's English).
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

/// Day names as people say them, with their cron numbers.
const DAYS: [(&str, &str); 7] = [
    ("sun", "0"),
    ("mon", "1"),
    ("tue", "2"),
    ("wed", "3"),
    ("thu", "4"),
    ("fri", "5"),
    ("sat", "6"),
];

static DAILY: LazyLock<Regex> = LazyLock::new(|| {
    let day = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?s?";
    Regex::new(&format!(
        r"(?i)\b(?:every|each|on)\s+(?P<days>day|weekday|working day|business day|weekend day|weekend|{day}(?:\s*(?:,|and|&)\s*{day})*)s?(?:\s+(?:at\s+)?(?P<hour>\d{{1,2}})(?::(?P<minute>\d{{2}}))?(?:\s*(?P<half>am|pm|a\.m\.|p\.m\.))?)?\b"
    ))
    .expect("a valid pattern")
});

static STEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bevery\s+(?:(?P<n>\d{1,2})\s+)?(?P<unit>minute|hour)s?\b")
        .expect("a valid pattern")
});

/// A recurrence said in words, found in `text`: (its byte span, the cron
/// expression). "every weekday at 9" → `0 9 * * 1-5`; a day without a time
/// is at 09:00; "every 15 minutes" → `*/15 * * * *`. `None` when the text
/// says no recurrence this understands.
pub fn recurrence_in(text: &str) -> Option<((usize, usize), String)> {
    if let Some(c) = STEP.captures(text) {
        let whole = c.get(0)?;
        let n: u32 = c.name("n").map_or(Ok(1), |n| n.as_str().parse()).ok()?;
        let expression = match (c["unit"].to_ascii_lowercase().as_str(), n) {
            ("minute", 1..=59) if n >= 5 || n == 1 => {
                if n == 1 {
                    "* * * * *".to_string()
                } else {
                    format!("*/{n} * * * *")
                }
            }
            ("hour", 1) => "0 * * * *".to_string(),
            ("hour", 2..=23) => format!("0 */{n} * * *"),
            _ => return None,
        };
        return Some(((whole.start(), whole.end()), expression));
    }
    let c = DAILY.captures(text)?;
    let whole = c.get(0)?;
    let days_said = c["days"].to_ascii_lowercase();
    let days = match days_said.as_str() {
        "day" => "*".to_string(),
        "weekday" | "working day" | "business day" => "1-5".to_string(),
        "weekend" | "weekend day" => "0,6".to_string(),
        listed => {
            let mut numbers: Vec<&str> = listed
                .split(|c: char| c == ',' || c == '&' || c.is_whitespace())
                .filter(|w| !w.is_empty() && *w != "and")
                .filter_map(|w| {
                    DAYS.iter()
                        .find(|(name, _)| w.starts_with(name))
                        .map(|(_, n)| *n)
                })
                .collect();
            numbers.dedup();
            if numbers.is_empty() {
                return None;
            }
            numbers.join(",")
        }
    };
    // "on Monday" alone is a date, not a recurrence.
    if whole.as_str().to_ascii_lowercase().starts_with("on ")
        && !days_said.ends_with('s')
        && !matches!(days_said.as_str(), "weekday" | "weekend")
    {
        return None;
    }
    let mut hour: u32 = match c.name("hour") {
        Some(h) => h.as_str().parse().ok()?,
        None => 9,
    };
    let minute: u32 = match c.name("minute") {
        Some(m) => m.as_str().parse().ok()?,
        None => 0,
    };
    match c
        .name("half")
        .map(|h| h.as_str().to_ascii_lowercase().replace('.', ""))
        .as_deref()
    {
        Some("pm") if hour < 12 => hour += 12,
        Some("am") if hour == 12 => hour = 0,
        _ => {}
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    Some((
        (whole.start(), whole.end()),
        format!("{minute} {hour} * * {days}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn spoken_recurrences_become_cron_expressions() {
        for (text, expected) in [
            ("every weekday at 9", "0 9 * * 1-5"),
            ("every Monday at 09:30", "30 9 * * 1"),
            ("each day at 6pm", "0 18 * * *"),
            ("every monday and thursday at 8:15", "15 8 * * 1,4"),
            ("on weekdays at 7am", "0 7 * * 1-5"),
            ("every friday", "0 9 * * 5"),
            ("every 15 minutes", "*/15 * * * *"),
            ("every hour", "0 * * * *"),
            ("every 2 hours", "0 */2 * * *"),
        ] {
            let found = recurrence_in(&format!("remind us {text} to look at the lag"));
            assert_eq!(found.map(|(_, e)| e).as_deref(), Some(expected), "{text}");
        }
        for text in [
            "remind me at 9 to check",
            "remind me on monday at 9",
            "every 2 minutes",
            "every 25:00 day",
        ] {
            assert_eq!(recurrence_in(text).map(|(_, e)| e), None, "{text}");
        }
    }

    #[test]
    fn the_span_is_what_the_recurrence_said() {
        let text = "remind the room every weekday at 9 to look at the lag report";
        let ((start, end), _) = recurrence_in(text).unwrap();
        assert_eq!(&text[start..end], "every weekday at 9");
    }

    #[test]
    fn nine_in_berlin_stays_nine_across_both_dst_changes() {
        let berlin = Every::parse("0 9 * * *", chrono_tz::Europe::Berlin).unwrap();
        // Spring: 29 March 2026, CET (UTC+1) → CEST (UTC+2).
        assert_eq!(
            berlin.next_after(utc("2026-03-28T08:30:00Z")),
            Some(utc("2026-03-29T07:00:00Z"))
        );
        assert_eq!(
            berlin.next_after(utc("2026-03-27T09:00:00Z")),
            Some(utc("2026-03-28T08:00:00Z"))
        );
        // Autumn: 25 October 2026, back to CET.
        assert_eq!(
            berlin.next_after(utc("2026-10-24T08:00:00Z")),
            Some(utc("2026-10-25T08:00:00Z"))
        );
        let new_york = Every::parse("30 9 * * 1", chrono_tz::America::New_York).unwrap();
        // US spring change: Sunday 8 March 2026; the Monday after is EDT.
        assert_eq!(
            new_york.next_after(utc("2026-03-06T12:00:00Z")),
            Some(utc("2026-03-09T13:30:00Z"))
        );
        assert_eq!(
            new_york.next_after(utc("2026-02-27T12:00:00Z")),
            Some(utc("2026-03-02T14:30:00Z"))
        );
    }

    #[test]
    fn a_time_the_spring_change_skips_runs_once_after_it_and_a_repeated_one_once() {
        let berlin = Every::parse("30 2 * * *", chrono_tz::Europe::Berlin).unwrap();
        // 02:30 does not exist on 29 March 2026 in Berlin.
        let spring = berlin.next_after(utc("2026-03-28T12:00:00Z")).unwrap();
        assert!(
            spring >= utc("2026-03-29T01:00:00Z") && spring <= utc("2026-03-29T02:00:00Z"),
            "{spring}"
        );
        // 02:30 happens twice on 25 October 2026: the job runs once that day.
        let first = berlin.next_after(utc("2026-10-24T12:00:00Z")).unwrap();
        let second = berlin.next_after(first).unwrap();
        assert!(
            second - first >= chrono::Duration::hours(23),
            "{first} then {second}"
        );
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let zone = chrono_tz::UTC;
        assert!(Every::parse("0 9 * *", zone)
            .unwrap_err()
            .contains("five fields"));
        assert!(Every::parse("0 25 * * *", zone)
            .unwrap_err()
            .contains("is not a cron expression"));
        assert_eq!(
            Every::parse("30 2 30 2 *", zone)
                .unwrap()
                .next_after(utc("2026-01-01T00:00:00Z")),
            None
        );
    }
}
