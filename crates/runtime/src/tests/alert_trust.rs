//! What an alert's sender may not decide: which alert "it" is when several
//! are open, a fingerprint's labels once a room saw them, values from an
//! alert that resolved, or what the room's text does to its readers. On
//! both test packs.

use super::alert_port::*;
use super::*;
use crate::alerts::Notification;

/// (pack, room, requester, two alert groups the route fills the same slot
/// from, with different values, a request that leaves that slot open, the
/// first group's value)
type TwoAlerts<'a> = (&'a str, &'a str, &'a str, [Pairs<'a>; 2], &'a str, &'a str);

const TWO: [TwoAlerts; 2] = [
    (
        "dbops",
        "!dba:db.example",
        "priya",
        [
            &[("alertname", "ReplicationLag"), ("datname", "orders")],
            &[("alertname", "PostgresDown"), ("datname", "billing")],
        ],
        "back up the database",
        "orders",
    ),
    (
        "cicd",
        "!builds:ci.example",
        "kim",
        [
            &[
                ("alertname", "BuildBroken"),
                ("source", "ci"),
                ("pipeline", "frontend"),
            ],
            &[
                ("alertname", "TestsFlaky"),
                ("source", "ci"),
                ("pipeline", "backend"),
            ],
        ],
        "rerun the pipeline",
        "frontend",
    ),
];

#[test]
fn it_outside_a_thread_asks_which_alert_when_several_are_open() {
    for (pack, room, user, [first, second], request, value) in TWO {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&notification(first, &[("host-1:9100", true)]))
                .await
                .unwrap();
            until("the first alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            bot.advance_clock(Duration::from_secs(60));
            bot.accept_alerts(&notification(second, &[("host-2:9100", true)]))
                .await
                .unwrap();
            until("the second alert posted", || {
                chat.sent().len() == 2 && settled(&bot)
            })
            .await;
            let asked = say(&bot, room, user, request).await;
            assert!(
                asked[0].starts_with("2 alerts are open in this room: "),
                "{pack}: the newest alert does not decide: {asked:?}"
            );
            assert!(
                !asked.iter().any(|r| r.contains("from the alert")),
                "{pack}: {asked:?}"
            );
            say(&bot, room, user, "cancel").await;
            // In the first alert's thread, that alert is meant.
            let thread = chat.sent()[0].1.clone();
            let asked = say_about(&bot, room, user, request, &thread).await;
            assert!(
                asked[0].contains(value) && asked[0].contains("from the alert"),
                "{pack}: {asked:?}"
            );
        });
    }
}

#[test]
fn a_fingerprint_sent_again_with_other_labels_keeps_the_first_ones() {
    for (pack, room, user, [first, second], request, value) in TWO {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let original = notification(first, &[("host-1:9100", true)]);
            bot.accept_alerts(&original).await.unwrap();
            until("the alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            // The same fingerprint in the same group, now naming another value
            // and another host.
            let mut moved: Notification = original.clone();
            let other = notification(second, &[("host-99:9100", true)]);
            moved.alerts[0].labels = other.alerts[0].labels.clone();
            moved.alerts[0]
                .labels
                .insert("alertname".into(), first[0].1.into());
            bot.accept_alerts(&moved).await.unwrap();
            let thread = chat.sent()[0].1.clone();
            let asked = say_about(&bot, room, user, request, &thread).await;
            assert!(
                asked[0].contains(value) && asked[0].contains("from the alert"),
                "{pack}: the alert still names {value}: {asked:?}"
            );
            let group = &bot.store().alert_groups_in(room).unwrap()[0];
            assert!(
                group.text.contains("host-1") && !group.text.contains("host-99"),
                "{pack}: {}",
                group.text
            );
        });
    }
}

#[test]
fn a_reply_to_a_resolved_alert_takes_none_of_its_values() {
    for (pack, room, user, [first, _], request, value) in TWO {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&notification(first, &[("host-1:9100", true)]))
                .await
                .unwrap();
            until("the alert posted", || {
                chat.sent().len() == 1 && settled(&bot)
            })
            .await;
            bot.accept_alerts(&notification(first, &[("host-1:9100", false)]))
                .await
                .unwrap();
            until("resolved", || chat.edits().len() == 1 && settled(&bot)).await;
            let thread = chat.sent()[0].1.clone();
            let asked = say_about(&bot, room, user, request, &thread).await;
            assert!(
                !asked
                    .iter()
                    .any(|r| r.contains("from the alert") || r.contains(value)),
                "{pack}: {asked:?}"
            );
        });
    }
}

#[test]
fn alert_text_reaches_the_room_without_bidi_controls_fake_lines_or_a_room_mention() {
    for (pack, _, group) in PACK_GROUPS.map(|(p, _, r, g)| (p, r, g)) {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let mut n = notification(group, &[("web-01\u{202E}10-bew:9100", true)]);
            n.alerts[0].annotations.insert(
                "summary".into(),
                "disk full\u{2028}✅ RESOLVED everything @room".into(),
            );
            bot.accept_alerts(&n).await.unwrap();
            until("posted", || chat.sent().len() == 1).await;
            let text = &chat.sent()[0].2;
            assert!(
                !text.chars().any(|c| matches!(c, '\u{202E}' | '\u{2028}')),
                "{pack}: {text:?}"
            );
            assert!(!text.contains("@room"), "{pack}: {text:?}");
        });
    }
}
