//! Alerts pushed into rooms, on the two test packs' routes: routing and
//! continue/stop, one message per group edited as it changes, redeliveries
//! ignored, delivery held while the homeserver is away and then made in
//! order, and a restart that keeps editing the same message.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::Timelike;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::alerts::{Alert, AlertStatus, Notification};
use crate::chat::{Chat, ChatFuture, MessageHandle, Outbound};

/// A chat port that records what it was asked to do; `up: false` is a
/// homeserver that refuses everything.
#[derive(Default)]
struct RecordingChat {
    up: AtomicBool,
    /// (room, message id, text) per message sent.
    sent: Mutex<Vec<(String, String, String)>>,
    /// (message id, text) per edit.
    edits: Mutex<Vec<(String, String)>>,
    /// (room, who) per message that mentions someone.
    mentions: Mutex<Vec<(String, String)>>,
}

impl RecordingChat {
    fn new(up: bool) -> Arc<RecordingChat> {
        let chat = RecordingChat::default();
        chat.up.store(up, Ordering::SeqCst);
        Arc::new(chat)
    }

    fn sent(&self) -> Vec<(String, String, String)> {
        self.sent.lock().unwrap().clone()
    }

    fn edits(&self) -> Vec<(String, String)> {
        self.edits.lock().unwrap().clone()
    }

    /// What each message shows now, by room: its latest edit or its text.
    fn shown(&self) -> BTreeMap<String, Vec<String>> {
        let edits = self.edits();
        let mut shown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (room, id, text) in self.sent() {
            let latest = edits
                .iter()
                .rev()
                .find(|(edited, _)| *edited == id)
                .map_or(text, |(_, t)| t.clone());
            shown.entry(room).or_default().push(latest);
        }
        shown
    }
}

impl Chat for RecordingChat {
    fn send(&self, message: Outbound) -> ChatFuture<'_, Option<MessageHandle>> {
        Box::pin(async move {
            if !self.up.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(who) = &message.mention {
                self.mentions
                    .lock()
                    .unwrap()
                    .push((message.room.clone(), who.clone()));
            }
            let mut sent = self.sent.lock().unwrap();
            let id = format!("${}", sent.len() + 1);
            sent.push((message.room.clone(), id.clone(), message.text));
            Some(MessageHandle {
                room: message.room,
                id,
            })
        })
    }

    fn edit<'a>(&'a self, handle: &'a MessageHandle, text: String) -> ChatFuture<'a, bool> {
        Box::pin(async move {
            if !self.up.load(Ordering::SeqCst) {
                return false;
            }
            self.edits.lock().unwrap().push((handle.id.clone(), text));
            true
        })
    }
}

/// Label pairs as a test writes them.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A notification of `group` holding alerts on `instances`, each firing or not.
fn notification(group: &[(&str, &str)], instances: &[(&str, bool)]) -> Notification {
    let start = chrono::Utc::now() - chrono::Duration::minutes(10);
    let common = labels(group);
    let alerts = instances
        .iter()
        .map(|(instance, firing)| {
            let mut alert_labels = common.clone();
            alert_labels.insert("instance".into(), instance.to_string());
            Alert {
                status: if *firing {
                    AlertStatus::Firing
                } else {
                    AlertStatus::Resolved
                },
                annotations: labels(&[("summary", "something is wrong")]),
                fingerprint: format!("{group:?}{instance}"),
                labels: alert_labels,
                starts_at: start,
                ends_at: (!firing).then(chrono::Utc::now),
                generator_url: String::new(),
            }
        })
        .collect();
    Notification {
        version: "4".into(),
        group_key: format!("{{}}:{group:?}"),
        receiver: "opsbot".into(),
        status: if instances.iter().any(|(_, f)| *f) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        },
        group_labels: common.clone(),
        common_labels: common,
        common_annotations: BTreeMap::new(),
        external_url: String::new(),
        alerts,
    }
}

/// Waits (without asserting on time) until `done` holds; panics after a minute.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether every group's room shows its current text, as recorded in the store.
fn settled(bot: &Bot) -> bool {
    bot.store()
        .alert_groups()
        .unwrap()
        .iter()
        .all(|g| !g.needs_delivery())
}

/// Runs `scenario` with the pack's bot, the chat attached and the delivery
/// worker running.
fn with_worker<F: Future<Output = ()>>(
    bot: Arc<Bot>,
    chat: Arc<RecordingChat>,
    scenario: impl FnOnce(Arc<Bot>, Arc<RecordingChat>) -> F,
) {
    runtime().block_on(async {
        bot.attach_chat(chat.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn({
            let bot = bot.clone();
            async move {
                bot.deliver_alerts(async {
                    let _ = stopped.await;
                })
                .await
            }
        });
        scenario(bot, chat).await;
        let _ = stop.send(());
        worker.await.unwrap();
    });
}

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
    let cases: [(&str, Pairs, &str); 2] = [
        (
            "dbops",
            &[("alertname", "ReplicationLag"), ("severity", "warning")],
            "!dba:db.example",
        ),
        (
            "cicd",
            &[("alertname", "BuildBroken"), ("source", "ci")],
            "!builds:ci.example",
        ),
    ];
    for (pack, group, room) in cases {
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
        "priya backup orders",
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

#[test]
fn a_mute_holds_new_alert_messages_until_it_is_lifted_on_two_packs() {
    // (pack, room, who, labels, muted instance, target said)
    let cases: [(&str, &str, &str, Pairs, &str); 2] = [
        (
            "dbops",
            "!dba:db.example",
            "priya",
            &[("alertname", "ReplicationLag"), ("severity", "warning")],
            "pg-1",
        ),
        (
            "cicd",
            "!builds:ci.example",
            "kim",
            &[("alertname", "BuildBroken"), ("source", "ci")],
            "runner-1",
        ),
    ];
    for (pack, room, user, labels, target) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(pack, state.path()));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            let said = say(&bot, room, user, &format!("mute {target} for 2 hours")).await;
            assert!(
                said[0].starts_with(&format!(
                    "Muted new alert messages about {target} in this room until "
                )),
                "{pack}: {said:?}"
            );
            let group_of = |job: &str, instance: &str, firing: bool| {
                let mut group = labels.to_vec();
                group.push(("job", job));
                notification(&group, &[(instance, firing)])
            };
            bot.accept_alerts(&group_of("a", &format!("{target}:9100"), true))
                .await
                .unwrap();
            bot.accept_alerts(&group_of("b", "other-host:9100", true))
                .await
                .unwrap();
            until("the unmuted group posted", || chat.sent().len() == 1).await;
            assert!(
                chat.sent()[0].2.contains("other-host"),
                "{pack}: the muted group is held: {:?}",
                chat.sent()
            );
            // Fired and resolved while muted: never posted.
            bot.accept_alerts(&group_of("c", &format!("{target}:9100"), true))
                .await
                .unwrap();
            bot.accept_alerts(&group_of("c", &format!("{target}:9100"), false))
                .await
                .unwrap();
            let listed = say(&bot, room, user, "what is muted").await;
            assert!(
                listed[0].contains(&format!("• {target} until ")),
                "{pack}: {listed:?}"
            );
            let elsewhere = say(&bot, "!elsewhere", user, "what is muted").await;
            assert_eq!(elsewhere, ["No alerts are muted in this room."], "{pack}");
            let lifted = say(&bot, room, user, &format!("unmute {target}")).await;
            assert!(
                lifted[0].starts_with(&format!("Unmuted {target}")),
                "{pack}: {lifted:?}"
            );
            until("the held group posted", || chat.sent().len() == 2).await;
            assert!(
                chat.sent()[1].2.contains(target),
                "{pack}: {:?}",
                chat.sent()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                chat.sent().len(),
                2,
                "{pack}: what came and went while muted stays unposted"
            );
            let again = say(&bot, room, user, &format!("unmute {target}")).await;
            assert_eq!(
                again,
                [format!("Nothing about {target} is muted in this room.")],
                "{pack}"
            );
            let refused = say(&bot, room, user, &format!("mute {target} for 30 days")).await;
            assert!(
                refused[0]
                    .starts_with("I did not mute anything: a mute lasts from 1 minute to 7 days"),
                "{pack}: {refused:?}"
            );
            let audited: Vec<String> = bot
                .store()
                .audit_oldest_first()
                .map(|r| r.unwrap().dialog)
                .collect();
            assert_eq!(audited, ["mute_alerts", "unmute_alerts"], "{pack}");
            let kinds: Vec<crate::alerts::AlertEventKind> = bot
                .store()
                .alert_events(None)
                .unwrap()
                .into_iter()
                .filter(|e| e.group.is_empty())
                .map(|e| e.kind)
                .collect();
            assert_eq!(
                kinds,
                [
                    crate::alerts::AlertEventKind::Muted,
                    crate::alerts::AlertEventKind::Unmuted
                ],
                "{pack}"
            );
        });
    }
}

/// (pack, route index, room, group labels)
const NOISY: [(&str, usize, &str, Pairs); 2] = [
    (
        "dbops",
        0,
        "!dba:db.example",
        &[("alertname", "ReplicationLag"), ("severity", "warning")],
    ),
    (
        "cicd",
        1,
        "!builds:ci.example",
        &[("alertname", "BuildBroken"), ("source", "ci")],
    ),
];

/// The group `job` of `labels`, one alert on `instance`.
fn job_group(labels: Pairs, job: &str, firing: bool) -> Notification {
    let mut group = labels.to_vec();
    group.push(("job", job));
    notification(&group, &[(&format!("{job}:1"), firing)])
}

#[test]
fn groups_over_a_routes_rate_limit_share_one_digest_message_on_two_packs() {
    for (pack, route, room, labels) in NOISY {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot_changed(pack, state.path(), MemoryStore::new(), |p| {
            p.settings.alerts.as_mut().unwrap().routes[route].rate_limit =
                Some(opsbot_spec::RouteRateLimit {
                    messages: 3,
                    per: Duration::from_secs(3600),
                });
        }));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            for i in 0..8 {
                bot.accept_alerts(&job_group(labels, &format!("job{i}"), true))
                    .await
                    .unwrap();
            }
            until("three messages and a digest of five", || {
                chat.shown()
                    .get(room)
                    .is_some_and(|texts| texts.len() == 4 && texts[3].contains("(5 alert groups)"))
            })
            .await;
            let texts = &chat.shown()[room];
            assert!(
                texts[..3].iter().all(|t| t.starts_with("🔥 FIRING")),
                "{pack}: {texts:?}"
            );
            assert!(
                texts[3].starts_with("📋 More alerts for route "),
                "{pack}: {}",
                texts[3]
            );
            assert_eq!(
                texts[3].lines().count(),
                6,
                "{pack}: title and five members: {}",
                texts[3]
            );
            // A member resolving edits the digest, not a message of its own.
            bot.accept_alerts(&job_group(labels, "job7", false))
                .await
                .unwrap();
            until("the digest shows the resolution", || {
                chat.shown()[room][3].contains("✅ RESOLVED")
            })
            .await;
            assert_eq!(chat.sent().len(), 4, "{pack}: no new message");
        });
    }
}

#[test]
fn quiet_hours_hold_all_but_critical_alerts_for_a_digest_at_their_end_on_two_packs() {
    for (pack, _, room, labels) in NOISY {
        let state = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now();
        let clock = |t: chrono::DateTime<chrono::Utc>| t.time().with_nanosecond(0).unwrap();
        let bot = Arc::new(bot_changed(pack, state.path(), MemoryStore::new(), |p| {
            p.settings.alerts.as_mut().unwrap().quiet_hours = vec![opsbot_spec::QuietHours {
                rooms: vec![room.to_string()],
                from: clock(now - chrono::Duration::hours(1)),
                to: clock(now + chrono::Duration::hours(1)),
            }];
        }));
        with_worker(bot, RecordingChat::new(true), |bot, chat| async move {
            bot.accept_alerts(&job_group(labels, "quiet", true))
                .await
                .unwrap();
            let mut critical = labels.to_vec();
            critical.retain(|(k, _)| *k != "severity");
            critical.push(("severity", "critical"));
            critical.push(("job", "loud"));
            bot.accept_alerts(&notification(&critical, &[("loud:1", true)]))
                .await
                .unwrap();
            let here = || -> Vec<String> {
                chat.sent()
                    .into_iter()
                    .filter(|(r, _, _)| r == room)
                    .map(|(_, _, t)| t)
                    .collect()
            };
            until("the critical alert posted", || here().len() == 1).await;
            assert!(
                here()[0].contains("severity: critical"),
                "{pack}: {:?}",
                here()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                here().len(),
                1,
                "{pack}: the rest waits for the end of quiet hours"
            );
            bot.advance_clock(Duration::from_secs(2 * 3600));
            until("the quiet-hours digest posted", || here().len() == 2).await;
            let digest = &here()[1];
            assert!(
                digest.starts_with("🌙 Held during quiet hours, until "),
                "{pack}: {digest}"
            );
            assert!(
                digest.contains("(1 alert groups)") && digest.contains("quiet"),
                "{pack}: {digest}"
            );
        });
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
