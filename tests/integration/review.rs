//! Learning from use end to end, on two bots of other domains: a message the
//! bot does not understand lands in the review inbox, `opsbot review accept`
//! writes it into the project's intents YAML (which still checks), a retrain
//! makes the bot understand it, `evaluate --reviewed` shows the change, and
//! `purge` forgets it. Between the accept and the retrain the bot still
//! starts, serving the stale model and saying so.

use crate::util::{stderr, stdout, Fixture};

/// (pack, user, a message it cannot understand, the intent it meant, the
/// question the bot asks once it does)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "dbops",
        "priya",
        "squirrel everything away overnight",
        "backup_database",
        "Which database should I back up?",
    ),
    (
        "cicd",
        "kim",
        "yeet thingamajig sideways",
        "rerun_pipeline",
        "Which pipeline should I rerun?",
    ),
];

/// Whether `name` is an intent of the fixture's bot.
fn check_intent(fixture: &Fixture, name: &str) -> bool {
    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    project.intents.contains_key(name)
}

fn entries(fixture: &Fixture, all: bool) -> Vec<serde_json::Value> {
    let mut args = vec!["review", "list", "--json"];
    if all {
        args.push("--all");
    }
    let out = fixture.run(&args, "");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("review list --json prints JSON")
}

#[test]
fn a_reviewed_message_is_understood_after_a_retrain_on_two_packs() {
    for &(pack, user, message, intent, question) in CASES {
        let fixture = Fixture::trained_pack(pack);
        let said = fixture.shell(user, &[message]);
        assert!(
            said.starts_with("Sorry, I did not understand"),
            "{pack}: {said}"
        );

        let waiting = entries(&fixture, false);
        assert_eq!(waiting.len(), 1, "{pack}: {waiting:?}");
        assert_eq!(waiting[0]["text"], message);
        assert_eq!(waiting[0]["kind"], "not_understood");
        assert_eq!(waiting[0]["group"], 1);
        // Not understood, yet a label is suggested: the model's likeliest class.
        let suggestion = waiting[0]["suggestion"].as_str().unwrap_or_default();
        assert!(
            suggestion == "out_of_scope" || check_intent(&fixture, suggestion),
            "{pack}: {waiting:?}"
        );
        let id = waiting[0]["id"].as_str().unwrap();

        let out = fixture.run(
            &["review", "accept", &id[..6], "--intent", "no_such_intent"],
            "",
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("is not an intent of this bot"),
            "{}",
            stderr(&out)
        );

        let out = fixture.run(&["review", "accept", &id[..6], "--intent", intent], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("as {intent} (intents/")),
            "{pack}: {}",
            stdout(&out)
        );
        assert!(
            entries(&fixture, false).is_empty(),
            "{pack}: labelled, so no longer waiting"
        );
        assert_eq!(entries(&fixture, true)[0]["decision"]["label"], intent);
        let check = fixture.run(&["check"], "");
        assert!(check.status.success(), "{pack}: {}", stdout(&check));
        assert!(
            stdout(&check).contains("warning: ") && stdout(&check).contains("is stale"),
            "{pack}: {}",
            stdout(&check)
        );

        // A restart before the retrain: the last model is served (it still
        // does not know the message) and the log says it is stale.
        let out = fixture.run(&["shell", "--user", user], &format!("{message}\n"));
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        assert!(
            stdout(&out).starts_with("Sorry, I did not understand"),
            "{pack}: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("is stale"),
            "{pack}: {}",
            stderr(&out)
        );
        // The commands that judge the model still refuse it.
        let out = fixture.run(&["test"], "");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("is stale"),
            "{pack}: {}",
            stderr(&out)
        );

        let train = fixture.run(&["train"], "");
        assert!(train.status.success(), "{pack}: {}", stderr(&train));
        let said = fixture.shell(user, &[message]);
        assert_eq!(said.trim_end(), question, "{pack}");

        let out = fixture.run(&["evaluate", "--reviewed", "--folds", "2"], "");
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("1 reviewed messages: 0.0 % right when they were read, 100.0 % with the model trained"),
            "{pack}: {}",
            stdout(&out)
        );
        assert!(
            stdout(&out).contains("2-fold cross-validation"),
            "{}",
            stdout(&out)
        );

        let out = fixture.run(&["review", "purge", "--before", "1h"], "");
        assert!(
            stdout(&out).starts_with("purged 0 message(s)"),
            "{}",
            stdout(&out)
        );
        // The labelled message, and the same message again from the shell
        // that served the stale model.
        let out = fixture.run(&["review", "purge", "--before", "2999-01-01"], "");
        assert!(
            stdout(&out).starts_with("purged 2 message(s)"),
            "{}",
            stdout(&out)
        );
        assert!(entries(&fixture, true).is_empty());

        // The interactive review needs a terminal and says what scripts use.
        let out = fixture.run(&["review"], "");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("review list --json"),
            "{}",
            stderr(&out)
        );
    }
}
