//! Proposals from a door that can only propose: posted to the person's room,
//! run only after the person's yes there, never an answer or a command, never
//! beyond the proposer's scope or the person's access; their state read back.

use super::alert_port::RecordingChat;
use super::*;
use crate::proposal::{Asked, Proposal, Proposed, Refusal, RequestState, Scope};

fn changes() -> Scope {
    Scope {
        changes: true,
        reads: false,
        dialogs: None,
    }
}

fn proposal(user: &str, text: &str, scope: Scope) -> Proposal {
    Proposal {
        key: ConversationKey::new("ops", user),
        proposer: "ci-deploys".into(),
        asked: Asked::Words(text.into()),
        scope,
    }
}

fn refusal(proposed: &Proposed) -> Option<Refusal> {
    match proposed {
        Proposed::Refused { refusal, .. } => Some(*refusal),
        _ => None,
    }
}

/// (pack, a read-only request everybody may make, a change a member of no
/// group may not make)
const READS: &[(&str, &str, &str)] = &[
    (
        "dbops",
        "what is the replication lag on pg-main",
        "back up the orders database",
    ),
    (
        "cicd",
        "what is the status of frontend",
        "promote frontend to prod",
    ),
];

#[test]
fn a_proposal_runs_only_after_the_persons_yes_in_the_room_on_two_packs() {
    for &(name, user, request, _, ran) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let chat = RecordingChat::new(true);
        bot.attach_chat(chat.clone());
        let key = ConversationKey::new("ops", user);
        runtime().block_on(async {
            let proposed = bot
                .ingress()
                .propose(proposal(user, request, changes()))
                .await
                .unwrap();
            let Proposed::Posted {
                id,
                state: asked,
                said,
                ..
            } = proposed
            else {
                panic!("{name}: {proposed:?}");
            };
            assert_eq!(
                asked,
                RequestState::AwaitingConfirmation,
                "{name}: {said:?}"
            );
            assert!(
                runs(state.path()).is_empty(),
                "{name}: nothing runs on a proposal"
            );
            // The room sees who proposed what, then the bot's confirmation.
            let sent = chat.sent();
            assert_eq!(
                sent[0].2,
                format!("ci-deploys proposes for {user}: “{request}”"),
                "{name}"
            );
            assert_eq!(sent[1].2, said[0], "{name}");
            let status = bot.ingress().request_status(&key, &id).unwrap().unwrap();
            assert_eq!(status.state, RequestState::AwaitingConfirmation);

            let yes = say(&bot, "ops", user, "yes").await;
            assert!(!yes.is_empty(), "{name}");
            assert_eq!(runs(state.path()), [format!("{user} {ran}")], "{name}");
            let status = bot.ingress().request_status(&key, &id).unwrap().unwrap();
            assert_eq!(
                (status.state, status.outcome, status.confirmed_by.as_deref()),
                (
                    RequestState::Ended,
                    Some(crate::AuditOutcome::Succeeded),
                    Some(user)
                ),
                "{name}: {status:?}"
            );
            let record = bot
                .store()
                .audit_newest_first()
                .map(Result::unwrap)
                .find(|r| r.request_id == id)
                .unwrap();
            assert_eq!(record.proposed_by.as_deref(), Some("ci-deploys"));
            assert_eq!(record.confirmed_by.as_deref(), Some(user));

            // A "no" in the room declines it: ended, cancelled, confirmed by nobody.
            let Proposed::Posted { id, .. } = bot
                .ingress()
                .propose(proposal(user, request, changes()))
                .await
                .unwrap()
            else {
                panic!("{name}: the second proposal was not posted");
            };
            say(&bot, "ops", user, "no").await;
            let status = bot.ingress().request_status(&key, &id).unwrap().unwrap();
            assert_eq!(
                (status.state, status.outcome, status.confirmed_by),
                (
                    RequestState::Ended,
                    Some(crate::AuditOutcome::Cancelled),
                    None
                ),
                "{name}"
            );
            assert_eq!(
                runs(state.path()).len(),
                1,
                "{name}: the declined one never ran"
            );
            // Another person's request is not found under this one.
            let other = ConversationKey::new("ops", "someone-else");
            assert!(bot.ingress().request_status(&other, &id).unwrap().is_none());
        });
    }
}

#[test]
fn a_proposal_never_answers_commands_or_oversteps_on_two_packs() {
    for (&(name, user, request, _, _), &(_, read, guarded)) in REQUESTS.iter().zip(READS) {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let chat = RecordingChat::new(true);
        bot.attach_chat(chat.clone());
        let key = ConversationKey::new("ops", user);
        runtime().block_on(async {
            let propose = |who: &str, text: &str, scope: Scope| {
                bot.ingress().propose(proposal(who, text, scope))
            };
            for text in ["yes", "no", "approve 1a2b", "cancel", "reload the model"] {
                let proposed = propose(user, text, changes()).await.unwrap();
                assert_eq!(
                    refusal(&proposed),
                    Some(Refusal::NotARequest),
                    "{name}: {text}"
                );
            }
            // Scope: reads only, or other dialogs only.
            let reads_only = Scope {
                changes: false,
                reads: true,
                dialogs: None,
            };
            let other_dialog = Scope {
                dialogs: Some(vec!["no_such_dialog".into()]),
                ..changes()
            };
            for scope in [reads_only, other_dialog] {
                let proposed = propose(user, request, scope).await.unwrap();
                assert_eq!(refusal(&proposed), Some(Refusal::Forbidden), "{name}");
            }
            // The person's own access: a member of no group.
            let proposed = propose("mallory", guarded, changes()).await.unwrap();
            assert_eq!(
                refusal(&proposed),
                Some(Refusal::Forbidden),
                "{name}: {proposed:?}"
            );
            assert!(chat.sent().is_empty(), "{name}: nothing refused is posted");
            // Each refused call is in the trail, with its proposer and why.
            let refused: Vec<_> = bot
                .store()
                .audit_newest_first()
                .map(Result::unwrap)
                .filter(|r| r.dialog == "api_proposal")
                .collect();
            assert_eq!(refused.len(), 8, "{name}");
            assert!(refused
                .iter()
                .all(|r| r.proposed_by.as_deref() == Some("ci-deploys")
                    && r.outcome == crate::AuditOutcome::Denied));
            assert!(refused[0].access.contains("forbidden"), "{:?}", refused[0]);
            assert_eq!(refused[0].user, "mallory");

            // A read-only dialog answers the proposer, and only with reads.
            let proposed = propose(user, read, changes()).await.unwrap();
            assert_eq!(refusal(&proposed), Some(Refusal::Forbidden), "{name}");
            let reads = Scope {
                reads: true,
                ..changes()
            };
            let proposed = propose(user, read, reads).await.unwrap();
            assert!(
                matches!(&proposed, Proposed::Answered { said, .. } if !said.is_empty()),
                "{name}: {proposed:?}"
            );
            assert!(chat.sent().is_empty(), "{name}: an answer is not posted");

            // A person with an open question is not interrupted.
            say(&bot, "ops", user, request).await;
            let proposed = propose(user, request, changes()).await.unwrap();
            assert_eq!(refusal(&proposed), Some(Refusal::Busy), "{name}");
            say(&bot, "ops", user, "cancel").await;

            // Without a room to post in, nothing waits for a yes nobody sees.
            chat.up.store(false, std::sync::atomic::Ordering::SeqCst);
            let proposed = propose(user, request, changes()).await.unwrap();
            assert_eq!(refusal(&proposed), Some(Refusal::Unpostable), "{name}");
            assert!(!bot.awaits_answer(&key), "{name}: the conversation is idle");
            assert!(runs(state.path())
                .iter()
                .all(|r| !r.contains("backup") && !r.contains("rerun")));
        });
    }
}

/// (pack, the dialog of `REQUESTS`' request, its slot)
const GIVEN: &[(&str, &str, &str)] = &[
    ("dbops", "backup_database", "database"),
    ("cicd", "rerun_pipeline", "pipeline"),
];

fn given(user: &str, dialog: &str, slots: &[(&str, &str)]) -> Proposal {
    Proposal {
        key: ConversationKey::new("ops", user),
        proposer: "ci-deploys".into(),
        asked: Asked::Given(opsbot_dialog::Given {
            dialog: dialog.into(),
            slots: slots
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
        scope: changes(),
    }
}

#[test]
fn a_proposal_of_given_values_takes_them_exactly_as_given_on_two_packs() {
    for (&(name, user, _, value, ran), &(_, dialog, slot)) in REQUESTS.iter().zip(GIVEN) {
        let state = tempfile::tempdir().unwrap();
        let bot = bot(name, state.path());
        let chat = RecordingChat::new(true);
        bot.attach_chat(chat.clone());
        runtime().block_on(async {
            // Each mistake is refused with its reason; nothing is posted.
            // One letter dropped: a person's typo the chat would read as
            // the listed value, which a program's value never is.
            let typo = format!("{}{}", &value[..value.len() - 2], &value[value.len() - 1..]);
            let refusals = [
                (vec![(slot, typo.as_str())], typo.clone()),
                (
                    vec![(slot, value), ("colour", "blue")],
                    "colour".to_string(),
                ),
                (vec![], slot.to_string()),
            ];
            for (slots, named) in refusals {
                let proposed = bot
                    .ingress()
                    .propose(given(user, dialog, &slots))
                    .await
                    .unwrap();
                let Proposed::Refused { refusal, reason } = &proposed else {
                    panic!("{name}: {slots:?} was taken: {proposed:?}");
                };
                assert_eq!(*refusal, Refusal::Invalid, "{name}: {reason}");
                assert!(reason.contains(&named), "{name}: {reason}");
            }
            let proposed = bot
                .ingress()
                .propose(given(user, "no_such_dialog", &[]))
                .await
                .unwrap();
            assert_eq!(refusal(&proposed), Some(Refusal::Invalid), "{name}");
            assert!(chat.sent().is_empty(), "{name}: nothing refused is posted");

            // Right values: posted as given, and run only after the yes.
            let proposed = bot
                .ingress()
                .propose(given(user, dialog, &[(slot, value)]))
                .await
                .unwrap();
            let Proposed::Posted {
                state: asked, said, ..
            } = &proposed
            else {
                panic!("{name}: {proposed:?}");
            };
            assert_eq!(*asked, RequestState::AwaitingConfirmation, "{name}");
            assert_eq!(
                chat.sent()[0].2,
                format!("ci-deploys proposes for {user}: “{dialog} {slot}={value}”")
            );
            assert!(said[0].contains(value), "{name}: {said:?}");
            assert!(runs(state.path()).is_empty(), "{name}");
            say(&bot, "ops", user, "yes").await;
            assert_eq!(runs(state.path()), [format!("{user} {ran}")], "{name}");
            let metrics = bot.metrics().render();
            for counted in [
                r#"opsbot_proposals_total{result="invalid"} 4"#,
                r#"opsbot_proposals_total{result="posted"} 1"#,
            ] {
                assert!(metrics.contains(counted), "{name}: {counted} in {metrics}");
            }
        });
    }
}
