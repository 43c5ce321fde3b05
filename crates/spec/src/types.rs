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

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use regex::Regex;

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
            ValueType::Duration => &["seconds", "minutes", "iso"],
            ValueType::DateTime => &["unix", "date", "time", "iso"],
            ValueType::Semver => &["major", "minor", "patch"],
            ValueType::Email => &["user", "domain"],
            ValueType::MatrixUser => &["localpart", "server"],
            ValueType::Url => &["host"],
            ValueType::Ip => &["version"],
            _ => &[],
        }
    }

    /// Resolves a candidate (the user's words) to the canonical value.
    pub fn resolve(self, text: &str, now: DateTime<Utc>) -> Option<String> {
        let text = text.trim();
        match self {
            ValueType::Integer => parse_integer(text).map(|n| n.to_string()),
            ValueType::Number => parse_number(text).map(format_number),
            ValueType::Duration => parse_duration(text).map(format_duration),
            ValueType::DateTime => {
                parse_datetime(text, now).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
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
                ],
                None => Vec::new(),
            },
            ValueType::DateTime => match DateTime::parse_from_rfc3339(canonical) {
                Ok(t) => vec![
                    ("unix", t.timestamp().to_string()),
                    ("date", t.format("%Y-%m-%d").to_string()),
                    ("time", t.format("%H:%M").to_string()),
                    ("iso", canonical.to_string()),
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

const NUMBER_WORDS: &str = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a|an|a couple of|couple of|a dozen|dozen)";
const LONG_UNITS: &str = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)";

/// A duration in free text: parts like "10 minutes", "2h", "an hour", joined by
/// commas or "and", optionally "and a half". Single-letter units only right
/// after digits, so "and" is never "an" + "d".
fn duration_pattern() -> String {
    let amount_words = format!(r"(?:{NUMBER_WORDS}(?:[- ]{NUMBER_WORDS})?|half an?)");
    let part = format!(
        r"(?:\d+(?:\.\d+)?\s*{LONG_UNITS}|\d+(?:\.\d+)?[smhdw](?:\d+[ms])*|{amount_words}\s+{LONG_UNITS})"
    );
    format!(r"(?:half an hour|{part}(?:(?:\s*,\s*|\s+and\s+|\s+){part})*(?:\s+and\s+a\s+half)?)")
}

static INTEGER_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:\d{1,3}(?:,\d{3})+|\d+|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ])?(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)|a dozen|(?:one |a )?hundred)\b").unwrap()
});
static NUMBER_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b|-)\d+(?:\.\d+)?\b|\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred)\b").unwrap()
});
static DURATION_FINDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b{}\b", duration_pattern())).unwrap());
static DATETIME_FINDER: LazyLock<Regex> = LazyLock::new(|| {
    let clock = r"(?:at\s+)?(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?|\d{1,2}\s*o'?clock)";
    let duration = duration_pattern();
    let day = r"(?:today|tonight|tomorrow|the day after tomorrow|(?:next|this|on)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d{4}-\d{2}-\d{2})";
    Regex::new(&format!(
        r"(?i)\b(?:\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}(?::\d{{2}})?(?:Z|[+-]\d{{2}}:?\d{{2}})?|in\s+{duration}|{duration}\s+from\s+now|{day}(?:\s+(?:morning|afternoon|evening|night))?(?:\s+{clock})?|at\s+(?:noon|midnight|\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm)?)|now)\b"
    ))
    .unwrap()
});
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

fn small_number(word: &str) -> Option<u64> {
    Some(match word {
        "zero" => 0,
        "one" | "a" | "an" => 1,
        "two" | "couple" | "a couple of" | "couple of" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" | "dozen" | "a dozen" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        "hundred" => 100,
        _ => return None,
    })
}

/// "3", "1,000", "three", "twenty-five", "a hundred".
pub fn parse_integer(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    let digits = lower.replace(',', "");
    if let Some(rest) = digits.strip_prefix('-') {
        return rest
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| rest.parse::<i64>().ok().map(|n| -n))
            .flatten();
    }
    if digits.chars().all(|c| c.is_ascii_digit()) {
        return digits.parse().ok();
    }
    if matches!(lower.as_str(), "a" | "an") {
        return None;
    }
    let words: Vec<&str> = lower
        .split([' ', '-'])
        .filter(|w| !w.is_empty() && *w != "and")
        .collect();
    match words.as_slice() {
        ["a" | "one", "hundred"] => Some(100),
        ["a", "dozen"] => Some(12),
        [w] => small_number(w).map(|n| n as i64),
        [tens, unit] => {
            let (t, u) = (small_number(tens)?, small_number(unit)?);
            (t >= 20 && t % 10 == 0 && t < 100 && (1..10).contains(&u)).then_some((t + u) as i64)
        }
        _ => None,
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    parse_integer(t).map(|n| n as f64)
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        "w" | "week" | "weeks" => 604800.0,
        _ => return None,
    })
}

static DURATION_PART: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+(?:\.\d+)?)([a-z]+)").unwrap());

/// Seconds in "10 minutes", "2h", "1h30m", "an hour and a half", "half an hour",
/// "two days, 3 hours".
pub fn parse_duration(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    if lower == "half an hour" || lower == "half a hour" {
        return Some(1800);
    }
    let (body, plus_half) = match lower.strip_suffix(" and a half") {
        Some(b) => (b.to_string(), true),
        None => (lower.clone(), false),
    };
    let mut tokens: Vec<String> = Vec::new();
    for word in body
        .split([' ', ','])
        .filter(|w| !w.is_empty() && *w != "and")
    {
        // "1h30m" and "10min" split into amount/unit pairs.
        let mut rest = word;
        let mut split_any = false;
        while let Some(c) = DURATION_PART.captures(rest) {
            tokens.push(c[1].to_string());
            tokens.push(c[2].to_string());
            rest = &rest[c[0].len()..];
            split_any = true;
        }
        if !split_any || !rest.is_empty() {
            if split_any {
                return None;
            }
            tokens.push(word.to_string());
        }
    }
    let mut total = 0.0;
    let mut last_unit = 0.0;
    let mut i = 0;
    let mut pieces = 0;
    while i < tokens.len() {
        // amount: a number, one or two number words, "a"/"an", "half a(n)".
        let (amount, used) = if let Ok(n) = tokens[i].parse::<f64>() {
            (n, 1)
        } else if tokens[i] == "half"
            && matches!(tokens.get(i + 1).map(String::as_str), Some("a" | "an"))
        {
            (0.5, 2)
        } else if let (Some(a), Some(b)) = (tokens.get(i), tokens.get(i + 1)) {
            match parse_integer(&format!("{a} {b}")) {
                Some(n)
                    if unit_seconds(tokens.get(i + 2).map(String::as_str).unwrap_or(""))
                        .is_some() =>
                {
                    (n as f64, 2)
                }
                _ => (small_number(a)? as f64, 1),
            }
        } else {
            (small_number(&tokens[i])? as f64, 1)
        };
        let unit = unit_seconds(tokens.get(i + used)?)?;
        total += amount * unit;
        last_unit = unit;
        i += used + 1;
        pieces += 1;
    }
    if pieces == 0 {
        return None;
    }
    if plus_half {
        total += last_unit / 2.0;
    }
    (total > 0.0 && total < 1e10).then(|| total.round() as u64)
}

/// "1h30m", "10m", "45s", "2d".
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

fn iso_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86400,
        seconds % 86400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if h + m + s > 0 || d == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:at\s+)?(?:(noon)|(midnight)|(\d{1,2})(?::(\d{2}))?\s*(am|pm|o'?clock)?)$")
        .unwrap()
});

fn parse_clock(text: &str) -> Option<NaiveTime> {
    let c = CLOCK.captures(text.trim())?;
    if c.get(1).is_some() {
        return NaiveTime::from_hms_opt(12, 0, 0);
    }
    if c.get(2).is_some() {
        return NaiveTime::from_hms_opt(0, 0, 0);
    }
    let mut hour: u32 = c[3].parse().ok()?;
    let minute: u32 = c.get(4).map_or(Ok(0), |m| m.as_str().parse()).ok()?;
    match c.get(5).map(|m| m.as_str()) {
        Some("pm") if hour < 12 => hour += 12,
        Some("am") if hour == 12 => hour = 0,
        Some("am" | "pm") if hour > 12 => return None,
        _ => {}
    }
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// A point in time from "now", "in 10 minutes", "2 hours from now", "tomorrow at
/// 9", "tonight", "next Monday at 14:30", "at 5pm" (today, or tomorrow once
/// past), "2026-12-01 09:00" or RFC 3339; UTC.
pub fn parse_datetime(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let original = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(original) {
        return Some(t.with_timezone(&Utc));
    }
    let lower = original.to_ascii_lowercase();
    let lower = lower.trim_end_matches(['.', '!', '?']).trim();
    if lower == "now" || lower == "right now" {
        return Some(now);
    }
    if let Some(rest) = lower.strip_prefix("in ") {
        return parse_duration(rest).map(|s| now + Duration::seconds(s as i64));
    }
    if let Some(rest) = lower.strip_suffix(" from now") {
        return parse_duration(rest).map(|s| now + Duration::seconds(s as i64));
    }
    let today = now.date_naive();
    // Split "<day part> [at] <clock>".
    let (day_part, clock_part) = match lower.find(" at ") {
        Some(i) => (&lower[..i], Some(&lower[i + 4..])),
        None => {
            // "tomorrow 9am", "2026-12-01 09:00"
            match lower.rsplit_once(' ') {
                Some((d, c)) if parse_clock(c).is_some() && parse_day(d, today).is_some() => {
                    (d, Some(c))
                }
                _ => (lower, None),
            }
        }
    };
    if lower.starts_with("at ") {
        // "at 5pm": today, or tomorrow once that time has passed.
        let time = parse_clock(lower)?;
        let mut at = Utc.from_utc_datetime(&today.and_time(time));
        if at <= now {
            at += Duration::days(1);
        }
        return Some(at);
    }
    let (day_word, part_of_day) = split_part_of_day(day_part);
    let date = parse_day(day_word, today)?;
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0);
    let time = match clock_part {
        Some(c) => {
            let t = parse_clock(c)?;
            // "tomorrow evening at 7" is 19:00.
            if matches!(part_of_day, Some("evening" | "night" | "afternoon")) && t.hour() < 12 {
                hm(t.hour() + 12, t.minute())?
            } else {
                t
            }
        }
        None => match (day_word, part_of_day) {
            ("tonight", _) | (_, Some("evening" | "night")) => hm(20, 0)?,
            (_, Some("afternoon")) => hm(14, 0)?,
            (_, Some("morning")) => hm(9, 0)?,
            ("today", None) => return Some(now),
            _ => hm(0, 0)?,
        },
    };
    Some(Utc.from_utc_datetime(&date.and_time(time)))
}

fn split_part_of_day(day_part: &str) -> (&str, Option<&str>) {
    for part in ["morning", "afternoon", "evening", "night"] {
        if let Some(day) = day_part.strip_suffix(part) {
            if day.ends_with(' ') && !day.trim().is_empty() {
                let day = day.trim_end();
                return (day, Some(part));
            }
        }
    }
    (day_part, None)
}

fn parse_day(word: &str, today: NaiveDate) -> Option<NaiveDate> {
    let word = word.trim();
    match word {
        "today" | "tonight" => return Some(today),
        "tomorrow" => return today.succ_opt(),
        "the day after tomorrow" => return today.succ_opt()?.succ_opt(),
        _ => {}
    }
    if let Ok(d) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        return Some(d);
    }
    // "next Monday", "this Monday", "on Monday" and "Monday" all name the
    // coming Monday (a week away when said on a Monday).
    let day = match word.split_once(' ') {
        Some(("next" | "this" | "on", d)) => d,
        None => word,
        _ => return None,
    };
    let target = weekday(day)?;
    let mut ahead = (7 + target.num_days_from_monday() as i64
        - today.weekday().num_days_from_monday() as i64)
        % 7;
    if ahead == 0 {
        ahead = 7;
    }
    today.checked_add_signed(Duration::days(ahead))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // A Tuesday.
        Utc.with_ymd_and_hms(2026, 11, 24, 15, 20, 0).unwrap()
    }

    fn resolve(t: ValueType, text: &str) -> Option<String> {
        t.resolve(text, now())
    }

    #[test]
    fn numbers_in_digits_and_words() {
        for (text, n) in [
            ("3", 3),
            ("three", 3),
            ("twenty-five", 25),
            ("twenty five", 25),
            ("1,000", 1000),
            ("a hundred", 100),
            ("-4", -4),
        ] {
            assert_eq!(parse_integer(text), Some(n), "{text}");
        }
        for text in ["", "a", "three apples", "1.5", "twenty-twelve"] {
            assert_eq!(parse_integer(text), None, "{text}");
        }
        assert_eq!(resolve(ValueType::Number, "2.50").as_deref(), Some("2.5"));
        assert_eq!(resolve(ValueType::Number, "seven").as_deref(), Some("7"));
    }

    #[test]
    fn durations_resolve_to_seconds() {
        for (text, seconds) in [
            ("10 minutes", 600),
            ("2h", 7200),
            ("an hour and a half", 5400),
            ("half an hour", 1800),
            ("1h30m", 5400),
            ("90s", 90),
            ("two days, 3 hours", 183600),
            ("1.5 hours", 5400),
            ("twenty five minutes", 1500),
            ("a week", 604800),
            ("10min", 600),
        ] {
            assert_eq!(parse_duration(text), Some(seconds), "{text}");
        }
        for text in ["", "minutes", "ten", "soon", "5 apples", "1h30x"] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
        let canonical = resolve(ValueType::Duration, "an hour and a half").unwrap();
        assert_eq!(canonical, "1h30m");
        assert_eq!(resolve(ValueType::Duration, &canonical).unwrap(), canonical);
        assert_eq!(
            ValueType::Duration.fields(&canonical),
            vec![
                ("seconds", "5400".to_string()),
                ("minutes", "90".into()),
                ("iso", "PT1H30M".into())
            ]
        );
    }

    #[test]
    fn times_resolve_relative_to_now() {
        for (text, iso) in [
            ("tomorrow at 9", "2026-11-25T09:00:00Z"),
            ("in 10 minutes", "2026-11-24T15:30:00Z"),
            ("next Monday", "2026-11-30T00:00:00Z"),
            ("monday at 14:30", "2026-11-30T14:30:00Z"),
            ("at 5pm", "2026-11-24T17:00:00Z"),
            ("at 9", "2026-11-25T09:00:00Z"),
            ("tonight", "2026-11-24T20:00:00Z"),
            ("tomorrow morning", "2026-11-25T09:00:00Z"),
            ("tomorrow evening at 7", "2026-11-25T19:00:00Z"),
            ("2 hours from now", "2026-11-24T17:20:00Z"),
            ("2026-12-01 09:00", "2026-12-01T09:00:00Z"),
            ("2026-12-01T09:00:00+01:00", "2026-12-01T08:00:00Z"),
            ("now", "2026-11-24T15:20:00Z"),
        ] {
            assert_eq!(
                resolve(ValueType::DateTime, text).as_deref(),
                Some(iso),
                "{text}"
            );
        }
        for text in ["", "someday", "at 25", "tomorrow at 13pm", "in a while"] {
            assert_eq!(resolve(ValueType::DateTime, text), None, "{text}");
        }
        let fields = ValueType::DateTime.fields("2026-11-25T09:00:00Z");
        assert!(
            fields.contains(&("unix", "1795597200".to_string())),
            "{fields:?}"
        );
    }

    #[test]
    fn addresses_names_and_versions() {
        assert_eq!(
            resolve(ValueType::Ip, "192.168.0.24").as_deref(),
            Some("192.168.0.24")
        );
        assert_eq!(
            resolve(ValueType::Ip, "2001:DB8:0::1").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(resolve(ValueType::Ip, "300.1.1.1"), None);
        assert_eq!(
            resolve(ValueType::Hostname, "Web-01").as_deref(),
            Some("web-01")
        );
        assert_eq!(
            resolve(ValueType::Hostname, "db.example.com").as_deref(),
            Some("db.example.com")
        );
        for bad in ["-web", "web_01", "a..b", "10.0.0.1", "web 01"] {
            assert_eq!(resolve(ValueType::Hostname, bad), None, "{bad}");
        }
        assert_eq!(
            resolve(ValueType::Url, "https://example.com/status?x=1").as_deref(),
            Some("https://example.com/status?x=1")
        );
        assert_eq!(resolve(ValueType::Url, "ftp://example.com"), None);
        assert_eq!(
            resolve(ValueType::Email, "Ada@Example.COM").as_deref(),
            Some("Ada@example.com")
        );
        assert_eq!(resolve(ValueType::Email, "ada@"), None);
        assert_eq!(
            resolve(ValueType::Semver, "v2.4.1-rc1").as_deref(),
            Some("2.4.1-rc1")
        );
        assert_eq!(resolve(ValueType::Semver, "1.4").as_deref(), Some("1.4.0"));
        assert_eq!(resolve(ValueType::Semver, "1.x"), None);
        assert_eq!(
            resolve(ValueType::MatrixUser, "@ada:example.org").as_deref(),
            Some("@ada:example.org")
        );
        assert_eq!(resolve(ValueType::MatrixUser, "ada"), None);
    }

    #[test]
    fn finders_pick_values_out_of_sentences() {
        let find = |t: ValueType, text: &str| -> Vec<String> {
            t.find(text, now())
                .into_iter()
                .map(|(s, e)| text[s..e].to_string())
                .collect()
        };
        assert_eq!(
            find(
                ValueType::Duration,
                "silence alerts for an hour and a half please"
            ),
            ["an hour and a half"]
        );
        assert_eq!(find(ValueType::Duration, "mute it for 2h"), ["2h"]);
        assert_eq!(
            find(ValueType::DateTime, "schedule it for tomorrow at 9."),
            ["tomorrow at 9"]
        );
        assert_eq!(
            find(ValueType::DateTime, "run it in 10 minutes"),
            ["in 10 minutes"]
        );
        assert_eq!(
            find(
                ValueType::Hostname,
                "restart nginx on web-17 and db.example.com."
            ),
            ["web-17", "db.example.com"]
        );
        assert!(find(ValueType::Hostname, "restart nginx please").is_empty());
        assert_eq!(
            find(ValueType::Url, "check https://example.com/health, then"),
            ["https://example.com/health"]
        );
        assert_eq!(
            find(ValueType::Semver, "deploy v2.4.1-rc1 to staging"),
            ["v2.4.1-rc1"]
        );
        assert_eq!(
            find(ValueType::MatrixUser, "page @ada:example.org now"),
            ["@ada:example.org"]
        );
        assert_eq!(
            find(ValueType::Integer, "scale to three replicas"),
            ["three"]
        );
        assert_eq!(
            find(ValueType::Ip, "ping 10.0.0.5 or fe80::1"),
            ["10.0.0.5", "fe80::1"]
        );
    }
}
