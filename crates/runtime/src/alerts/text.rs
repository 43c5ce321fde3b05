//! Alert text made safe to stand in a room, and bounded where it enters.
//! Whoever can send alerts writes these words, so they must not reorder what
//! a reader sees (bidi controls), fake lines of the bot's own (line and
//! paragraph separators), notify a whole room (`@room`), or fill a message
//! (a 100 KB label).

use std::sync::LazyLock;

use regex::Regex;

/// Characters of a label name or value kept at parse time.
pub const MAX_LABEL_CHARS: usize = 256;
/// Characters of an annotation kept at parse time.
pub const MAX_ANNOTATION_CHARS: usize = 2048;

/// Matrix notifies everyone in a room for a body saying `@room`.
static ROOM_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)@(room)\b").expect("a valid pattern"));

/// Unicode's explicit direction marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A label value as it may stand in a room: bidi controls dropped, control
/// characters and line or paragraph separators made spaces, `@room` broken
/// by a zero-width joiner (it reads the same, notifies nobody).
pub fn clean(text: &str) -> String {
    let flat: String = text
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    ROOM_MENTION
        .replace_all(flat.trim(), "@\u{200D}$1")
        .into_owned()
}

/// How long an alert lasted, as the resolved line says it.
pub fn span(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes();
    match minutes {
        m if m < 1 => format!("{} s", duration.num_seconds().max(0)),
        m if m < 120 => format!("{m} min"),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

/// `text` cut to `max` characters with a marker saying so (the sender's
/// full text is in the alert source, not in the bot's store).
pub fn cap(text: &mut String, max: usize) {
    let total = text.chars().count();
    if total <= max {
        return;
    }
    let kept: String = text.chars().take(max).collect();
    *text = format!("{kept}… [cut: {} more characters]", total - max);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_text_cannot_reorder_fake_lines_or_notify_the_room() {
        let text =
            "web-01\u{202E}10-bew\u{202C} down\u{2028}✅ RESOLVED all\u{2029}ping @room and @ROOM";
        let cleaned = clean(text);
        assert!(
            !cleaned
                .chars()
                .any(|c| is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}' | '\n')),
            "{cleaned:?}"
        );
        assert!(!cleaned.to_lowercase().contains("@room"), "{cleaned:?}");
        assert!(cleaned.contains("@\u{200D}room") && cleaned.contains("@\u{200D}ROOM"));
        assert_eq!(clean("\u{200F}web-01\u{2066}"), "web-01");
        assert_eq!(
            clean("@roomy and a@room.org"),
            "@roomy and a@\u{200D}room.org"
        );
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let mut long = "x".repeat(100_000);
        cap(&mut long, MAX_LABEL_CHARS);
        assert!(long.starts_with(&"x".repeat(MAX_LABEL_CHARS)));
        assert!(
            long.ends_with("… [cut: 99744 more characters]"),
            "{}",
            &long[250..]
        );
        let mut short = "web-01".to_string();
        cap(&mut short, MAX_LABEL_CHARS);
        assert_eq!(short, "web-01");
    }
}
