//! Requests for later on both test packs, on a manual clock and the sled
//! store: confirmed with their time, kept across a restart, run once when
//! due, checked again as of then, listed and cancelled in the room.

use super::*;

/// The pack's changes made schedulable, as an author says with
/// `schedulable: true`.
fn schedulable(project: &mut opsbot_spec::Project) {
    for dialog in project.dialogs.values_mut() {
        dialog.schedulable = !dialog.read_only;
    }
}

fn sled_bot(name: &str, state: &Path) -> Bot {
    let store = crate::SledStore::open(&state.join("opsbot.db")).unwrap();
    bot_changed(name, state, store, schedulable)
}

fn memory_bot(name: &str, state: &Path) -> Bot {
    bot_changed(name, state, MemoryStore::new(), schedulable)
}

fn nine_am() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn a_change_for_later_runs_once_at_its_time_even_across_a_restart_on_two_packs() {
    for &(name, user, request, value, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = sled_bot(name, state.path());
        bot.set_clock(nine_am());
        runtime().block_on(async {
            let asked = say(&bot, "room", user, &format!("{request} in 3 hours")).await;
            let said = asked.join(" ");
            assert!(
                said.starts_with("“in 3 hours” is ")
                    && said.contains("Shall I go ahead and schedule it for then?")
                    && said.contains(value),
                "{name}: {asked:?}"
            );
            let scheduled = say(&bot, "room", user, "yes").await;
            assert!(
                scheduled[0].starts_with("Scheduled for "),
                "{name}: {scheduled:?}"
            );
            // Nothing runs before its time.
            bot.advance_clock(std::time::Duration::from_secs(2 * 3600));
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}");
        });
        assert!(runs(state.path()).is_empty(), "{name}: ran early");
        assert_eq!(bot.store().jobs().unwrap().len(), 1, "{name}");
        // A restart keeps it: the new process reads it from the store.
        drop(bot);
        let bot = sled_bot(name, state.path());
        bot.set_clock(nine_am() + chrono::Duration::minutes(181));
        runtime().block_on(async {
            let fired = bot.fire_due().await.unwrap();
            let texts: Vec<&str> = fired.iter().map(|m| m.text.as_str()).collect();
            assert!(
                texts[0].starts_with(&format!("Starting what {user} scheduled for")),
                "{name}: {texts:?}"
            );
            assert!(fired
                .iter()
                .all(|m| m.mention.as_deref() == Some(user) && m.room == "room"));
            // Exactly once: a second look finds nothing due.
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}");
        });
        assert_eq!(
            runs(state.path()).len(),
            1,
            "{name}: {:?}",
            runs(state.path())
        );
        assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
        let outcomes: Vec<String> = bot
            .store()
            .audit_oldest_first()
            .map(|r| r.unwrap().outcome.as_str().to_string())
            .collect();
        assert_eq!(outcomes, ["scheduled", "succeeded"], "{name}");
    }
}

#[test]
fn a_change_missed_while_the_bot_was_down_is_told_not_run_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = memory_bot(name, state.path());
        bot.set_clock(nine_am());
        runtime().block_on(async {
            say(&bot, "room", user, &format!("{request} in 1 hour")).await;
            say(&bot, "room", user, "yes").await;
            bot.advance_clock(std::time::Duration::from_secs(3 * 3600));
            let fired = bot.fire_due().await.unwrap();
            assert!(
                fired[0].text.starts_with("I was not running at"),
                "{name}: {fired:?}"
            );
        });
        assert!(runs(state.path()).is_empty(), "{name}");
        assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn only_its_requester_or_an_admin_cancels_a_scheduled_request() {
    let (name, user, request, _, _) = REQUESTS[0];
    let state = tempfile::tempdir().unwrap();
    let bot = memory_bot(name, state.path());
    bot.set_clock(nine_am());
    runtime().block_on(async {
        say(&bot, "room", user, &format!("{request} in 3 hours")).await;
        say(&bot, "room", user, "yes").await;
        let listed = say(&bot, "room", "stranger", "what is scheduled?").await;
        assert!(
            listed[0].contains(&format!("asked by {user}")),
            "{listed:?}"
        );
        let id = bot.store().jobs().unwrap()[0].short_id().to_string();
        let refused = say(&bot, "room", "stranger", &format!("cancel {id}")).await;
        assert!(
            refused[0].starts_with(&format!("Only {user}, who asked for it")),
            "{refused:?}"
        );
        assert_eq!(bot.store().jobs().unwrap().len(), 1);
        let cancelled = say(&bot, "room", user, &format!("cancel {id}")).await;
        assert!(cancelled[0].starts_with("Cancelled:"), "{cancelled:?}");
        assert!(bot.store().jobs().unwrap().is_empty());
        bot.advance_clock(std::time::Duration::from_secs(4 * 3600));
        assert!(bot.fire_due().await.unwrap().is_empty());
    });
    assert!(runs(state.path()).is_empty());
}

/// Access is checked again when the request is due: a person removed from
/// the group in between is refused and told.
#[test]
fn access_is_checked_again_when_a_request_is_due() {
    let (name, user, request, _, _) = REQUESTS[0];
    let state = tempfile::tempdir().unwrap();
    let db = state.path().join("opsbot.db");
    let bot = bot_changed(
        name,
        state.path(),
        crate::SledStore::open(&db).unwrap(),
        schedulable,
    );
    bot.set_clock(nine_am());
    runtime().block_on(async {
        say(&bot, "room", user, &format!("{request} in 3 hours")).await;
        say(&bot, "room", user, "yes").await;
    });
    drop(bot);
    // The author takes the person out of every group before it is due.
    let bot = bot_changed(
        name,
        state.path(),
        crate::SledStore::open(&db).unwrap(),
        |project| {
            schedulable(project);
            for members in project.settings.groups.values_mut() {
                members.retain(|m| m != user);
            }
        },
    );
    bot.set_clock(nine_am() + chrono::Duration::minutes(181));
    runtime().block_on(async {
        let fired = bot.fire_due().await.unwrap();
        assert!(
            fired[0].text.contains("did not run") && fired[0].text.contains("may no longer"),
            "{fired:?}"
        );
    });
    assert!(runs(state.path()).is_empty());
}

/// "cancel the 13:00 backup": by its time in the speaker's zone (Berlin for
/// dbops, New York for cicd) and a word of what it does.
#[test]
fn a_scheduled_request_is_cancelled_by_its_time_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = memory_bot(name, state.path());
        bot.set_clock(nine_am());
        runtime().block_on(async {
            say(&bot, "room", user, &format!("{request} in 3 hours")).await;
            say(&bot, "room", user, "yes").await;
            let job = bot.store().jobs().unwrap().remove(0);
            let zone = bot.loaded().project.settings.zone_of(user);
            let time = job
                .due_at()
                .with_timezone(&zone)
                .format("%H:%M")
                .to_string();
            let word = job
                .request()
                .unwrap()
                .intent
                .split('_')
                .next()
                .unwrap()
                .to_string();
            let other = say(&bot, "room", user, &format!("cancel the {time} nonsense")).await;
            assert!(
                other[0].starts_with("Nothing scheduled in this room is at"),
                "{name}: {other:?}"
            );
            let cancelled = say(&bot, "room", user, &format!("cancel the {time} {word}")).await;
            assert!(
                cancelled[0].starts_with("Cancelled:"),
                "{name}: {cancelled:?}"
            );
            assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
        });
    }
}

/// `missed: run` and `missed: ask` across a restart, on both packs: the bot
/// is down at the time; when it is back, the request runs late saying so,
/// or its requester is asked and it runs on their yes.
#[test]
fn a_missed_request_follows_its_dialogs_policy_across_a_restart_on_two_packs() {
    for missed in [opsbot_spec::Missed::Run, opsbot_spec::Missed::Ask] {
        for &(name, user, request, _, _) in REQUESTS {
            let state = tempfile::tempdir().unwrap();
            let db = state.path().join("opsbot.db");
            let policy = |project: &mut opsbot_spec::Project| {
                schedulable(project);
                for dialog in project.dialogs.values_mut() {
                    dialog.when_due.missed = missed;
                }
            };
            let bot = bot_changed(
                name,
                state.path(),
                crate::SledStore::open(&db).unwrap(),
                policy,
            );
            bot.set_clock(nine_am());
            runtime().block_on(async {
                say(&bot, "room", user, &format!("{request} in 3 hours")).await;
                say(&bot, "room", user, "yes").await;
            });
            drop(bot);
            // Back an hour after its time.
            let bot = bot_changed(
                name,
                state.path(),
                crate::SledStore::open(&db).unwrap(),
                policy,
            );
            bot.set_clock(nine_am() + chrono::Duration::minutes(240));
            runtime().block_on(async {
                let fired = bot.fire_due().await.unwrap();
                let said: Vec<&str> = fired.iter().map(|m| m.text.as_str()).collect();
                assert!(
                    said[0].starts_with("I was not running at"),
                    "{name} {missed:?}: {said:?}"
                );
                if missed == opsbot_spec::Missed::Ask {
                    assert!(
                        said[0].ends_with("Shall I run it now? (yes/no)"),
                        "{name}: {said:?}"
                    );
                    assert!(runs(state.path()).is_empty(), "{name}: not before the yes");
                    say(&bot, "room", user, "yes").await;
                } else {
                    assert!(said[0].contains("late"), "{name}: {said:?}");
                }
                assert!(bot.fire_due().await.unwrap().is_empty(), "{name}: once");
            });
            // The action ran once (record.sh writes one line per run).
            let mut waited = 0;
            while runs(state.path()).is_empty() && waited < 50 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                waited += 1;
            }
            assert_eq!(runs(state.path()).len(), 1, "{name} {missed:?}");
        }
    }
}

/// An operator at the machine (`opsbot schedule cancel`) cancels a scheduled
/// request by its id (any case), in its requester's worker, audited with who
/// did it; the requester's conversation (here: waiting for a yes) is left as
/// it was, and nothing runs at the time.
#[test]
fn an_operator_cancels_a_scheduled_request_audited_on_two_packs() {
    use crate::command::schedule::with_id;
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = memory_bot(name, state.path());
        bot.set_clock(nine_am());
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            say(&bot, "room", user, &format!("{request} in 3 hours")).await;
            say(&bot, "room", user, "yes").await;
            let asked = say(&bot, "room", user, request).await;
            assert!(bot.awaits_answer(&key), "{name}: {asked:?}");
            let jobs = bot.store().jobs().unwrap();
            let prefix = jobs[0].short_id().to_ascii_uppercase();
            let found = with_id(&jobs, &prefix);
            assert_eq!(found.len(), 1, "{name}");
            let id = found[0].id().to_string();
            let records = bot.store().audit_newest_first().count();

            let cancelled = bot.cancel_scheduled(&id, "cli:operator").await.unwrap();
            assert_eq!(
                cancelled.map(|j| j.id().to_string()),
                Some(id.clone()),
                "{name}"
            );
            assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
            let newest = bot.store().audit_newest_first().next().unwrap().unwrap();
            assert_eq!(newest.outcome, AuditOutcome::Cancelled, "{name}");
            assert_eq!(newest.user, user, "{name}");
            assert_eq!(
                newest.reason.as_deref(),
                Some("cancelled by cli:operator before its time"),
                "{name}"
            );
            assert!(
                bot.awaits_answer(&key),
                "{name}: the requester's question was dropped"
            );

            // Gone: a second cancel finds nothing and writes nothing.
            assert!(bot
                .cancel_scheduled(&id, "cli:operator")
                .await
                .unwrap()
                .is_none());
            assert_eq!(
                bot.store().audit_newest_first().count(),
                records + 1,
                "{name}"
            );
            say(&bot, "room", user, "no").await;
            bot.advance_clock(std::time::Duration::from_secs(4 * 3600));
            assert!(bot.fire_due().await.unwrap().is_empty(), "{name}");
        });
        assert!(
            runs(state.path()).is_empty(),
            "{name}: ran after its cancel"
        );
    }
}

/// A chat port that notes, with each message, how many actions had run
/// (lines in the pack's runs.tsv) when it was sent.
struct CountingChat {
    state: PathBuf,
    sent: Mutex<Vec<(String, usize)>>,
}

impl crate::chat::Chat for CountingChat {
    fn send(
        &self,
        message: crate::chat::Outbound,
    ) -> crate::chat::ChatFuture<'_, Option<crate::chat::MessageHandle>> {
        Box::pin(async move {
            let ran = runs(&self.state).len();
            let mut sent = self.sent.lock().unwrap();
            sent.push((message.text, ran));
            Some(crate::chat::MessageHandle {
                room: message.room,
                id: format!("${}", sent.len()),
            })
        })
    }

    fn edit<'a>(
        &'a self,
        _: &'a crate::chat::MessageHandle,
        _: String,
    ) -> crate::chat::ChatFuture<'a, bool> {
        Box::pin(async { false })
    }
}

/// Two requests due at once: the first one's result reaches its room before
/// the second one runs. (The scheduler used to send what every due job said
/// only after all of them had run; the first job is forgotten when it runs,
/// so a crash while the second ran left its requester never told.)
#[test]
fn the_scheduler_says_each_result_before_the_next_due_request_runs_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = memory_bot(name, state.path());
        bot.set_clock(nine_am());
        let chat = Arc::new(CountingChat {
            state: state.path().to_path_buf(),
            sent: Mutex::default(),
        });
        runtime().block_on(async {
            for room in ["room-a", "room-b"] {
                say(&bot, room, user, &format!("{request} in 3 hours")).await;
                let scheduled = say(&bot, room, user, "yes").await;
                assert!(
                    scheduled[0].starts_with("Scheduled for "),
                    "{name}: {scheduled:?}"
                );
            }
            bot.advance_clock(std::time::Duration::from_secs(3 * 3600 + 60));
            bot.attach_chat(chat.clone());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let watch = async {
                super::alert_port::until("both said all they say", || {
                    let sent = chat.sent.lock().unwrap();
                    second_start(&sent).is_some_and(|k| sent.len() >= 2 * k)
                })
                .await;
                let _ = stop.send(());
            };
            tokio::join!(
                bot.run_schedule(async {
                    let _ = stopped.await;
                }),
                watch
            );
        });
        let sent = chat.sent.lock().unwrap().clone();
        let k = second_start(&sent).unwrap();
        assert_eq!(sent.len(), 2 * k, "{name}: {sent:?}");
        assert!(
            sent[0]
                .0
                .starts_with(&format!("Starting what {user} scheduled for")),
            "{name}: {sent:?}"
        );
        // The first request's messages, its result last, all went out
        // before the second request ran.
        assert!(
            sent[..k].iter().all(|(_, ran)| *ran <= 1) && sent[k - 1].1 == 1,
            "{name}: the first request's messages waited for the second run: {sent:?}"
        );
        assert_eq!(runs(state.path()).len(), 2, "{name}: each ran once");
        assert!(bot.store().jobs().unwrap().is_empty(), "{name}");
    }
}

/// Where the second request's "Starting what … scheduled" is among `sent`.
fn second_start(sent: &[(String, usize)]) -> Option<usize> {
    sent.iter()
        .enumerate()
        .filter(|(_, (text, _))| text.starts_with("Starting what"))
        .nth(1)
        .map(|(i, _)| i)
}

/// A request scheduled in `room` for `user`, due now on `bot`'s clock.
async fn due_now(bot: &Bot, room: &str, user: &str, request: &str) {
    bot.set_clock(nine_am());
    say(bot, room, user, &format!("{request} in 3 hours")).await;
    let scheduled = say(bot, room, user, "yes").await;
    assert!(scheduled[0].starts_with("Scheduled for "), "{scheduled:?}");
    bot.advance_clock(std::time::Duration::from_secs(3 * 3600 + 60));
}

/// What a due request says while the port cannot send (a door just started
/// that does not know the room yet) is sent when it can, in order — not
/// dropped, as it was: the job is forgotten when it fires.
#[test]
fn what_a_due_request_says_waits_for_a_port_that_cannot_send_yet() {
    let (name, user, request, _, _) = REQUESTS[0];
    let state = tempfile::tempdir().unwrap();
    let bot = memory_bot(name, state.path());
    let chat = super::alert_port::RecordingChat::new(false);
    runtime().block_on(async {
        due_now(&bot, "room", user, request).await;
        bot.attach_chat(chat.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let watch = async {
            super::alert_port::until("it ran", || runs(state.path()).len() == 1).await;
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            assert!(chat.sent().is_empty(), "the port was down");
            chat.up.store(true, std::sync::atomic::Ordering::SeqCst);
            super::alert_port::until("the result said", || chat.sent().len() >= 3).await;
            let _ = stop.send(());
        };
        tokio::join!(
            bot.run_schedule(async {
                let _ = stopped.await;
            }),
            watch
        );
    });
    let texts: Vec<String> = chat.sent().into_iter().map(|(_, _, text)| text).collect();
    assert!(
        texts[0].starts_with(&format!("Starting what {user} scheduled")),
        "{texts:?}"
    );
    assert_eq!(texts.last().unwrap(), "orders is backed up.", "{texts:?}");
    assert_eq!(runs(state.path()).len(), 1);
}

/// A port that never sends: what the due request said is kept for its
/// requester and said first when they next write.
#[test]
fn what_a_due_request_says_is_owed_when_the_port_never_sends() {
    let (name, user, request, _, _) = REQUESTS[0];
    let state = tempfile::tempdir().unwrap();
    let bot = memory_bot(name, state.path());
    let chat = super::alert_port::RecordingChat::new(false);
    let key = ConversationKey::new("room", user);
    runtime().block_on(async {
        due_now(&bot, "room", user, request).await;
        bot.attach_chat(chat.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let watch = async {
            super::alert_port::until("owed", || bot.store().notices_of(&key).unwrap().len() >= 3)
                .await;
            let _ = stop.send(());
        };
        tokio::join!(
            bot.run_schedule(async {
                let _ = stopped.await;
            }),
            watch
        );
        let next = say(&bot, "room", user, "hello").await;
        assert!(
            next[0].starts_with(&format!("Starting what {user} scheduled")),
            "{next:?}"
        );
        assert_eq!(next[2], "orders is backed up.", "{next:?}");
    });
    assert!(bot.store().notices_of(&key).unwrap().is_empty());
    assert_eq!(runs(state.path()).len(), 1);
}
