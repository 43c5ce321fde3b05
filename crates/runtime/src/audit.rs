//! Audit records: what was asked, understood, confirmed and run, by whom, with
//! what result. Every executed, failed, denied, cancelled or expired request
//! leaves one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_dialog::{ActionOutcome, Disposition, Plan, Record, Request, SlotValue};
use serde::{Deserialize, Serialize};

use crate::store::ConversationKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Succeeded,
    Failed,
    Cancelled,
    Denied,
    Expired,
    OutcomeUnknown,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Cancelled => "cancelled",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Expired => "expired",
            AuditOutcome::OutcomeUnknown => "outcome unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Monotonic, assigned by the store.
    pub id: u64,
    pub time: DateTime<Utc>,
    pub room: String,
    pub user: String,
    pub outcome: AuditOutcome,
    pub dialog: String,
    pub intent: String,
    pub confidence: f32,
    pub slots: BTreeMap<String, SlotValue>,
    pub messages: Vec<String>,
    pub confirmed_by: Option<String>,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub output: Option<String>,
    pub reason: Option<String>,
}

impl AuditRecord {
    fn from_request(
        key: &ConversationKey,
        time: DateTime<Utc>,
        outcome: AuditOutcome,
        request: &Request,
    ) -> AuditRecord {
        AuditRecord {
            id: 0,
            time,
            room: key.room.clone(),
            user: key.user.clone(),
            outcome,
            dialog: request.dialog.clone(),
            intent: request.intent.clone(),
            confidence: request.confidence,
            slots: request.slots.clone(),
            messages: request.messages.clone(),
            confirmed_by: request.confirmed_by.clone(),
            command: None,
            exit_code: None,
            duration_ms: None,
            output: None,
            reason: None,
        }
    }

    /// A request that ended without running (cancelled, denied, expired, unknown).
    pub fn from_record(key: &ConversationKey, time: DateTime<Utc>, record: &Record) -> AuditRecord {
        let outcome = match record.disposition {
            Disposition::Cancelled => AuditOutcome::Cancelled,
            Disposition::Denied => AuditOutcome::Denied,
            Disposition::Expired => AuditOutcome::Expired,
            Disposition::OutcomeUnknown => AuditOutcome::OutcomeUnknown,
        };
        let mut audit = AuditRecord::from_request(key, time, outcome, &record.request);
        audit.reason = Some(record.reason.clone());
        audit
    }

    /// A request that ran.
    pub fn executed(
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        plan: &Plan,
        outcome: &ActionOutcome,
    ) -> AuditRecord {
        let status = if outcome.succeeded {
            AuditOutcome::Succeeded
        } else {
            AuditOutcome::Failed
        };
        let mut audit = AuditRecord::from_request(key, time, status, request);
        audit.command = Some(plan.command_line());
        audit.exit_code = outcome.exit_code;
        audit.duration_ms = Some(outcome.duration.as_millis() as u64);
        audit.output = Some(outcome.output.clone());
        audit.reason = outcome.error.clone();
        audit
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
            id: 0,
            time: Utc::now(),
            room: "room".into(),
            user: "alice".into(),
            outcome: AuditOutcome::Succeeded,
            dialog: dialog.into(),
            intent: dialog.into(),
            confidence: 0.9,
            slots: BTreeMap::new(),
            messages: vec!["hello".into()],
            confirmed_by: None,
            command: None,
            exit_code: Some(0),
            duration_ms: Some(1),
            output: None,
            reason: None,
        }
    }
}
