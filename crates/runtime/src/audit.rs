//! Audit records: what was asked, understood, confirmed, approved and run, by
//! whom, with what result. Every executed, failed, denied, cancelled, expired or
//! dry-run request leaves one.
//!
//! Records form a keyed hash chain: each holds an HMAC (under the audit key
//! kept outside the store, see [`crate::seal`]) over its content and the hash of
//! the one before, and the store keeps the newest id and hash apart. [`verify`]
//! finds any record that was edited, removed or reordered, a rewrite by someone
//! without the key, and, against the checkpoint copy, records lost from the end.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_dialog::{ActionOutcome, Plan, Record, Request, SlotValue};
use opsbot_spec::Settings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::key::ConversationKey;
use crate::seal::AuditKey;

/// How a request ended: the engine's list, shared (see [`opsbot_dialog::Outcome`]).
pub use opsbot_dialog::Outcome as AuditOutcome;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1, 2, 3 …, assigned by the store.
    pub id: u64,
    /// Hash of the previous record ("" for the first).
    pub prev_hash: String,
    /// SHA-256 over this record with `hash` empty.
    pub hash: String,
    pub request_id: String,
    pub time: DateTime<Utc>,
    pub room: String,
    pub user: String,
    pub outcome: AuditOutcome,
    pub dialog: String,
    pub intent: String,
    pub confidence: f32,
    /// Values with where each came from (extracted, asked, carried over, default).
    pub slots: BTreeMap<String, SlotValue>,
    pub messages: Vec<String>,
    pub confirmed_by: Option<String>,
    pub approved_by: Option<String>,
    /// The approver who declined the request (absent from records before
    /// this field, so their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    pub two_factor: bool,
    pub dry_run: bool,
    /// The access decision: "allowed", or "denied: why".
    pub access: String,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub output: Option<String>,
    pub reason: Option<String>,
    /// The alert the request was about (absent from records before alerts,
    /// so their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<opsbot_dialog::AlertLink>,
    /// Who proposed the request through the API (a token's name); the person
    /// in `user` confirmed it. Absent when the person asked themselves (and
    /// from older records, so their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<String>,
    /// The runbook step this record is about: `2 promote`, a rollback step
    /// `r1 switch_back` (absent for one-action requests and older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// A built-in command to audit (see [`AuditRecord::command`]).
pub struct BotCommand<'a> {
    /// The command's name in the trail, e.g. `mute_alerts`.
    pub name: &'a str,
    /// What it is about (a mute's target).
    pub target: &'a str,
    /// The message as said.
    pub text: &'a str,
    pub outcome: AuditOutcome,
    /// Why it was refused, or what it did ("until …"); empty for nothing.
    pub detail: &'a str,
    /// The speaker confirmed it with a "yes".
    pub confirmed: bool,
}

/// The newest record's id and hash, kept beside the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub id: u64,
    pub hash: String,
}

impl AuditRecord {
    /// What every record starts from: who, where, when and how it ended,
    /// with nothing else said yet.
    fn blank(key: &ConversationKey, time: DateTime<Utc>, outcome: AuditOutcome) -> AuditRecord {
        AuditRecord {
            id: 0,
            prev_hash: String::new(),
            hash: String::new(),
            request_id: String::new(),
            time,
            room: key.room.clone(),
            user: key.user.clone(),
            outcome,
            dialog: String::new(),
            intent: String::new(),
            confidence: 0.0,
            slots: BTreeMap::new(),
            messages: Vec::new(),
            confirmed_by: None,
            approved_by: None,
            declined_by: None,
            two_factor: false,
            dry_run: false,
            access: "allowed".into(),
            command: None,
            exit_code: None,
            duration_ms: None,
            output: None,
            reason: None,
            alert: None,
            proposed_by: None,
            step: None,
        }
    }

    fn from_request(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        outcome: AuditOutcome,
        request: &Request,
    ) -> AuditRecord {
        AuditRecord {
            request_id: request.id.clone(),
            dialog: request.dialog.clone(),
            intent: request.intent.clone(),
            confidence: request.confidence,
            slots: request.slots.clone(),
            messages: request
                .messages
                .iter()
                .map(|m| settings.redact(m))
                .collect(),
            confirmed_by: request.confirmed_by.clone(),
            approved_by: request.approved_by.clone(),
            declined_by: request.declined_by.clone(),
            two_factor: request.two_factor,
            dry_run: request.dry_run,
            alert: request.alert.clone(),
            proposed_by: request.proposed_by.clone(),
            ..AuditRecord::blank(key, time, outcome)
        }
    }

    /// A request that ended without running (cancelled, denied, expired, dry run, unknown).
    pub fn from_record(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        record: &Record,
    ) -> AuditRecord {
        let outcome = record.disposition;
        let mut audit = AuditRecord::from_request(settings, key, time, outcome, &record.request);
        if outcome == AuditOutcome::Denied {
            audit.access = format!("denied: {}", record.reason);
        }
        // A runbook's step the bot lost track of: named by its number.
        if let (AuditOutcome::OutcomeUnknown, Some(_)) = (outcome, &record.request.runbook) {
            let run_id = record.request.run_id();
            audit.step = run_id.rsplit('/').next().map(str::to_string);
        }
        audit.reason = Some(settings.redact(&record.reason));
        audit
    }

    /// A built-in command that changes the bot itself (a mute, an unmute):
    /// who said what, about which target, done or refused — its own record,
    /// not a forged dialog request.
    pub fn command(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        command: &BotCommand<'_>,
    ) -> AuditRecord {
        let denied = command.outcome == AuditOutcome::Denied;
        AuditRecord {
            request_id: hex::encode(rand::random::<[u8; 8]>()),
            dialog: command.name.into(),
            intent: command.name.into(),
            confidence: 1.0,
            slots: [(
                "target".to_string(),
                opsbot_dialog::SlotValue {
                    value: command.target.to_string(),
                    origin: opsbot_dialog::SlotOrigin::Extracted,
                },
            )]
            .into(),
            messages: vec![settings.redact(command.text)],
            confirmed_by: command.confirmed.then(|| key.user.clone()),
            access: if denied {
                format!("denied: {}", command.detail)
            } else {
                "allowed".into()
            },
            reason: (!command.detail.is_empty()).then(|| settings.redact(command.detail)),
            ..AuditRecord::blank(key, time, command.outcome)
        }
    }

    /// A two-factor code that was wrong, or sent while 2FA is locked.
    pub fn code_rejected(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        locked_out: bool,
    ) -> AuditRecord {
        let mut audit =
            AuditRecord::from_request(settings, key, time, AuditOutcome::CodeRejected, request);
        audit.two_factor = true;
        audit.reason = Some(if locked_out {
            "two-factor authentication is locked after too many wrong codes".into()
        } else {
            "wrong two-factor code".into()
        });
        audit
    }

    /// A scheduled request cancelled before its time, by `by`.
    pub fn unscheduled(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        by: &str,
    ) -> AuditRecord {
        let mut audit =
            AuditRecord::from_request(settings, key, time, AuditOutcome::Cancelled, request);
        audit.reason = Some(format!("cancelled by {by} before its time"));
        audit
    }

    /// A request that ran.
    pub fn executed(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        plan: &Plan,
        outcome: &ActionOutcome,
    ) -> AuditRecord {
        let status = match (outcome.started, outcome.succeeded) {
            // A dry run's read-only preview: what ran changed nothing.
            _ if request.dry_run => AuditOutcome::DryRun,
            (false, _) => AuditOutcome::NotStarted,
            (true, true) => AuditOutcome::Succeeded,
            (true, false) => AuditOutcome::Failed,
        };
        let mut audit = AuditRecord::from_request(settings, key, time, status, request);
        if request.dry_run {
            audit.reason = Some("dry run: only the read-only preview ran".into());
        }
        audit.command = Some(plan.command_line());
        if request.runbook.is_some() {
            let run_id = request.run_id();
            let number = run_id.rsplit('/').next().unwrap_or_default();
            let name = match plan {
                Plan::Program { env, .. } => env
                    .iter()
                    .find(|(k, _)| k == "OPSBOT_STEP")
                    .map(|(_, v)| v.as_str()),
                Plan::ShowAudit(_) => None,
            };
            audit.step = Some(
                format!("{number} {}", name.unwrap_or_default())
                    .trim()
                    .to_string(),
            );
        }
        audit.exit_code = outcome.exit_code;
        audit.duration_ms = Some(outcome.duration.as_millis() as u64);
        audit.output = Some(settings.redact(&outcome.output));
        if let Some(error) = &outcome.error {
            audit.reason = Some(settings.redact(error));
        }
        audit
    }

    fn unhashed_bytes(&self) -> Vec<u8> {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        serde_json::to_vec(&unhashed).expect("audit record serialises")
    }

    /// HMAC-SHA256 under the audit key of the record with its own hash left empty.
    pub fn compute_hash(&self, key: &AuditKey) -> String {
        key.mac(&self.unhashed_bytes())
    }

    /// The unkeyed SHA-256 an older opsbot (or someone without the key) writes.
    fn plain_hash(&self) -> String {
        hex::encode(Sha256::digest(self.unhashed_bytes()))
    }

    /// "shop=1.2.0 environment=staging".
    pub fn slot_summary(&self) -> String {
        self.slots
            .iter()
            .map(|(k, v)| format!("{k}={}", v.value))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a filter's free text appears in the record's messages, slots or command.
    pub fn mentions(&self, text: &str) -> bool {
        let needle = text.to_lowercase();
        self.messages
            .iter()
            .any(|m| m.to_lowercase().contains(&needle))
            || self
                .slots
                .values()
                .any(|v| v.value.to_lowercase().contains(&needle))
            || self
                .command
                .as_deref()
                .is_some_and(|c| c.to_lowercase().contains(&needle))
    }

    #[cfg(test)]
    pub(crate) fn test_record(dialog: &str) -> AuditRecord {
        AuditRecord {
            request_id: "r".into(),
            dialog: dialog.into(),
            intent: dialog.into(),
            confidence: 0.9,
            messages: vec!["hello".into()],
            exit_code: Some(0),
            duration_ms: Some(1),
            ..AuditRecord::blank(
                &ConversationKey::new("room", "alice"),
                Utc::now(),
                AuditOutcome::Succeeded,
            )
        }
    }
}

/// Links `records` after `head`: each gets the next id, the previous hash and
/// its keyed hash. Returns the records as they are to be stored and the new
/// head. The chain is the audit module's business; a store only persists it.
pub fn chain(
    mut head: ChainHead,
    records: &[AuditRecord],
    key: &AuditKey,
) -> (Vec<AuditRecord>, ChainHead) {
    let mut linked = Vec::with_capacity(records.len());
    for record in records {
        let mut record = record.clone();
        record.id = head.id + 1;
        record.prev_hash = head.hash.clone();
        record.hash = record.compute_hash(key);
        head = ChainHead {
            id: record.id,
            hash: record.hash.clone(),
        };
        linked.push(record);
    }
    (linked, head)
}

/// The checkpoint copy as `verify` sees it: its records, and its damaged
/// lines (line number, why).
pub type CopyView<'c> = (&'c [AuditRecord], &'c [(usize, String)]);

mod verify;
pub use verify::{verify, verify_from, Verification};

#[cfg(test)]
mod tests;
