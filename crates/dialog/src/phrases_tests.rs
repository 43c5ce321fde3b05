//! Yes/no words, approval commands, questions and shell syntax as the
//! engine reads them.

use super::*;

#[test]
fn yes_variants() {
    for text in [
        "yes",
        "Y",
        "sure",
        "Go ahead!",
        "do it",
        "yes please",
        "OK",
        "yep.",
        "sure, go ahead",
        "confirm",
        "👍",
        "lgtm",
        "approved",
    ] {
        assert_eq!(classify(text), Answer::Yes, "{text}");
    }
}

/// Look-alikes that Unicode lower-casing turns into ASCII letters never
/// make a yes (or a no, or an approval): only the genuine words do.
#[test]
fn look_alikes_of_yes_words_do_not_confirm() {
    // U+212A KELVIN SIGN, U+0130 DOTTED CAPITAL I.
    for text in [
        "o\u{212A}",
        "O\u{212A}AY",
        "\u{212A}",
        "\u{0130}",
        "do \u{0130}t",
    ] {
        assert_eq!(classify(text), Answer::Other, "{text}");
    }
    assert_eq!(classify("OK"), Answer::Yes);
    assert_eq!(normalise("ÉTÉ"), "été", "other letters still lower-case");
}

#[test]
fn shell_syntax_is_found_wherever_it_is() {
    for (text, found) in [
        ("web-01 ; touch /tmp/x #", ";"),
        ("1.2.3-$(touch /tmp/x)", "$("),
        ("web-01|id", "|"),
        ("web-01 && id", "&&"),
        ("`id`", "`"),
        ("${HOME}", "${"),
        ("web-01 > /etc/passwd", ">"),
        ("web-01 2>&1", "2>"),
        ("sleep 5 &", "&"),
        ("web-01 &touch /tmp/x", "&"),
    ] {
        assert_eq!(shell_syntax(text).as_deref(), Some(found), "{text}");
    }
    for text in [
        "restart apache on web-01",
        "deploy shop 1.2.3-rc.1 to staging",
        "R&D wiki is down",
        "silence alerts for 2h",
        "costs $5",
        "a -> b",
        "restart apache & nginx",
    ] {
        assert_eq!(shell_syntax(text), None, "{text}");
    }
}

#[test]
fn questions_and_bare_fillers_never_confirm() {
    for text in [
        "ok?",
        "right?",
        "sure?",
        "go?",
        "correct?",
        "yes?",
        "Yes ?",
        "please",
        "k",
        "kk",
        "ok？",
        "¿ok",
        "yes please?",
        "lgtm?",
        "👍?",
    ] {
        assert_ne!(classify(text), Answer::Yes, "{text}");
    }
    assert!(is_questioning_yes("ok?"));
    assert!(!is_questioning_yes("restart apache?"));
    assert!(!is_questioning_yes("ok"));
}

#[test]
fn no_variants() {
    for text in [
        "no",
        "N",
        "nope",
        "stop",
        "Cancel",
        "never mind",
        "nevermind",
        "forget it",
        "no thanks",
        "abort!",
        "don't",
    ] {
        assert_eq!(classify(text), Answer::No, "{text}");
    }
}

#[test]
fn codes() {
    assert_eq!(totp_code("123 456"), Some("123456".into()));
    assert_eq!(totp_code("12345"), None);
    assert_eq!(totp_code("12345a"), None);
}

#[test]
fn refusal_with_correction() {
    assert_eq!(classify("no, on web-03"), Answer::NoBut("on web-03".into()));
    assert_eq!(classify("No - web-03"), Answer::NoBut("web-03".into()));
    assert_eq!(classify("nobody"), Answer::Other);
    assert_eq!(classify("restart apache"), Answer::Other);
    assert_eq!(classify("yes and no"), Answer::Other);
}
