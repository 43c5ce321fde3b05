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

use crate::alerts::{AlertReceipt, Notification};
use crate::audit::{AuditOutcome, AuditRecord};
use crate::clock::ManualClock;
use crate::ingress::time_ago;
use crate::store::{Commit, ConversationKey, MemoryStore, Store};
use crate::ReplySink;
use crate::{Envelope, Loaded, Receipt, Reply, Runtime, RuntimeError};
use opsbot_nlu::Nlu;
use std::time::Duration;

/// A runtime on a clock the test moves.
pub(crate) struct Bot {
    runtime: Runtime,
    clock: Arc<ManualClock>,
}

impl std::ops::Deref for Bot {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}

impl Bot {
    pub(crate) fn new(
        project: opsbot_spec::Project,
        nlu: Nlu,
        store: impl Store + 'static,
        state: PathBuf,
    ) -> Bot {
        Bot::with(project, nlu, store, state, |b| b)
    }

    pub(crate) fn with(
        project: opsbot_spec::Project,
        nlu: Nlu,
        store: impl Store + 'static,
        state: PathBuf,
        build: impl FnOnce(crate::RuntimeBuilder) -> crate::RuntimeBuilder,
    ) -> Bot {
        let clock = Arc::new(ManualClock::new());
        let builder = Runtime::builder(project, nlu, store, state).clock(clock.clone());
        Bot {
            runtime: build(builder).build(),
            clock,
        }
    }

    pub(crate) fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        self.clock.set(at);
    }

    /// Moves the clock forward; timed alert holds may have ended.
    pub(crate) fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.runtime.alerts().wake();
    }

    pub(crate) fn loaded(&self) -> Arc<Loaded> {
        self.runtime.model().snapshot()
    }

    pub(crate) async fn accept_alerts(
        &self,
        notification: &Notification,
    ) -> Result<AlertReceipt, RuntimeError> {
        self.runtime.alerts().accept(notification).await
    }

    pub(crate) async fn deliver_alerts(&self, shutdown: impl std::future::Future<Output = ()>) {
        self.runtime.alerts().deliver(shutdown).await
    }

    pub(crate) fn awaits_answer(&self, key: &ConversationKey) -> bool {
        self.runtime.conversations().awaits_answer(key)
    }

    /// Whether the message was acted on (see [`crate::Ingress::receive`]).
    pub(crate) async fn receive(&self, envelope: &Envelope, reply: &mut Reply<'_>) -> bool {
        self.runtime
            .ingress()
            .receive(envelope.clone(), reply)
            .await
            == Receipt::Handled
    }

    pub(crate) async fn handle_about(
        &self,
        key: &ConversationKey,
        text: &str,
        replying_to: Option<&str>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let envelope = Envelope {
            replying_to: replying_to.map(str::to_string),
            ..Envelope::new(key.clone(), text)
        };
        match self.runtime.ingress().receive(envelope, reply).await {
            Receipt::Failed(why) => Err(RuntimeError::Internal(why)),
            _ => Ok(()),
        }
    }

    pub(crate) async fn start_adapter(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        self.runtime.ingress().start().await
    }
}

mod admins;
mod alert_noise;
mod alert_port;
mod alert_requests;
mod alert_trust;
mod alerts;
mod approval_audit;
mod calendar;
mod flow;
use flow::request_approval;
mod ingress;
mod lookups;
mod mute_rules;
mod proposals;
mod requests;
mod review;
mod schedule;
mod store_traffic;
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

/// A copy of a test pack in a temporary folder, to change on disk.
fn copy_of(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                // Keeps the actions' executable bit.
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&pack(name), dir.path());
    dir
}

/// A copy of a test pack with `settings` appended to its opsbot.yaml, as an
/// author would write them.
fn copy_with_settings(name: &str, settings: &str) -> tempfile::TempDir {
    let dir = copy_of(name);
    let yaml = dir.path().join("opsbot.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{text}{settings}")).unwrap();
    dir
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
    let (project, nlu) = trained(root, change);
    Bot::new(project, nlu, store, state.to_path_buf())
}

/// The project at `root`, changed by `change`, and a model trained on it.
fn trained(
    root: &Path,
    change: impl FnOnce(&mut opsbot_spec::Project),
) -> (opsbot_spec::Project, Nlu) {
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
    (project, nlu)
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
