//! The ingress on both packs: a door that does not order anything itself
//! still gets each conversation's messages handled in push order, and the
//! runtime, its store and the engine share one clock.

use super::*;

/// Replies of one message, recorded with the message's number.
struct Numbered {
    number: usize,
    heard: Arc<Mutex<Vec<usize>>>,
}

impl ReplySink for Numbered {
    fn say(&mut self, _text: String) -> Option<crate::ReplyId> {
        self.heard.lock().unwrap().push(self.number);
        None
    }
}

#[test]
fn a_door_that_does_not_order_still_gets_push_order_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = Arc::new(bot(name, state.path()));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            // Twenty pushes of one conversation, each from a task of its own
            // (the push order is fixed by handing a turn from task to task),
            // alternating a request and "no" so every message is answered.
            let (mut senders, mut receivers): (Vec<_>, Vec<_>) = (0..=20)
                .map(|_| tokio::sync::oneshot::channel::<()>())
                .unzip();
            let start = senders.remove(0);
            let mut tasks = Vec::new();
            for (number, (mine, next)) in receivers.drain(..20).zip(senders).enumerate() {
                let (bot, heard, key) = (bot.clone(), heard.clone(), key.clone());
                let text = if number % 2 == 0 { request } else { "no" };
                tasks.push(tokio::spawn(async move {
                    mine.await.unwrap();
                    let sink = Numbered { number, heard };
                    bot.ingress().push(Envelope::new(key, text), Box::new(sink));
                    let _ = next.send(());
                }));
            }
            start.send(()).unwrap();
            for task in tasks {
                task.await.unwrap();
            }
            // Wait until every message was answered.
            for _ in 0..600 {
                if heard
                    .lock()
                    .unwrap()
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
                    == 20
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let heard = heard.lock().unwrap().clone();
        let mut order = heard.clone();
        order.dedup();
        assert_eq!(order, (0..20).collect::<Vec<_>>(), "{name}: {heard:?}");
        assert!(
            runs(state.path()).is_empty(),
            "{name}: every request was declined"
        );
    }
}

#[test]
fn the_rate_limit_window_runs_on_the_bot_clock_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot_changed(name, state.path(), MemoryStore::new(), |project| {
            project.settings.rate_limit.executions = 2;
            project.settings.rate_limit.per = Duration::from_secs(3600);
        });
        // Pinned three days back: every time the runtime keeps (the
        // executions counted for the limit among them) is on this clock.
        bot.set_clock(chrono::Utc::now() - chrono::Duration::days(3));
        runtime().block_on(async {
            for _ in 0..2 {
                say(&bot, "room", user, request).await;
                say(&bot, "room", user, "yes").await;
            }
            say(&bot, "room", user, request).await;
            let held = say(&bot, "room", user, "yes").await;
            assert!(
                held.iter().any(|r| r.contains("please wait")),
                "{name}: the limit holds within the window: {held:?}"
            );
            say(&bot, "room", user, "no").await;
            bot.advance_clock(Duration::from_secs(2 * 3600));
            say(&bot, "room", user, request).await;
            let ran = say(&bot, "room", user, "yes").await;
            assert!(
                !ran.iter().any(|r| r.contains("please wait")),
                "{name}: two hours later on the same clock the window is over: {ran:?}"
            );
        });
        assert_eq!(runs(state.path()).len(), 3, "{name}");
    }
}
