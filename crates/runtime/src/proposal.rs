//! Requests proposed through a door that can only propose (the HTTP API, an
//! MCP client): what such a door asks for and what it is told. A proposal is
//! read like a chat message of the person it is for — the same NLU,
//! validation, access rules and accounting of every word — but it can never
//! answer, confirm, approve or run anything itself: a change is posted to the
//! person's room as a pending question or confirmation that a person answers
//! there, and only a read-only dialog answers the proposer directly.

pub use opsbot_dialog::Given;
use serde::{Deserialize, Serialize};

use crate::audit::AuditOutcome;
use crate::key::ConversationKey;

/// A request for the person of `key`, to be posted in `key.room`.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub key: ConversationKey,
    /// Who proposes (an API token's name), recorded in the audit beside the
    /// person who confirms.
    pub proposer: String,
    /// What is asked for: the words the person would have written, or a
    /// dialog and its values.
    pub asked: Asked,
    /// What the proposer may do.
    pub scope: Scope,
}

/// A request as a proposer states it.
#[derive(Debug, Clone)]
pub enum Asked {
    /// In words, read as a chat message is ("restart apache on web-01").
    Words(String),
    /// As a dialog and its values by slot name, each checked exactly as
    /// given (an MCP tool call, or `intent` + `slots` over HTTP).
    Given(Given),
}

impl Asked {
    /// How the request reads in the room's heading and the audit.
    pub fn shown(&self) -> String {
        match self {
            Asked::Words(text) => text.clone(),
            Asked::Given(given) => given.shown(),
        }
    }
}

/// What a proposer may do: changes (confirmed by the person in the room),
/// read-only dialogs (answered to the proposer), and which dialogs.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub changes: bool,
    pub reads: bool,
    /// The dialogs it may name; `None`: all of them.
    pub dialogs: Option<Vec<String>>,
}

impl Scope {
    /// Whether a proposer of this scope may ask for `dialog` (whatever the
    /// person's own access says).
    pub fn covers(&self, dialog: &opsbot_spec::Dialog) -> bool {
        let listed = self
            .dialogs
            .as_ref()
            .is_none_or(|names| names.contains(&dialog.name));
        listed
            && if changes_nothing(dialog) {
                self.reads
            } else {
                self.changes
            }
    }
}

/// A dialog that only answers: `read_only: true`, or a reply without an action.
pub fn changes_nothing(dialog: &opsbot_spec::Dialog) -> bool {
    dialog.read_only || matches!(dialog.behaviour, opsbot_spec::Behaviour::Reply(_))
}

/// What became of a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Proposed {
    /// Posted to the room; the person answers there.
    Posted {
        id: String,
        dialog: String,
        state: RequestState,
        /// What the bot said in the room (the question or the confirmation).
        said: Vec<String>,
    },
    /// A read-only dialog ran and this is its answer (nothing was posted).
    Answered { dialog: String, said: Vec<String> },
    /// Not taken: nothing was posted and nothing changed.
    Refused { refusal: Refusal, reason: String },
}

/// Why a proposal was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The proposer's scope or the person's access does not cover the dialog.
    Forbidden,
    /// The person's conversation in that room waits for an answer already.
    Busy,
    /// Not a request: an answer, a command, or words the bot did not take as
    /// one (the reason is what the bot would have said).
    NotARequest,
    /// The bot cannot post to the room (no chat door, or the room is not
    /// reachable): nobody could confirm it.
    Unpostable,
    /// Given as a dialog and values, and a value does not fit, a slot is
    /// unknown or one it needs is missing (the reason names each).
    Invalid,
}

impl Proposed {
    /// Its result as a metric's label: `posted`, `answered`, or the refusal.
    pub fn label(&self) -> &'static str {
        match self {
            Proposed::Posted { .. } => "posted",
            Proposed::Answered { .. } => "answered",
            Proposed::Refused { refusal, .. } => match refusal {
                Refusal::Forbidden => "forbidden",
                Refusal::Busy => "busy",
                Refusal::NotARequest => "not_a_request",
                Refusal::Unpostable => "unpostable",
                Refusal::Invalid => "invalid",
            },
        }
    }
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Forbidden => "forbidden",
            Refusal::Busy => "busy",
            Refusal::NotARequest => "not a request",
            Refusal::Unpostable => "cannot post",
            Refusal::Invalid => "invalid values",
        }
    }
}

/// Where a request stands, for the proposer that asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// The bot asks the person for a value.
    Asking,
    AwaitingConfirmation,
    AwaitingCode,
    AwaitingApproval,
    /// Confirmed for a later time.
    Scheduled,
    Running,
    /// Ended; the outcome says how.
    Ended,
}

/// A request's state and, once it ended, its outcome as the audit has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestStatus {
    pub id: String,
    pub dialog: String,
    pub state: RequestState,
    /// How it ended (`executed`, `failed`, `cancelled`, `denied`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "succeeded"))]
    pub outcome: Option<AuditOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The program's output or the reason it ended, as audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
