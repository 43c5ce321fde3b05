//! `opsbot shell` scripted through stdin, as an operator or CI would use it.

use crate::util::{stderr, stdout, Fixture};

#[test]
fn reference_conversation_through_the_shell() {
    let fixture = Fixture::trained();
    let out = fixture.shell("alice", &["restart apache", "192.168.0.24", "yes"]);
    assert_eq!(
        out,
        "On which host would you like to restart apache?\n\
         I will restart apache on 192.168.0.24. Shall I go ahead? (yes/no)\n\
         Restarting apache on 192.168.0.24 …\n\
         The apache service has been restarted on 192.168.0.24.\n"
    );
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    assert!(log.ends_with("\talice\tapache\t192.168.0.24\n"), "{log}");
}

#[test]
fn variations_through_the_shell() {
    let fixture = Fixture::trained();
    let out = fixture.shell(
        "alice",
        &[
            "please bounce nginx on web-01",
            "no, on web-03",
            "yes",
            "restart it on web-02",
            "never mind",
            "restart apache",
            "banana",
            "cancel",
            "what's the weather in Paris",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "I will restart nginx on web-01. Shall I go ahead? (yes/no)"
    );
    assert_eq!(
        lines[1],
        "I will restart nginx on web-03. Shall I go ahead? (yes/no)"
    );
    assert_eq!(lines[3], "The nginx service has been restarted on web-03.");
    assert_eq!(
        lines[4],
        "I will restart nginx on web-02. Shall I go ahead? (yes/no)"
    );
    assert_eq!(lines[5], "Okay, I cancelled that. Nothing was run.");
    assert_eq!(lines[7], "“banana” is not a host name like web-01 or an IP address. On which host would you like to restart apache?");
    assert_eq!(lines[8], "Okay, I cancelled that. Nothing was run.");
    assert!(
        lines[9].starts_with("Sorry, I did not understand “what's the weather in Paris”. I can:")
    );
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    assert_eq!(
        log.lines().count(),
        1,
        "only the confirmed restart ran: {log}"
    );
}

#[test]
fn invalid_utf8_and_long_lines_get_a_reply_not_a_crash() {
    let fixture = Fixture::trained();
    let mut input = b"hello\n\xff\xfe broken\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', 5000));
    input.extend(b"\nhelp\n");
    let mut child = fixture
        .command(&["shell", "--user", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("I could not read that line: it is not valid UTF-8 text."),
        "{text}"
    );
    assert!(
        text.contains("That message is 5000 characters long"),
        "{text}"
    );
    assert!(
        text.contains("I can:"),
        "help still answered after bad input: {text}"
    );
}

#[test]
fn a_missing_model_is_refused_and_a_stale_one_served_with_a_warning() {
    let fixture = Fixture::example();
    let out = fixture.run(&["shell"], "hello\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no trained model"),
        "{}",
        stderr(&out)
    );

    assert!(fixture.run(&["train"], "").status.success());
    let intents = fixture.path().join("intents/operations.yaml");
    let text = std::fs::read_to_string(&intents)
        .unwrap()
        .replace("      - hello\n", "      - hello\n      - hello friend\n");
    std::fs::write(&intents, text).unwrap();
    // intents/ changed after training: the last model answers, and says so.
    let out = fixture.run(&["shell"], "hello\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Hello"), "{}", stdout(&out));
    assert!(stderr(&out).contains("is stale"), "{}", stderr(&out));

    let out = fixture.run(&["train", "--if-stale"], "");
    assert!(out.status.success());
    assert!(fixture.run(&["shell"], "hello\n").status.success());
    let again = fixture.run(&["train", "--if-stale"], "");
    assert!(
        stdout(&again).contains("is up to date"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn help_lists_every_dialog_description() {
    let fixture = Fixture::trained();
    let out = fixture.shell("alice", &["what can you do?"]);
    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    for dialog in project.dialogs.values() {
        assert!(
            out.contains(&format!("• {}", dialog.description)),
            "missing {:?} in {out}",
            dialog.description
        );
    }
}
