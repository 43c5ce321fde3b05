//! Conversation state per (room, user), serde-derived so the store can persist it.
//!
//! The phase is an enum whose variants hold what has been collected so far, so a
//! state that makes no sense (confirming with a slot missing) cannot be written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_nlu::Understanding;
use serde::{Deserialize, Serialize};

/// Where a slot value came from; the audit records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotOrigin {
    /// Found in a message by the NLU.
    Extracted,
    /// The user's answer to the bot's question.
    Asked,
    /// Reused from the user's previous finished request.
    CarriedOver,
    /// The dialog's default.
    Default,
    /// From the labels of the alert the request is about.
    FromAlert,
}

/// The alert a request was made about, kept for the audit and for telling
/// the alert's room who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLink {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotValue {
    pub value: String,
    pub origin: SlotOrigin,
}

/// A request being put together, confirmed or run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Unique id (hex); its first four characters name it in approvals.
    pub id: String,
    pub dialog: String,
    pub intent: String,
    pub confidence: f32,
    pub slots: BTreeMap<String, SlotValue>,
    /// The user's messages that shaped this request, for the audit trail.
    pub messages: Vec<String>,
    /// Answers that failed validation in a row (to offer a way out).
    #[serde(default)]
    pub failed_answers: u32,
    pub confirmed_by: Option<String>,
    #[serde(default)]
    pub approved_by: Option<String>,
    /// The approver who declined it (never also `approved_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    /// The requester gave a valid TOTP code for this request.
    #[serde(default)]
    pub two_factor: bool,
    /// Everything happens except execution; the reply shows what would run.
    #[serde(default)]
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    /// The alert this request is about, if it started from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertLink>,
    /// Last time the user moved this request on; pending questions expire from here.
    pub touched_at: DateTime<Utc>,
    /// The choices last listed, numbered, for the slot being asked ("which
    /// ones are there?"), so "2" or "the first one" answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
    /// Slot → the value its `values_from` lookup allowed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checked: BTreeMap<String, String>,
    /// When it runs, when asked for later ("at 21:00"): confirmed now, kept
    /// by the runtime's scheduler, run then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// The time as the person wrote it ("at 21:00"), named back with `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_said: Option<String>,
    /// Who proposed it through a door that can only propose (an API token's
    /// name): the person it is for still confirms it in the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<String>,
    /// How far its runbook got, once a runbook dialog's request runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<RunbookRun>,
}

/// How far a runbook got: the step it is at and what each step did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunbookRun {
    /// The step running, asked about or next: an index into the runbook's
    /// steps, or into its rollback steps when `rolling_back`.
    pub at: usize,
    #[serde(default)]
    pub rolling_back: bool,
    /// What each step did, in order (rollback steps after the others).
    #[serde(default)]
    pub done: Vec<StepDone>,
    /// The description of the step whose failure ended or rolled back the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The requester stopped it.
    #[serde(default)]
    pub aborted: bool,
    /// The step it was stopped at (its description), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// How many of `done` a progress message has named already.
    #[serde(default)]
    pub reported: usize,
    /// An `until:` step's time limit, from its first try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// Tries of the current `until:` step so far.
    #[serde(default)]
    pub attempts: u32,
    /// Who approved the current step, when it needs approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_approved_by: Option<String>,
    /// Programs handed to the executor so far (tries and retries each
    /// count): the rate limit counts a run once, at its first.
    #[serde(default)]
    pub runs: u32,
}

/// One step's end, as the journal and the progress message tell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDone {
    pub name: String,
    /// Its description with the values filled in.
    pub description: String,
    #[serde(default)]
    pub rollback: bool,
    pub status: StepStatus,
    /// The values read from its output.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Its output (trimmed), or why it failed or was skipped.
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub seconds: f64,
    /// Who approved the step, when it needed approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Succeeded,
    Failed,
    /// Its condition did not hold.
    Skipped,
    /// A question answered yes.
    Yes,
    /// A question answered no.
    No,
    /// The bot restarted while it ran and the requester chose to go on
    /// without it: whether it finished is not known.
    Unknown,
}

impl StepStatus {
    /// The mark the progress message shows.
    pub fn mark(self) -> &'static str {
        match self {
            StepStatus::Succeeded | StepStatus::Yes => "✔",
            StepStatus::Failed | StepStatus::No => "✘",
            StepStatus::Skipped => "↷",
            StepStatus::Unknown => "?",
        }
    }

    /// The step counts as done for what follows (`steps.NAME.succeeded`).
    pub fn succeeded(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Yes)
    }
}

/// Why a runbook waits for its requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pause {
    /// A step's yes/no question.
    Question,
    /// The bot restarted while the step was about to run (`started:
    /// false`) or running: retry it, skip it, or abort?
    Interrupted { started: bool },
    /// A `wait:` step, or an `until:` step's next try: the scheduler brings
    /// the run back at `until`.
    Waiting { until: DateTime<Utc> },
    /// A step that another member of its approver groups must approve
    /// ("approve 7f3a") before it runs.
    Approval,
}

impl Request {
    /// The short name used in approval commands ("approve 7f3a").
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(4)]
    }

    /// The journal's key for what runs now: the request, or its runbook's
    /// current step (`7f3a…/2`, a rollback step `7f3a…/r1`).
    pub fn run_id(&self) -> String {
        match &self.runbook {
            Some(run) => format!(
                "{}/{}{}",
                self.id,
                if run.rolling_back { "r" } else { "" },
                run.at + 1
            ),
            None => self.id.clone(),
        }
    }

    pub fn slot_values(&self) -> BTreeMap<String, String> {
        self.slots
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Idle,
    /// Asking the user for the slot named `asking`.
    Collecting {
        request: Request,
        asking: String,
    },
    AwaitingConfirmation {
        request: Request,
    },
    /// Waiting for the requester's TOTP code.
    AwaitingCode {
        request: Request,
    },
    /// Waiting for a different member of the approver groups.
    AwaitingApproval {
        request: Request,
    },
    /// The values `slot` may take are being looked up (`values_from`).
    Checking {
        request: Request,
        slot: String,
    },
    /// The action was handed to the executor; its outcome is not known yet.
    Executing {
        request: Request,
    },
    /// A runbook waits for its requester between steps.
    RunbookPaused {
        request: Request,
        pause: Pause,
    },
    /// Two intents fitted the message about equally well; the bot asked which
    /// one was meant and keeps the message to start the chosen one with.
    Choosing {
        options: Vec<Choice>,
        message: Understanding,
        asked_at: DateTime<Utc>,
        /// The user said the bot misread `message` ("that's not what I
        /// meant"); the options are the other intents it was close to.
        #[serde(default)]
        disowned: bool,
    },
}

/// One of the intents offered when a message was ambiguous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub intent: String,
    pub dialog: String,
    pub confidence: f32,
}

/// A slot value from a finished request, kept for carry-over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remembered {
    pub entity: String,
    pub value: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub phase: Phase,
    /// The latest value of each slot name in the user's finished requests.
    #[serde(default)]
    pub memory: BTreeMap<String, Remembered>,
    /// The dialog of the user's latest finished request, for follow-ups such as
    /// "and on web-02".
    #[serde(default)]
    pub last_dialog: Option<LastDialog>,
    /// How the bot read the user's latest new message, so "that's not what
    /// I meant" (or a cancel right after it) can be learnt from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reading: Option<Reading>,
    /// Why the bot last refused, dropped or turned something down, for "why?"
    /// and "who can do that?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_explanation: Option<Explanation>,
    /// A change that waited (a question or its confirmation) when the user
    /// asked something read-only: back, and asked again, once that is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<Box<Phase>>,
    /// A reminder asked for without a time ("remind me to renew the
    /// certificate"), waiting for one ("in 1 hour"). The runtime's reminder
    /// command owns it; the engine carries it unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reminder: Option<PendingReminder>,
}

/// A reminder that waits for its time: the message that asked for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingReminder {
    pub said: String,
    pub asked_at: DateTime<Utc>,
}

/// The reason behind a decision, kept until the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub why: String,
    /// The dialog it was about, if any.
    pub dialog: Option<String>,
    pub at: DateTime<Utc>,
}

/// A message the bot read as a new request (or could not read), kept until
/// the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The lesson id of the message: the id of the request it started.
    pub id: String,
    pub message: Understanding,
    /// The intent the bot took it as; `None`: not understood.
    pub taken_as: Option<String>,
    pub at: DateTime<Utc>,
    /// Its request was cancelled on the very next message.
    #[serde(default)]
    pub cancelled: bool,
}

/// The dialog a follow-up repeats, and when its request finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastDialog {
    pub dialog: String,
    pub at: DateTime<Utc>,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation {
            phase: Phase::Idle,
            memory: BTreeMap::new(),
            last_dialog: None,
            last_reading: None,
            last_explanation: None,
            parked: None,
            pending_reminder: None,
        }
    }
}

impl Conversation {
    pub fn request(&self) -> Option<&Request> {
        match &self.phase {
            Phase::Idle | Phase::Choosing { .. } => None,
            Phase::Collecting { request, .. }
            | Phase::Checking { request, .. }
            | Phase::AwaitingConfirmation { request }
            | Phase::AwaitingCode { request }
            | Phase::AwaitingApproval { request }
            | Phase::Executing { request }
            | Phase::RunbookPaused { request, .. } => Some(request),
        }
    }

    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Idle => "idle",
            Phase::Collecting { .. } => "collecting",
            Phase::Checking { .. } => "checking",
            Phase::AwaitingConfirmation { .. } => "awaiting_confirmation",
            Phase::AwaitingCode { .. } => "awaiting_code",
            Phase::AwaitingApproval { .. } => "awaiting_approval",
            Phase::Executing { .. } => "executing",
            Phase::RunbookPaused { .. } => "runbook_paused",
            Phase::Choosing { .. } => "choosing",
        }
    }
}
