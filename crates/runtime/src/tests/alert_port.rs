//! What the alert tests share: a chat port that records what it is asked to
//! do (and can play a homeserver that is away), notifications made from
//! label pairs, and a runner with the delivery worker going.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::alerts::{Alert, AlertStatus, Notification};
use crate::chat::{Chat, ChatFuture, MessageHandle, Outbound};

/// A chat port that records what it was asked to do; `up: false` is a
/// homeserver that refuses everything.
#[derive(Default)]
pub(super) struct RecordingChat {
    pub(super) up: AtomicBool,
    /// (room, message id, text) per message sent.
    pub(super) sent: Mutex<Vec<(String, String, String)>>,
    /// (message id, text) per edit.
    pub(super) edits: Mutex<Vec<(String, String)>>,
    /// (room, who) per message that mentions someone.
    pub(super) mentions: Mutex<Vec<(String, String)>>,
    /// Each room left.
    pub(super) left: Mutex<Vec<String>>,
}

impl RecordingChat {
    pub(super) fn new(up: bool) -> Arc<RecordingChat> {
        let chat = RecordingChat::default();
        chat.up.store(up, Ordering::SeqCst);
        Arc::new(chat)
    }

    pub(super) fn sent(&self) -> Vec<(String, String, String)> {
        self.sent.lock().unwrap().clone()
    }

    pub(super) fn edits(&self) -> Vec<(String, String)> {
        self.edits.lock().unwrap().clone()
    }

    /// What each message shows now, by room: its latest edit or its text.
    pub(super) fn shown(&self) -> BTreeMap<String, Vec<String>> {
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

    fn leave<'a>(&'a self, room: &'a str) -> ChatFuture<'a, bool> {
        Box::pin(async move {
            if !self.up.load(Ordering::SeqCst) {
                return false;
            }
            self.left.lock().unwrap().push(room.to_string());
            true
        })
    }
}

/// Label pairs as a test writes them.
pub(super) type Pairs<'a> = &'a [(&'a str, &'a str)];

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A notification of `group` holding alerts on `instances`, each firing or not.
pub(super) fn notification(group: &[(&str, &str)], instances: &[(&str, bool)]) -> Notification {
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
pub(super) async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether every group's room shows its current text, as recorded in the store.
pub(super) fn settled(bot: &Bot) -> bool {
    bot.store()
        .alert_groups()
        .unwrap()
        .iter()
        .all(|g| !g.needs_delivery())
}

/// Runs `scenario` with the pack's bot, the chat attached and the delivery
/// worker running.
pub(super) fn with_worker<F: Future<Output = ()>>(
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

/// (pack, index of the route, its room, labels of a group that route takes):
/// one ordinary alert group for each test pack.
pub(super) const PACK_GROUPS: [(&str, usize, &str, Pairs); 2] = [
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
