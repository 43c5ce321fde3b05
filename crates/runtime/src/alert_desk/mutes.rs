//! "mute web-01 for 2 hours", "unmute web-01", "what is muted" in a room
//! whose bot has alerts. A mute hides alerts from everyone in the room, so
//! it is a request like others: only those `alerts.mute.allow` names may
//! mute or unmute (nobody when it is not declared), a target that would
//! match most alerts (a severity, "all", a value most alerts carry) is
//! refused unless `alerts.mute.broad` lists it, and a mute takes effect only
//! after the speaker's "yes". Every mute, unmute and refusal is audited with
//! who asked; mutes and unmutes also go on the alert timeline, and the
//! delivery worker holds new alert messages a mute covers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_dialog::phrases::{classify, Answer};

use super::AlertDesk;
use crate::alerts::{AlertEvent, AlertEventKind, Mute, MuteCommand};
use crate::audit::{AuditOutcome, AuditRecord, BotCommand};
use crate::key::ConversationKey;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::Commit;
use crate::RuntimeError;

/// A mute said and waiting for its speaker's "yes". Kept in memory only: a
/// restart forgets it, and an unconfirmed mute never takes effect.
#[derive(Debug, Clone)]
pub(super) struct PendingMute {
    target: String,
    duration: Duration,
    text: String,
    asked_at: DateTime<Utc>,
}

impl AlertDesk {
    pub(crate) async fn handle_mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        command: Result<MuteCommand, String>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        // A new mute command replaces one still waiting for its answer.
        self.pending_mutes
            .lock()
            .expect("pending mutes lock")
            .remove(key);
        let now = self.floor.now();
        let command = match command {
            Ok(command) => command,
            Err(why) => {
                reply.say(format!("I did not mute anything: {why}."));
                return Ok(());
            }
        };
        let target = match &command {
            MuteCommand::List => {
                reply.say(self.list_mutes(&key.room, now)?);
                return Ok(());
            }
            MuteCommand::Mute { target, .. } | MuteCommand::Unmute { target } => target.clone(),
        };
        let settings = &loaded.project.settings;
        let rules = settings
            .alerts
            .as_ref()
            .map(|a| a.mute.clone())
            .unwrap_or_default();
        let (verb, kind) = match &command {
            MuteCommand::Unmute { .. } => ("unmute", AlertEventKind::Unmuted),
            _ => ("mute", AlertEventKind::Muted),
        };
        // Who may not mute, and targets that would hide most alerts: both
        // refused with the reason, and audited.
        let refusal = match rules.check(&settings.groups, &key.user, &key.room) {
            Err(reason) => {
                tracing::info!(room = %key.room, user = %key.user, "mute refused: not allowed");
                Some(reason)
            }
            Ok(()) => match &command {
                MuteCommand::Mute { .. }
                    if !rules.allows_broad(&target)
                        && crate::alerts::matches_most(
                            &target,
                            &self.floor.store.alert_groups_in(&key.room)?,
                        ) =>
                {
                    Some(format!(
                        "“{target}” would match most alerts in this room; name a host or an alert instead (opsbot.yaml may allow it under `alerts.mute.broad`)"
                    ))
                }
                _ => None,
            },
        };
        if let Some(reason) = refusal {
            reply.say(format!("I did not {verb} anything: {reason}."));
            return self
                .audit_mute(
                    loaded,
                    key,
                    text,
                    &target,
                    kind,
                    AuditOutcome::Denied,
                    &reason,
                )
                .await;
        }
        let MuteCommand::Mute { duration, .. } = command else {
            return self.unmute(loaded, key, text, &target, reply).await;
        };
        let for_how_long = spoken(duration);
        reply.say(format!(
            "I will mute new alert messages matching {target} in this room for {for_how_long}. Shall I go ahead? (yes/no)"
        ));
        self.pending_mutes
            .lock()
            .expect("pending mutes lock")
            .insert(
                key.clone(),
                PendingMute {
                    target,
                    duration,
                    text: text.to_string(),
                    asked_at: now,
                },
            );
        Ok(())
    }

    /// Whether the speaker's mute waits for an answer.
    pub(crate) fn mute_awaits_answer(&self, key: &ConversationKey) -> bool {
        self.pending_mutes
            .lock()
            .expect("pending mutes lock")
            .contains_key(key)
    }

    /// The answer to "Shall I go ahead?" about a mute, if one waits: `true`
    /// when `text` was that answer. Anything else drops the pending mute (a
    /// new message moves on) and goes on to the dialogs.
    pub(crate) async fn answer_mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        reply: &mut Reply<'_>,
    ) -> Result<bool, RuntimeError> {
        let Some(pending) = self
            .pending_mutes
            .lock()
            .expect("pending mutes lock")
            .remove(key)
        else {
            return Ok(false);
        };
        let now = self.floor.now();
        let expiry = chrono::Duration::from_std(loaded.project.settings.confirmation_expiry)
            .unwrap_or_default();
        match classify(text) {
            Answer::Yes if now - pending.asked_at > expiry => {
                reply.say(format!(
                    "That mute of {} waited too long for its answer; I did not mute anything. Say it again if it is still wanted.",
                    pending.target
                ));
                Ok(true)
            }
            Answer::Yes => {
                self.mute(loaded, key, &pending, reply).await?;
                Ok(true)
            }
            Answer::No | Answer::NoBut(_) => {
                reply.say("OK, I did not mute anything.".to_string());
                Ok(true)
            }
            Answer::Other => Ok(false),
        }
    }

    fn list_mutes(&self, room: &str, now: DateTime<Utc>) -> Result<String, RuntimeError> {
        let mut active: Vec<Mute> = self
            .floor
            .store
            .mutes_in(room)?
            .into_iter()
            .filter(|m| m.active(now))
            .collect();
        active.sort_by_key(|m| m.until);
        if active.is_empty() {
            return Ok("No alerts are muted in this room.".to_string());
        }
        let lines: Vec<String> = active
            .iter()
            .map(|m| {
                format!(
                    "• {} until {} (by {})",
                    m.target,
                    m.until.format("%Y-%m-%d %H:%M UTC"),
                    m.by
                )
            })
            .collect();
        Ok(format!("Muted in this room:\n{}", lines.join("\n")))
    }

    /// A confirmed mute takes effect: stored, on the timeline, audited.
    async fn mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        pending: &PendingMute,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let now = self.floor.now();
        let who = loaded.project.settings.person_of(&key.user).to_string();
        let target = pending.target.clone();
        let until = now + chrono::Duration::from_std(pending.duration).unwrap_or_default();
        let mute = Mute {
            room: key.room.clone(),
            target: target.clone(),
            until,
            by: who.clone(),
            at: now,
        };
        self.floor
            .blocking(move |store| store.put_mute(&mute))
            .await?;
        let until_text = until.format("%Y-%m-%d %H:%M UTC").to_string();
        let detail = format!("until {until_text}");
        self.record_mute_event(key, &target, AlertEventKind::Muted, &who, &detail)
            .await?;
        self.audit_mute(
            loaded,
            key,
            &pending.text,
            &target,
            AlertEventKind::Muted,
            AuditOutcome::Succeeded,
            &detail,
        )
        .await?;
        tracing::info!(room = %key.room, user = %key.user, target = %target, "alerts muted");
        reply.say(format!("Muted new alert messages about {target} in this room until {until_text}. Say “unmute {target}” to end it sooner."));
        Ok(())
    }

    async fn unmute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        target: &str,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let id = Mute::id(&key.room, target);
        if !self
            .floor
            .blocking(move |store| store.remove_mute(&id))
            .await?
        {
            reply.say(format!("Nothing about {target} is muted in this room."));
            return Ok(());
        }
        let who = loaded.project.settings.person_of(&key.user).to_string();
        self.record_mute_event(key, target, AlertEventKind::Unmuted, &who, "")
            .await?;
        self.audit_mute(
            loaded,
            key,
            text,
            target,
            AlertEventKind::Unmuted,
            AuditOutcome::Succeeded,
            "",
        )
        .await?;
        reply.say(format!(
            "Unmuted {target}: its alerts are posted here again."
        ));
        Ok(())
    }

    /// Puts a mute or unmute on the room's alert timeline and wakes the
    /// delivery worker (a lifted mute releases held messages).
    async fn record_mute_event(
        &self,
        key: &ConversationKey,
        target: &str,
        kind: AlertEventKind,
        who: &str,
        detail: &str,
    ) -> Result<(), RuntimeError> {
        let event = AlertEvent {
            at: self.floor.now(),
            room: key.room.clone(),
            group: String::new(),
            kind,
            subject: target.to_string(),
            by: Some(who.to_string()),
            detail: detail.to_string(),
        };
        self.floor
            .blocking(move |store| store.save_alerts(&[], &[event]))
            .await?;
        self.pending.notify_one();
        Ok(())
    }

    /// The audit record of a mute or unmute (done or refused), committed
    /// with the speaker's conversation unchanged.
    #[allow(clippy::too_many_arguments)]
    async fn audit_mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        target: &str,
        kind: AlertEventKind,
        disposition: AuditOutcome,
        detail: &str,
    ) -> Result<(), RuntimeError> {
        let name = match kind {
            AlertEventKind::Unmuted => "unmute_alerts",
            _ => "mute_alerts",
        };
        let now = self.floor.now();
        let record = AuditRecord::command(
            &loaded.project.settings,
            key,
            now,
            &BotCommand {
                name,
                target,
                text,
                outcome: disposition,
                detail,
                confirmed: disposition == AuditOutcome::Succeeded && kind == AlertEventKind::Muted,
            },
        );
        // Committed with the speaker's conversation as it is: this runs in
        // the conversation's ordered worker, so nothing changes it meanwhile.
        let conversation = self.floor.store.load(key)?;
        let change = Commit {
            records: vec![record],
            ..Commit::at(now)
        };
        self.floor.commit(key, &conversation, change).await?;
        Ok(())
    }
}

/// "2 hours", "7 days", "90 minutes": how long a mute lasts, in words.
fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (n, unit) = match seconds {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
