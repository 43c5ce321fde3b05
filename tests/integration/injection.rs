//! Hostile slot values never reach a shell: they fail validation with a clear
//! reply, or arrive at the action as one literal argument.

use std::path::Path;

use opsbot_runtime::{Bot, ConversationKey, Store};

use crate::util::{stdout, Fixture};

/// Values that can only be judged whole: each must be rejected.
const HOSTILE: &[&str] = &[
    "web-01; touch /tmp/opsbot-pwned",
    "$(touch /tmp/opsbot-pwned)",
    "`touch /tmp/opsbot-pwned`",
    "web-01\ntouch /tmp/opsbot-pwned",
    "web-01|touch /tmp/opsbot-pwned",
    "web-01&&touch /tmp/opsbot-pwned",
];

/// A host stands apart from the rest: the host alone is taken, the preview says
/// so, and that is all that reaches the action.
const HOST_AMID_HOSTILE_TEXT: &[&str] = &[
    "web-01 $(touch /tmp/opsbot-pwned)",
    "web-01 && touch /tmp/opsbot-pwned",
    "web-01 | touch /tmp/opsbot-pwned",
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
    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    let nlu =
        opsbot_nlu::Nlu::load(&project, &fixture.path().join("models/intent-model.json")).unwrap();
    let store = Store::open(&fixture.state().join("opsbot.db")).unwrap();
    let bot = Bot::new(project, nlu, store, fixture.state());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = ConversationKey::new("ops", "alice");
    for value in HOSTILE {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, "restart apache", &mut |r| replies.push(r)))
            .unwrap();
        assert_eq!(replies, ["On which host would you like to restart apache?"]);
        replies.clear();
        runtime
            .block_on(bot.handle(&key, value, &mut |r| replies.push(r)))
            .unwrap();
        assert_eq!(replies.len(), 1, "{value:?}: {replies:?}");
        assert!(
            replies[0].contains("is not a host name like web-01 or an IP address"),
            "{value:?}: {replies:?}"
        );
        replies.clear();
        runtime
            .block_on(bot.handle(&key, "cancel", &mut |r| replies.push(r)))
            .unwrap();
    }
    assert!(
        !fixture.state().join("restarts.tsv").exists(),
        "nothing ran"
    );
    for text in HOST_AMID_HOSTILE_TEXT {
        let mut replies = Vec::new();
        runtime
            .block_on(bot.handle(&key, "restart apache", &mut |r| replies.push(r)))
            .unwrap();
        runtime
            .block_on(bot.handle(&key, text, &mut |r| replies.push(r)))
            .unwrap();
        assert_eq!(
            replies[1], "I will restart apache on web-01. Shall I go ahead? (yes/no)",
            "{text:?}"
        );
        runtime
            .block_on(bot.handle(&key, "yes", &mut |r| replies.push(r)))
            .unwrap();
    }
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    let hosts: Vec<&str> = log
        .lines()
        .map(|l| l.rsplit('\t').next().unwrap())
        .collect();
    assert_eq!(hosts, ["web-01"; 4]);
    assert!(!pwned());
}

#[test]
fn a_permissive_slot_passes_hostile_values_as_one_literal_argument() {
    assert!(
        !pwned(),
        "/tmp/opsbot-pwned exists before the test; remove it"
    );
    let fixture = Fixture::example();
    fixture.write(
        "intents/notes.yaml",
        "entities:\n  text:\n    description: a line of text\n    pattern: 'note:[^\\n]{1,200}'\nintents:\n  note:\n    examples:\n      - \"[note: remember the milk](text)\"\n",
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
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", stdout(&out));

    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    let nlu =
        opsbot_nlu::Nlu::load(&project, &fixture.path().join("models/intent-model.json")).unwrap();
    let store = Store::open(&fixture.state().join("opsbot.db")).unwrap();
    let bot = Bot::new(project, nlu, store, fixture.state());
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
            .block_on(bot.handle(&key, value, &mut |r| replies.push(r)))
            .unwrap();
        assert_eq!(replies, [format!("Write {value}? (yes/no)")]);
        replies.clear();
        runtime
            .block_on(bot.handle(&key, "yes", &mut |r| replies.push(r)))
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
