//! What a terminal shows (issue 32, part 5): the conversation without log
//! lines unless asked for, a command whose reader went away ending quietly,
//! and `train --if-stale` saying what it does when there is no model yet.

use std::process::Stdio;

use crate::util::{stderr, stdout, Fixture};

/// `opsbot shell` and `opsbot test` print the conversation; opsbot's own log
/// lines (an audit key created, an action run) appear with `-v` only.
#[test]
fn a_terminal_shows_the_conversation_and_the_log_only_when_asked() {
    let fixture = Fixture::trained();
    let verbose = fixture.run(&["-v", "shell"], "hello\n");
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    assert!(
        stderr(&verbose).contains("created a new audit key"),
        "{}",
        stderr(&verbose)
    );
    let quiet = fixture.run(
        &["shell", "--user", "alice"],
        "restart apache on web-01\nyes\n",
    );
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(
        stdout(&quiet).contains("The apache service has been restarted on web-01."),
        "{}",
        stdout(&quiet)
    );
    assert!(!stderr(&quiet).contains(" INFO "), "{}", stderr(&quiet));
    assert!(!stdout(&quiet).contains(" INFO "), "{}", stdout(&quiet));

    let transcript = crate::util::repo().join("tests/conversations/core.yaml");
    let test = fixture.run(&["test", transcript.to_str().unwrap()], "");
    assert!(test.status.success(), "{}", stdout(&test));
    for text in [stdout(&test), stderr(&test)] {
        assert!(!text.contains(" INFO "), "{text}");
    }
}

/// `opsbot check | head`: the reader is gone before anything is printed;
/// the command ends without a panic message.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let fixture = Fixture::example();
    let mut child = fixture
        .command(&["check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

/// With no model at all, `train --if-stale` says so, not that one must train.
#[test]
fn train_if_stale_without_a_model_says_there_is_none_yet() {
    let fixture = Fixture::example();
    let out = fixture.run(&["train", "--if-stale"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("training: there is no model at"), "{text}");
    assert!(!text.contains("run `opsbot train` first"), "{text}");
}
