//! Which parts of a message are left over, and negation words.

use super::*;

fn parts(text: &str, used: &[(usize, usize)]) -> Vec<(String, PartKind)> {
    unused_parts(text, used, &BTreeSet::new())
        .into_iter()
        .map(|p| (p.text, p.kind))
        .collect()
}

#[test]
fn value_like_parts_outside_the_used_spans_are_found_with_their_words() {
    // "web-04" is used (bytes 18..24).
    assert_eq!(
        parts("restart apache on web-04 at 21:00", &[(18, 24)]),
        [("at 21:00".to_string(), PartKind::Time)]
    );
    assert_eq!(
        parts("logs for the past hour", &[]),
        [("for the past hour".to_string(), PartKind::Duration)]
    );
    assert_eq!(
        parts("scale it to -2 replicas", &[]),
        [("to -2".to_string(), PartKind::Number)]
    );
    assert_eq!(
        parts("deploy shop 2.1 to prod-eu", &[(12, 15)]),
        [("to prod-eu".to_string(), PartKind::Value)]
    );
    assert_eq!(
        parts("since 3pm yesterday", &[]),
        [("since 3pm yesterday".to_string(), PartKind::Time)]
    );
    // Plain words, and values used, leave nothing over.
    assert!(parts("restart apache on web-04 please", &[(18, 24)]).is_empty());
    assert!(parts("back up the orders database, @opsbot:example.org", &[]).is_empty());
}

#[test]
fn negations_are_found_and_plain_requests_are_not() {
    for (text, words) in [
        ("please do not roll back shop in production", "do not"),
        ("don’t restart nginx", "don't"),
        ("never deploy on fridays", "never"),
        ("no need to restart apache", "no need"),
        ("stop restarting apache", "stop restarting"),
    ] {
        assert_eq!(negation(text).as_deref(), Some(words), "{text}");
    }
    for text in ["stop nginx on web-01", "restart nginx", "note the downtime"] {
        assert_eq!(negation(text), None, "{text}");
    }
}
