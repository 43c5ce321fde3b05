//! Points in time in free text, in the speaker's time zone: "now", "in 10
//! minutes", "2 hours ago", "tomorrow at 9", "yesterday at 3pm", "this morning
//! at 6", "last night at 11pm", "last Friday", "at 9" (ambiguous: the slot's
//! direction decides), "2026-12-01 09:00", "09:00 UTC" or RFC 3339.
//!
//! A [`TimeFrame`] carries what resolution needs: the engine's `now`, the
//! speaker's zone and the slot's [`Direction`]. Values are kept as RFC 3339 with
//! the zone's offset (`Z` in UTC), so an action gets an unambiguous instant and
//! a reply shows the zone.

use std::fmt;
use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use regex::Regex;

use super::numbers::{duration_words, parse_duration};

/// Which side of now a time slot takes: an ambiguous "at 9" resolves to that
/// side, and an explicit time on the other side is refused with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Past,
    Future,
    /// Either side; an ambiguous clock time means the next one.
    #[default]
    Any,
}

impl Direction {
    pub fn from_name(name: &str) -> Option<Direction> {
        match name {
            "past" => Some(Direction::Past),
            "future" => Some(Direction::Future),
            "any" => Some(Direction::Any),
            _ => None,
        }
    }
}

/// What resolving a time needs besides the words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeFrame {
    pub now: DateTime<Utc>,
    pub zone: Tz,
    pub direction: Direction,
}

impl TimeFrame {
    /// UTC, either direction.
    pub fn utc(now: DateTime<Utc>) -> TimeFrame {
        TimeFrame {
            now,
            zone: Tz::UTC,
            direction: Direction::Any,
        }
    }

    pub fn in_zone(self, zone: Tz) -> TimeFrame {
        TimeFrame { zone, ..self }
    }

    pub fn toward(self, direction: Direction) -> TimeFrame {
        TimeFrame { direction, ..self }
    }
}

/// A time zone from its IANA name ("Europe/Berlin", "UTC"), case-insensitively.
pub fn parse_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("gmt") || name == "Z" {
        return Some(Tz::UTC);
    }
    name.parse::<Tz>()
        .ok()
        .or_else(|| Tz::from_str_insensitive(name).ok())
}

/// The canonical text of an instant in a zone: RFC 3339, `Z` for UTC.
pub fn canonical(t: DateTime<Utc>, zone: Tz) -> String {
    if zone == Tz::UTC {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.with_timezone(&zone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
}

/// "Wed 25 Nov 2026 09:00 CET": how replies show an instant in a zone.
pub fn display(t: DateTime<Utc>, zone: Tz) -> String {
    let local = t.with_timezone(&zone);
    let abbreviation = local.format("%Z").to_string();
    // Zones without an abbreviation print "+03"; the name says more.
    let zone_text = if abbreviation.starts_with(['+', '-']) {
        format!("{} ({abbreviation})", zone.name())
    } else {
        abbreviation
    };
    format!("{} {zone_text}", local.format("%a %-d %b %Y %H:%M"))
}

/// How far an instant lies from now, in its two largest units: "in 2 hours",
/// "3 days 4 hours ago".
pub fn distance(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (t - now).num_seconds();
    // To the nearest minute past one: the clock moved on while it was said.
    let size = match seconds.unsigned_abs() {
        s if s >= 60 => (s + 30) / 60 * 60,
        s => s,
    };
    let words = duration_words(size);
    let words: Vec<&str> = words.split(' ').take(4).collect();
    if seconds >= 0 {
        format!("in {}", words.join(" "))
    } else {
        format!("{} ago", words.join(" "))
    }
}

/// Why a resolved time is on the wrong side of now for its direction.
pub fn wrong_side(t: DateTime<Utc>, frame: &TimeFrame) -> Option<&'static str> {
    // A minute of grace: "now" said a moment ago is not the future.
    let grace = Duration::minutes(1);
    match frame.direction {
        Direction::Past if t > frame.now + grace => Some("in the future"),
        Direction::Future if t < frame.now - grace => Some("in the past"),
        _ => None,
    }
}

/// Resolves a time expression in the frame; `None` when it is not one.
pub fn parse_datetime_in(text: &str, frame: &TimeFrame) -> Option<DateTime<Utc>> {
    let original = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(original) {
        return Some(t.with_timezone(&Utc));
    }
    let lower = original.to_ascii_lowercase();
    let lower = lower.trim_end_matches(['.', '!', '?']).trim();
    // "after 6pm": from then on, so then.
    let lower = lower.strip_prefix("after ").unwrap_or(lower).trim();
    // "6pm Berlin time": the zone of that city.
    if let Some((rest, zone)) = lower.strip_suffix(" time").and_then(city_at_end) {
        return parse_datetime_in(rest, &frame.in_zone(zone));
    }
    // A zone said at the end ("09:00 UTC", "at 9 Europe/Berlin") wins.
    let (lower, zone) = match lower.rsplit_once(' ') {
        Some((rest, last)) => match parse_zone(last) {
            Some(zone) if !rest.trim().is_empty() => (rest.trim(), zone),
            _ => (lower, frame.zone),
        },
        None => (lower, frame.zone),
    };
    let now = frame.now;
    if lower == "now" || lower == "right now" {
        return Some(now);
    }
    let by = |seconds: u64| Duration::seconds(seconds as i64);
    if let Some(rest) = lower.strip_prefix("in ") {
        return parse_duration(rest).map(|s| now + by(s));
    }
    if let Some(rest) = lower.strip_suffix(" from now") {
        return parse_duration(rest).map(|s| now + by(s));
    }
    if let Some(rest) = lower.strip_suffix(" ago") {
        return parse_duration(rest).map(|s| now - by(s));
    }
    let today = now.with_timezone(&zone).date_naive();
    let local = |date: NaiveDate, time: NaiveTime| in_zone(zone, date.and_time(time));
    // A clock time alone ("at 9", "9:30", "5pm") names the nearest such time
    // on the slot's side of now.
    if let Some(clock) = parse_clock(lower) {
        let at = local(today, clock.time)?;
        return Some(match frame.direction {
            Direction::Past if at > now => local(today.pred_opt()?, clock.time)?,
            Direction::Past => at,
            _ if at <= now => local(today.succ_opt()?, clock.time)?,
            _ => at,
        });
    }
    // "<day> [at] <clock>"
    let (day_text, clock_text) = match lower.find(" at ") {
        Some(i) => (&lower[..i], Some(&lower[i + 4..])),
        None => match lower.rsplit_once(' ') {
            Some((d, c)) if parse_clock(c).is_some() && parse_day(d, today, frame).is_some() => {
                (d, Some(c))
            }
            _ => (lower, None),
        },
    };
    let (date, part) = parse_day(day_text, today, frame)?;
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0);
    let (date, time) = match clock_text {
        Some(c) => {
            let clock = parse_clock(c)?;
            let (h, m) = (clock.time.hour(), clock.time.minute());
            match part {
                // "last night at 2am", "tonight at 1": after midnight.
                Some(PartOfDay::Night) if h < 5 && clock.meridiem != Some(Meridiem::Pm) => {
                    (date.succ_opt()?, clock.time)
                }
                // "tomorrow evening at 7" is 19:00.
                Some(PartOfDay::Afternoon | PartOfDay::Evening | PartOfDay::Night)
                    if h < 12 && clock.meridiem.is_none() =>
                {
                    (date, hm(h + 12, m)?)
                }
                _ => (date, clock.time),
            }
        }
        None => match part {
            Some(PartOfDay::Evening | PartOfDay::Night) => (date, hm(20, 0)?),
            Some(PartOfDay::Afternoon) => (date, hm(14, 0)?),
            Some(PartOfDay::Morning) => (date, hm(9, 0)?),
            // "today" is now, except looking back: then the day's start
            // ("what did alice do today?").
            None if day_text == "today" && frame.direction != Direction::Past => return Some(now),
            None => (date, hm(0, 0)?),
        },
    };
    local(date, time)
}

/// A wall-clock time in a zone; in a daylight-saving gap, the hour after.
fn in_zone(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    Night,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
}

struct Clock {
    time: NaiveTime,
    /// Said with am/pm (or as noon/midnight): no evening shift applies.
    meridiem: Option<Meridiem>,
}

static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:at\s+)?(?:(noon)|(midnight)|(\d{1,2})(?::(\d{2}))?\s*(am|pm|o'?clock)?)$")
        .unwrap()
});

fn parse_clock(text: &str) -> Option<Clock> {
    let c = CLOCK.captures(text.trim())?;
    if c.get(1).is_some() {
        return Some(Clock {
            time: NaiveTime::from_hms_opt(12, 0, 0)?,
            meridiem: Some(Meridiem::Pm),
        });
    }
    if c.get(2).is_some() {
        return Some(Clock {
            time: NaiveTime::from_hms_opt(0, 0, 0)?,
            meridiem: Some(Meridiem::Am),
        });
    }
    let mut hour: u32 = c[3].parse().ok()?;
    let minute: u32 = c.get(4).map_or(Ok(0), |m| m.as_str().parse()).ok()?;
    let meridiem = match c.get(5).map(|m| m.as_str()) {
        Some("am") => Some(Meridiem::Am),
        Some("pm") => Some(Meridiem::Pm),
        _ => None,
    };
    match meridiem {
        Some(_) if hour == 0 || hour > 12 => return None,
        Some(Meridiem::Pm) if hour < 12 => hour += 12,
        Some(Meridiem::Am) if hour == 12 => hour = 0,
        _ => {}
    }
    // "14:30" is past noon whatever the part of day says.
    let meridiem = meridiem.or((hour >= 12 || hour == 0).then_some(Meridiem::Pm));
    Some(Clock {
        time: NaiveTime::from_hms_opt(hour, minute, 0)?,
        meridiem,
    })
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

fn part_of_day(word: &str) -> Option<PartOfDay> {
    Some(match word {
        "morning" => PartOfDay::Morning,
        "afternoon" => PartOfDay::Afternoon,
        "evening" => PartOfDay::Evening,
        "night" => PartOfDay::Night,
        _ => return None,
    })
}

/// A day, with the part of it named: "yesterday", "tonight", "last night",
/// "this morning", "friday evening", "last friday", "2026-12-01".
fn parse_day(
    text: &str,
    today: NaiveDate,
    frame: &TimeFrame,
) -> Option<(NaiveDate, Option<PartOfDay>)> {
    let text = text.trim();
    match text {
        "tonight" => return Some((today, Some(PartOfDay::Night))),
        "last night" => return Some((today.pred_opt()?, Some(PartOfDay::Night))),
        _ => {}
    }
    let (day, part) = match text.rsplit_once(' ') {
        Some((day, last)) if part_of_day(last).is_some() => (day.trim(), part_of_day(last)),
        _ => (text, None),
    };
    let date = match day {
        "today" => today,
        "this" if part.is_some() => today,
        "tomorrow" => today.succ_opt()?,
        "yesterday" => today.pred_opt()?,
        "the day after tomorrow" => today.succ_opt()?.succ_opt()?,
        "the day before yesterday" => today.pred_opt()?.pred_opt()?,
        _ => match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            Ok(date) => date,
            Err(_) => weekday_date(day, today, frame.direction)?,
        },
    };
    Some((date, part))
}

/// "next Monday" is the coming one and "last Monday" the one before today;
/// "Monday", "on Monday" and "this Monday" take the slot's side of now.
fn weekday_date(text: &str, today: NaiveDate, direction: Direction) -> Option<NaiveDate> {
    let (which, day) = match text.split_once(' ') {
        Some((which @ ("next" | "this" | "on" | "last"), day)) => (which, day),
        None => ("", text),
        _ => return None,
    };
    let target = weekday(day)?.num_days_from_monday() as i64;
    let current = today.weekday().num_days_from_monday() as i64;
    let backwards = which == "last" || (which != "next" && direction == Direction::Past);
    let offset = if backwards {
        -((7 + current - target - 1) % 7 + 1)
    } else {
        (7 + target - current - 1) % 7 + 1
    };
    today.checked_add_signed(Duration::days(offset))
}

/// The time-expression finder's pattern: every form [`parse_datetime_in`]
/// reads, so extraction and resolution agree.
pub(super) fn datetime_pattern(duration: &str) -> String {
    let clock =
        r"(?:at\s+)?(?:noon|midnight|\d{1,2}(?::\d{2})?(?:\s*(?:am|pm))?|\d{1,2}\s*o'?clock)";
    let weekdays = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)";
    let day = format!(
        r"(?:today|tonight|tomorrow|yesterday|the day (?:after tomorrow|before yesterday)|last night|this (?:morning|afternoon|evening)|(?:next|this|on|last)\s+{weekdays}|{weekdays}|\d{{4}}-\d{{2}}-\d{{2}})"
    );
    // "Europe/Berlin", or a zone's city and "time": "6pm Berlin time".
    let zone = format!(
        r"(?:\s+(?:utc|gmt|[a-z]+/[a-z_]+(?:/[a-z_]+)?|(?:{})\s+time))?",
        city_pattern()
    );
    format!(
        r"(?i)\b(?:(?:\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}(?::\d{{2}})?(?:Z|[+-]\d{{2}}:?\d{{2}})?)|in\s+{duration}|{duration}\s+(?:from now|ago)|(?:(?:after\s+)?(?:{day}(?:\s+(?:morning|afternoon|evening|night))?(?:\s+{clock})?|at\s+(?:noon|midnight|\d{{1,2}}(?::\d{{2}})?(?:\s*(?:am|pm))?)|\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm))|after\s+\d{{1,2}}(?::\d{{2}})?){zone}|now)\b"
    )
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Past => "past",
            Direction::Future => "future",
            Direction::Any => "any",
        })
    }
}

/// The cities of the IANA zones ("berlin", "new york", "sao paulo"), longest
/// first, as a pattern: "Berlin time" names Europe/Berlin.
fn city_pattern() -> String {
    let mut cities: Vec<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .filter_map(|tz| {
            tz.name()
                .rsplit_once('/')
                .map(|(_, city)| city.to_ascii_lowercase())
        })
        .filter(|city| city.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .map(|city| city.replace('_', r"[ _]"))
        .collect();
    cities.sort_by_key(|c| std::cmp::Reverse(c.len()));
    cities.dedup();
    cities.join("|")
}

/// `text` ending in a zone's city ("6pm berlin", "9 new york"): the rest and
/// the zone. Of two zones with one city name, the one listed first.
fn city_at_end(text: &str) -> Option<(&str, Tz)> {
    let words: Vec<(usize, &str)> = text
        .match_indices(' ')
        .map(|(i, _)| (i, &text[i + 1..]))
        .collect();
    words.into_iter().find_map(|(i, city)| {
        let wanted = city.replace(' ', "_");
        let zone = chrono_tz::TZ_VARIANTS.iter().find(|tz| {
            tz.name()
                .rsplit_once('/')
                .is_some_and(|(_, c)| c.eq_ignore_ascii_case(&wanted))
        })?;
        Some((text[..i].trim(), *zone))
    })
}
