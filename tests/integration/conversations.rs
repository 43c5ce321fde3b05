//! The shipped conversation transcripts, and the runner's own failure reporting.

use crate::util::{repo, stdout, Fixture};

#[test]
fn shipped_transcripts_pass() {
    let fixture = Fixture::trained();
    let transcripts = repo().join("tests/conversations");
    let out = fixture.run(&["test", transcripts.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 0 failed"), "{}", stdout(&out));
}

#[test]
fn a_wrong_expectation_fails_and_says_why() {
    let fixture = Fixture::trained();
    fixture.write(
        "tests/conversations/wrong.yaml",
        "conversations:\n  - name: expects the wrong prompt\n    turns:\n      - say: restart apache\n        expect: Which host?\n",
    );
    let out = fixture.run(&["test"], "");
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("expected: \"Which host?\""), "{text}");
    assert!(
        text.contains("got:      \"On which host would you like to restart apache?\""),
        "{text}"
    );
}

#[test]
fn every_example_intent_has_at_least_fifteen_examples() {
    let project = opsbot_spec::load_project(&repo()).unwrap();
    for intent in project.intents.values() {
        assert!(
            intent.examples.len() >= 15,
            "{} has {} examples",
            intent.name,
            intent.examples.len()
        );
    }
    for required in [
        "restart_service",
        "deploy_app",
        "rollback_app",
        "who_is_on_call",
        "recent_deploys",
        "extend_trial",
        "greet",
        "help",
    ] {
        assert!(
            project.dialog_for_intent(required).is_some(),
            "missing {required}"
        );
    }
}

/// Each test pack's own transcripts (times, limits, explanations) pass on
/// that pack; `backupdesk` (a storage desk), `dnsdesk` (DNS records and
/// certificates) and `queuedesk` (message queues) were written from the
/// README alone by people who never saw the code, their conversations saying
/// what a good bot does; `etldesk` (scheduling) and `certdesk` (TLS
/// certificates, ten examples per intent, its paraphrases asked about below
/// the threshold) and `nodedesk` (Kubernetes node patching: a runbook with
/// outputs, conditions, a question, a wait, retries and a rollback) from the
/// book alone.
#[test]
fn pack_transcripts_pass() {
    for pack in [
        "dbops",
        "cicd",
        "backupdesk",
        "dnsdesk",
        "queuedesk",
        "etldesk",
        "certdesk",
        "nodedesk",
    ] {
        let fixture = Fixture::trained_pack(pack);
        let out = fixture.run(&["test"], "");
        assert!(out.status.success(), "{pack}: {}", stdout(&out));
        assert!(
            stdout(&out).contains(" 0 failed"),
            "{pack}: {}",
            stdout(&out)
        );
    }
}
