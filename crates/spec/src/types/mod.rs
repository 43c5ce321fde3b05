//! Typed values built in: numbers, durations, dates and times relative to now,
//! IP addresses, host names, URLs, email addresses, semantic versions and Matrix
//! user ids. A slot uses one by naming it as its entity (`entity: duration`), or an
//! entity declares `type: duration`; no regex to write.
//!
//! Each type finds candidates in free text, resolves a candidate to one canonical
//! string (what `{slot}` renders to and what actions receive) and derives named
//! fields from it (`{slot.seconds}`, `{slot.unix}`). A canonical value resolves to
//! itself, so resolving twice is harmless. Dates and times are resolved against the
//! `now` the caller passes (the dialog engine's clock) and are in UTC.

use std::net::IpAddr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;

mod numbers;
mod time;

pub use numbers::duration_words;
use numbers::{duration_pattern, format_number, iso_duration, parse_number};
pub use numbers::{format_duration, parse_duration, parse_integer};
pub use time::{
    canonical as canonical_time, display as display_time, distance as time_distance,
    parse_datetime_in, parse_zone, wrong_side, Direction, TimeFrame,
};

/// A built-in value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    Integer,
    Number,
    Duration,
    DateTime,
    Ip,
    Hostname,
    Url,
    Email,
    Semver,
    MatrixUser,
}

impl ValueType {
    pub const ALL: [ValueType; 10] = [
        ValueType::Integer,
        ValueType::Number,
        ValueType::Duration,
        ValueType::DateTime,
        ValueType::Ip,
        ValueType::Hostname,
        ValueType::Url,
        ValueType::Email,
        ValueType::Semver,
        ValueType::MatrixUser,
    ];

    /// The name used in YAML (`entity: duration`, `type: ip`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Duration => "duration",
            ValueType::DateTime => "datetime",
            ValueType::Ip => "ip",
            ValueType::Hostname => "hostname",
            ValueType::Url => "url",
            ValueType::Email => "email",
            ValueType::Semver => "semver",
            ValueType::MatrixUser => "matrix_user",
        }
    }

    pub fn from_name(name: &str) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        ValueType::ALL.iter().map(|t| t.name()).collect()
    }

    /// Shown when a value is rejected, unless the entity has its own description.
    pub fn description(self) -> &'static str {
        match self {
            ValueType::Integer => "a whole number like 3 or three",
            ValueType::Number => "a number like 2.5",
            ValueType::Duration => "a duration like 10 minutes, 2h or an hour and a half",
            ValueType::DateTime => "a time like tomorrow at 9, in 10 minutes or next Monday",
            ValueType::Ip => "an IP address like 192.168.0.24 or 2001:db8::1",
            ValueType::Hostname => "a host name like web-01 or db.example.com",
            ValueType::Url => "a URL like https://example.com/status",
            ValueType::Email => "an email address like ada@example.com",
            ValueType::Semver => "a version like 2.4.1 or v2.4.1-rc1",
            ValueType::MatrixUser => "a Matrix user id like @ada:example.org",
        }
    }

    /// The fields `{slot.FIELD}` may name for this type.
    pub fn field_names(self) -> &'static [&'static str] {
        match self {
            ValueType::Duration => &["seconds", "minutes", "iso", "text"],
            ValueType::DateTime => &["unix", "date", "time", "iso", "utc", "text"],
            ValueType::Semver => &["major", "minor", "patch"],
            ValueType::Email => &["user", "domain"],
            ValueType::MatrixUser => &["localpart", "server"],
            ValueType::Url => &["host"],
            ValueType::Ip => &["version"],
            _ => &[],
        }
    }

    /// Resolves a candidate (the user's words) to the canonical value, times
    /// in UTC with either direction.
    pub fn resolve(self, text: &str, now: DateTime<Utc>) -> Option<String> {
        self.resolve_in(text, &TimeFrame::utc(now))
    }

    /// [`ValueType::resolve`] with a time zone and direction for times.
    pub fn resolve_in(self, text: &str, frame: &TimeFrame) -> Option<String> {
        let text = text.trim();
        match self {
            ValueType::Integer => parse_integer(text).map(|n| n.to_string()),
            ValueType::Number => parse_number(text).map(format_number),
            ValueType::Duration => parse_duration(text).map(format_duration),
            ValueType::DateTime => {
                parse_datetime_in(text, frame).map(|t| time::canonical(t, frame.zone))
            }
            ValueType::Ip => text.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
            ValueType::Hostname => is_hostname(text).then(|| text.to_ascii_lowercase()),
            ValueType::Url => parse_url(text),
            ValueType::Email => parse_email(text),
            ValueType::Semver => parse_semver(text),
            ValueType::MatrixUser => MATRIX_USER_WHOLE.is_match(text).then(|| text.to_string()),
        }
    }

    /// Derived fields of a canonical value (empty for a value that is not one).
    pub fn fields(self, canonical: &str) -> Vec<(&'static str, String)> {
        match self {
            ValueType::Duration => match parse_duration(canonical) {
                Some(seconds) => vec![
                    ("seconds", seconds.to_string()),
                    ("minutes", (seconds / 60).to_string()),
                    ("iso", iso_duration(seconds)),
                    ("text", duration_words(seconds)),
                ],
                None => Vec::new(),
            },
            ValueType::DateTime => match DateTime::parse_from_rfc3339(canonical) {
                Ok(t) => vec![
                    ("unix", t.timestamp().to_string()),
                    ("date", t.format("%Y-%m-%d").to_string()),
                    ("time", t.format("%H:%M").to_string()),
                    ("iso", canonical.to_string()),
                    (
                        "utc",
                        time::canonical(t.with_timezone(&Utc), chrono_tz::Tz::UTC),
                    ),
                    ("text", time_text(t)),
                ],
                Err(_) => Vec::new(),
            },
            ValueType::Semver => match semver::Version::parse(canonical) {
                Ok(v) => vec![
                    ("major", v.major.to_string()),
                    ("minor", v.minor.to_string()),
                    ("patch", v.patch.to_string()),
                ],
                Err(_) => Vec::new(),
            },
            ValueType::Email => match canonical.split_once('@') {
                Some((user, domain)) => vec![("user", user.into()), ("domain", domain.into())],
                None => Vec::new(),
            },
            ValueType::MatrixUser => match canonical[1.min(canonical.len())..].split_once(':') {
                Some((local, server)) => {
                    vec![("localpart", local.into()), ("server", server.into())]
                }
                None => Vec::new(),
            },
            ValueType::Url => url::Url::parse(canonical)
                .ok()
                .and_then(|u| u.host_str().map(|h| vec![("host", h.to_string())]))
                .unwrap_or_default(),
            ValueType::Ip => match canonical.parse::<IpAddr>() {
                Ok(IpAddr::V4(_)) => vec![("version", "4".into())],
                Ok(IpAddr::V6(_)) => vec![("version", "6".into())],
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Candidate spans (byte ranges) of this type in free text; each is one that
    /// `resolve` accepts.
    pub fn find(self, text: &str, now: DateTime<Utc>) -> Vec<(usize, usize)> {
        let finder: &Regex = match self {
            ValueType::Integer => &INTEGER_FINDER,
            ValueType::Number => &NUMBER_FINDER,
            ValueType::Duration => &DURATION_FINDER,
            ValueType::DateTime => &DATETIME_FINDER,
            ValueType::Ip => &IP_FINDER,
            ValueType::Hostname => &HOSTNAME_FINDER,
            ValueType::Url => &URL_FINDER,
            ValueType::Email => &EMAIL_FINDER,
            ValueType::Semver => &SEMVER_FINDER,
            ValueType::MatrixUser => &MATRIX_USER_FINDER,
        };
        finder
            .find_iter(text)
            .map(|m| {
                // Sentence punctuation after a URL or host is not part of it.
                let trimmed = m.as_str().trim_end_matches(['.', ',', '!', '?', ')', ':']);
                (m.start(), m.start() + trimmed.len())
            })
            .filter(|&(s, e)| e > s && self.resolve(&text[s..e], now).is_some())
            .collect()
    }
}

static INTEGER_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    // A minus sign before digits is part of the number ("-2" is not 2).
    Regex::new(r"(?i)\B-\d+\b|\b(?:\d{1,3}(?:,\d{3})+|\d+|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ])?(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)|a dozen|(?:one |a )?hundred)\b").unwrap()
});
static NUMBER_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b|-)\d+(?:\.\d+)?\b|\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred)\b").unwrap()
});
static DURATION_FINDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b{}\b", duration_pattern())).unwrap());
static DATETIME_FINDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&time::datetime_pattern(&duration_pattern())).unwrap());
static IP_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b\d{1,3}(?:\.\d{1,3}){3}\b|(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}").unwrap()
});
static HOSTNAME_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    // In free text only names that cannot be ordinary words: with a digit, or
    // dotted with an alphabetic last label. A whole answer may be any valid name.
    Regex::new(r"(?i)\b(?:[a-z][a-z0-9-]*[0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})\b").unwrap()
});
static URL_FINDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bhttps?://[^\s<>]+").unwrap());
static EMAIL_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b").unwrap()
});
static SEMVER_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bv?\d+\.\d+(?:\.\d+)?(?:-[0-9a-z.-]+)?(?:\+[0-9a-z.-]+)?").unwrap()
});
static MATRIX_USER_FINDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@[a-z0-9._=/+-]+:[a-zA-Z0-9.-]+(?::\d+)?").unwrap());
static MATRIX_USER_WHOLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A@[a-z0-9._=/+-]+:[a-zA-Z0-9.-]+(?::\d+)?\z").unwrap());

fn is_hostname(text: &str) -> bool {
    if text.is_empty() || text.len() > 253 || text.starts_with('-') {
        return false;
    }
    let text = text.strip_suffix('.').unwrap_or(text);
    text.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) && text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && text.parse::<IpAddr>().is_err()
        && text
            .rsplit('.')
            .next()
            .is_some_and(|last| !last.chars().all(|c| c.is_ascii_digit()) || !text.contains('.'))
}

fn parse_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then_some(())
        .and(url.host_str())
        .map(|_| url.to_string())
}

fn parse_email(text: &str) -> Option<String> {
    if !EMAIL_FINDER
        .find(text)
        .is_some_and(|m| m.start() == 0 && m.end() == text.len())
    {
        return None;
    }
    let (user, domain) = text.split_once('@')?;
    Some(format!("{user}@{}", domain.to_ascii_lowercase()))
}

fn parse_semver(text: &str) -> Option<String> {
    let bare = text
        .strip_prefix('v')
        .or_else(|| text.strip_prefix('V'))
        .unwrap_or(text);
    if let Ok(v) = semver::Version::parse(bare) {
        return Some(v.to_string());
    }
    // "1.4" is 1.4.0; a pre-release or build part stays as written.
    let split = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, tail) = bare.split_at(split);
    if core.split('.').count() == 2 {
        return semver::Version::parse(&format!("{core}.0{tail}"))
            .ok()
            .map(|v| v.to_string());
    }
    None
}

/// "Wed 25 Nov 2026 09:00 UTC+01:00" for a value whose zone is only an offset.
fn time_text(t: DateTime<chrono::FixedOffset>) -> String {
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "UTC".to_string()
    } else {
        format!("UTC{}", t.format("%:z"))
    };
    format!("{} {zone}", t.format("%a %-d %b %Y %H:%M"))
}

#[cfg(test)]
mod tests;
