//! The bot service: understands a message, advances that conversation's dialog,
//! persists the result, performs the effects and reports back — one message at a
//! time per (room, user), different conversations concurrently.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_dialog::{
    step, ActionOutcome, Context, Conversation, Effect, Input, Phase, Plan, Transition,
};
use opsbot_nlu::Nlu;
use opsbot_spec::Project;

use crate::audit::{AuditOutcome, AuditRecord};
use crate::exec::{self, Invocation};
use crate::store::{ConversationKey, Store};
use crate::RuntimeError;

pub struct Bot {
    project: Arc<Project>,
    nlu: RwLock<Arc<Nlu>>,
    store: Store,
    /// Writable folder handed to actions as `OPSBOT_STATE_DIR`.
    state_dir: PathBuf,
    conversations: Mutex<HashMap<ConversationKey, Arc<tokio::sync::Mutex<()>>>>,
    clock_offset: Mutex<chrono::Duration>,
}

impl Bot {
    pub fn new(project: Project, nlu: Nlu, store: Store, state_dir: PathBuf) -> Bot {
        Bot {
            project: Arc::new(project),
            nlu: RwLock::new(Arc::new(nlu)),
            store,
            state_dir,
            conversations: Mutex::new(HashMap::new()),
            clock_offset: Mutex::new(chrono::Duration::zero()),
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn nlu(&self) -> Arc<Nlu> {
        self.nlu.read().expect("nlu lock").clone()
    }

    /// Swaps in a newly trained model; messages already being handled finish
    /// with the model they started with.
    pub fn replace_nlu(&self, nlu: Nlu) {
        *self.nlu.write().expect("nlu lock") = Arc::new(nlu);
    }

    /// Moves the bot's clock forward (conversation tests of expiry).
    pub fn advance_clock(&self, by: Duration) {
        *self.clock_offset.lock().expect("clock lock") +=
            chrono::Duration::from_std(by).unwrap_or_default();
    }

    fn now(&self) -> DateTime<Utc> {
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

    /// Handles one message; each reply is passed to `reply` as soon as it is
    /// known (so "Restarting …" shows before the action finishes).
    pub async fn handle(
        &self,
        key: &ConversationKey,
        text: &str,
        reply: &mut (dyn FnMut(String) + Send),
    ) -> Result<(), RuntimeError> {
        let lock = self.lock_for(key);
        let _in_order = lock.lock().await;
        let mut conversation = match self.store.load(key) {
            Ok(c) => c,
            Err(RuntimeError::CorruptState { reason, .. }) => {
                tracing::warn!(room = %key.room, user = %key.user, %reason, "unreadable conversation state; starting fresh");
                reply("I could not read our earlier conversation (it was saved in another format), so I started fresh.".into());
                Conversation::default()
            }
            Err(e) => return Err(e),
        };
        if matches!(conversation.phase, Phase::Executing { .. }) {
            // This conversation is locked, so nothing of it runs now: the process
            // that started the action ended before recording the outcome.
            let ctx = Context {
                user: &key.user,
                room: &key.room,
                now: self.now(),
            };
            let transition = step(&self.project, conversation, Input::Interrupted, &ctx);
            conversation = self.apply(key, transition, Vec::new(), reply).await?;
        }
        // Surrounding whitespace carries no meaning, but a value next to a line
        // break is not extracted, so trim before understanding.
        let understanding = self.nlu().understand(text.trim());
        tracing::debug!(
            room = %key.room,
            user = %key.user,
            intent = understanding.intent.as_ref().map(|i| i.name.as_str()),
            confidence = understanding.ranking.first().map(|i| i.confidence),
            phase = conversation.phase_name(),
            "message understood"
        );
        let ctx = Context {
            user: &key.user,
            room: &key.room,
            now: self.now(),
        };
        let transition = step(
            &self.project,
            conversation,
            Input::Message(&understanding),
            &ctx,
        );
        self.apply(key, transition, Vec::new(), reply).await?;
        Ok(())
    }

    /// Persists a transition with its audit records, replies, and runs its action
    /// (feeding the outcome back) until the conversation rests.
    async fn apply(
        &self,
        key: &ConversationKey,
        mut transition: Transition,
        mut records: Vec<AuditRecord>,
        reply: &mut (dyn FnMut(String) + Send),
    ) -> Result<Conversation, RuntimeError> {
        loop {
            let now = self.now();
            let mut run = None;
            for effect in transition.effects {
                match effect {
                    Effect::Record(record) => {
                        records.push(AuditRecord::from_record(key, now, &record))
                    }
                    Effect::Run { plan, request } => run = Some((plan, request)),
                }
            }
            self.store.commit(key, &transition.conversation, &records)?;
            records.clear();
            for text in transition.replies {
                reply(text);
            }
            let Some((plan, request)) = run else {
                return Ok(transition.conversation);
            };
            tracing::info!(room = %key.room, user = %key.user, dialog = %request.dialog, command = %plan.command_line(), "running action");
            let outcome = self.execute(&plan).await;
            tracing::info!(dialog = %request.dialog, exit_code = ?outcome.exit_code, succeeded = outcome.succeeded, "action finished");
            let ctx = Context {
                user: &key.user,
                room: &key.room,
                now: self.now(),
            };
            records.push(AuditRecord::executed(
                key, ctx.now, &request, &plan, &outcome,
            ));
            transition = step(
                &self.project,
                transition.conversation,
                Input::ActionFinished(&outcome),
                &ctx,
            );
        }
    }

    async fn execute(&self, plan: &Plan) -> ActionOutcome {
        match plan {
            Plan::Program {
                program,
                args,
                env,
                timeout,
                workdir,
                ..
            } => {
                if let Err(e) = std::fs::create_dir_all(&self.state_dir) {
                    tracing::warn!(dir = %self.state_dir.display(), error = %e, "cannot create the state folder");
                }
                let mut env = env.clone();
                env.push((
                    "OPSBOT_STATE_DIR".into(),
                    self.state_dir.display().to_string(),
                ));
                env.push((
                    "OPSBOT_PROJECT_DIR".into(),
                    self.project.root.display().to_string(),
                ));
                exec::run(&Invocation {
                    program,
                    args,
                    env: &env,
                    workdir,
                    timeout: *timeout,
                })
                .await
            }
            Plan::ShowAudit { intent, limit } => self.show_audit(intent, *limit),
        }
    }

    fn show_audit(&self, intent: &str, limit: usize) -> ActionOutcome {
        let started = std::time::Instant::now();
        let mut lines = Vec::new();
        for record in self.store.audit_newest_first() {
            match record {
                Ok(r) if r.intent == intent && r.outcome == AuditOutcome::Succeeded => {
                    lines.push(format!(
                        "• {} {}: {}",
                        r.time.format("%Y-%m-%d %H:%M UTC"),
                        r.user,
                        r.slot_summary()
                    ));
                    if lines.len() == limit {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    return ActionOutcome {
                        succeeded: false,
                        exit_code: None,
                        output: String::new(),
                        duration: started.elapsed(),
                        error: Some(e.to_string()),
                    }
                }
            }
        }
        if lines.is_empty() {
            lines.push("none yet".into());
        }
        ActionOutcome {
            succeeded: true,
            exit_code: Some(0),
            output: lines.join("\n"),
            duration: started.elapsed(),
            error: None,
        }
    }
}
