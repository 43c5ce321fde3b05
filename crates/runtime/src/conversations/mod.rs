//! The conversations service: one message for the speaker's own
//! conversation is stepped through the pure engine — load → recover → step →
//! commit → reply → perform → step … (`apply.rs`) — with the facts the engine
//! cannot compute itself (the [`Context`]). It is called only from the
//! ingress's ordered worker of that conversation, so it takes no lock.

use std::sync::{Arc, Mutex};

use opsbot_dialog::phrases;
use opsbot_dialog::{step, CodeCheck, Context, Conversation, Input, Phase};

use crate::actions::Actions;
use crate::alert_desk::AlertDesk;
use crate::audit::AuditRecord;
use crate::command::remind;
use crate::command::Message;
use crate::floor::Floor;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::review::Review;
use crate::store::ConversationKey;
use crate::RuntimeError;

mod apply;
mod approvals;
mod proposals;
mod resume;
mod running;
mod scheduled;

pub(crate) use approvals::Approval;

/// What the store says about a user for one message: their executions in the
/// rate-limit window and whether they are enrolled in 2FA.
#[derive(Debug, Clone, Copy)]
struct Facts {
    recent_executions: u32,
    two_factor_enrolled: bool,
}

impl Facts {
    fn of(ctx: &Context<'_>) -> Facts {
        Facts {
            recent_executions: ctx.recent_executions,
            two_factor_enrolled: ctx.two_factor_enrolled,
        }
    }
}

pub struct Conversations {
    floor: Arc<Floor>,
    actions: Arc<Actions>,
    alerts: Arc<AlertDesk>,
    review: Arc<Review>,
    /// Bounds inference on blocking threads to the cores there are: more
    /// encoder passes at once only slow each other down.
    inference: tokio::sync::Semaphore,
    /// Everyone's time zone, instead of the settings' (conversation tests).
    zone_override: Mutex<Option<chrono_tz::Tz>>,
    /// Every request is a dry run: nothing executes.
    dry_run: bool,
}

impl Conversations {
    pub(crate) fn new(
        floor: Arc<Floor>,
        actions: Arc<Actions>,
        alerts: Arc<AlertDesk>,
        review: Arc<Review>,
        dry_run: bool,
    ) -> Conversations {
        Conversations {
            floor,
            actions,
            alerts,
            review,
            inference: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            zone_override: Mutex::new(None),
            dry_run,
        }
    }

    /// Puts every user in `zone` (conversation tests that pin a time zone).
    pub fn set_time_zone(&self, zone: chrono_tz::Tz) {
        *self.zone_override.lock().expect("zone lock") = Some(zone);
    }

    /// Whether the bot has asked this user something in this room and waits
    /// for the answer (so an answer needs no address in a group room).
    pub(crate) fn awaits_answer(&self, key: &ConversationKey) -> bool {
        self.alerts.mute_awaits_answer(key)
            || matches!(
                self.floor.store.load(key).map(|c| c.phase),
                Ok(Phase::Collecting { .. }
                    | Phase::AwaitingConfirmation { .. }
                    | Phase::AwaitingCode { .. }
                    | Phase::AwaitingApproval { .. }
                    | Phase::Choosing { .. })
            )
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
        let now = self.floor.now();
        let window = chrono::Duration::from_std(settings.rate_limit.per).unwrap_or_default();
        let store = &self.floor.store;
        let facts = Facts {
            recent_executions: store
                .executions_since(settings.person_of(&key.user), now - window)?,
            two_factor_enrolled: store.totp(&key.user)?.is_some(),
        };
        Ok(self.context_with(loaded, key, facts, dry_run))
    }

    /// A context from facts read earlier in the same message (a step after
    /// an action or a lookup needs no second read of them).
    fn context_with<'k>(
        &self,
        loaded: &Loaded,
        key: &'k ConversationKey,
        facts: Facts,
        dry_run: bool,
    ) -> Context<'k> {
        Context {
            user: &key.user,
            room: &key.room,
            now: self.floor.now(),
            time_zone: self
                .zone_override
                .lock()
                .expect("zone lock")
                .unwrap_or_else(|| loaded.project.settings.zone_of(&key.user)),
            dry_run: self.dry_run || dry_run,
            recent_executions: facts.recent_executions,
            two_factor_enrolled: facts.two_factor_enrolled,
            alert: None,
            open_alerts: &[],
            proposed_by: None,
        }
    }

    fn load(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<Conversation, RuntimeError> {
        match self.floor.store.load(key) {
            Ok(c) => Ok(c),
            Err(RuntimeError::CorruptState { reason, .. }) => {
                tracing::warn!(room = %key.room, user = %key.user, %reason, "unreadable conversation state; starting fresh");
                reply.say("I could not read our earlier conversation (it was saved in another format), so I started fresh.".into());
                Ok(Conversation::default())
            }
            Err(e) => Err(e),
        }
    }

    /// A message for the speaker's own conversation.
    pub(crate) async fn message(
        &self,
        loaded: &Arc<Loaded>,
        key: &ConversationKey,
        message: Message<'_>,
        replying_to: Option<&str>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let conversation = self.load(key, reply)?;
        // "in 1 hour" after "When should I remind you?".
        let Some(conversation) =
            remind::answer(&self.floor, loaded, key, conversation, message.text, reply).await?
        else {
            return Ok(());
        };
        let conversation = self.recover(loaded, key, conversation, reply).await?;

        if conversation.phase == Phase::Idle
            && phrases::classify(message.text) == phrases::Answer::Yes
        {
            if let Some(hint) = self.approval_hint(loaded, key)? {
                reply.say(hint);
                return Ok(());
            }
        }
        if let (Phase::AwaitingCode { .. }, Some(code)) = (&conversation.phase, &message.code) {
            return self
                .check_code(loaded, key, conversation, code, reply)
                .await;
        }

        let understanding = self.understand(loaded, message.content).await?;
        tracing::debug!(
            room = %key.room,
            user = %key.user,
            intent = understanding.intent.as_ref().map(|i| i.name.as_str()),
            confidence = understanding.ranking.first().map(|i| i.confidence),
            phase = conversation.phase_name(),
            "message understood"
        );
        let (alert, open_alerts) = self.alerts.context(loaded, &key.room, replying_to)?;
        let mut ctx = self.context(loaded, key, message.dry_run)?;
        ctx.alert = alert.as_ref();
        ctx.open_alerts = &open_alerts;
        let transition = step(
            &loaded.project,
            conversation,
            Input::Message(&understanding),
            &ctx,
        );
        self.apply(loaded, key, transition, Vec::new(), Facts::of(&ctx), reply)
            .await?;
        Ok(())
    }

    /// What the NLU reads in `content`. Inference runs on a blocking thread:
    /// one slow encoder pass must not stall the other conversations on the
    /// async workers.
    async fn understand(
        &self,
        loaded: &Arc<Loaded>,
        content: &str,
    ) -> Result<opsbot_nlu::Understanding, RuntimeError> {
        let _turn = self
            .inference
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let loaded = loaded.clone();
        let content = content.to_string();
        let started = std::time::Instant::now();
        let understood = tokio::task::spawn_blocking(move || loaded.nlu.understand(&content))
            .await
            .map_err(|e| RuntimeError::Internal(format!("understanding failed: {e}")))?;
        let metrics = &self.floor.metrics;
        metrics.nlu_seconds.observe(started.elapsed().as_secs_f64());
        match &understood.intent {
            Some(intent) => {
                metrics
                    .intents
                    .with_label_values(&[intent.name.as_str()])
                    .inc();
                metrics.confidence.observe(f64::from(intent.confidence));
            }
            None => metrics.intents.with_label_values(&["none"]).inc(),
        }
        Ok(understood)
    }

    /// A six-digit code while the conversation waits for one: checked here
    /// (the secret never enters the engine), every wrong code audited.
    async fn check_code(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        conversation: Conversation,
        code: &str,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let Phase::AwaitingCode { request } = &conversation.phase else {
            return Ok(());
        };
        let ctx = self.context(loaded, key, false)?;
        let now = ctx.now;
        let (user, code) = (key.user.clone(), code.to_string());
        let check = self
            .floor
            .blocking(move |store| match store.totp(&user)? {
                Some(mut record) => {
                    let check = record.check(&code, now);
                    store.put_totp(&user, &record)?;
                    Ok(check)
                }
                None => Ok(CodeCheck::NotEnrolled),
            })
            .await?;
        tracing::info!(room = %key.room, user = %key.user, valid = matches!(check, CodeCheck::Valid), "two-factor code checked");
        // Every wrong code is audited on its own, not only the lockout.
        let records = match &check {
            CodeCheck::Invalid { .. } | CodeCheck::LockedOut { .. } => {
                vec![AuditRecord::code_rejected(
                    &loaded.project.settings,
                    key,
                    now,
                    request,
                    matches!(check, CodeCheck::LockedOut { .. }),
                )]
            }
            _ => Vec::new(),
        };
        let transition = step(&loaded.project, conversation, Input::Code(check), &ctx);
        self.apply(loaded, key, transition, records, Facts::of(&ctx), reply)
            .await?;
        Ok(())
    }
}
