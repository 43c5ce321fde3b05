//! Alerts pushed into rooms, on the two test packs' routes: routing and
//! continue/stop, one message per group edited as it changes, redeliveries
//! ignored, delivery held while the homeserver is away and then made in
//! order, a restart that keeps editing the same message, generic hooks and
//! mentions.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::alert_port::*;
use super::*;
use crate::alerts::AlertStatus;

#[test]
fn routes_send_an_alert_group_to_the_rooms_they_name_on_two_packs() {
    // (pack, labels, rooms it reaches)
    let cases: &[(&str, Pairs, &[&str])] = &[
        (
            "dbops",
            &[("alertname", "PostgresDown"), ("severity", "critical")],
            &["!dba:db.example", "!oncall:db.example"],
        ),
        (
            "dbops",
            &[("alertname", "ReplicationLag"), ("severity", "warning")],
            &["!dba:db.example"],
        ),
        (
            "dbops",
            &[("alertname", "DiskFull"), ("severity", "critical")],
            &["!oncall:db.example"],
        ),
        (
            "dbops",
            &[("alertname", "DiskFull"), ("severity", "warning")],
            &[],
        ),
        (
            "cicd",
            &[
                ("stage", "prod"),
                ("source", "ci"),
                ("severity", "critical"),
            ],
            &["!releases:ci.example"],
        ),
        (
            "cicd",
            &[("stage", "prod"), ("source", "ci"), ("severity", "info")],
            &["!builds:ci.example"],
        ),
        (
            "cicd",
            &[("stage", "staging"), ("source", "ci")],
            &["!builds:ci.example"],
        ),
        ("cicd", &[("stage", "staging")], &[]),
    ];
    for (pack, group, rooms) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        let chat = RecordingChat::new(true);
        let expected: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
        with_worker(bot, chat, |bot, chat| async move {
            let receipt = bot
                .accept_alerts(&notification(group, &[("host-1:9100", true)]))
                .await
                .unwrap();
            assert_eq!(receipt.rooms, expected.len(), "{pack} {group:?}");
            until("every room told", || chat.sent().len() == expected.len()).await;
            let mut reached: Vec<String> =
                chat.sent().into_iter().map(|(room, _, _)| room).collect();
            reached.sort();
            assert_eq!(reached, expected, "{pack} {group:?}");
        });
    }
}

#[test]
fn a_group_is_one_message_edited_as_it_fires_and_resolves_on_two_packs() {
    for (pack, _, room, group) in PACK_GROUPS {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let fired = notification(group, &[("a:1", true)]);
            bot.accept_alerts(&fired).await.unwrap();
            until("the first message", || chat.sent().len() == 1).await;
            let redelivered = bot.accept_alerts(&fired).await.unwrap();
            assert_eq!(
                redelivered.changed, 0,
                "{pack}: a redelivery changes nothing"
            );
            bot.accept_alerts(&notification(group, &[("a:1", true), ("b:1", true)]))
                .await
                .unwrap();
            until("the second alert shown", || chat.edits().len() == 1).await;
            bot.accept_alerts(&notification(group, &[("a:1", false), ("b:1", false)]))
                .await
                .unwrap();
            until("the resolution shown", || chat.edits().len() == 2).await;
            assert_eq!(chat.sent().len(), 1, "{pack}: one message for the group");
            let shown = chat.shown();
            assert_eq!(shown.len(), 1);
            let text = &shown[room][0];
            assert!(text.starts_with("✅ RESOLVED"), "{pack}: {text}");
            assert!(text.contains("on a and b"), "{pack}: {text}");
            // Firing again after the room heard it resolved: a new incident.
            bot.accept_alerts(&fired).await.unwrap();
            until("a new message", || chat.sent().len() == 2).await;
            assert!(chat.sent()[1].2.starts_with("🔥 FIRING"), "{pack}");
        });
    }
}

#[test]
fn alerts_accepted_while_the_homeserver_is_away_are_delivered_in_order_when_it_returns() {
    for pack in ["dbops", "cicd"] {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        let room_labels: &[(&str, &str)] = if pack == "dbops" {
            &[("alertname", "PostgresDown"), ("severity", "warning")]
        } else {
            &[("alertname", "BuildBroken"), ("source", "ci")]
        };
        with_worker(bot, RecordingChat::new(false), |bot, chat| async move {
            let jobs: Vec<String> = (0..5).map(|i| format!("job-{i}")).collect();
            let group_of = |job: &str| {
                let mut group = room_labels.to_vec();
                group.push(("job", job));
                notification(&group, &[(&format!("{job}:1"), true)])
            };
            for job in &jobs {
                bot.accept_alerts(&group_of(job)).await.unwrap();
            }
            let mut first = group_of(&jobs[0]);
            first.alerts[0].status = AlertStatus::Resolved;
            first.alerts[0].ends_at = Some(chrono::Utc::now());
            bot.accept_alerts(&first).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(
                chat.sent().is_empty(),
                "{pack}: nothing gets through while away"
            );
            chat.up.store(true, Ordering::SeqCst);
            until("all five groups delivered", || chat.sent().len() == 5).await;
            // Oldest change first: jobs 1–4 as they fired, then job 0, whose
            // resolution came last; its one message tells the latest state.
            let order: Vec<(bool, String)> = chat
                .sent()
                .iter()
                .map(|(_, _, text)| {
                    let job = (0..5).find(|i| text.contains(&format!("job-{i}")));
                    (text.starts_with("✅ RESOLVED"), format!("{job:?}"))
                })
                .collect();
            let jobs: Vec<&str> = order.iter().map(|(_, j)| j.as_str()).collect();
            assert_eq!(
                jobs,
                ["Some(1)", "Some(2)", "Some(3)", "Some(4)", "Some(0)"],
                "{pack}: {:?}",
                chat.sent()
            );
            let resolved: Vec<bool> = order.iter().map(|(r, _)| *r).collect();
            assert_eq!(resolved, [false, false, false, false, true], "{pack}");
            assert!(
                chat.edits().is_empty(),
                "{pack}: the latest state is sent, not replayed"
            );
        });
    }
}

#[test]
fn a_restarted_bot_keeps_editing_the_same_message() {
    for pack in ["dbops", "cicd"] {
        let state = tempfile::tempdir().unwrap();
        let db = state.path().join("opsbot.db");
        let group: &[(&str, &str)] = if pack == "dbops" {
            &[("alertname", "PostgresDown"), ("severity", "critical")]
        } else {
            &[("alertname", "BuildBroken"), ("source", "ci")]
        };
        let chat = RecordingChat::new(true);
        {
            let bot = Arc::new(bot_on(
                pack,
                state.path(),
                crate::SledStore::open(&db).unwrap(),
            ));
            with_worker(bot, chat.clone(), |bot, chat| async move {
                bot.accept_alerts(&notification(group, &[("a:1", true)]))
                    .await
                    .unwrap();
                let rooms = if pack == "dbops" { 2 } else { 1 };
                until("the first messages", || chat.sent().len() == rooms).await;
            });
        }
        let before = chat.sent().len();
        let bot = Arc::new(bot_on(
            pack,
            state.path(),
            crate::SledStore::open(&db).unwrap(),
        ));
        with_worker(bot, chat.clone(), |bot, chat| async move {
            bot.accept_alerts(&notification(group, &[("a:1", false)]))
                .await
                .unwrap();
            until("the resolution edited in", || chat.edits().len() == before).await;
        });
        assert_eq!(
            chat.sent().len(),
            before,
            "{pack}: no new message after the restart"
        );
        assert!(
            chat.shown()
                .values()
                .flatten()
                .all(|t| t.starts_with("✅ RESOLVED")),
            "{pack}: {:?}",
            chat.shown()
        );
    }
}

#[test]
fn a_generic_hook_posts_and_resolves_one_message_on_two_packs() {
    let cases = [
        (
            "dbops",
            "!dba:db.example",
            serde_json::json!({"database": "billing", "status": "failed", "error": "timeout"}),
            serde_json::json!({"database": "billing", "status": "ok"}),
        ),
        (
            "cicd",
            "!builds:ci.example",
            serde_json::json!({"pipeline": {"name": "mobile", "stage": "build", "status": "failed"}, "run": {"id": 7}}),
            serde_json::json!({"pipeline": {"name": "mobile", "stage": "build", "status": "fixed"}, "run": {"id": 8}}),
        ),
    ];
    for (pack, room, failed, passed) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let hook = bot
                .loaded()
                .project
                .settings
                .alerts
                .clone()
                .unwrap()
                .hooks
                .remove(0);
            let fired = crate::alerts::hook_notification(&hook, &failed, bot.now()).unwrap();
            bot.accept_alerts(&fired).await.unwrap();
            until("the hook's alert posted", || {
                chat.shown().contains_key(room)
            })
            .await;
            assert!(
                chat.shown()[room][0].starts_with("🔥 FIRING"),
                "{pack}: {:?}",
                chat.shown()
            );
            let resolved = crate::alerts::hook_notification(&hook, &passed, bot.now()).unwrap();
            bot.accept_alerts(&resolved).await.unwrap();
            until("resolved in place", || {
                chat.shown()[room][0].starts_with("✅ RESOLVED")
            })
            .await;
            assert_eq!(chat.sent().len(), 1, "{pack}: one message");
        });
    }
}

#[test]
fn a_route_mentions_a_person_or_the_owner_from_a_rota_on_two_packs() {
    let cases: [(&str, Pairs, Pairs); 3] = [
        // On-call gets critical database alerts, addressed to priya's Matrix id.
        (
            "dbops",
            &[("alertname", "PostgresDown"), ("severity", "critical")],
            &[("!oncall:db.example", "@priya:db.example")],
        ),
        // The builds room addresses the pipeline's owner from data/owners.tsv.
        (
            "cicd",
            &[
                ("alertname", "BuildBroken"),
                ("source", "ci"),
                ("pipeline", "backend"),
            ],
            &[("!builds:ci.example", "@raj:ci.example")],
        ),
        // A pipeline the rota does not list: nobody is mentioned.
        (
            "cicd",
            &[
                ("alertname", "BuildBroken"),
                ("source", "ci"),
                ("pipeline", "mobile"),
            ],
            &[],
        ),
    ];
    for (pack, labels, expected) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let n = notification(labels, &[("h:1", true)]);
            let rooms = bot.accept_alerts(&n).await.unwrap().rooms;
            until("posted", || chat.sent().len() == rooms).await;
            let mentions = chat.mentions.lock().unwrap().clone();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(r, w)| (r.to_string(), w.to_string()))
                .collect();
            assert_eq!(mentions, expected, "{pack} {labels:?}");
        });
    }
}

#[test]
fn a_route_may_word_the_summary_line_itself_on_two_packs() {
    let cases: [(&str, Pairs, &str); 3] = [
        // The database pack keeps the default line.
        (
            "dbops",
            &[("alertname", "PostgresDown"), ("severity", "warning")],
            "summary: something is wrong",
        ),
        // The CI pack's builds route words it from the labels.
        (
            "cicd",
            &[
                ("alertname", "BuildBroken"),
                ("source", "ci"),
                ("pipeline", "backend"),
            ],
            "pipeline backend: something is wrong",
        ),
        // A label the template needs is missing: the default line.
        (
            "cicd",
            &[("alertname", "BuildBroken"), ("source", "ci")],
            "summary: something is wrong",
        ),
    ];
    for (pack, labels, line) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&notification(labels, &[("h:1", true)]))
                .await
                .unwrap();
            until("posted", || !chat.sent().is_empty()).await;
            let text = chat.sent()[0].2.clone();
            assert_eq!(text.lines().nth(1), Some(line), "{pack}: {text}");
        });
    }
}

#[test]
fn a_storm_gives_one_message_per_group_on_two_packs() {
    for (pack, _, _, labels) in PACK_GROUPS {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            // 20 groups growing to 25 alerts each: 500 notifications.
            for count in 1..=25usize {
                for g in 0..20 {
                    let job = format!("job{g}");
                    let mut group = labels.to_vec();
                    group.push(("job", &job));
                    let hosts: Vec<String> = (0..count).map(|i| format!("h{i}:1")).collect();
                    let instances: Vec<(&str, bool)> =
                        hosts.iter().map(|h| (h.as_str(), true)).collect();
                    bot.accept_alerts(&notification(&group, &instances))
                        .await
                        .unwrap();
                }
            }
            until("every group shows 25 alerts", || {
                chat.shown()
                    .values()
                    .flatten()
                    .filter(|t| t.contains("25 alerts in group"))
                    .count()
                    == 20
            })
            .await;
            assert_eq!(chat.sent().len(), 20, "{pack}: one message per group");
            assert!(
                chat.edits().len() <= 480,
                "{pack}: at most one edit per change"
            );
        });
    }
}

#[test]
fn groups_that_ended_a_week_ago_are_forgotten_but_open_ones_kept_on_two_packs() {
    for (pack, _, _, labels) in PACK_GROUPS {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let group_of = |job: &str, firing: bool| {
                let mut group = labels.to_vec();
                group.push(("job", job));
                notification(&group, &[("h:1", firing)])
            };
            bot.accept_alerts(&group_of("ended", true)).await.unwrap();
            bot.accept_alerts(&group_of("open", true)).await.unwrap();
            bot.accept_alerts(&group_of("ended", false)).await.unwrap();
            until("both told", || chat.sent().len() == 2 && settled(&bot)).await;
            assert_eq!(bot.store().alert_groups().unwrap().len(), 2);
            bot.advance_clock(Duration::from_secs(8 * 24 * 3600));
            until("the ended group forgotten", || {
                bot.store().alert_groups().unwrap().len() == 1
            })
            .await;
            let kept = bot.store().alert_groups().unwrap();
            assert!(!kept[0].is_resolved(), "{pack}: the open group stays");
            let events = bot.store().alert_events(None).unwrap();
            assert_eq!(events.len(), 3, "{pack}: the timeline keeps every event");
        });
    }
}
