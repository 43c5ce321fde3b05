//! Hostile slot values never reach a shell: they fail validation with a clear
//! reply, or arrive at the action as one literal argument.

use std::path::Path;

use opsbot_runtime::ConversationKey;

use crate::util::{stdout, Fixture};

/// Values that can only be judged whole: each must be rejected.
const HOSTILE: &[&str] = &[
    "web-01; touch /tmp/opsbot-pwned",
    "$(touch /tmp/opsbot-pwned)",
    "`touch /tmp/opsbot-pwned`",
    "web-01|touch /tmp/opsbot-pwned",
    "web-01&&touch /tmp/opsbot-pwned",
];

/// A host amid shell syntax: the message is judged whole and refused (taking
/// `web-01` alone would act on something other than what was written).
const HOST_AMID_HOSTILE_TEXT: &[&str] = &[
    "web-01 $(touch /tmp/opsbot-pwned)",
    "web-01 && touch /tmp/opsbot-pwned",
    "web-01 | touch /tmp/opsbot-pwned",
    "web-01 ; touch /tmp/opsbot-pwned #",
    "$(echo web-01)",
];

fn pwned() -> bool {
    Path::new("/tmp/opsbot-pwned").exists()
}

#[test]
fn hostile_answers_fail_host_validation() {
    assert!(
        !pwned(),
        "/tmp/opsbot-pwned exists before the test; remove it"
    );
    let fixture = Fixture::trained();
    let bot = fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = ConversationKey::new("ops", "alice");
    for value in HOSTILE {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, "restart apache", &mut |r: String| replies.push(r)))
            .unwrap();
        assert_eq!(replies, ["On which host would you like to restart apache?"]);
        replies.clear();
        runtime
            .block_on(bot.handle(&key, value, &mut |r: String| replies.push(r)))
            .unwrap();
        assert_eq!(replies.len(), 1, "{value:?}: {replies:?}");
        assert!(
            replies[0].contains("is not a host name like web-01 or an IP address")
                || replies[0].contains("contains shell syntax"),
            "{value:?}: {replies:?}"
        );
        replies.clear();
        runtime
            .block_on(bot.handle(&key, "cancel", &mut |r: String| replies.push(r)))
            .unwrap();
    }
    assert!(
        !fixture.state().join("restarts.tsv").exists(),
        "nothing ran"
    );
    // A line break is a space (Shift+Enter means nothing more), so a second
    // line is extra words after the host, as on one line: the host is taken
    // alone, the confirmation shows exactly it, and nothing runs without a yes.
    // The replies to "restart apache" and then `answer`.
    let answered = |answer: &str| {
        let mut replies = Vec::new();
        for text in ["restart apache", answer] {
            runtime
                .block_on(bot.handle(&key, text, &mut |r: String| replies.push(r)))
                .unwrap();
        }
        replies
    };
    for text in [
        "web-01\ntouch /tmp/opsbot-pwned",
        "web-01 touch /tmp/opsbot-pwned",
    ] {
        let replies = answered(text);
        // Either the host is taken and what else was written is named back
        // (never silently dropped), or the answer is not taken at all.
        assert!(
            replies[1].ends_with("I will restart apache on web-01. Shall I go ahead? (yes/no)")
                && replies[1].contains("/tmp/opsbot-pwned")
                || replies[1].contains("“touch”")
                    && replies[1].ends_with("On which host would you like to restart apache?"),
            "{text:?}: {replies:?}"
        );
        runtime
            .block_on(bot.handle(&key, "no", &mut |_: String| {}))
            .unwrap();
    }
    for text in HOST_AMID_HOSTILE_TEXT {
        let mut replies = answered(text);
        assert!(
            replies[1].contains("contains shell syntax"),
            "{text:?}: {replies:?}"
        );
        // The question is still open, and a yes now is no answer to it.
        replies.clear();
        runtime
            .block_on(bot.handle(&key, "yes", &mut |r: String| replies.push(r)))
            .unwrap();
        assert!(!replies[0].starts_with("Restart"), "{text:?}: {replies:?}");
        runtime
            .block_on(bot.handle(&key, "cancel", &mut |r: String| replies.push(r)))
            .unwrap();
    }
    assert!(
        !fixture.state().join("restarts.tsv").exists(),
        "nothing ran"
    );
    assert!(!pwned());
}

/// The example bot plus a `note` dialog whose slot accepts almost any text and
/// whose action records each argument it receives (NUL-separated), trained.
fn notes_fixture(many_runs: bool) -> Fixture {
    let fixture = Fixture::example();
    fixture.write(
        "intents/notes.yaml",
        "entities:\n  text:\n    description: a line of text\n    pattern: 'note:[^\\n]{1,200}'\nintents:\n  note:\n    examples:\n      - \"[note: remember the milk](text)\"\n      - \"[note: call the vendor about web-01](text)\"\n      - \"please [note: the server room door is broken](text)\"\n      - \"[note: deploy freeze on friday](text)\"\n      - \"add this [note: rotate the keys](text)\"\n      - \"[note: restart cron later](text)\"\n",
    );
    fixture.write(
        "dialogs/notes.yaml",
        "dialogs:\n  note:\n    description: write a note\n    allow: [\"*\"]\n    slots:\n      - entity: text\n        prompt: What should the note say?\n    confirm: Write {text}?\n    action:\n      program: actions/record-args.sh\n      args: [\"{text}\"]\n    success: written\n",
    );
    // Writes each argument it receives followed by a NUL byte.
    fixture.write("actions/record-args.sh", "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$OPSBOT_STATE_DIR/args\"\necho ok\n");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(fixture.path().join("actions/record-args.sh"))
        .status()
        .unwrap();
    if many_runs {
        // Every value runs, more than the example's rate limit allows.
        let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
        fixture.write(
            "opsbot.yaml",
            &settings.replace("executions: 20", "executions: 1000"),
        );
    }
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", stdout(&out));
    fixture
}

#[test]
fn a_permissive_slot_passes_hostile_values_as_one_literal_argument() {
    assert!(
        !pwned(),
        "/tmp/opsbot-pwned exists before the test; remove it"
    );
    let fixture = notes_fixture(false);

    let bot = fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = ConversationKey::new("ops", "alice");
    let values = [
        "note: web-01; touch /tmp/opsbot-pwned",
        "note: $(touch /tmp/opsbot-pwned)",
        "note: `touch /tmp/opsbot-pwned`",
        "note: 'quoted' \"double\" \\ back",
    ];
    for value in values {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, value, &mut |r: String| replies.push(r)))
            .unwrap();
        assert_eq!(replies, [format!("Write {value}? (yes/no)")]);
        replies.clear();
        runtime
            .block_on(bot.handle(&key, "yes", &mut |r: String| replies.push(r)))
            .unwrap();
        assert_eq!(replies, ["written"]);
    }
    let recorded = std::fs::read(fixture.state().join("args")).unwrap();
    let arguments: Vec<&[u8]> = recorded
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    let expected: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    assert_eq!(
        arguments, expected,
        "each value arrived as exactly one argument, unchanged"
    );
    assert!(!pwned());
}

/// Hostile values: shell metacharacters, option injection, path traversal,
/// quoting tricks, unicode confusables and invisible characters, line breaks.
const CORPUS: &[&str] = &[
    "web-01; touch /tmp/opsbot-pwned",
    "web-01;touch /tmp/opsbot-pwned",
    "web-01 ; rm -rf /",
    "web-01 && touch /tmp/opsbot-pwned",
    "web-01&&touch /tmp/opsbot-pwned",
    "web-01 || touch /tmp/opsbot-pwned",
    "web-01 | touch /tmp/opsbot-pwned",
    "web-01|sh",
    "$(touch /tmp/opsbot-pwned)",
    "web-01$(touch /tmp/opsbot-pwned)",
    "web-01 $(touch /tmp/opsbot-pwned)",
    "`touch /tmp/opsbot-pwned`",
    "web-01`touch /tmp/opsbot-pwned`",
    "${IFS}touch${IFS}/tmp/opsbot-pwned",
    "web-01${IFS}x",
    "$HOME",
    "web-01 > /tmp/opsbot-pwned",
    "web-01>/tmp/opsbot-pwned",
    "web-01 < /etc/passwd",
    "<(touch /tmp/opsbot-pwned)",
    "web-01 & touch /tmp/opsbot-pwned &",
    "web-01\ntouch /tmp/opsbot-pwned",
    "web-01\r\ntouch /tmp/opsbot-pwned",
    "web-01\u{0}touch",
    "-rf",
    "--force",
    "--help",
    "-o/tmp/opsbot-pwned",
    "--output=/tmp/opsbot-pwned",
    "-",
    "../../etc/passwd",
    "..",
    "/etc/shadow",
    "..\\..\\windows\\system32",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data",
    "'web-01'",
    "\"web-01\"",
    "web-01'; DROP TABLE hosts; --",
    "web-01\\",
    "web-0*",
    "*",
    "?",
    "{web-01,web-02}",
    "~root",
    "%s%s%s%n",
    "<script>alert(1)</script>",
    "wеb-01",
    "web‐01",
    "ｗｅｂ-01",
    "\u{202e}10-bew",
    "web\u{200b}-01",
    "web-01 #",
    "web-01\t-rf",
    "🔥-01",
];

#[test]
fn a_corpus_of_hostile_answers_never_reaches_a_shell() {
    assert!(CORPUS.len() >= 50, "at least 50 hostile values");
    assert!(
        !pwned(),
        "/tmp/opsbot-pwned exists before the test; remove it"
    );
    let fixture = Fixture::trained();
    let bot = fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = ConversationKey::new("ops", "alice");
    let say = |text: &str| -> Vec<String> {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, text, &mut |r: String| replies.push(r)))
            .unwrap();
        replies
    };
    let (mut rejected, mut confirmed) = (0, 0);
    for value in CORPUS {
        assert_eq!(
            say("restart apache"),
            ["On which host would you like to restart apache?"],
            "{value:?}"
        );
        let reply = say(value).join("\n");
        if reply.starts_with("Okay, I dropped your request") {
            // Read as another request ("<script>alert(1)…" reads like silencing
            // alerts); nothing runs without its own confirmation.
            say("cancel");
            rejected += 1;
            continue;
        }
        if reply.contains("I will restart apache on ") && reply.ends_with("(yes/no)") {
            // Only a clean host stood apart from the rest; that is all that may run.
            say("yes");
            confirmed += 1;
        } else {
            // Rejected, or not taken as an answer at all (the question is asked again).
            // Two clean hosts ("{web-01,web-02}") are asked about, one at a time.
            assert!(
                reply.ends_with("On which host would you like to restart apache?")
                    || reply.contains("control characters")
                    || reply.contains("shell syntax")
                    || reply.starts_with("You named web-01 and web-02 for host"),
                "{value:?} was neither rejected nor reduced to a host: {reply}"
            );
            say("cancel");
            rejected += 1;
        }
    }
    let host_entity = opsbot_spec::load_project(fixture.path()).unwrap().entities["host"].clone();
    if confirmed > 0 {
        let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
        for line in log.lines() {
            let host = line.rsplit('\t').next().unwrap();
            assert_eq!(
                host_entity.validate(host, chrono::Utc::now()).as_deref(),
                Ok(host),
                "only validated hosts reach the action"
            );
        }
        assert_eq!(log.lines().count(), confirmed);
    }
    assert_eq!(rejected + confirmed, CORPUS.len());
    assert!(!pwned());
}

#[test]
fn a_corpus_of_hostile_values_reaches_a_permissive_slot_as_single_arguments() {
    assert!(
        !pwned(),
        "/tmp/opsbot-pwned exists before the test; remove it"
    );
    let fixture = notes_fixture(true);
    let bot = fixture.bot();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = ConversationKey::new("ops", "alice");
    let mut delivered = Vec::new();
    for value in CORPUS {
        let message = format!("note: {value}");
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, &message, &mut |r: String| replies.push(r)))
            .unwrap();
        // Line breaks are spaces by the time the value is read.
        let message = opsbot_runtime::command::flatten_line_breaks(&message)
            .trim()
            .to_string();
        if replies == [format!("Write {message}? (yes/no)")] {
            replies.clear();
            runtime
                .block_on(bot.handle(&key, "yes", &mut |r: String| replies.push(r)))
                .unwrap();
            assert_eq!(replies, ["written"], "{value:?}");
            delivered.push(message.trim().to_string());
        } else {
            // Control characters are refused before anything else, and a
            // value holding an invisible or bidi character is no whole word.
            assert!(
                message
                    .chars()
                    .any(|c| c.is_control() || opsbot_spec::token::hidden(c)),
                "{value:?} was refused: {replies:?}"
            );
            runtime
                .block_on(bot.handle(&key, "cancel", &mut |_: String| {}))
                .unwrap();
        }
    }
    let recorded = std::fs::read(fixture.state().join("args")).unwrap();
    let arguments: Vec<String> = recorded
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    assert_eq!(
        arguments, delivered,
        "each value arrived as exactly one argument, unchanged"
    );
    assert!(delivered.len() >= 50, "{} delivered", delivered.len());
    assert!(!pwned());
}
