//! The dialog engine: a pure function of (conversation, input) → (new
//! conversation, replies, effects). No I/O, no clock, no adapter: the caller
//! passes the time, performs the effects and feeds action outcomes back in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_nlu::{IntentGuess, Understanding};
use opsbot_spec::{Behaviour, Dialog, EntityMatch, Project, Slot};

use crate::phrases::{self, Answer};
use crate::plan;
use crate::state::{
    AlertLink, Choice, Conversation, Explanation, LastDialog, Phase, Reading, Remembered, Request,
    SlotOrigin, SlotValue,
};
use deferral::scheduling;

mod accounting;
mod alert_values;
mod answers;
mod confirming;
mod contract;
mod deferral;
mod ending;
mod explain;
mod filling;
mod given;
mod lessons;
mod lookups;
mod negation;
mod reading;
mod refusals;
mod request;
mod runbook;
mod start;
mod switching;

pub use contract::*;
pub use runbook::{lock_of, status};

/// Advances one conversation by one input.
pub fn step(
    project: &Project,
    conversation: Conversation,
    input: Input<'_>,
    ctx: &Context<'_>,
) -> Transition {
    let Conversation {
        phase,
        mut memory,
        mut last_dialog,
        mut last_reading,
        mut last_explanation,
        mut parked,
        pending_reminder,
    } = conversation;
    memory.retain(|_, r| elapsed(r.at, ctx.now) <= project.settings.carry_over_expiry);
    last_dialog.take_if(|l| elapsed(l.at, ctx.now) > project.settings.carry_over_expiry);
    last_reading.take_if(|r| elapsed(r.at, ctx.now) > project.settings.carry_over_expiry);
    last_explanation.take_if(|e| elapsed(e.at, ctx.now) > project.settings.carry_over_expiry);
    let mut step = Step {
        project,
        ctx,
        replies: Vec::new(),
        effects: Vec::new(),
        reading: last_reading,
        explanation: last_explanation,
        notes: Vec::new(),
        park: None,
    };
    let phase = match input {
        Input::Message(understanding) => {
            step.message(phase, &memory, last_dialog.as_ref(), understanding)
        }
        Input::Code(check) => step.code(phase, check),
        Input::Approval { approver, approve } => step.approval(phase, approver, approve),
        Input::LookedUp(result) => step.looked_up(phase, result),
        Input::ActionFinished(outcome) => {
            step.finished(phase, &mut memory, &mut last_dialog, outcome)
        }
        Input::Interrupted { started } => step.interrupted(phase, started),
        Input::Due(request) => step.due(phase, &mut parked, request),
        Input::Given(given) => step.given(phase, given),
        Input::Locked { lock, holder } => step.locked(phase, lock, holder),
    };
    // Parts of the message nothing used are named even when no question or
    // confirmation followed to carry them.
    if !step.notes.is_empty() {
        let notes = step.noted(String::new());
        step.replies.push(notes);
    }
    if let Some(waiting) = step.park.take() {
        parked.get_or_insert(Box::new(waiting));
    }
    // The read-only request is done: the change that waited comes back.
    let phase = match (phase, parked.take()) {
        (Phase::Idle, Some(waiting)) => step.resume_parked(*waiting),
        (phase, waiting) => {
            parked = waiting;
            phase
        }
    };
    Transition {
        conversation: Conversation {
            phase,
            memory,
            last_dialog,
            last_reading: step.reading,
            last_explanation: step.explanation,
            parked,
            pending_reminder,
        },
        replies: step.replies,
        effects: step.effects,
    }
}

/// Slot name → latest remembered value.
type Memory = BTreeMap<String, Remembered>;

/// Which slots a new request takes from the user's finished ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CarryOver {
    /// Those the dialog marks `carry_over: true`.
    MarkedSlots,
    /// All of them: the message is a follow-up ("and on web-02").
    AllSlots,
}

/// Intents less likely than this are not worth suggesting as "closest".
const NEAREST_MIN_CONFIDENCE: f32 = 0.1;

/// Equal, or one a prefix of the other of at least four letters ("deploy" and
/// "deployment", "restart" and "restarting").
fn stem_eq(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    a == b || (short.len() >= 4 && long.starts_with(short))
}

fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

struct Step<'a> {
    project: &'a Project,
    ctx: &'a Context<'a>,
    replies: Vec<String>,
    effects: Vec<Effect>,
    /// How the user's latest new message was read (see [`Reading`]).
    reading: Option<Reading>,
    /// The reason behind the latest refusal (see [`Explanation`]).
    explanation: Option<Explanation>,
    /// Parts of the message no decision used, said before the next
    /// question or confirmation (see `accounting`).
    notes: Vec<String>,
    /// A waiting change set aside for a read-only request (see `switching`).
    park: Option<Phase>,
}

impl<'a> Step<'a> {
    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.replies.push(text.into());
    }

    pub(super) fn vars(&self, request: &Request) -> BTreeMap<String, String> {
        variables(
            self.project,
            request,
            self.ctx.user,
            self.ctx.room,
            self.ctx.time_zone,
        )
    }

    pub(super) fn record(
        &mut self,
        disposition: Outcome,
        request: Request,
        reason: impl Into<String>,
    ) {
        self.effects.push(Effect::Record(Record {
            disposition,
            request,
            reason: reason.into(),
        }));
    }

    pub(super) fn description(&self, dialog: &str) -> String {
        self.project
            .dialogs
            .get(dialog)
            .map(|d| d.description.clone())
            .unwrap_or_else(|| dialog.to_string())
    }

    pub(super) fn prompt(&self, dialog: &Dialog, slot: &Slot, request: &Request) -> String {
        match &slot.prompt {
            Some(p) => p.render(&self.vars(request)),
            // No prompt written: the question comes from the slot's entity,
            // whose description says what kind of value it takes.
            None => {
                let kind = self
                    .project
                    .entities
                    .get(&slot.entity)
                    .map(|e| format!(" I need {}.", e.description))
                    .unwrap_or_default();
                format!(
                    "To {}, what should I take as “{}”?{kind}",
                    dialog.description,
                    slot.name.replace(['_', '-'], " "),
                )
            }
        }
    }

    pub(super) fn preview(&self, dialog: &Dialog, request: &Request) -> String {
        match &dialog.confirm {
            Some(c) => {
                let from_alert: Vec<&str> = dialog
                    .slots
                    .iter()
                    .filter(|s| {
                        request.slots.get(&s.name).map(|v| v.origin) == Some(SlotOrigin::FromAlert)
                    })
                    .map(|s| s.name.as_str())
                    .collect();
                let note = match (&request.alert, from_alert.is_empty()) {
                    (Some(alert), false) => format!(
                        " — {} from the alert {}",
                        opsbot_spec::join_or(&from_alert).replacen(" or ", " and ", 1),
                        alert.name
                    ),
                    _ => String::new(),
                };
                let text = c.render(&self.vars(request));
                let steps = self.steps_line(dialog, request);
                match request.at {
                    Some(at) => format!(
                        "{} {} (yes/no){note}{steps}",
                        self.when(request, at),
                        scheduling(&text)
                    ),
                    None => format!("{text} (yes/no){note}{steps}"),
                }
            }
            // Only asked when a part of the message was not used (see
            // `advance`): the values in full, since the author wrote no text.
            None => match request.at {
                Some(at) => format!(
                    "{} I will {}. Shall I go ahead and schedule it for then? (yes/no)",
                    self.when(request, at),
                    self.describe(dialog, request)
                ),
                None => format!(
                    "I will {}. Shall I go ahead? (yes/no)",
                    self.describe(dialog, request)
                ),
            },
        }
    }

    /// A runbook's steps, on a line of their own after its confirmation.
    pub(super) fn steps_line(&self, dialog: &Dialog, request: &Request) -> String {
        match &dialog.behaviour {
            Behaviour::Run {
                action: opsbot_spec::Action::Runbook(runbook),
                ..
            } => format!("\nSteps: {}", self.runbook_plan(runbook, request)),
            _ => String::new(),
        }
    }

    pub(super) fn deny(&mut self, dialog: &Dialog, request: Request, reason: &str) -> Phase {
        self.say(format!(
            "Sorry, {} may not {}: {reason}.",
            self.ctx.user, dialog.description
        ));
        let who = self.who_may(dialog);
        self.explain(
            format!("I refused because {reason}. {who}"),
            Some(&dialog.name),
        );
        self.record(Outcome::Denied, request, reason);
        Phase::Idle
    }

    pub(super) fn approver_names(&self, dialog: &str) -> String {
        let groups: Vec<&str> = self
            .project
            .dialogs
            .get(dialog)
            .and_then(|d| d.approval.as_ref())
            .map(|a| a.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        opsbot_spec::join_or(&groups)
    }

    /// "deploy a version of an app to an environment (app=shop, version=1.2, …)".
    pub(super) fn describe(&self, dialog: &Dialog, request: &Request) -> String {
        describe(dialog, request)
    }

    pub(super) fn cancel(&mut self, request: Request) -> Phase {
        self.learn_from_cancel(&request);
        self.say("Okay, I cancelled that. Nothing was run.");
        self.record(Outcome::Cancelled, request, "cancelled by the requester");
        Phase::Idle
    }

    /// Looks the dialog of a stored request up; it may be gone after an edit.
    pub(super) fn dialog_of(&mut self, request: &Request) -> Option<&'a Dialog> {
        let dialog = self.project.dialogs.get(&request.dialog);
        if dialog.is_none() {
            self.say(format!(
                "Your pending request can no longer continue: its dialog `{}` is no longer defined. Please ask again.",
                request.dialog
            ));
        }
        dialog
    }
}

/// "deploy a version of an app to an environment (app=shop, version=1.2, …)":
/// a dialog's description with the request's values, in the slots' order.
pub(crate) fn describe(dialog: &Dialog, request: &Request) -> String {
    let slots: Vec<String> = dialog
        .slots
        .iter()
        .filter_map(|s| {
            request
                .slots
                .get(&s.name)
                .map(|v| format!("{}={}", s.name, v.value))
        })
        .collect();
    if slots.is_empty() {
        dialog.description.clone()
    } else {
        format!("{} ({})", dialog.description, slots.join(", "))
    }
}

/// A request id from who asked, where, when and what: unique in practice, and
/// the engine stays a pure function.
/// A request's template variables: its slots, their typed fields
/// ({duration.seconds}, {when.unix}), times in `zone`, and the context
/// (user, room, bot).
pub(crate) fn variables(
    project: &Project,
    request: &Request,
    user: &str,
    room: &str,
    zone: chrono_tz::Tz,
) -> BTreeMap<String, String> {
    let mut vars = plan::variables(request, user, room, &project.settings.name);
    // Typed slots' fields: {duration.seconds}, {when.unix}.
    if let Some(dialog) = project.dialogs.get(&request.dialog) {
        for slot in &dialog.slots {
            let (Some(value), Some(value_type)) = (
                request.slots.get(&slot.name),
                project
                    .entities
                    .get(&slot.entity)
                    .and_then(|e| e.value_type()),
            ) else {
                continue;
            };
            for (field, text) in value_type.fields(&value.value) {
                vars.insert(format!("{}.{field}", slot.name), text);
            }
            // A time reads in the speaker's zone, by its name.
            let time = chrono::DateTime::parse_from_rfc3339(&value.value)
                .ok()
                .filter(|_| value_type == opsbot_spec::ValueType::DateTime);
            if let Some(t) = time {
                let shown = opsbot_spec::types::display_time(t.with_timezone(&Utc), zone);
                vars.insert(format!("{}.text", slot.name), shown);
            }
        }
    }
    vars
}

fn request_id(ctx: &Context<'_>, text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [
        ctx.room,
        ctx.user,
        &ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        text,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// "on web-01." → "web-01": the words people put around a bare answer.
fn strip_answer(text: &str) -> &str {
    let mut t = text.trim().trim_end_matches(['.', '!', '?', ',']).trim();
    loop {
        let lower = t.to_ascii_lowercase();
        let prefix = [
            "on ", "to ", "in ", "for ", "at ", "it's ", "it is ", "its ", "use ", "the ", "host ",
            "service ", "please ",
        ]
        .iter()
        .find(|p| lower.starts_with(**p));
        match prefix {
            Some(p) => t = t[p.len()..].trim_start(),
            None => return t,
        }
    }
}

/// The most choices one reply lists: a long list (a lookup may give a
/// thousand) is named by its start and a count, so a reply stays readable.
const SHOWN_CHOICES: usize = 25;

/// "1. orders, 2. billing": choices a number can answer.
fn numbered(values: &[String]) -> String {
    let mut text = values
        .iter()
        .take(SHOWN_CHOICES)
        .enumerate()
        .map(|(i, v)| format!("{}. {v}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    if values.len() > SHOWN_CHOICES {
        text.push_str(&format!(" and {} more", values.len() - SHOWN_CHOICES));
    }
    text
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The message with every value span found in it blanked out: shell syntax
/// inside a value the bot takes whole (a free-text note) is the value's own
/// business; anywhere else it means the message is not what it seems.
fn outside_values(u: &Understanding) -> String {
    let mut bytes = u.text.clone().into_bytes();
    for m in &u.entities {
        if let Some(span) = bytes.get_mut(m.start..m.end.min(u.text.len())) {
            span.fill(b' ');
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod alert_tests;
#[cfg(test)]
mod tests;
