//! The ingress: the one way in for every door. [`Ingress::push`] never
//! blocks; each conversation's messages are handled in push order by one
//! worker of its own (`ordered.rs`), different conversations concurrently.
//! Here, once for every door: an unaddressed message is taken only as an
//! answer the bot waits for; a redelivered message id is ignored; a message
//! older than the project's `max_message_age` gets a notice instead of action; owed notices come
//! first; the message is parsed once ([`crate::command`]) and dispatched to
//! its service; a failure is told to the user (nothing runs) and logged; a
//! typing notice shows for slow work. [`Ingress::start`] resolves what a
//! previous process left behind.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::command::{self, Command, Commands};
use crate::envelope::Envelope;
use crate::key::ConversationKey;
use crate::reply::{Reply, ReplySink};
use crate::runtime::Services;
use crate::RuntimeError;

pub mod ordered;
mod proposals;
mod schedule;
mod sink;
mod start;

pub use ordered::OrderedQueues;
use sink::ChannelSink;

/// A sink the worker owns: a door's per-message sink.
pub type OwnedSink = Box<dyn ReplySink + 'static>;

/// A typing notice only for work that takes longer than this: quick answers
/// do not need one, and each notice is a request to the chat server.
const TYPING_AFTER: Duration = Duration::from_millis(800);

/// Message ids are remembered this long (redeliveries are recent).
const SIGHTINGS_KEPT: chrono::Duration = chrono::Duration::days(7);

/// What became of a pushed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Acted on (a command, a step of the conversation).
    Handled,
    /// Not acted on: a redelivery, unaddressed, or too old (then told so).
    Ignored,
    /// It failed on the bot's side; the user was told nothing ran.
    Failed(String),
}

/// A handle on the runtime's services: the [`crate::Runtime`] owns them, and
/// a job holds them only while it runs, so a runtime that is dropped closes
/// its store at once (a restart in a conversation test opens it again);
/// messages pushed after that are dropped.
#[derive(Clone)]
pub struct Ingress {
    services: Weak<Services>,
    queues: OrderedQueues,
}

impl Ingress {
    pub(crate) fn new(services: &Arc<Services>) -> Ingress {
        Ingress {
            services: Arc::downgrade(services),
            queues: OrderedQueues::new(),
        }
    }

    fn services(&self) -> Result<Arc<Services>, RuntimeError> {
        self.services
            .upgrade()
            .ok_or_else(|| RuntimeError::Internal("the bot is shutting down".into()))
    }

    /// Queues a message behind the earlier ones of its conversation; never
    /// waits. Replies go to `sink`, which the worker keeps until it is done.
    pub fn push(&self, envelope: Envelope, sink: OwnedSink) {
        let key = envelope.key.clone();
        self.push_with(key, async move { Some((envelope, sink)) });
    }

    /// Like [`Ingress::push`] for a door whose translation must await
    /// something (a room's members, a display name): `prepare` runs in the
    /// conversation's worker, so the order of pushes is kept; `None` drops
    /// the message.
    pub fn push_with(
        &self,
        key: ConversationKey,
        prepare: impl Future<Output = Option<(Envelope, OwnedSink)>> + Send + 'static,
    ) {
        let this = self.clone();
        self.queues.push(key, async move {
            if let Some((envelope, sink)) = prepare.await {
                this.work(envelope, sink).await;
            }
        });
    }

    /// Pushes a message and passes its replies on to `reply` as they come;
    /// returns what became of it (for doors that hold a borrowed sink: the
    /// shell, an API route, tests). `reply` gets new messages only; see
    /// [`Ingress::receive_editing`] for a sink that can edit.
    pub async fn receive(&self, envelope: Envelope, reply: &mut Reply<'_>) -> Receipt {
        self.receive_into(envelope, reply, false).await
    }

    /// [`Ingress::receive`] for a sink that can edit its replies: a long
    /// action's line is then kept up to date and replaced by the result.
    pub async fn receive_editing(&self, envelope: Envelope, reply: &mut Reply<'_>) -> Receipt {
        self.receive_into(envelope, reply, true).await
    }

    async fn receive_into(
        &self,
        envelope: Envelope,
        reply: &mut Reply<'_>,
        editable: bool,
    ) -> Receipt {
        let this = self.clone();
        self.in_worker(
            envelope.key.clone(),
            editable,
            reply,
            move |sink| async move { this.work(envelope, sink).await },
        )
        .await
        .unwrap_or_else(|| Receipt::Failed("the message was dropped".into()))
    }

    /// Runs `job` in `key`'s worker with a sink whose replies are passed on
    /// to `reply` as they come, and returns what it returned (`None` if it
    /// was dropped). The job lets go of the sink when it is done.
    async fn in_worker<T, F>(
        &self,
        key: ConversationKey,
        editable: bool,
        reply: &mut Reply<'_>,
        job: impl FnOnce(OwnedSink) -> F + Send + 'static,
    ) -> Option<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (sink, replies) = ChannelSink::new(editable, reply.edits_in_place());
        let (done, result) = oneshot::channel();
        self.queues.push(key, async move {
            let _ = done.send(job(Box::new(sink)).await);
        });
        sink::forward(replies, reply).await;
        result.await.ok()
    }

    /// [`Ingress::receive`] of an addressed message without an id: an error
    /// when handling failed.
    pub async fn handle(
        &self,
        key: &ConversationKey,
        text: &str,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        match self.receive(Envelope::new(key.clone(), text), reply).await {
            Receipt::Failed(why) => Err(RuntimeError::Internal(why)),
            Receipt::Handled | Receipt::Ignored => Ok(()),
        }
    }

    /// Conversations with a live worker (for tests and metrics).
    pub fn live_conversations(&self) -> usize {
        self.queues.live()
    }

    /// One message, in its conversation's worker. The services and the sink
    /// are let go before it returns: whoever waits for the receipt may drop
    /// the runtime next.
    async fn work(&self, envelope: Envelope, sink: OwnedSink) -> Receipt {
        match self.services() {
            Ok(services) => {
                let started = std::time::Instant::now();
                let counted = services.clone();
                let receipt = self.work_with(services, envelope, sink).await;
                let outcome = match &receipt {
                    Receipt::Handled => "handled",
                    Receipt::Ignored => "ignored",
                    Receipt::Failed(_) => "failed",
                };
                let metrics = &counted.floor.metrics;
                metrics
                    .messages
                    .with_label_values(&[counted.door, outcome])
                    .inc();
                metrics
                    .message_seconds
                    .observe(started.elapsed().as_secs_f64());
                receipt
            }
            Err(e) => Receipt::Failed(e.to_string()),
        }
    }

    async fn work_with(
        &self,
        services: Arc<Services>,
        envelope: Envelope,
        mut sink: OwnedSink,
    ) -> Receipt {
        let room = envelope.key.room.clone();
        let outcome = {
            let work = Self::admit_and_dispatch(&services, envelope, &mut *sink);
            tokio::pin!(work);
            let typing = async {
                tokio::time::sleep(TYPING_AFTER).await;
                match services.floor.chat() {
                    Some(chat) => {
                        chat.typing(&room, true).await;
                        true
                    }
                    None => std::future::pending().await,
                }
            };
            let (outcome, typing_shown) = tokio::select! {
                outcome = &mut work => (outcome, false),
                shown = typing => (work.await, shown),
            };
            if typing_shown {
                if let Some(chat) = services.floor.chat() {
                    chat.typing(&room, false).await;
                }
            }
            outcome
        };
        match outcome {
            Ok(Next::Done(receipt)) => receipt,
            Ok(Next::Decide(decision)) => {
                // The requester's conversation is changed only by its own
                // worker: the decision (with the approver's sink) goes there.
                let requester = decision.requester.clone();
                self.queues.push(requester, async move {
                    let loaded = services.model.snapshot();
                    if let Err(e) = services
                        .conversations
                        .decide(
                            &loaded,
                            &decision.approver,
                            &decision.requester,
                            &decision.request_id,
                            decision.approve,
                            &mut *sink,
                        )
                        .await
                    {
                        failed(&e, &mut *sink);
                    }
                    // The services first: the sink's end may let a caller
                    // drop the runtime.
                    drop(services);
                    drop(sink);
                });
                Receipt::Handled
            }
            Err(e) => {
                failed(&e, &mut *sink);
                Receipt::Failed(e.to_string())
            }
        }
    }

    async fn admit_and_dispatch(
        services: &Services,
        envelope: Envelope,
        sink: &mut Reply<'_>,
    ) -> Result<Next, RuntimeError> {
        let key = &envelope.key;
        if !envelope.addressed && !services.conversations.awaits_answer(key) {
            return Ok(Next::Done(Receipt::Ignored));
        }
        if let Some(id) = envelope.message_id.clone() {
            let now = services.floor.now();
            let first = services
                .floor
                .blocking(move |store| store.first_sighting(&id, now))
                .await?;
            if !first {
                tracing::debug!(
                    message_id = envelope.message_id.as_deref(),
                    "redelivered message ignored"
                );
                return Ok(Next::Done(Receipt::Ignored));
            }
        }
        // The snapshot this message is handled with: its settings decide
        // staleness and admins as much as its dialogs decide the rest.
        let loaded = services.model.snapshot();
        let settings = &loaded.project.settings;
        if let Some(sent) = envelope.sent_at {
            let max_age = services
                .max_message_age
                .unwrap_or_else(|| settings.message_age_limit());
            let age = (services.floor.now() - sent).to_std().unwrap_or_default();
            if age > max_age {
                let shown: String = envelope.text.trim().chars().take(80).collect();
                sink.say(format!(
                    "I was offline when you wrote “{shown}” {}, so I did not act on it. Please ask again if it still matters.",
                    time_ago(age)
                ));
                return Ok(Next::Done(Receipt::Ignored));
            }
        }
        services.conversations.deliver_owed(key, sink).await?;
        let text = command::flatten_line_breaks(&envelope.text);
        let commands = Commands {
            mutes: loaded.project.settings.alerts.is_some(),
            leave: services.floor.chat().is_some(),
            reminders: !loaded.project.intents.values().any(|intent| {
                intent.examples.iter().any(|e| {
                    e.text
                        .trim_start()
                        .to_ascii_lowercase()
                        .starts_with("remind")
                })
            }),
        };
        let admins = command::admins::Admins {
            overriding: services.admins.as_deref(),
            settings,
        };
        match command::parse(&text, commands) {
            Command::TooLong(refusal) => {
                sink.say(refusal);
            }
            Command::Approval(approval) => {
                match services
                    .conversations
                    .route_approval(&loaded, key, &approval)?
                {
                    crate::conversations::Approval::Told(text) => {
                        sink.say(text);
                    }
                    crate::conversations::Approval::Decide {
                        requester,
                        request_id,
                    } => {
                        return Ok(Next::Decide(Decision {
                            approver: key.clone(),
                            requester,
                            request_id,
                            approve: approval.approve,
                        }))
                    }
                }
            }
            Command::Reload => command::reload::apply(&services.model, &admins, key, sink).await,
            Command::Leave => command::leave::apply(&services.floor, &admins, key, sink).await,
            Command::Schedule(asked) => {
                command::schedule::apply(&services.floor, &loaded, &admins, key, asked, sink)
                    .await?
            }
            Command::Remind(asked) => {
                command::remind::apply(&services.floor, &loaded, key, text.trim(), asked, sink)
                    .await?
            }
            Command::Mute(mute) => {
                services
                    .alerts
                    .handle_mute(&loaded, key, text.trim(), mute, sink)
                    .await?
            }
            Command::Message(message) => {
                let answered = services
                    .alerts
                    .answer_mute(&loaded, key, message.text, sink)
                    .await?
                    || services
                        .conversations
                        .answer_running(&loaded, key, message.text, sink)?;
                if !answered {
                    services
                        .conversations
                        .message(&loaded, key, message, envelope.replying_to.as_deref(), sink)
                        .await?
                }
            }
        }
        Ok(Next::Done(Receipt::Handled))
    }
}

/// What the worker does after a message.
enum Next {
    Done(Receipt),
    /// An approval to step in the requester's worker.
    Decide(Decision),
}

struct Decision {
    approver: ConversationKey,
    requester: ConversationKey,
    request_id: String,
    approve: bool,
}

/// A failure on the bot's side: logged, and told to the user with the
/// assurance that matters (nothing ran).
fn failed(error: &RuntimeError, reply: &mut Reply<'_>) {
    tracing::error!(%error, "message could not be handled");
    reply.say(format!(
        "Sorry, something went wrong on my side and nothing was run: {error}"
    ));
}

/// "less than a minute ago", "a minute ago", "12 minutes ago", "3 hours ago", "2 days ago":
/// how long ago, in the largest whole unit.
pub(crate) fn time_ago(age: std::time::Duration) -> String {
    let seconds = age.as_secs();
    let (count, unit) = match seconds {
        0..60 => return "less than a minute ago".into(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    if count == 1 {
        format!("a{} {unit} ago", if unit == "hour" { "n" } else { "" })
    } else {
        format!("{count} {unit}s ago")
    }
}
