//! "mute web-01 for 2 hours", "unmute web-01", "what is muted" in a room
//! whose bot has alerts: each mute and unmute is audited and put on the alert
//! timeline; the delivery worker holds new alert messages a mute covers.

use opsbot_dialog::{Record, Request, SlotOrigin, SlotValue};

use super::{Bot, Loaded, Reply};
use crate::alerts::{AlertEvent, AlertEventKind, Mute, MuteCommand};
use crate::audit::{AuditOutcome, AuditRecord};
use crate::key::ConversationKey;
use crate::store::Commit;
use crate::RuntimeError;

impl Bot {
    pub(super) async fn handle_mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        command: Result<MuteCommand, String>,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let now = self.now();
        let command = match command {
            Ok(command) => command,
            Err(why) => {
                reply.say(format!("I did not mute anything: {why}."));
                return Ok(());
            }
        };
        let (target, until) = match &command {
            MuteCommand::List => {
                let mut active: Vec<Mute> = self
                    .store
                    .mutes_in(&key.room)?
                    .into_iter()
                    .filter(|m| m.active(now))
                    .collect();
                active.sort_by_key(|m| m.until);
                let text = if active.is_empty() {
                    "No alerts are muted in this room.".to_string()
                } else {
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
                    format!("Muted in this room:\n{}", lines.join("\n"))
                };
                reply.say(text);
                return Ok(());
            }
            MuteCommand::Mute { target, duration } => (
                target.clone(),
                Some(now + chrono::Duration::from_std(*duration).unwrap_or_default()),
            ),
            MuteCommand::Unmute { target } => (target.clone(), None),
        };
        let settings = &loaded.project.settings;
        let who = settings.person_of(&key.user).to_string();
        let (kind, answer, detail) = match until {
            Some(until) => {
                let mute = Mute {
                    room: key.room.clone(),
                    target: target.clone(),
                    until,
                    by: who.clone(),
                    at: now,
                };
                let store = self.store.clone();
                self.blocking(move || store.put_mute(&mute)).await?;
                let until_text = until.format("%Y-%m-%d %H:%M UTC").to_string();
                (
                    AlertEventKind::Muted,
                    format!("Muted new alert messages about {target} in this room until {until_text}. Say “unmute {target}” to end it sooner."),
                    format!("until {until_text}"),
                )
            }
            None => {
                let (store, id) = (self.store.clone(), Mute::id(&key.room, &target));
                if !self.blocking(move || store.remove_mute(&id)).await? {
                    reply.say(format!("Nothing about {target} is muted in this room."));
                    return Ok(());
                }
                (
                    AlertEventKind::Unmuted,
                    format!("Unmuted {target}: its alerts are posted here again."),
                    String::new(),
                )
            }
        };
        let event = AlertEvent {
            at: now,
            room: key.room.clone(),
            group: String::new(),
            kind,
            subject: target.clone(),
            by: Some(who),
            detail: detail.clone(),
        };
        let store = self.store.clone();
        self.blocking(move || store.save_alerts(&[], &[event]))
            .await?;
        self.audit_mute(loaded, key, text, &target, kind, &detail)
            .await?;
        self.alerts_pending.notify_one();
        reply.say(answer);
        Ok(())
    }

    /// The audit record of a mute or unmute, committed with the speaker's
    /// conversation unchanged (under its lock).
    async fn audit_mute(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        target: &str,
        kind: AlertEventKind,
        detail: &str,
    ) -> Result<(), RuntimeError> {
        let settings = &loaded.project.settings;
        let name = match kind {
            AlertEventKind::Unmuted => "unmute_alerts",
            _ => "mute_alerts",
        };
        // Through the audit's one path for requests (redaction included), as
        // a request that succeeded.
        let now = self.now();
        let request = Request {
            id: hex::encode(rand::random::<[u8; 8]>()),
            dialog: name.into(),
            intent: name.into(),
            confidence: 1.0,
            slots: [(
                "target".to_string(),
                SlotValue {
                    value: target.to_string(),
                    origin: SlotOrigin::Extracted,
                },
            )]
            .into(),
            messages: vec![text.to_string()],
            failed_answers: 0,
            confirmed_by: None,
            approved_by: None,
            declined_by: None,
            two_factor: false,
            dry_run: false,
            started_at: now,
            alert: None,
            touched_at: now,
            offered: Vec::new(),
            checked: Default::default(),
        };
        let mut record = AuditRecord::from_record(
            settings,
            key,
            now,
            &Record {
                disposition: AuditOutcome::Succeeded,
                request,
                reason: detail.to_string(),
            },
        );
        if detail.is_empty() {
            record.reason = None;
        }
        let lock = self.lock_for(key);
        let _in_order = lock.lock().await;
        let conversation = self.store.load(key)?;
        self.commit(
            key,
            &conversation,
            Commit {
                records: vec![record],
                ..Commit::default()
            },
        )
        .await?;
        Ok(())
    }
}
