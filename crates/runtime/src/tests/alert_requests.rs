//! A request about an alert, end to end through the bot on the two test
//! packs: in reply to it or soon after it in its room, its values fill the
//! dialog; the alert's message then names who acted.

use super::alert_port::*;
use super::*;

/// (pack, room, requester, alert labels, request, value it fills, what runs,
/// the dialog's description)
type AboutCase<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Pairs<'a>,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

const ABOUT: &[AboutCase] = &[
    (
        "dbops",
        "!dba:db.example",
        "priya",
        &[
            ("alertname", "ReplicationLag"),
            ("severity", "warning"),
            ("datname", "orders"),
        ],
        "back up the database",
        "orders",
        "priya backup orders 6",
        "back up a database",
    ),
    (
        "cicd",
        "!builds:ci.example",
        "kim",
        &[
            ("alertname", "BuildBroken"),
            ("source", "ci"),
            ("pipeline", "frontend"),
        ],
        "rerun the pipeline",
        "frontend",
        "kim rerun frontend",
        "rerun a pipeline",
    ),
];

#[test]
fn a_request_in_reply_to_an_alert_takes_its_values_and_the_alert_names_who_acted() {
    for &(pack, room, user, group, request, value, ran, what) in ABOUT {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        let runs_in = state.path().to_path_buf();
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&notification(group, &[("host-1:9100", true)]))
                .await
                .unwrap();
            until("the alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            let alert_message = chat.sent()[0].1.clone();
            let asked = say_about(&bot, room, user, request, &alert_message).await;
            assert!(asked[0].contains(value), "{pack}: {asked:?}");
            assert!(asked[0].contains("from the alert"), "{pack}: {asked:?}");
            say(&bot, room, user, "yes").await;
            assert_eq!(runs(&runs_in), [ran], "{pack}");
            let executed = bot
                .store()
                .audit_oldest_first()
                .map(Result::unwrap)
                .find(|r| r.outcome == AuditOutcome::Succeeded)
                .expect("executed");
            let alert_name = group[0].1;
            assert_eq!(
                executed.alert.as_ref().map(|a| a.name.as_str()),
                Some(alert_name),
                "{pack}"
            );
            until("the alert names who acted", || {
                chat.edits()
                    .last()
                    .is_some_and(|(_, t)| t.contains(&format!("acted: {what} by {user}")))
            })
            .await;
            bot.accept_alerts(&notification(group, &[("host-1:9100", false)]))
                .await
                .unwrap();
            until("resolved, naming who acted", || {
                chat.edits().last().is_some_and(|(_, t)| {
                    t.starts_with("✅ RESOLVED") && t.contains(&format!("; {what} by {user})"))
                })
            })
            .await;
        });
    }
}

#[test]
fn soon_after_an_alert_a_request_in_its_room_takes_its_values_but_not_once_resolved() {
    for &(pack, room, user, group, request, value, _, _) in ABOUT {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&notification(group, &[("host-1:9100", true)]))
                .await
                .unwrap();
            until("the alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            let asked = say(&bot, room, user, request).await;
            assert!(
                asked[0].contains(value) && asked[0].contains("from the alert"),
                "{pack}: {asked:?}"
            );
            say(&bot, room, user, "no").await;
            let elsewhere = say(&bot, "!another:room", user, request).await;
            assert!(
                !elsewhere[0].contains("from the alert"),
                "{pack}: only in the alert's room: {elsewhere:?}"
            );
            say(&bot, "!another:room", user, "cancel").await;
            bot.accept_alerts(&notification(group, &[("host-1:9100", false)]))
                .await
                .unwrap();
            until("resolved", || chat.edits().len() == 1).await;
            let asked = say(&bot, room, user, request).await;
            assert!(
                !asked[0].contains("from the alert"),
                "{pack}: a resolved alert gives nothing: {asked:?}"
            );
        });
    }
}

#[test]
fn hosts_that_differ_within_a_group_are_asked_for() {
    let state = tempfile::tempdir().unwrap();
    let bot = Arc::new(bot("dbops", state.path()));
    with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
        let mut n = notification(
            &[("alertname", "ReplicationLag"), ("severity", "warning")],
            &[("a:1", true), ("b:1", true)],
        );
        n.alerts[0].labels.insert("datname".into(), "orders".into());
        n.alerts[1]
            .labels
            .insert("datname".into(), "billing".into());
        bot.accept_alerts(&n).await.unwrap();
        until("the alert posted", || {
            chat.sent().len() == 1 && settled(&bot)
        })
        .await;
        let id = chat.sent()[0].1.clone();
        let asked = say_about(
            &bot,
            "!dba:db.example",
            "priya",
            "back up the database",
            &id,
        )
        .await;
        assert_eq!(
            asked,
            ["Which database should I back up?"],
            "two databases: ask"
        );
    });
}

/// Issue 31: a label value with a control character (`orders\0`) is not
/// cleaned into `orders`: it is refused with the reason, and nothing runs.
#[test]
fn an_alert_label_with_a_control_character_fills_no_slot() {
    for &(pack, room, user, group, request, value, _, _) in ABOUT {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        let runs_in = state.path().to_path_buf();
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let garbled = format!("{value}\0");
            let labels: Vec<(&str, &str)> = group
                .iter()
                .map(|&(k, v)| (k, if v == value { garbled.as_str() } else { v }))
                .collect();
            bot.accept_alerts(&notification(&labels, &[("host-1:9100", true)]))
                .await
                .unwrap();
            until("the alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            let alert_message = chat.sent()[0].1.clone();
            let asked = say_about(&bot, room, user, request, &alert_message).await;
            let said = asked.join("\n").to_lowercase();
            assert!(
                said.contains("from the alert") && said.contains("control characters"),
                "{pack}: {asked:?}"
            );
            say(&bot, room, user, "yes").await;
            assert!(runs(&runs_in).is_empty(), "{pack}: nothing ran");
        });
    }
}
