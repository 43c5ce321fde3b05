//! The bot service: understands a message, advances that conversation's dialog,
//! persists the result, performs the effects and reports back — one message at a
//! time per (room, user), different conversations concurrently.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_dialog::phrases;
use opsbot_dialog::{
    step, ActionOutcome, CodeCheck, Context, Conversation, Effect, Input, Phase, Plan, Transition,
};
use opsbot_nlu::Nlu;
use opsbot_spec::Project;

#[cfg(test)]
use crate::audit::AuditOutcome;
use crate::audit::AuditRecord;
use crate::chat::{Chat, MessageHandle, Outbound};
use crate::exec::{self, Invocation};
use crate::inbound::{self, Envelope, Inbound, Message};
use crate::inbox::Inbox;
use crate::reply::ReplySink;
use crate::store::{Commit, ConversationKey, JournalStatus, Store};
use crate::RuntimeError;

mod alerts;
mod approvals;
mod holds;
mod learn;
mod lookups;
mod mutes;
mod resume;
#[cfg(test)]
mod tests;

/// Where replies go: called once per reply, as soon as it is known.
pub type Reply<'r> = dyn ReplySink + 'r;

/// Actions that may run at once unless [`Bot::with_action_limit`] says otherwise.
pub const DEFAULT_ACTION_LIMIT: usize = 4;

/// Loads a freshly trained model (and the project files it was trained on).
pub type Reloader = dyn Fn() -> Result<(Project, Nlu), String> + Send + Sync;
/// Whether a user may reload the model from chat.
pub type IsAdmin = dyn Fn(&str) -> bool + Send + Sync;

/// The project and the model that understands it, swapped together on a refresh.
/// Each message works with the snapshot it started with.
pub struct Loaded {
    pub project: Project,
    pub nlu: Nlu,
}

pub struct Bot {
    loaded: RwLock<Arc<Loaded>>,
    /// How to reload the model on an admin's request, and who may ask.
    reloader: Option<(Arc<Reloader>, Arc<IsAdmin>)>,
    store: Arc<dyn Store>,
    /// Writable folder handed to actions as `OPSBOT_STATE_DIR`.
    state_dir: PathBuf,
    /// Every request is a dry run: nothing executes.
    dry_run: bool,
    /// Bounds how many actions run at once across all conversations.
    actions: Arc<tokio::sync::Semaphore>,
    /// Bounds inference on blocking threads to the cores there are: more
    /// encoder passes at once only slow each other down.
    inference: Arc<tokio::sync::Semaphore>,
    conversations: Mutex<HashMap<ConversationKey, Arc<tokio::sync::Mutex<()>>>>,
    /// How the bot speaks first, once an adapter has attached its port.
    chat: RwLock<Option<Arc<dyn Chat>>>,
    clock_offset: Mutex<chrono::Duration>,
    /// Everyone's time zone, instead of the settings' (conversation tests).
    zone_override: Mutex<Option<chrono_tz::Tz>>,
    /// Serialises merging alert notifications into groups and recording
    /// their delivery, so neither overwrites the other.
    alert_lock: tokio::sync::Mutex<()>,
    /// Wakes the alert delivery worker.
    alerts_pending: tokio::sync::Notify,
    /// Where misread messages go for review (`None`: nowhere).
    inbox: Option<Inbox>,
    /// Mutes waiting for their speaker's "yes" (see `bot/mutes.rs`).
    pending_mutes: Mutex<HashMap<ConversationKey, mutes::PendingMute>>,
}

impl Bot {
    pub fn new(project: Project, nlu: Nlu, store: impl Store + 'static, state_dir: PathBuf) -> Bot {
        Bot {
            loaded: RwLock::new(Arc::new(Loaded { project, nlu })),
            reloader: None,
            store: Arc::new(store),
            // Actions run in other folders: a relative `--state` would name
            // another folder for each of them.
            state_dir: std::path::absolute(&state_dir).unwrap_or(state_dir),
            dry_run: false,
            actions: Arc::new(tokio::sync::Semaphore::new(DEFAULT_ACTION_LIMIT)),
            inference: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            conversations: Mutex::new(HashMap::new()),
            chat: RwLock::new(None),
            clock_offset: Mutex::new(chrono::Duration::zero()),
            zone_override: Mutex::new(None),
            alert_lock: tokio::sync::Mutex::new(()),
            alerts_pending: tokio::sync::Notify::new(),
            inbox: None,
            pending_mutes: Mutex::new(HashMap::new()),
        }
    }

    /// Lets at most `limit` actions run at once (others wait their turn).
    pub fn with_action_limit(mut self, limit: usize) -> Bot {
        self.actions = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
        self
    }

    /// Whether an adapter's message id is new (recorded durably, so a
    /// redelivery is recognised across a crash); for commands an adapter
    /// handles itself ("leave this room"). A store failure counts as seen:
    /// better not to act twice.
    pub async fn first_sighting(&self, message_id: &str) -> bool {
        let (store, id) = (self.store.clone(), message_id.to_string());
        self.blocking(move || store.first_sighting(&id))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot record a message id");
                false
            })
    }

    /// What an adapter does when it starts: forgets message ids older than a
    /// week (redeliveries are recent) and resolves interrupted actions (see
    /// [`Bot::resolve_interrupted`]). Attach a [`Chat`] port first to have
    /// requesters told at once.
    pub async fn start_adapter(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        let cut = Utc::now() - chrono::Duration::days(7);
        let store = self.store.clone();
        let removed = self.blocking(move || store.forget_sightings(cut)).await?;
        tracing::debug!(removed, "forgot old message ids");
        self.prune_inbox().await;
        self.resolve_interrupted().await
    }

    /// The one entry for adapters: a redelivered message is ignored, one older
    /// than its `max_age` gets a notice instead of action, and a failure is
    /// told to the user (nothing runs) and logged. Returns whether the message
    /// was handled.
    pub async fn receive(&self, envelope: &Envelope<'_>, reply: &mut Reply<'_>) -> bool {
        if let Some(id) = envelope.message_id {
            let first = self
                .blocking({
                    let (store, id) = (self.store.clone(), id.to_string());
                    move || store.first_sighting(&id)
                })
                .await;
            match first {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(message_id = id, "redelivered message ignored");
                    return false;
                }
                Err(e) => {
                    failed(&e, reply);
                    return false;
                }
            }
        }
        if let (Some(sent), Some(max_age)) = (envelope.sent_at, envelope.max_age) {
            let age = (Utc::now() - sent).to_std().unwrap_or_default();
            if age > max_age {
                let shown: String = envelope.text.trim().chars().take(80).collect();
                reply.say(format!(
                    "I was offline when you wrote “{shown}” {}, so I did not act on it. Please ask again if it still matters.",
                    time_ago(age)
                ));
                return false;
            }
        }
        let handled = self
            .handle_about(&envelope.key, envelope.text, envelope.replying_to, reply)
            .await;
        if let Err(e) = handled {
            failed(&e, reply);
        }
        true
    }

    /// Whether the bot has asked this user something in this room and waits for
    /// the answer (so an answer needs no mention in a group room).
    pub fn awaits_answer(&self, key: &ConversationKey) -> bool {
        self.mute_awaits_answer(key)
            || matches!(
                self.store.load(key).map(|c| c.phase),
                Ok(Phase::Collecting { .. }
                    | Phase::AwaitingConfirmation { .. }
                    | Phase::AwaitingCode { .. }
                    | Phase::AwaitingApproval { .. }
                    | Phase::Choosing { .. })
            )
    }

    /// Makes every request a dry run.
    pub fn with_dry_run(mut self, dry_run: bool) -> Bot {
        self.dry_run = dry_run;
        self
    }

    /// The project in use now (a refresh may replace it).
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.read().expect("model lock").clone()
    }

    /// Lets admins say "reload the model" in chat; `reloader` loads it.
    pub fn with_reloader(mut self, reloader: Arc<Reloader>, is_admin: Arc<IsAdmin>) -> Bot {
        self.reloader = Some((reloader, is_admin));
        self
    }

    /// Lets the bot speak first through an adapter's port (see [`Chat`]).
    pub fn attach_chat(&self, chat: Arc<dyn Chat>) {
        *self.chat.write().expect("chat lock") = Some(chat);
        // Alert groups waiting for a port can be delivered now.
        self.alerts_pending.notify_one();
    }

    /// Sends a message on the bot's own initiative; `None` when no port is
    /// attached or the message could not be sent.
    pub async fn announce(&self, message: Outbound) -> Option<MessageHandle> {
        let chat = self.chat.read().expect("chat lock").clone()?;
        chat.send(message).await
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Swaps in a newly trained model with its project; messages already being
    /// handled finish with the ones they started with, none waits or is dropped.
    pub fn replace(&self, project: Project, nlu: Nlu) {
        *self.loaded.write().expect("model lock") = Arc::new(Loaded { project, nlu });
        tracing::info!("intent model refreshed");
    }

    /// "reload the model" from an admin: loads the newest model and swaps it in.
    async fn handle_reload(&self, key: &ConversationKey, reply: &mut Reply<'_>) {
        let Some((reloader, is_admin)) = &self.reloader else {
            reply.say(
                "Reloading the model is not enabled here; restart the bot or send it SIGHUP."
                    .into(),
            );
            return;
        };
        if !is_admin(&key.user) {
            reply.say("Only an admin of this bot can reload the model.".into());
            return;
        }
        let reloader = reloader.clone();
        match tokio::task::spawn_blocking(move || reloader()).await {
            Ok(Ok((project, nlu))) => {
                let meta = &nlu.model().meta;
                let summary = format!(
                    "Reloaded the intent model: trained {} on {} examples of {} intents.",
                    meta.trained_at, meta.examples, meta.intents
                );
                self.replace(project, nlu);
                reply.say(summary);
            }
            Ok(Err(error)) => {
                reply.say(format!(
                    "I could not reload the model, so I am still using the current one: {error}"
                ));
            }
            Err(error) => {
                reply.say(format!(
                    "I could not reload the model, so I am still using the current one: {error}"
                ));
            }
        }
    }

    /// Moves the bot's clock forward (conversation tests of expiry).
    pub fn advance_clock(&self, by: Duration) {
        *self.clock_offset.lock().expect("clock lock") +=
            chrono::Duration::from_std(by).unwrap_or_default();
        // Timed holds (mutes, quiet hours) may have ended.
        self.alerts_pending.notify_one();
    }

    /// Sets the bot's clock to `at` (conversation tests that pin "now"); it
    /// runs on from there.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        *self.clock_offset.lock().expect("clock lock") = at - Utc::now();
        self.alerts_pending.notify_one();
    }

    /// Puts every user in `zone` (conversation tests that pin a time zone).
    pub fn set_time_zone(&self, zone: chrono_tz::Tz) {
        *self.zone_override.lock().expect("zone lock") = Some(zone);
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.clock_offset.lock().expect("clock lock")
    }

    fn lock_for(&self, key: &ConversationKey) -> Arc<tokio::sync::Mutex<()>> {
        self.conversations
            .lock()
            .expect("conversation map lock")
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// The facts about a user that the pure engine needs, under the message's
    /// snapshot of the settings.
    fn context<'k>(
        &self,
        loaded: &Loaded,
        key: &'k ConversationKey,
        dry_run: bool,
    ) -> Result<Context<'k>, RuntimeError> {
        let settings = &loaded.project.settings;
        let now = self.now();
        let window = chrono::Duration::from_std(settings.rate_limit.per).unwrap_or_default();
        Ok(Context {
            user: &key.user,
            room: &key.room,
            now,
            time_zone: self
                .zone_override
                .lock()
                .expect("zone lock")
                .unwrap_or_else(|| settings.zone_of(&key.user)),
            dry_run: self.dry_run || dry_run,
            recent_executions: self
                .store
                .executions_since(settings.person_of(&key.user), now - window)?,
            two_factor_enrolled: self.store.totp(&key.user)?.is_some(),
            alert: None,
            open_alerts: &[],
        })
    }

    fn load(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<Conversation, RuntimeError> {
        match self.store.load(key) {
            Ok(c) => Ok(c),
            Err(RuntimeError::CorruptState { reason, .. }) => {
                tracing::warn!(room = %key.room, user = %key.user, %reason, "unreadable conversation state; starting fresh");
                reply.say("I could not read our earlier conversation (it was saved in another format), so I started fresh.".into());
                Ok(Conversation::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Handles one message; each reply is passed to `reply` as soon as it is
    /// known (so "Restarting …" shows before the action finishes). The message
    /// is parsed once ([`inbound::parse`]) and works with one snapshot of the
    /// project and model throughout.
    pub async fn handle(
        &self,
        key: &ConversationKey,
        text: &str,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        self.handle_about(key, text, None, reply).await
    }

    /// [`Bot::handle`] for a message that answers one of the bot's messages
    /// (`replying_to`, the adapter's id of it): a request about an alert
    /// takes the values the alert's route gives.
    pub async fn handle_about(
        &self,
        key: &ConversationKey,
        text: &str,
        replying_to: Option<&str>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let loaded = self.loaded();
        let text = inbound::flatten_line_breaks(text);
        match inbound::parse(&text) {
            Inbound::TooLong(refusal) => {
                reply.say(refusal);
                Ok(())
            }
            Inbound::Approval(command) => self.handle_approval(&loaded, key, &command, reply).await,
            Inbound::Reload => {
                self.handle_reload(key, reply).await;
                Ok(())
            }
            Inbound::Message(message) => {
                if self.answer_mute(&loaded, key, message.text, reply).await? {
                    return Ok(());
                }
                // Mutes are the bot's own words where it has alerts; elsewhere
                // "mute …" is for the project's dialogs.
                let mute = loaded
                    .project
                    .settings
                    .alerts
                    .as_ref()
                    .and_then(|_| crate::alerts::parse_mute(message.text));
                match mute {
                    Some(command) => {
                        self.handle_mute(&loaded, key, message.text, command, reply)
                            .await
                    }
                    None => {
                        self.handle_message(&loaded, key, message, replying_to, reply)
                            .await
                    }
                }
            }
        }
    }

    /// A message for the speaker's own conversation, under its lock.
    async fn handle_message(
        &self,
        loaded: &Arc<Loaded>,
        key: &ConversationKey,
        message: Message<'_>,
        replying_to: Option<&str>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let lock = self.lock_for(key);
        let _in_order = lock.lock().await;
        self.deliver_owed(key, reply)?;
        let conversation = self.load(key, reply)?;
        let conversation = self.recover(loaded, key, conversation, reply).await?;

        if conversation.phase == Phase::Idle
            && phrases::classify(message.text) == phrases::Answer::Yes
        {
            if let Some(hint) = self.approval_hint(loaded, key)? {
                reply.say(hint);
                return Ok(());
            }
        }
        if let (Phase::AwaitingCode { request }, Some(code)) = (&conversation.phase, &message.code)
        {
            let ctx = self.context(loaded, key, false)?;
            let check = match self.store.totp(&key.user)? {
                Some(mut record) => {
                    let check = record.check(code, ctx.now);
                    self.store.put_totp(&key.user, &record)?;
                    check
                }
                None => CodeCheck::NotEnrolled,
            };
            tracing::info!(room = %key.room, user = %key.user, valid = matches!(check, CodeCheck::Valid), "two-factor code checked");
            // Every wrong code is audited on its own, not only the lockout.
            let records = match &check {
                CodeCheck::Invalid { .. } | CodeCheck::LockedOut { .. } => {
                    vec![AuditRecord::code_rejected(
                        &loaded.project.settings,
                        key,
                        ctx.now,
                        request,
                        matches!(check, CodeCheck::LockedOut { .. }),
                    )]
                }
                _ => Vec::new(),
            };
            let transition = step(&loaded.project, conversation, Input::Code(check), &ctx);
            self.apply(loaded, key, transition, records, Vec::new(), reply)
                .await?;
            return Ok(());
        }

        // Inference runs on a blocking thread: one slow encoder pass must not
        // stall the other conversations on the async workers.
        let understanding = {
            let _turn = self
                .inference
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let loaded = loaded.clone();
            let content = message.content.to_string();
            tokio::task::spawn_blocking(move || loaded.nlu.understand(&content))
                .await
                .map_err(|e| RuntimeError::Internal(format!("understanding failed: {e}")))?
        };
        tracing::debug!(
            room = %key.room,
            user = %key.user,
            intent = understanding.intent.as_ref().map(|i| i.name.as_str()),
            confidence = understanding.ranking.first().map(|i| i.confidence),
            phase = conversation.phase_name(),
            "message understood"
        );
        let (alert, open_alerts) = self.alert_context(loaded, &key.room, replying_to)?;
        let mut ctx = self.context(loaded, key, message.dry_run)?;
        ctx.alert = alert.as_ref();
        ctx.open_alerts = &open_alerts;
        let transition = step(
            &loaded.project,
            conversation,
            Input::Message(&understanding),
            &ctx,
        );
        self.apply(loaded, key, transition, Vec::new(), Vec::new(), reply)
            .await?;
        Ok(())
    }

    /// Runs store work that flushes to disk on a blocking thread, off the
    /// async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, RuntimeError> + Send + 'static,
    ) -> Result<T, RuntimeError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| RuntimeError::Internal(format!("a store task failed: {e}")))?
    }

    /// Commits a step durably (see [`Store::commit`]) on a blocking thread.
    async fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        let (store, key, conversation) = (self.store.clone(), key.clone(), conversation.clone());
        self.blocking(move || store.commit(&key, &conversation, change))
            .await
    }

    /// Persists a transition with its audit records and journal entries,
    /// replies, and runs its action (feeding the outcome back) until the
    /// conversation rests.
    async fn apply(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        mut transition: Transition,
        mut records: Vec<AuditRecord>,
        mut journal: Vec<(String, JournalStatus)>,
        reply: &mut Reply<'_>,
    ) -> Result<Conversation, RuntimeError> {
        let project = &loaded.project;
        let settings = &project.settings;
        // The reply announcing the running action, when the sink can edit it.
        let mut progress: Option<(crate::ReplyId, String)> = None;
        // After a run, the first reply is the action's outcome.
        let mut after_run = false;
        loop {
            let now = self.now();
            let mut run = None;
            let mut lookup = None;
            let mut lessons = Vec::new();
            for effect in transition.effects {
                match effect {
                    Effect::Record(record) => {
                        records.push(AuditRecord::from_record(settings, key, now, &record))
                    }
                    Effect::Run { plan, request } => run = Some((plan, request)),
                    Effect::Lookup { lookup: l, .. } => lookup = Some(l),
                    Effect::Learn(lesson) => lessons.push(lesson),
                }
            }
            if let Some((_, request)) = &run {
                journal.push((request.id.clone(), JournalStatus::Planned));
            }
            let change = Commit {
                records: std::mem::take(&mut records),
                journal: std::mem::take(&mut journal),
                // Read-only runs do not count against the rate limit.
                execution_by: run
                    .as_ref()
                    .filter(|(_, request)| {
                        !request.dry_run
                            && project
                                .dialogs
                                .get(&request.dialog)
                                .is_none_or(|d| !d.read_only)
                    })
                    .map(|_| settings.person_of(&key.user).to_string()),
            };
            self.commit(key, &transition.conversation, change).await?;
            self.learn(loaded, key, lessons).await;
            // The reply announcing a run ("Restarting … …") is the one a sink
            // that can edit keeps up to date; the result then replaces it.
            let count = transition.replies.len();
            for (i, text) in transition.replies.into_iter().enumerate() {
                match progress.take() {
                    Some((id, _)) if i == 0 => reply.conclude(Some(id), text, &key.user),
                    None if i == 0 && after_run => reply.conclude(None, text, &key.user),
                    _ => {
                        let announces_run = run.is_some() && i + 1 == count;
                        if let (true, Some(id)) = (announces_run, reply.say(text.clone())) {
                            progress = Some((id, text));
                        }
                    }
                }
            }
            let Some((plan, request)) = run else {
                if let Some(lookup) = lookup {
                    // Read-only: nothing to journal; a restart looks it up again.
                    let result = self.look_up(project, &lookup).await;
                    let ctx = self.context(loaded, key, false)?;
                    transition = step(
                        project,
                        transition.conversation,
                        Input::LookedUp(&result),
                        &ctx,
                    );
                    continue;
                }
                return Ok(transition.conversation);
            };
            self.blocking({
                let (store, id) = (self.store.clone(), request.id.clone());
                move || store.mark_started(&id)
            })
            .await?;
            tracing::info!(room = %key.room, user = %key.user, dialog = %request.dialog, request = %request.id, command = %plan.command_line(), "running action");
            let outcome = {
                let execution = self.execute(project, &plan);
                tokio::pin!(execution);
                let started = std::time::Instant::now();
                let every = settings.progress_every.filter(|_| progress.is_some());
                let mut ticked = false;
                let outcome = loop {
                    tokio::select! {
                        outcome = &mut execution => break outcome,
                        () = tokio::time::sleep(every.unwrap_or_default()), if every.is_some() => {
                            ticked = true;
                            if let Some((id, text)) = &progress {
                                reply.edit(*id, format!(
                                    "{text} (still running, {}s)",
                                    started.elapsed().as_secs()
                                ));
                            }
                        }
                    }
                };
                // A quick action keeps its two messages; only one that was
                // reported as still running gets its result in place.
                if !ticked {
                    progress = None;
                }
                outcome
            };
            tracing::info!(request = %request.id, exit_code = ?outcome.exit_code, succeeded = outcome.succeeded, "action finished");
            let ctx = self.context(loaded, key, false)?;
            records.push(AuditRecord::executed(
                settings, key, ctx.now, &request, &plan, &outcome,
            ));
            if request.alert.is_some() && !request.dry_run {
                self.note_action_on_alert(loaded, key, &request, &outcome)
                    .await?;
            }
            journal.push((request.id.clone(), JournalStatus::Finished));
            after_run = true;
            transition = step(
                project,
                transition.conversation,
                Input::ActionFinished(&outcome),
                &ctx,
            );
        }
    }

    async fn execute(&self, project: &Project, plan: &Plan) -> ActionOutcome {
        match plan {
            Plan::Program {
                program,
                args,
                env,
                timeout,
                workdir,
                ..
            } => {
                let _slot = self
                    .actions
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                let env = self.action_env(project, env);
                exec::run(&Invocation {
                    program,
                    args,
                    env: &env,
                    workdir,
                    timeout: *timeout,
                })
                .await
            }
            Plan::ShowAudit(query) => self.show_audit(query),
        }
    }
}

/// The short form of a request id people type ("approve 7f3a").
fn short(id: &str) -> &str {
    id.get(..4).unwrap_or(id)
}

/// A failure on the bot's side: logged, and told to the user with the
/// assurance that matters (nothing ran).
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

fn failed(error: &RuntimeError, reply: &mut Reply<'_>) {
    tracing::error!(%error, "message could not be handled");
    reply.say(format!(
        "Sorry, something went wrong on my side and nothing was run: {error}"
    ));
}
