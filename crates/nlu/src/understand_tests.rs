//! The answer's rules on hand-made rankings: the ambiguity pair and the bot's
//! name blanked.

use super::mask_bot_name;

fn guesses(items: &[(&str, f32)]) -> Vec<super::IntentGuess> {
    items
        .iter()
        .map(|(name, confidence)| super::IntentGuess {
            name: name.to_string(),
            confidence: *confidence,
        })
        .collect()
}

#[test]
fn close_likely_intents_are_ambiguous_and_others_are_not() {
    use super::ambiguous_pair;
    let close = guesses(&[("restart", 0.46), ("deploy", 0.40), ("out_of_scope", 0.1)]);
    let pair = ambiguous_pair(&close, 0.15, 0.5);
    assert_eq!(pair.len(), 2);
    assert_eq!(
        (pair[0].name.as_str(), pair[1].name.as_str()),
        ("restart", "deploy")
    );
    // Clear winner.
    assert!(ambiguous_pair(&guesses(&[("restart", 0.8), ("deploy", 0.1)]), 0.15, 0.5).is_empty());
    // Close but both unlikely: nothing fits, rather than a question.
    assert!(ambiguous_pair(
        &guesses(&[("restart", 0.2), ("deploy", 0.15), ("greet", 0.1)]),
        0.15,
        0.5
    )
    .is_empty());
    // Out of scope is likeliest.
    assert!(ambiguous_pair(
        &guesses(&[("out_of_scope", 0.5), ("restart", 0.25), ("deploy", 0.24)]),
        0.15,
        0.5
    )
    .is_empty());
    // A margin of 0 never asks.
    assert!(ambiguous_pair(&close, 0.0, 0.5).is_empty());
}

#[test]
fn bot_name_is_blanked_as_a_word_only() {
    assert_eq!(mask_bot_name("hello OpsBot!", "opsbot"), "hello       !");
    assert_eq!(mask_bot_name("opsbots", "opsbot"), "opsbots");
}
