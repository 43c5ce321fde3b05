//! Fast tests of the bot service: the test packs of `tests/packs` (a database
//! bot and a CI/CD bot), a model trained in milliseconds with a fake sentence
//! encoder (hashed words), and the in-memory store. They exercise the runtime's
//! policy — effects in order, dedup, interrupted actions, approvals, ordering
//! per conversation — without libtorch, sled or a model on disk; the
//! integration tests repeat the important paths with the real parts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use opsbot_dialog::{Conversation, Phase};
use opsbot_nlu::{NluConfig, NluError, SentenceEncoder, TrainOptions, TrainingData};

use super::*;
use crate::store::MemoryStore;

mod alert_noise;
mod alert_port;
mod alert_requests;
mod alert_trust;
mod alerts;
mod approval_audit;
mod lookups;
mod mute_rules;
mod requests;
mod review;
mod words;

/// Hashes words into a small unit vector: a deterministic stand-in for MiniLM
/// that keeps the encoder path of training and understanding in play.
struct HashedWords;

const DIMENSION: usize = 32;

impl SentenceEncoder for HashedWords {
    fn id(&self) -> &str {
        "hashed-words-test"
    }

    fn dimension(&self) -> usize {
        DIMENSION
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut vector = [0f32; DIMENSION];
                for word in text.split_whitespace() {
                    let hash = word
                        .to_lowercase()
                        .bytes()
                        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
                    vector[hash as usize % DIMENSION] += 1.0;
                }
                let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                vector.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

fn pack(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/packs")
        .join(name)
}

/// A test pack's bot on the in-memory store, its actions writing into `state`.
fn bot(name: &str, state: &Path) -> Bot {
    bot_on(name, state, MemoryStore::new())
}

/// A test pack's bot on a given store.
fn bot_on(name: &str, state: &Path, store: impl Store + 'static) -> Bot {
    bot_changed(name, state, store, |_| {})
}

/// A test pack's bot with its settings changed by `change` (as an author would).
fn bot_changed(
    name: &str,
    state: &Path,
    store: impl Store + 'static,
    change: impl FnOnce(&mut opsbot_spec::Project),
) -> Bot {
    bot_in(&pack(name), state, store, change)
}

/// The bot of the project at `root` (a pack, or a copy of one changed on disk).
fn bot_in(
    root: &Path,
    state: &Path,
    store: impl Store + 'static,
    change: impl FnOnce(&mut opsbot_spec::Project),
) -> Bot {
    let mut project = opsbot_spec::load_project(root).expect("the project loads");
    change(&mut project);
    let data = TrainingData::from_project(&project);
    let extractor = opsbot_nlu::EntityExtractor::new(&project);
    let encoder = Arc::new(HashedWords);
    let model = opsbot_nlu::train(
        &data,
        &extractor,
        &NluConfig::default(),
        &project.training_hash,
        TrainOptions {
            encoder: Some(encoder.as_ref()),
            validation: None,
            previous: None,
        },
        |_| {},
    )
    .expect("the pack trains");
    let nlu = Nlu::new(&project, model, Some(encoder)).expect("the model fits the pack");
    Bot::new(project, nlu, store, state.to_path_buf())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Says `text` as `user` in `room` and returns the replies.
async fn say(bot: &Bot, room: &str, user: &str, text: &str) -> Vec<String> {
    let mut replies = Vec::new();
    bot.handle(&ConversationKey::new(room, user), text, &mut |r: String| {
        replies.push(r)
    })
    .await
    .expect("handled");
    replies
}

/// Says `text` in answer to the bot's message `replying_to`.
async fn say_about(
    bot: &Bot,
    room: &str,
    user: &str,
    text: &str,
    replying_to: &str,
) -> Vec<String> {
    let mut replies = Vec::new();
    bot.handle_about(
        &ConversationKey::new(room, user),
        text,
        Some(replying_to),
        &mut |r: String| replies.push(r),
    )
    .await
    .expect("handled");
    replies
}

/// What the packs' `record.sh` ran, one line (user, arguments) each.
fn runs(state: &Path) -> Vec<String> {
    std::fs::read_to_string(state.join("runs.tsv"))
        .unwrap_or_default()
        .lines()
        .map(|line| line.replace('\t', " "))
        .collect()
}

/// (pack, a member of its operator group, a request, the value it names,
/// what record.sh is called with)
const REQUESTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "dbops",
        "priya",
        "back up the orders database",
        "orders",
        "backup orders 6",
    ),
    (
        "cicd",
        "kim",
        "rerun the frontend pipeline",
        "frontend",
        "rerun frontend",
    ),
];

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
            let envelope = |id, text, sent_at| Envelope {
                key: key.clone(),
                message_id: Some(id),
                text,
                sent_at,
                max_age: Some(std::time::Duration::from_secs(600)),
                replying_to: None,
            };
            {
                let mut sink = |r: String| replies.push(r);
                assert!(bot.receive(&envelope("$1", request, None), &mut sink).await);
                assert!(
                    !bot.receive(&envelope("$1", request, None), &mut sink).await,
                    "{name}: a redelivery is ignored"
                );
                let old = Some(chrono::Utc::now() - chrono::Duration::minutes(30));
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
            store.commit(&key, &executing, Commit::default()).unwrap();
            store.mark_started(&request.id).unwrap();
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
async fn request_approval(bot: &Bot, requester: &str, request: &str) -> String {
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
