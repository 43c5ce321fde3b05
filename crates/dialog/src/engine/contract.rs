//! The engine's contract with the runtime: the context it is given, the inputs
//! it takes, and the transition (state, replies, effects) it returns.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_nlu::Understanding;
use serde::{Deserialize, Serialize};

use crate::plan::{Lookup, Plan};
use crate::state::{Conversation, Request};

/// Messages longer than this are refused instead of interpreted.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// The reply to a message over [`MAX_MESSAGE_CHARS`], if it is; counts no
/// further than needed, so a megabyte costs no more than the limit.
pub fn overlong_reply(text: &str) -> Option<String> {
    let limit = MAX_MESSAGE_CHARS;
    let huge = text.len() > limit * 4;
    if !huge && text.chars().nth(limit).is_none() {
        return None;
    }
    let length = if huge {
        format!("over {limit}")
    } else {
        text.chars().count().to_string()
    };
    Some(format!(
        "That message is {length} characters long; I only read messages of up to {limit} characters."
    ))
}

/// How sure the NLU must be before a message that does not answer the pending
/// question is taken as something else: a question aside or a new request.
pub const SWITCH_CONFIDENCE: f32 = 0.75;

/// Who is speaking, where, when, and the facts about them the engine needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub user: &'a str,
    pub room: &'a str,
    pub now: DateTime<Utc>,
    /// The zone this user says and reads times in.
    pub time_zone: chrono_tz::Tz,
    /// The whole bot runs dry, or this message began with "dry run".
    pub dry_run: bool,
    /// Actions this user started within the rate-limit window.
    pub recent_executions: u32,
    /// Whether this user has a TOTP secret.
    pub two_factor_enrolled: bool,
    /// The alert this message is about (a reply to it, in its thread, or soon
    /// after it in its room): values for a request it starts.
    pub alert: Option<&'a AlertContext>,
    /// The alerts open in the room when more than one could be meant by a
    /// message outside any alert's thread (then `alert` is `None`): the
    /// engine takes values from none of them and asks which one.
    pub open_alerts: &'a [AlertContext],
    /// The message came through a door that can only propose (an API token
    /// of this name): a request it starts is recorded as proposed by it.
    pub proposed_by: Option<&'a str>,
}

/// An alert a request may be about, with the slot values its route gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertContext {
    /// Names the alert group (its store id).
    pub id: String,
    /// How people know it: "ApacheDown".
    pub name: String,
    /// Slot name → value taken from the alert's labels.
    pub values: std::collections::BTreeMap<String, String>,
}

impl<'a> Context<'a> {
    /// A context with no dry run, no recent executions and no 2FA enrolment.
    pub fn new(user: &'a str, room: &'a str, now: DateTime<Utc>) -> Context<'a> {
        Context {
            user,
            room,
            now,
            time_zone: chrono_tz::Tz::UTC,
            dry_run: false,
            recent_executions: 0,
            two_factor_enrolled: false,
            alert: None,
            open_alerts: &[],
            proposed_by: None,
        }
    }
}

/// What the runtime found when checking a TOTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    /// The user has no TOTP secret (it was removed while the code was awaited).
    NotEnrolled,
    Invalid {
        tries_left: u32,
    },
    /// A right code that was already used once (replay protection): not a
    /// guess, so it costs no try; the next code will do.
    AlreadyUsed,
    LockedOut {
        until: DateTime<Utc>,
    },
}

/// What happened to a program the engine asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub succeeded: bool,
    pub exit_code: Option<i32>,
    /// Output excerpt (already truncated by the executor).
    pub output: String,
    pub duration: Duration,
    /// Why it did not run or finish normally (timeout, missing program).
    pub error: Option<String>,
    /// Whether the program was started at all (false: it could not be spawned).
    pub started: bool,
}

impl ActionOutcome {
    /// Work that ended in an error before or instead of a normal exit.
    pub fn failed(error: String, duration: Duration, started: bool) -> ActionOutcome {
        ActionOutcome {
            succeeded: false,
            exit_code: None,
            output: String::new(),
            duration,
            error: Some(error),
            started,
        }
    }
}

pub enum Input<'a> {
    Message(&'a Understanding),
    /// A TOTP code the requester sent, already checked by the runtime.
    Code(CodeCheck),
    /// Another user decided on this conversation's request awaiting approval.
    Approval {
        approver: &'a str,
        approve: bool,
    },
    ActionFinished(&'a ActionOutcome),
    /// The values a slot may take, from its `values_from` lookup, or why the
    /// lookup failed.
    LookedUp(&'a Result<Vec<String>, String>),
    /// The process restarted while this conversation's action was planned
    /// (`started: false`: it never ran) or running (`true`: outcome unknown).
    Interrupted {
        started: bool,
    },
    /// A request scheduled with [`Effect::Schedule`] is due: checked again as
    /// of now (access, limits) and run.
    Due(&'a Request),
    /// A request stated as a dialog and its values by a program (an API or
    /// MCP call) rather than in words: nothing is read into it, every value
    /// is checked exactly as given, and one that does not fit is refused.
    Given(&'a Given),
    /// The store refused the step that started a runbook: `holder`'s run
    /// holds its `lock`. The runbook does not start.
    Locked {
        lock: &'a str,
        holder: &'a str,
    },
}

/// A dialog and the values of its slots, by slot name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub dialog: String,
    pub slots: BTreeMap<String, String>,
}

impl Given {
    /// How the request reads in the audit and the room:
    /// `restart_service service=apache host=web-01`.
    pub fn shown(&self) -> String {
        std::iter::once(self.dialog.clone())
            .chain(
                self.slots
                    .iter()
                    .map(|(name, value)| format!("{name}={value}")),
            )
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a request ended, one list for the engine and the audit trail: the
/// engine decides the endings without a run, the runtime the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
    Denied,
    /// An approver declined it.
    Rejected,
    Expired,
    /// Everything but execution happened.
    DryRun,
    /// The bot stopped after planning the action but before starting it.
    NotRun,
    OutcomeUnknown,
    /// The program could not be started (missing, not executable).
    NotStarted,
    /// A wrong (or locked-out) two-factor code; the request still waits.
    CodeRejected,
    /// Confirmed for a later time ("at 21:00"): kept until then.
    Scheduled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Denied => "denied",
            Outcome::Rejected => "rejected by approver",
            Outcome::Expired => "expired",
            Outcome::DryRun => "dry run",
            Outcome::NotRun => "not run (restart)",
            Outcome::OutcomeUnknown => "outcome unknown",
            Outcome::NotStarted => "could not start",
            Outcome::CodeRejected => "two-factor code rejected",
            Outcome::Scheduled => "scheduled",
        }
    }
}

/// A request that ended without an outcome from the executor, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub disposition: Outcome,
    pub request: Request,
    pub reason: String,
}

/// Work for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run the plan, then feed `Input::ActionFinished` back.
    Run { plan: Plan, request: Request },
    /// Look up the values a slot may take (read-only), then feed
    /// `Input::LookedUp` back.
    Lookup { lookup: Lookup, slot: String },
    /// Append to the audit trail.
    Record(Record),
    /// A message worth a reviewer's look (the review inbox).
    Learn(Lesson),
    /// Keep this confirmed request until `request.at`, then feed
    /// `Input::Due` with it back (in the requester's conversation).
    Schedule(Request),
    /// How far a runbook is: `whole` for the one message a door edits in
    /// place as the steps go, `latest` (the steps since the last one) for
    /// a door that can only add messages.
    Progress { whole: String, latest: String },
    /// The scheduled request with this id is dealt with (run, refused, or
    /// put back with a `Schedule` that follows): forget it, in the same
    /// commit as the step, so it never fires twice.
    Unschedule(String),
}

/// Why a message went to the review inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LessonKind {
    /// No intent was confident enough.
    NotUnderstood,
    /// Understood, with less confidence than `review.below_confidence`.
    LowConfidence,
    /// Two intents were close; the user's answer to "did you mean …?" is the label.
    Ambiguous,
    /// The request it started was cancelled at once.
    Cancelled,
    /// The request it started was dropped at once for another one.
    Corrected,
    /// The user said "that's not what I meant".
    Flagged,
}

impl LessonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LessonKind::NotUnderstood => "not understood",
            LessonKind::LowConfidence => "low confidence",
            LessonKind::Ambiguous => "ambiguous",
            LessonKind::Cancelled => "cancelled at once",
            LessonKind::Corrected => "corrected at once",
            LessonKind::Flagged => "flagged by the user",
        }
    }
}

/// One message the bot may have misread, with what the user did about it.
/// A later lesson with the same `id` (the user's answer) replaces an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub kind: LessonKind,
    pub message: Understanding,
    /// The intent the bot took the message as; `None`: not understood.
    pub taken_as: Option<String>,
    /// What the user said it meant: an intent, or `out_of_scope`.
    pub chosen: Option<String>,
    /// What the user asked for next instead (a hint, not a label).
    pub suggested: Option<String>,
    /// When the message was read.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub conversation: Conversation,
    pub replies: Vec<String>,
    pub effects: Vec<Effect>,
}
