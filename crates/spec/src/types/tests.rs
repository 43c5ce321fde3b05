//! Finding and resolving the built-in value types.

use super::*;
use chrono::TimeZone;

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
            ("iso", "PT1H30M".into()),
            ("text", "1 hour 30 minutes".into())
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

fn time_in(text: &str, frame: &TimeFrame) -> Option<String> {
    ValueType::DateTime.resolve_in(text, frame)
}

#[test]
fn past_expressions_resolve_to_the_past() {
    let frame = TimeFrame::utc(now());
    for (text, iso) in [
        ("yesterday at 3pm", "2026-11-23T15:00:00Z"),
        ("this morning at 6", "2026-11-24T06:00:00Z"),
        ("last night at 11pm", "2026-11-23T23:00:00Z"),
        ("last night at 11", "2026-11-23T23:00:00Z"),
        ("last night at 2am", "2026-11-24T02:00:00Z"),
        ("2 hours ago", "2026-11-24T13:20:00Z"),
        ("an hour ago", "2026-11-24T14:20:00Z"),
        ("last Friday", "2026-11-20T00:00:00Z"),
        ("last tuesday at 9", "2026-11-17T09:00:00Z"),
        ("yesterday morning", "2026-11-23T09:00:00Z"),
        ("the day before yesterday at noon", "2026-11-22T12:00:00Z"),
        ("this afternoon", "2026-11-24T14:00:00Z"),
    ] {
        assert_eq!(time_in(text, &frame).as_deref(), Some(iso), "{text}");
    }
}

#[test]
fn the_direction_decides_an_ambiguous_clock_time() {
    // 15:20 now: 9 o'clock was this morning, or is tomorrow's.
    let past = TimeFrame::utc(now()).toward(Direction::Past);
    let future = TimeFrame::utc(now()).toward(Direction::Future);
    assert_eq!(
        time_in("at 9", &past).as_deref(),
        Some("2026-11-24T09:00:00Z")
    );
    assert_eq!(
        time_in("at 9", &future).as_deref(),
        Some("2026-11-25T09:00:00Z")
    );
    assert_eq!(
        time_in("at 5pm", &past).as_deref(),
        Some("2026-11-23T17:00:00Z")
    );
    assert_eq!(
        time_in("9:30", &past).as_deref(),
        Some("2026-11-24T09:30:00Z")
    );
    // A bare weekday takes the slot's side; "next"/"last" say it themselves.
    assert_eq!(
        time_in("friday", &past).as_deref(),
        Some("2026-11-20T00:00:00Z")
    );
    assert_eq!(
        time_in("friday", &future).as_deref(),
        Some("2026-11-27T00:00:00Z")
    );
    assert_eq!(
        time_in("next friday", &past).as_deref(),
        Some("2026-11-27T00:00:00Z")
    );
    let t = parse_datetime_in("tomorrow at 9", &past).unwrap();
    assert_eq!(wrong_side(t, &past), Some("in the future"));
    assert_eq!(wrong_side(now(), &past), None);
    let t = parse_datetime_in("2 hours ago", &future).unwrap();
    assert_eq!(wrong_side(t, &future), Some("in the past"));
}

#[test]
fn times_are_read_and_written_in_the_speakers_zone() {
    let berlin = parse_zone("Europe/Berlin").unwrap();
    let frame = TimeFrame::utc(now()).in_zone(berlin);
    // 16:20 in Berlin: "at 9" tomorrow there is 08:00 UTC.
    assert_eq!(
        time_in("at 9", &frame).as_deref(),
        Some("2026-11-25T09:00:00+01:00")
    );
    assert_eq!(
        time_in("yesterday at 3pm", &frame).as_deref(),
        Some("2026-11-23T15:00:00+01:00")
    );
    // A zone said at the end wins; the value keeps the speaker's offset.
    assert_eq!(
        time_in("tomorrow at 9 UTC", &frame).as_deref(),
        Some("2026-11-25T10:00:00+01:00")
    );
    assert_eq!(parse_zone("europe/berlin"), Some(berlin));
    assert_eq!(parse_zone("Mars/Olympus"), None);
    let fields = ValueType::DateTime.fields("2026-11-25T09:00:00+01:00");
    assert!(
        fields.contains(&("utc", "2026-11-25T08:00:00Z".to_string())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("text", "Wed 25 Nov 2026 09:00 UTC+01:00".to_string())),
        "{fields:?}"
    );
    let t = parse_datetime_in("tomorrow at 9", &frame).unwrap();
    assert_eq!(display_time(t, berlin), "Wed 25 Nov 2026 09:00 CET");
    assert_eq!(time_distance(t, now()), "in 16 hours 40 minutes");
}

#[test]
fn the_finder_sees_past_expressions() {
    let find = |text: &str| -> Vec<String> {
        ValueType::DateTime
            .find(text, now())
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect()
    };
    assert_eq!(
        find("restore orders to yesterday at 3pm"),
        ["yesterday at 3pm"]
    );
    assert_eq!(
        find("restore billing as of 2 hours ago please"),
        ["2 hours ago"]
    );
    assert_eq!(
        find("restore it to last night at 11pm"),
        ["last night at 11pm"]
    );
    assert_eq!(find("restore to this morning at 6"), ["this morning at 6"]);
    assert_eq!(find("restore to 9am UTC"), ["9am UTC"]);
    assert_eq!(find("restore to last friday"), ["last friday"]);
}

#[test]
fn zero_durations_are_durations() {
    assert_eq!(
        resolve(ValueType::Duration, "0 seconds").as_deref(),
        Some("0s")
    );
}

#[test]
fn durations_in_words_count_right() {
    assert_eq!(duration_words(1), "1 second");
    assert_eq!(duration_words(5400), "1 hour 30 minutes");
    assert_eq!(duration_words(172_860), "2 days 1 minute");
    let fields = ValueType::Duration.fields("1s");
    assert!(
        fields.contains(&("text", "1 second".to_string())),
        "{fields:?}"
    );
}

#[test]
fn a_city_and_time_name_the_zone_and_after_names_the_time() {
    let frame = TimeFrame {
        now: now(),
        zone: chrono_tz::Tz::UTC,
        direction: Direction::Future,
    };
    // now() is in November: Berlin is UTC+1, New York UTC-5.
    for (text, expected) in [
        ("after 6pm Berlin time", "18:00 Europe/Berlin"),
        ("at 9 new york time", "09:00 America/New_York"),
        ("tomorrow at 9 Berlin time", "09:00 Europe/Berlin"),
        ("after 18:30", "18:30 UTC"),
    ] {
        let found = ValueType::DateTime.find(&format!("deploy it {text}"), now());
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        let (start, end) = found[0];
        assert_eq!(&format!("deploy it {text}")[start..end], text);
        let t = parse_datetime_in(text, &frame).unwrap();
        let (clock, zone) = expected.split_once(' ').unwrap();
        let zone = parse_zone(zone).unwrap();
        assert_eq!(
            t.with_timezone(&zone).format("%H:%M").to_string(),
            clock,
            "{text}"
        );
    }
    // A word before "time" that is no city is not a zone.
    let found = ValueType::DateTime.find("remind me at 6pm lunch time", now());
    assert_eq!(found.len(), 1);
    assert_eq!(
        &"remind me at 6pm lunch time"[found[0].0..found[0].1],
        "at 6pm"
    );
}
