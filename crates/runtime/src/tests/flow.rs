//! A request's whole way on both packs: confirmed and run once, redelivered
//! or stale messages not acted on, an action left running resolved once,
//! approvals by another person, conversations side by side.

use super::*;

#[test]
fn a_confirmed_request_runs_once_and_is_audited_on_two_packs() {
    for &(name, user, request, value, ran) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        runtime().block_on(async {
            let asked = say(&bot, "room", user, request).await;
            assert_eq!(asked.len(), 1, "{name}: {asked:?}");
            assert!(
                asked[0].contains(value),
                "{name}: confirmation names {value}: {asked:?}"
            );
            assert!(
                runs(state.path()).is_empty(),
                "{name}: nothing runs before yes"
            );
            let done = say(&bot, "room", user, "yes").await;
            assert!(!done.is_empty(), "{name}");
            assert!(
                done.last().unwrap().contains(value),
                "{name}: result names {value}: {done:?}"
            );
        });
        assert_eq!(runs(state.path()), [format!("{user} {ran}")], "{name}");
        let store = bot.store();
        let records: Vec<_> = store.audit_oldest_first().map(Result::unwrap).collect();
        let executed = records
            .iter()
            .find(|r| r.outcome == AuditOutcome::Succeeded)
            .unwrap_or_else(|| panic!("{name}: an executed record in {records:?}"));
        assert_eq!(
            (executed.user.as_str(), executed.room.as_str()),
            (user, "room")
        );
        assert!(store.verify_audit().unwrap().problems.is_empty(), "{name}");
        assert_eq!(
            store
                .load(&ConversationKey::new("room", user))
                .unwrap()
                .phase,
            Phase::Idle,
            "{name}"
        );
    }
}

#[test]
fn a_redelivered_or_stale_message_is_not_acted_on_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            let mut replies = Vec::new();
            let envelope = |id: &str, text: &str, sent_at| Envelope {
                message_id: Some(id.to_string()),
                sent_at,
                ..Envelope::new(key.clone(), text)
            };
            {
                let mut sink = |r: String| replies.push(r);
                assert!(bot.receive(&envelope("$1", request, None), &mut sink).await);
                assert!(
                    !bot.receive(&envelope("$1", request, None), &mut sink).await,
                    "{name}: a redelivery is ignored"
                );
                // Older than the default `max_message_age` (1h).
                let old = Some(bot.now() - chrono::Duration::minutes(90));
                assert!(!bot.receive(&envelope("$2", "yes", old), &mut sink).await);
            }
            assert_eq!(replies.len(), 2, "{name}: {replies:?}");
            assert!(replies[1].contains("offline"), "{name}: {replies:?}");
        });
        assert!(
            runs(state.path()).is_empty(),
            "{name}: the stale yes ran nothing"
        );
        assert!(matches!(
            bot.store().load(&key).unwrap().phase,
            Phase::AwaitingConfirmation { .. }
        ));
    }
}

#[test]
fn an_action_left_running_is_audited_and_told_once_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let key = ConversationKey::new("room", user);
        // A dead process left the conversation executing, the program started.
        let request_id = runtime().block_on(async {
            say(&bot, "room", user, request).await;
            let Phase::AwaitingConfirmation { request } = bot.store().load(&key).unwrap().phase
            else {
                panic!("{name}: waits for a yes");
            };
            let executing = Conversation {
                phase: Phase::Executing {
                    request: request.clone(),
                },
                ..Conversation::default()
            };
            let store = bot.store();
            let now = chrono::Utc::now();
            store.commit(&key, &executing, Commit::at(now)).unwrap();
            store.mark_started(&request.id, now).unwrap();
            request.id
        });
        let (resolved, first, second) = runtime().block_on(async {
            let resolved = bot.start_adapter().await.unwrap();
            (
                resolved,
                say(&bot, "room", user, "hello").await,
                say(&bot, "room", user, "hello").await,
            )
        });
        assert_eq!(resolved, std::slice::from_ref(&key), "{name}");
        let told = |replies: &[String]| replies.iter().any(|r| r.contains("lost track"));
        assert!(told(&first), "{name}: told at the next message: {first:?}");
        assert!(!told(&second), "{name}: told once: {second:?}");
        assert!(runs(state.path()).is_empty(), "{name}: never re-run");
        let unknown = bot
            .store()
            .audit_oldest_first()
            .map(Result::unwrap)
            .filter(|r| r.outcome == AuditOutcome::OutcomeUnknown && r.request_id == request_id)
            .count();
        assert_eq!(unknown, 1, "{name}: audited once as outcome unknown");
    }
}

/// Says `request` and "yes" as `requester` in "room"; returns the short id
/// of the request now awaiting approval.
pub(super) async fn request_approval(bot: &Bot, requester: &str, request: &str) -> String {
    say(bot, "room", requester, request).await;
    say(bot, "room", requester, "yes").await;
    let key = ConversationKey::new("room", requester);
    let Phase::AwaitingApproval { request } = bot.store().load(&key).unwrap().phase else {
        panic!("{request}: waits for approval");
    };
    request.short_id().to_string()
}

#[test]
fn a_request_needing_approval_runs_only_after_another_person_approves() {
    // (pack, requester, approver, request, what runs)
    let cases = [
        (
            "dbops",
            "priya",
            "omar",
            "fail over pg-main",
            "priya failover pg-main",
        ),
        (
            "cicd",
            "kim",
            "raj",
            "promote frontend to prod",
            "kim promote frontend prod",
        ),
    ];
    for (name, requester, approver, request, ran) in cases {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        runtime().block_on(async {
            let code = &request_approval(&bot, requester, request).await;
            let own = say(&bot, "room", requester, &format!("approve {code}")).await;
            assert!(own[0].contains("your own request"), "{name}: {own:?}");
            assert!(runs(state.path()).is_empty(), "{name}");
            say(&bot, "room", approver, &format!("approve {code}")).await;
        });
        assert_eq!(runs(state.path()), [ran], "{name}");
        let approved = bot
            .store()
            .audit_oldest_first()
            .map(Result::unwrap)
            .find(|r| r.outcome == AuditOutcome::Succeeded)
            .expect("executed");
        assert_eq!(approved.approved_by.as_deref(), Some(approver), "{name}");
    }
}

#[test]
fn conversations_run_concurrently_without_cross_talk() {
    let state = tempfile::tempdir().unwrap();
    let bot = Arc::new(bot("cicd", state.path()));
    let users: [&'static str; 3] = ["kim", "raj", "sam"];
    let pipelines = ["frontend", "backend", "mobile"];
    let heard = Arc::new(Mutex::new(Vec::new()));
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for (user, pipeline) in users.into_iter().zip(pipelines) {
            let (bot, heard) = (bot.clone(), heard.clone());
            tasks.push(tokio::spawn(async move {
                for text in [format!("rerun the {pipeline} pipeline"), "yes".into()] {
                    for reply in say(&bot, "room", user, &text).await {
                        heard
                            .lock()
                            .unwrap()
                            .push((user.to_string(), pipeline, reply));
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    for (user, pipeline, reply) in heard.lock().unwrap().iter() {
        for other in pipelines.iter().filter(|p| *p != pipeline) {
            assert!(
                !reply.contains(other),
                "{user} heard about {other}: {reply}"
            );
        }
    }
    let mut ran = runs(state.path());
    ran.sort();
    assert_eq!(
        ran,
        [
            "kim rerun frontend",
            "raj rerun backend",
            "sam rerun mobile"
        ]
    );
}
