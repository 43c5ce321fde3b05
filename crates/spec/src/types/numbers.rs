//! Numbers and durations in digits and words: "3", "twenty-five", "1,000",
//! "10 minutes", "2h", "1h30m", "an hour and a half".

use std::sync::LazyLock;

use regex::Regex;

pub(super) const NUMBER_WORDS: &str = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a|an|a couple of|couple of|a dozen|dozen)";
const LONG_UNITS: &str = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)";

/// A duration in free text: parts like "10 minutes", "2h", "an hour", joined by
/// commas or "and", optionally "and a half". Single-letter units only right
/// after digits, so "and" is never "an" + "d".
pub(super) fn duration_pattern() -> String {
    let amount_words = format!(r"(?:{NUMBER_WORDS}(?:[- ]{NUMBER_WORDS})?|half an?)");
    let part = format!(
        r"(?:\d+(?:\.\d+)?\s*{LONG_UNITS}|\d+(?:\.\d+)?[smhdw](?:\d+[ms])*|{amount_words}\s+{LONG_UNITS})"
    );
    format!(r"(?:half an hour|{part}(?:(?:\s*,\s*|\s+and\s+|\s+){part})*(?:\s+and\s+a\s+half)?)")
}

pub(super) fn small_number(word: &str) -> Option<u64> {
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

pub(super) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    parse_integer(t).map(|n| n as f64)
}

pub(super) fn format_number(n: f64) -> String {
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
    (total < 1e10).then(|| total.round() as u64)
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

pub(super) fn iso_duration(seconds: u64) -> String {
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

/// "1 second", "10 minutes", "1 hour 30 minutes", "2 days": a duration in
/// words, each unit counted in the right number.
pub fn duration_words(seconds: u64) -> String {
    if seconds == 0 {
        return "0 seconds".into();
    }
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (unit, size) in [
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
        ("second", 1),
    ] {
        if rest >= size {
            let count = rest / size;
            parts.push(format!(
                "{count} {unit}{}",
                if count == 1 { "" } else { "s" }
            ));
            rest %= size;
        }
    }
    parts.join(" ")
}
