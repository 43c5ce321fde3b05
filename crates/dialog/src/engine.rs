//! The dialog engine: a pure function of (conversation, input) → (new
//! conversation, replies, effects). No I/O, no clock, no adapter: the caller
//! passes the time, performs the effects and feeds action outcomes back in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_nlu::{IntentGuess, Understanding};
use opsbot_spec::{Behaviour, Dialog, EntityMatch, Project, Slot};
use serde::{Deserialize, Serialize};

use crate::phrases::{self, Answer};
use crate::plan::{self, Plan};
use crate::state::{
    Choice, Conversation, LastDialog, Phase, Remembered, Request, SlotOrigin, SlotValue,
};

/// Messages longer than this are refused instead of interpreted.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// How sure the NLU must be before a message that does not answer the pending
/// question is taken as something else: a question aside or a new request.
pub const SWITCH_CONFIDENCE: f32 = 0.75;

/// Who is speaking, where, when, and the facts about them the engine needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub user: &'a str,
    pub room: &'a str,
    pub now: DateTime<Utc>,
    /// The whole bot runs dry, or this message began with "dry run".
    pub dry_run: bool,
    /// Actions this user started within the rate-limit window.
    pub recent_executions: u32,
    /// Whether this user has a TOTP secret.
    pub two_factor_enrolled: bool,
}

impl<'a> Context<'a> {
    /// A context with no dry run, no recent executions and no 2FA enrolment.
    pub fn new(user: &'a str, room: &'a str, now: DateTime<Utc>) -> Context<'a> {
        Context {
            user,
            room,
            now,
            dry_run: false,
            recent_executions: 0,
            two_factor_enrolled: false,
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
    /// The process restarted while this conversation's action was planned
    /// (`started: false`: it never ran) or running (`true`: outcome unknown).
    Interrupted {
        started: bool,
    },
}

/// Why a request ended without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
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
}

/// A request that ended without an outcome from the executor, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub disposition: Disposition,
    pub request: Request,
    pub reason: String,
}

/// Work for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run the plan, then feed `Input::ActionFinished` back.
    Run { plan: Plan, request: Request },
    /// Append to the audit trail.
    Record(Record),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub conversation: Conversation,
    pub replies: Vec<String>,
    pub effects: Vec<Effect>,
}

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
    } = conversation;
    memory.retain(|_, r| elapsed(r.at, ctx.now) <= project.settings.carry_over_expiry);
    last_dialog.take_if(|l| elapsed(l.at, ctx.now) > project.settings.carry_over_expiry);
    let mut step = Step {
        project,
        ctx,
        replies: Vec::new(),
        effects: Vec::new(),
    };
    let phase = match input {
        Input::Message(understanding) => {
            step.message(phase, &memory, last_dialog.as_ref(), understanding)
        }
        Input::Code(check) => step.code(phase, check),
        Input::Approval { approver, approve } => step.approval(phase, approver, approve),
        Input::ActionFinished(outcome) => {
            step.finished(phase, &mut memory, &mut last_dialog, outcome)
        }
        Input::Interrupted { started } => step.interrupted(phase, started),
    };
    Transition {
        conversation: Conversation {
            phase,
            memory,
            last_dialog,
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
}

impl<'a> Step<'a> {
    fn say(&mut self, text: impl Into<String>) {
        self.replies.push(text.into());
    }

    fn vars(&self, request: &Request) -> BTreeMap<String, String> {
        let mut vars = plan::variables(
            request,
            self.ctx.user,
            self.ctx.room,
            &self.project.settings.name,
        );
        // Typed slots' fields: {duration.seconds}, {when.unix}.
        if let Some(dialog) = self.project.dialogs.get(&request.dialog) {
            for slot in &dialog.slots {
                let (Some(value), Some(value_type)) = (
                    request.slots.get(&slot.name),
                    self.project
                        .entities
                        .get(&slot.entity)
                        .and_then(|e| e.value_type()),
                ) else {
                    continue;
                };
                for (field, text) in value_type.fields(&value.value) {
                    vars.insert(format!("{}.{field}", slot.name), text);
                }
            }
        }
        vars
    }

    fn record(&mut self, disposition: Disposition, request: Request, reason: impl Into<String>) {
        self.effects.push(Effect::Record(Record {
            disposition,
            request,
            reason: reason.into(),
        }));
    }

    fn message(
        &mut self,
        phase: Phase,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
        u: &Understanding,
    ) -> Phase {
        let length = u.text.chars().count();
        if length > MAX_MESSAGE_CHARS {
            self.say(format!(
                "That message is {length} characters long; I only read messages of up to {MAX_MESSAGE_CHARS} characters."
            ));
            return phase;
        }
        if u.text.trim().is_empty() {
            return phase;
        }
        if u.text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.say("That message contains control characters; please send plain text.");
            return phase;
        }
        if let Some(found) = phrases::shell_syntax(&outside_values(u)) {
            let question = match &phase {
                Phase::Collecting { request, asking } => self
                    .project
                    .dialogs
                    .get(&request.dialog)
                    .and_then(|d| {
                        let slot = d.slots.iter().find(|s| &s.name == asking)?;
                        Some(format!(" {}", self.prompt(d, slot, request)))
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            self.say(format!(
                "That message contains shell syntax (`{found}`) outside any value I could take whole. I never pass text to a shell and do not act on part of a message, so I did nothing with it.{question}"
            ));
            return phase;
        }
        let Some(phase) = self.expire(phase, Some(u)) else {
            return Phase::Idle;
        };
        match phase {
            Phase::Idle => self.start(u, memory, last_dialog),
            Phase::Collecting { request, asking } => self.collect(request, asking, u, memory),
            Phase::AwaitingConfirmation { request } => self.confirm(request, u, memory),
            Phase::AwaitingCode { request } => {
                if phrases::is_cancel(&u.text) {
                    return self.cancel(request);
                }
                self.say("Please send the current 6-digit code from your authenticator app, or say “cancel”.");
                Phase::AwaitingCode { request }
            }
            Phase::AwaitingApproval { request } => {
                if phrases::is_cancel(&u.text) {
                    return self.cancel(request);
                }
                let approvers = self.approver_names(&request.dialog);
                self.say(format!("Your request {} is still waiting for approval by a member of {approvers}. Say “cancel” to withdraw it.", request.short_id()));
                Phase::AwaitingApproval { request }
            }
            Phase::Executing { request } => {
                let description = self.description(&request.dialog);
                self.say(format!("I am still working on your request to {description}; I will tell you when it is done."));
                Phase::Executing { request }
            }
            Phase::Choosing {
                options, message, ..
            } => self.choose(options, message, u, memory),
        }
    }

    /// Asks which of two close intents was meant.
    fn ask_which(&mut self, u: &Understanding) -> Option<Phase> {
        let mut options: Vec<Choice> = Vec::new();
        for guess in &u.ambiguous {
            let dialog = self.project.dialog_for_intent(&guess.name)?;
            if options.iter().any(|o| o.dialog == dialog.name) {
                return None; // two intents of one dialog: nothing to choose
            }
            options.push(Choice {
                intent: guess.name.clone(),
                dialog: dialog.name.clone(),
                confidence: guess.confidence,
            });
        }
        if options.len() < 2 {
            return None;
        }
        let described: Vec<String> = options
            .iter()
            .map(|o| format!("to {}", self.description(&o.dialog)))
            .collect();
        self.say(format!(
            "Did you mean {}? Say “the first”, “the second” or what you meant.",
            described.join(" or ")
        ));
        Some(Phase::Choosing {
            options,
            message: u.clone(),
            asked_at: self.ctx.now,
        })
    }

    /// Resolves the answer to "did you mean A or B?": by position, by words of
    /// an option's name or description, or by what the reply itself means.
    /// Anything else is read as a new message.
    fn choose(
        &mut self,
        options: Vec<Choice>,
        message: Understanding,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        if matches!(phrases::classify(&u.text), Answer::No) || phrases::is_cancel(&u.text) {
            self.say("Okay, I will do neither.");
            return Phase::Idle;
        }
        let picked = phrases::ordinal_choice(&u.text, options.len())
            .or_else(|| self.option_named(&options, &u.text))
            .or_else(|| {
                let intent = &u.intent.as_ref()?.name;
                options.iter().position(|o| &o.intent == intent)
            });
        let Some(index) = picked else {
            return self.start(u, memory, None);
        };
        let choice = &options[index];
        let Some(dialog) = self.project.dialogs.get(&choice.dialog) else {
            self.not_understood(u);
            return Phase::Idle;
        };
        let mut message = message;
        message.intent = Some(IntentGuess {
            name: choice.intent.clone(),
            confidence: choice.confidence,
        });
        message.ambiguous.clear();
        self.begin(dialog, choice.confidence, &message, memory)
    }

    /// The one option whose dialog name, intent name or description shares a
    /// word with the reply ("deploy", "the restart one"), if exactly one does.
    fn option_named(&self, options: &[Choice], reply: &str) -> Option<usize> {
        const IGNORED: &[&str] = &[
            "the", "a", "an", "to", "on", "of", "one", "for", "and", "i", "meant", "mean",
            "please", "it", "in", "with",
        ];
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .filter(|w| !IGNORED.contains(&w.as_str()))
                .collect()
        };
        let reply = words(reply);
        if reply.is_empty() {
            return None;
        }
        let matching: Vec<usize> = options
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                let names = words(&format!(
                    "{} {} {}",
                    o.dialog.replace('_', " "),
                    o.intent.replace('_', " "),
                    self.description(&o.dialog)
                ));
                reply.iter().any(|w| names.iter().any(|n| stem_eq(n, w)))
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Drops a pending question, confirmation, code request or approval that
    /// waited too long. `u` is the message that arrived, if any.
    /// Returns `None` when the message was only an answer to the dropped
    /// question, so there is nothing more to do.
    fn expire(&mut self, phase: Phase, u: Option<&Understanding>) -> Option<Phase> {
        let settings = &self.project.settings;
        let (request, limit) = match &phase {
            Phase::Collecting { request, .. } => (request, settings.pending_expiry),
            Phase::AwaitingConfirmation { request }
            | Phase::AwaitingCode { request }
            | Phase::AwaitingApproval { request } => (request, settings.confirmation_expiry),
            Phase::Choosing { asked_at, .. } => {
                // Nothing was requested yet, so nothing to record: a late reply
                // is simply read as a new message.
                return if elapsed(*asked_at, self.ctx.now) <= settings.pending_expiry {
                    Some(phase)
                } else {
                    Some(Phase::Idle)
                };
            }
            _ => return Some(phase),
        };
        if elapsed(request.touched_at, self.ctx.now) <= limit {
            return Some(phase);
        }
        let description = self.description(&request.dialog);
        self.say(format!(
            "Your request to {description} waited more than {} for an answer, so I dropped it.",
            humantime::format_duration(limit)
        ));
        self.record(
            Disposition::Expired,
            request.clone(),
            "no answer before the pending request expired",
        );
        let u = u?;
        if !matches!(phrases::classify(&u.text), Answer::Other)
            || phrases::totp_code(&u.text).is_some()
        {
            self.say("Nothing is waiting for an answer now; ask again if you still need it.");
            return None;
        }
        // Anything else is read afresh, as a new request.
        Some(Phase::Idle)
    }

    fn description(&self, dialog: &str) -> String {
        self.project
            .dialogs
            .get(dialog)
            .map(|d| d.description.clone())
            .unwrap_or_else(|| dialog.to_string())
    }

    fn start(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Phase {
        match phrases::classify(&u.text) {
            Answer::Yes => {
                self.say("There is nothing waiting for a yes right now. Say “help” to see what I can do.");
                return Phase::Idle;
            }
            Answer::No => {
                self.say("Okay. There is nothing to cancel.");
                return Phase::Idle;
            }
            _ => {}
        }
        if let Some(phase) = self.follow_up(u, memory, last_dialog) {
            return phase;
        }
        if !u.ambiguous.is_empty() {
            if let Some(phase) = self.ask_which(u) {
                return phase;
            }
        }
        match u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .map(|d| (d, g.confidence))
        }) {
            Some((dialog, confidence)) => self.begin(dialog, confidence, u, memory),
            None => {
                self.not_understood(u);
                Phase::Idle
            }
        }
    }

    /// "and on web-02", "also staging", "same for redis": a message that opens
    /// like a follow-up and names a value for the last finished request's
    /// dialog repeats that request with the new value, every other slot
    /// carried over.
    fn follow_up(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Option<Phase> {
        let last = last_dialog?;
        let dialog = self.project.dialogs.get(&last.dialog)?;
        if !phrases::is_follow_up(&u.text)
            || !u
                .entities
                .iter()
                .any(|m| dialog.slots.iter().any(|s| s.entity == m.entity))
        {
            return None;
        }
        // A follow-up that clearly asks for something else is that request:
        // another intent, confidently, whose dialog has a slot for a value named.
        let asks_for_other = u.intent.as_ref().is_some_and(|g| {
            g.confidence >= SWITCH_CONFIDENCE
                && self.project.dialog_for_intent(&g.name).is_some_and(|d| {
                    d.name != dialog.name
                        && u.entities
                            .iter()
                            .any(|m| d.slots.iter().any(|s| s.entity == m.entity))
                })
        });
        if asks_for_other {
            return None;
        }
        let confidence = u.intent.as_ref().map_or(0.0, |g| g.confidence);
        Some(self.begin_with(dialog, confidence, u, memory, CarryOver::AllSlots))
    }

    /// Says so, and offers the nearest things the bot can do (or all of them
    /// when nothing is near).
    fn not_understood(&mut self, u: &Understanding) {
        let shown: String = u.text.trim().chars().take(80).collect();
        let mut nearest: Vec<String> = Vec::new();
        for guess in u.nearest_intents() {
            if guess.confidence < NEAREST_MIN_CONFIDENCE {
                break;
            }
            if let Some(dialog) = self.project.dialog_for_intent(&guess.name) {
                let line = format!("• {}", dialog.description);
                if !nearest.contains(&line) {
                    nearest.push(line);
                }
            }
            if nearest.len() == 2 {
                break;
            }
        }
        if nearest.is_empty() {
            self.say(format!(
                "Sorry, I did not understand “{shown}”. I can:\n{}",
                self.project.capabilities()
            ));
        } else {
            self.say(format!(
                "Sorry, I did not understand “{shown}”. Closest to that, I can:\n{}\nSay “help” to see everything I can do.",
                nearest.join("\n")
            ));
        }
    }

    fn begin(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        self.begin_with(dialog, confidence, u, memory, CarryOver::MarkedSlots)
    }

    fn begin_with(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
        carry: CarryOver,
    ) -> Phase {
        let mut request = Request {
            id: request_id(self.ctx, &u.text),
            dialog: dialog.name.clone(),
            intent: dialog.intent.clone(),
            confidence,
            slots: BTreeMap::new(),
            messages: vec![u.text.clone()],
            failed_answers: 0,
            confirmed_by: None,
            approved_by: None,
            two_factor: false,
            dry_run: self.ctx.dry_run,
            started_at: self.ctx.now,
            touched_at: self.ctx.now,
        };
        let errors = self
            .fill_from_entities(dialog, &mut request, &u.entities, None)
            .1;
        if let Err(reason) =
            dialog
                .access
                .check_start(&self.project.settings.groups, self.ctx.user, self.ctx.room)
        {
            return self.deny(dialog, request, &reason);
        }
        match &dialog.behaviour {
            Behaviour::Reply(template) => {
                let mut vars = self.vars(&request);
                vars.insert(
                    opsbot_spec::CAPABILITIES_VAR.into(),
                    self.project.capabilities(),
                );
                self.say(template.render(&vars));
                Phase::Idle
            }
            Behaviour::Run { .. } => {
                for error in errors {
                    self.say(format!("{}.", capitalise(&error)));
                }
                self.carry_over(dialog, &mut request, memory, carry);
                for slot in &dialog.slots {
                    if let (false, Some(default)) =
                        (request.slots.contains_key(&slot.name), &slot.default)
                    {
                        request.slots.insert(
                            slot.name.clone(),
                            SlotValue {
                                value: default.clone(),
                                origin: SlotOrigin::Default,
                            },
                        );
                    }
                }
                self.advance(dialog, request)
            }
        }
    }

    /// Assigns the message's entities to the dialog's slots; the slot being asked
    /// for gets the first value of its entity. Returns the slots set and the
    /// reasons any value was rejected.
    fn fill_from_entities(
        &self,
        dialog: &Dialog,
        request: &mut Request,
        entities: &[EntityMatch],
        asking: Option<&str>,
    ) -> (BTreeSet<String>, Vec<String>) {
        let mut filled = BTreeSet::new();
        let mut errors = Vec::new();
        // Matches of different entities may overlap ("14 days" is a duration,
        // "14" a number of days); the dialog decides. Surer and longer first;
        // a match overlapping one already used is skipped.
        let mut ordered: Vec<&EntityMatch> = entities
            .iter()
            .filter(|m| dialog.slots.iter().any(|s| s.entity == m.entity))
            .collect();
        ordered.sort_by(|a, b| {
            a.source
                .rank()
                .cmp(&b.source.rank())
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.start.cmp(&b.start))
        });
        let mut used: Vec<(usize, usize)> = Vec::new();
        ordered.retain(|m| {
            let free = used.iter().all(|&(s, e)| m.end <= s || m.start >= e);
            if free {
                used.push((m.start, m.end));
            }
            free
        });
        ordered.sort_by_key(|m| m.start);
        for m in ordered {
            let candidates: Vec<&Slot> = dialog
                .slots
                .iter()
                .filter(|s| s.entity == m.entity && !filled.contains(&s.name))
                .collect();
            let chosen = candidates
                .iter()
                .find(|s| Some(s.name.as_str()) == asking)
                .or_else(|| {
                    candidates
                        .iter()
                        .find(|s| !request.slots.contains_key(&s.name))
                })
                .or_else(|| candidates.first());
            let Some(slot) = chosen else { continue };
            let Some(entity) = self.project.entities.get(&slot.entity) else {
                continue;
            };
            match entity.validate(&m.value, self.ctx.now) {
                Ok(value) => {
                    let origin = if Some(slot.name.as_str()) == asking {
                        SlotOrigin::Asked
                    } else {
                        SlotOrigin::Extracted
                    };
                    request
                        .slots
                        .insert(slot.name.clone(), SlotValue { value, origin });
                    filled.insert(slot.name.clone());
                }
                Err(reason) => errors.push(reason),
            }
        }
        (filled, errors)
    }

    fn carry_over(
        &self,
        dialog: &Dialog,
        request: &mut Request,
        memory: &Memory,
        carry: CarryOver,
    ) {
        let carried = |s: &&Slot| s.carry_over || carry == CarryOver::AllSlots;
        for slot in dialog.slots.iter().filter(carried) {
            if request.slots.contains_key(&slot.name) {
                continue;
            }
            if let Some(remembered) = memory.get(&slot.name).filter(|r| r.entity == slot.entity) {
                request.slots.insert(
                    slot.name.clone(),
                    SlotValue {
                        value: remembered.value.clone(),
                        origin: SlotOrigin::CarriedOver,
                    },
                );
            }
        }
    }

    fn prompt(&self, dialog: &Dialog, slot: &Slot, request: &Request) -> String {
        match &slot.prompt {
            Some(p) => p.render(&self.vars(request)),
            None => format!(
                "Which {} should I use for {}?",
                slot.entity, dialog.description
            ),
        }
    }

    fn preview(&self, dialog: &Dialog, request: &Request) -> String {
        match &dialog.confirm {
            Some(c) => format!("{} (yes/no)", c.render(&self.vars(request))),
            None => String::new(),
        }
    }

    fn advance(&mut self, dialog: &Dialog, request: Request) -> Phase {
        if let Some(slot) = dialog
            .slots
            .iter()
            .find(|s| !request.slots.contains_key(&s.name))
        {
            let prompt = self.prompt(dialog, slot, &request);
            self.say(prompt);
            return Phase::Collecting {
                request,
                asking: slot.name.clone(),
            };
        }
        if let Err(reason) = dialog.access.check_values(
            &self.project.settings.groups,
            self.ctx.user,
            &request.slot_values(),
        ) {
            return self.deny(dialog, request, &reason);
        }
        if dialog.confirm.is_some() {
            let preview = self.preview(dialog, &request);
            self.say(preview);
            return Phase::AwaitingConfirmation { request };
        }
        self.confirmed(dialog, request)
    }

    fn deny(&mut self, dialog: &Dialog, request: Request, reason: &str) -> Phase {
        self.say(format!(
            "Sorry, {} may not {}: {reason}.",
            self.ctx.user, dialog.description
        ));
        self.record(Disposition::Denied, request, reason);
        Phase::Idle
    }

    fn approver_names(&self, dialog: &str) -> String {
        let groups: Vec<&str> = self
            .project
            .dialogs
            .get(dialog)
            .and_then(|d| d.approval.as_ref())
            .map(|a| a.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        opsbot_spec::join_or(&groups)
    }

    /// After the requester's yes (or directly, for read-only dialogs): the rate
    /// limit, then 2FA and approval, then the run.
    fn confirmed(&mut self, dialog: &Dialog, request: Request) -> Phase {
        let limit = &self.project.settings.rate_limit;
        if !request.dry_run && !self.ctx.dry_run && self.ctx.recent_executions >= limit.executions {
            let wait = format!(
                "You have started {} actions in the last {}; please wait a little",
                self.ctx.recent_executions,
                humantime::format_duration(limit.per)
            );
            if dialog.confirm.is_some() {
                self.say(format!(
                    "{wait}, then answer again. {}",
                    self.preview(dialog, &request)
                ));
                return Phase::AwaitingConfirmation { request };
            }
            self.say(format!("{wait}, then ask again."));
            return Phase::Idle;
        }
        self.guarded(dialog, request)
    }

    /// The checks that follow confirmation, in order: 2FA, then approval.
    fn guarded(&mut self, dialog: &Dialog, mut request: Request) -> Phase {
        if dialog.two_factor && !request.two_factor {
            if !self.ctx.two_factor_enrolled {
                let reason = format!(
                    "it needs two-factor authentication and {} has not enrolled (an operator can run `opsbot 2fa enroll {}`)",
                    self.ctx.user, self.ctx.user
                );
                return self.deny(dialog, request, &reason);
            }
            request.touched_at = self.ctx.now;
            self.say("This needs two-factor authentication: please send the current 6-digit code from your authenticator app.");
            return Phase::AwaitingCode { request };
        }
        let needs_approval = dialog
            .approval
            .as_ref()
            .is_some_and(|a| a.applies(&request.slot_values()));
        if needs_approval && request.approved_by.is_none() {
            request.touched_at = self.ctx.now;
            self.say(format!(
                "{} asks to {}. A member of {} other than {} must approve: say “approve {}” or “deny {}”. This expires in {}.",
                self.ctx.user,
                self.describe(dialog, &request),
                self.approver_names(&dialog.name),
                self.ctx.user,
                request.short_id(),
                request.short_id(),
                humantime::format_duration(self.project.settings.confirmation_expiry)
            ));
            return Phase::AwaitingApproval { request };
        }
        self.run(dialog, request)
    }

    /// "deploy a version of an app to an environment (app=shop, version=1.2, …)".
    fn describe(&self, dialog: &Dialog, request: &Request) -> String {
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

    fn run(&mut self, dialog: &Dialog, request: Request) -> Phase {
        let Behaviour::Run {
            action, running, ..
        } = &dialog.behaviour
        else {
            return Phase::Idle;
        };
        let vars = self.vars(&request);
        let plan = plan::build(
            dialog,
            action,
            &vars,
            &request,
            self.ctx.user,
            self.ctx.room,
        );
        if request.dry_run || self.ctx.dry_run {
            self.say(format!("Dry run, nothing was run. {}", plan.describe()));
            self.record(Disposition::DryRun, request, "dry run");
            return Phase::Idle;
        }
        if let Some(running) = running {
            self.say(running.render(&vars));
        }
        self.effects.push(Effect::Run {
            plan,
            request: request.clone(),
        });
        Phase::Executing { request }
    }

    fn code(&mut self, phase: Phase, check: CodeCheck) -> Phase {
        let Some(phase) = self.expire(phase, None) else {
            return Phase::Idle;
        };
        let Phase::AwaitingCode { mut request } = phase else {
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        match check {
            CodeCheck::Valid => {
                request.two_factor = true;
                self.guarded(dialog, request)
            }
            CodeCheck::Invalid { tries_left } => {
                self.say(format!(
                    "That code is not valid; {tries_left} more wrong codes lock two-factor authentication. Please send the current code, or say “cancel”."
                ));
                Phase::AwaitingCode { request }
            }
            CodeCheck::NotEnrolled => {
                let reason = format!("it needs two-factor authentication and {} has not enrolled (an operator can run `opsbot 2fa enroll {}`)", self.ctx.user, self.ctx.user);
                self.deny(dialog, request, &reason)
            }
            CodeCheck::LockedOut { until } => {
                let reason = format!(
                    "too many wrong codes, so two-factor authentication is locked until {}",
                    until.format("%H:%M UTC")
                );
                self.deny(dialog, request, &reason)
            }
        }
    }

    fn approval(&mut self, phase: Phase, approver: &str, approve: bool) -> Phase {
        let Some(phase) = self.expire(phase, None) else {
            return Phase::Idle;
        };
        let Phase::AwaitingApproval { mut request } = phase else {
            self.say("That request is no longer waiting for approval.");
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let approvers = dialog
            .approval
            .as_ref()
            .map(|a| a.groups.clone())
            .unwrap_or_default();
        if self.project.settings.same_person(approver, self.ctx.user) {
            self.say(format!(
                "You cannot approve your own request; a member of {} other than you must.",
                self.approver_names(&dialog.name)
            ));
            return Phase::AwaitingApproval { request };
        }
        if !opsbot_spec::access::member_of_any(&self.project.settings.groups, approver, &approvers)
        {
            self.say(format!(
                "{approver} is not a member of {}, so cannot decide on this request.",
                self.approver_names(&dialog.name)
            ));
            return Phase::AwaitingApproval { request };
        }
        request.approved_by = Some(approver.to_string());
        if !approve {
            self.say(format!(
                "{approver} declined {}'s request to {}. Nothing was run.",
                self.ctx.user, dialog.description
            ));
            self.record(
                Disposition::Rejected,
                request,
                format!("declined by {approver}"),
            );
            return Phase::Idle;
        }
        self.say(format!("Approved by {approver}."));
        self.guarded(dialog, request)
    }

    fn cancel(&mut self, request: Request) -> Phase {
        self.say("Okay, I cancelled that. Nothing was run.");
        self.record(
            Disposition::Cancelled,
            request,
            "cancelled by the requester",
        );
        Phase::Idle
    }

    /// Looks the dialog of a stored request up; it may be gone after an edit.
    fn dialog_of(&mut self, request: &Request) -> Option<&'a Dialog> {
        let dialog = self.project.dialogs.get(&request.dialog);
        if dialog.is_none() {
            self.say(format!(
                "Your pending request can no longer continue: its dialog `{}` is no longer defined. Please ask again.",
                request.dialog
            ));
        }
        dialog
    }

    fn collect(
        &mut self,
        mut request: Request,
        asking: String,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        if phrases::is_cancel(&u.text) {
            request.messages.push(u.text.clone());
            return self.cancel(request);
        }
        let (filled, mut errors) =
            self.fill_from_entities(dialog, &mut request, &u.entities, Some(&asking));
        if !request.slots.contains_key(&asking) {
            // Not an answer: maybe a question aside ("help") or a new request.
            let other = u.intent.as_ref().and_then(|g| {
                self.project
                    .dialog_for_intent(&g.name)
                    .map(|d| (d, g.confidence))
            });
            let plain_reply = phrases::classify(&u.text) != Answer::Other;
            if let (Some((other, confidence)), true) = (other, errors.is_empty() && !plain_reply) {
                if other.name != dialog.name && confidence >= SWITCH_CONFIDENCE {
                    match other.behaviour {
                        Behaviour::Reply(_) => {
                            self.begin(other, confidence, u, memory);
                            let slot = dialog.slot(&asking).expect("asked slot exists");
                            let prompt = self.prompt(dialog, slot, &request);
                            self.say(prompt);
                            return Phase::Collecting { request, asking };
                        }
                        Behaviour::Run { .. } => {
                            self.say(format!(
                                "Okay, I dropped your request to {}.",
                                dialog.description
                            ));
                            self.record(
                                Disposition::Cancelled,
                                request,
                                "abandoned for another request",
                            );
                            return self.begin(other, confidence, u, memory);
                        }
                    }
                }
            }
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
            if !filled.is_empty() && errors.is_empty() {
                // A correction of another slot ("make it checkout"): asked again,
                // with the new value in the question.
                return self.advance(dialog, request);
            }
            let slot = dialog.slot(&asking).expect("asked slot exists");
            if errors.is_empty() {
                if let Some(entity) = self.project.entities.get(&slot.entity) {
                    match entity.validate(strip_answer(&u.text), self.ctx.now) {
                        Ok(value) => {
                            request.slots.insert(
                                asking.clone(),
                                SlotValue {
                                    value,
                                    origin: SlotOrigin::Asked,
                                },
                            );
                        }
                        Err(reason) => errors.push(reason),
                    }
                }
            }
            if !request.slots.contains_key(&asking) {
                request.failed_answers += 1;
                let prompt = self.prompt(dialog, slot, &request);
                let hint = if request.failed_answers >= 2 {
                    " (Say “cancel” to stop.)"
                } else {
                    ""
                };
                let reason = errors.first().map(|e| capitalise(e)).unwrap_or_default();
                self.say(format!("{reason}. {prompt}{hint}"));
                return Phase::Collecting { request, asking };
            }
        } else {
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
        }
        request.failed_answers = 0;
        self.advance(dialog, request)
    }

    fn confirm(&mut self, mut request: Request, u: &Understanding, memory: &Memory) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        request.messages.push(u.text.clone());
        request.touched_at = self.ctx.now;
        let answer = phrases::classify(&u.text);
        match answer {
            Answer::Yes => {
                request.confirmed_by = Some(self.ctx.user.to_string());
                return self.confirmed(dialog, request);
            }
            Answer::No => return self.cancel(request),
            Answer::NoBut(_) | Answer::Other => {}
        }
        let before = request.slots.clone();
        let (_, mut errors) = self.fill_from_entities(dialog, &mut request, &u.entities, None);
        if let (true, Answer::NoBut(rest)) = (request.slots == before, &answer) {
            // "no, banana": try the rest as a new value for each slot in turn.
            let candidate = strip_answer(rest);
            let fits = dialog.slots.iter().find_map(|slot| {
                let entity = self.project.entities.get(&slot.entity)?;
                entity
                    .validate(candidate, self.ctx.now)
                    .ok()
                    .map(|v| (slot.name.clone(), v))
            });
            match fits {
                Some((slot, value)) => {
                    request.slots.insert(
                        slot,
                        SlotValue {
                            value,
                            origin: SlotOrigin::Asked,
                        },
                    );
                }
                None => errors.push(format!(
                    "I could not use “{}” as a new {}",
                    candidate.chars().take(60).collect::<String>(),
                    opsbot_spec::join_or(
                        &dialog
                            .slots
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                    )
                )),
            }
        }
        if request.slots != before {
            if let Err(reason) = dialog.access.check_values(
                &self.project.settings.groups,
                self.ctx.user,
                &request.slot_values(),
            ) {
                return self.deny(dialog, request, &reason);
            }
        }
        let preview = self.preview(dialog, &request);
        if request.slots != before {
            self.say(preview);
        } else if let Some(error) = errors.first() {
            self.say(format!("{}. {preview}", capitalise(error)));
        } else if let Some((
            other @ Dialog {
                behaviour: Behaviour::Reply(_),
                ..
            },
            confidence,
        )) = u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .map(|d| (d, g.confidence))
        }) {
            self.begin(other, confidence, u, memory);
            self.say(preview);
        } else if phrases::is_questioning_yes(&u.text) {
            self.say(format!(
                "“{}” reads as a question, so I did not take it as a yes. {preview}",
                u.text.trim().chars().take(40).collect::<String>()
            ));
        } else {
            self.say(format!("Please answer yes or no. {preview}"));
        }
        Phase::AwaitingConfirmation { request }
    }

    fn finished(
        &mut self,
        phase: Phase,
        memory: &mut Memory,
        last_dialog: &mut Option<LastDialog>,
        outcome: &ActionOutcome,
    ) -> Phase {
        let Phase::Executing { request } = phase else {
            // An outcome for a request this conversation no longer waits on.
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let Behaviour::Run {
            success, failure, ..
        } = &dialog.behaviour
        else {
            return Phase::Idle;
        };
        let mut vars = self.vars(&request);
        let output = outcome
            .error
            .clone()
            .unwrap_or_else(|| outcome.output.trim().to_string());
        vars.insert("output".into(), output);
        vars.insert(
            "exit_code".into(),
            outcome
                .exit_code
                .map_or("none".to_string(), |c| c.to_string()),
        );
        vars.insert(
            "duration".into(),
            format!("{:.1}s", outcome.duration.as_secs_f64()),
        );
        let template = if outcome.succeeded { success } else { failure };
        self.say(template.render(&vars).trim_end().to_string());
        if outcome.succeeded {
            *last_dialog = Some(LastDialog {
                dialog: dialog.name.clone(),
                at: self.ctx.now,
            });
            for slot in &dialog.slots {
                if let Some(v) = request.slots.get(&slot.name) {
                    memory.insert(
                        slot.name.clone(),
                        Remembered {
                            entity: slot.entity.clone(),
                            value: v.value.clone(),
                            at: self.ctx.now,
                        },
                    );
                }
            }
        }
        Phase::Idle
    }

    fn interrupted(&mut self, phase: Phase, started: bool) -> Phase {
        let Phase::Executing { request } = phase else {
            return phase;
        };
        let description = self.description(&request.dialog);
        if !started {
            self.say(format!(
                "I was restarted before your request to {description} started, so nothing was run. Ask again if you still need it."
            ));
            self.record(
                Disposition::NotRun,
                request,
                "the bot restarted before the action started",
            );
            return Phase::Idle;
        }
        self.say(format!(
            "I lost track of your request to {description}: I was restarted while it ran, so I do not know whether it finished. Please check before asking again (`opsbot audit`)."
        ));
        self.record(
            Disposition::OutcomeUnknown,
            request,
            "the bot restarted while the action ran",
        );
        Phase::Idle
    }
}

/// A request id from who asked, where, when and what: unique in practice, and
/// the engine stays a pure function.
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
mod tests {
    //! The engine driven directly with hand-made understandings: no model, no
    //! store, no runtime.

    use std::path::Path;

    use chrono::TimeZone;
    use opsbot_nlu::{EntityExtractor, IntentGuess};

    use super::*;

    fn project() -> Project {
        opsbot_spec::load_project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .expect("the example bot loads")
    }

    fn understood(project: &Project, text: &str, intent: Option<&str>) -> Understanding {
        Understanding {
            text: text.into(),
            intent: intent.map(|name| IntentGuess {
                name: name.into(),
                confidence: 0.9,
            }),
            ranking: Vec::new(),
            ambiguous: Vec::new(),
            entities: EntityExtractor::new(project).candidates(text),
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap()
    }

    struct Session {
        project: Project,
        conversation: Conversation,
    }

    impl Session {
        fn new() -> Session {
            Session {
                project: project(),
                conversation: Conversation::default(),
            }
        }

        fn say(&mut self, text: &str, intent: Option<&str>, minute: u32) -> Transition {
            let u = understood(&self.project, text, intent);
            let ctx = Context::new("alice", "ops", at(minute));
            let t = step(
                &self.project,
                self.conversation.clone(),
                Input::Message(&u),
                &ctx,
            );
            self.conversation = t.conversation.clone();
            t
        }

        fn feed(&mut self, input: Input<'_>, minute: u32) -> Transition {
            let ctx = Context::new("alice", "ops", at(minute));
            let t = step(&self.project, self.conversation.clone(), input, &ctx);
            self.conversation = t.conversation.clone();
            t
        }
    }

    impl Session {
        /// A message the NLU found ambiguous between restarting and deploying.
        fn say_ambiguous(&mut self, text: &str, minute: u32) -> Transition {
            let mut u = understood(&self.project, text, None);
            u.ambiguous = vec![
                IntentGuess {
                    name: "restart_service".into(),
                    confidence: 0.45,
                },
                IntentGuess {
                    name: "deploy_app".into(),
                    confidence: 0.40,
                },
            ];
            let ctx = Context::new("alice", "ops", at(minute));
            let t = step(
                &self.project,
                self.conversation.clone(),
                Input::Message(&u),
                &ctx,
            );
            self.conversation = t.conversation.clone();
            t
        }
    }

    #[test]
    fn ambiguous_messages_ask_which_and_an_ordinal_answers() {
        let mut s = Session::new();
        let t = s.say_ambiguous("checkout on web-01 again", 0);
        assert_eq!(
            t.replies,
            ["Did you mean to restart a service on a host or to deploy a version of an app to an environment? Say “the first”, “the second” or what you meant."]
        );
        assert!(matches!(s.conversation.phase, Phase::Choosing { .. }));
        let t = s.say("the first", None, 1);
        // The original message's host is kept; the service is asked for.
        assert!(t.replies[0].contains("service"), "{:?}", t.replies);
        let Phase::Collecting { request, .. } = &s.conversation.phase else {
            panic!("expected collecting: {:?}", s.conversation.phase);
        };
        assert_eq!(request.dialog, "restart_service");
        assert_eq!(request.slots["host"].value, "web-01");
    }

    #[test]
    fn a_word_of_the_option_or_a_new_request_resolves_the_question() {
        let mut s = Session::new();
        s.say_ambiguous("checkout please", 0);
        s.say("deploy", None, 1);
        let request = s.conversation.request().expect("a request");
        assert_eq!(request.dialog, "deploy_app");

        let mut s = Session::new();
        s.say_ambiguous("checkout please", 0);
        let t = s.say("never mind", None, 1);
        assert_eq!(t.replies, ["Okay, I will do neither."]);
        assert_eq!(s.conversation.phase, Phase::Idle);

        // An unrelated reply is read afresh.
        let mut s = Session::new();
        s.say_ambiguous("checkout please", 0);
        s.say("who is on call for payments", Some("who_is_on_call"), 1);
        assert_ne!(s.conversation.phase_name(), "choosing");
    }

    #[test]
    fn not_understood_suggests_the_nearest_things() {
        let mut s = Session::new();
        let mut u = understood(&s.project, "frobnicate the database", None);
        u.ranking = vec![
            IntentGuess {
                name: "out_of_scope".into(),
                confidence: 0.5,
            },
            IntentGuess {
                name: "rollback_app".into(),
                confidence: 0.3,
            },
        ];
        let ctx = Context::new("alice", "ops", at(0));
        let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
        s.conversation = t.conversation;
        assert_eq!(
            t.replies,
            ["Sorry, I did not understand “frobnicate the database”. Closest to that, I can:\n• roll an app back to its previous version\nSay “help” to see everything I can do."]
        );
    }

    #[test]
    fn confirmation_yields_the_exact_argv_and_environment() {
        let mut s = Session::new();
        s.say("restart apache on web-01", Some("restart_service"), 0);
        let t = s.say("yes", None, 1);
        let [Effect::Run {
            plan:
                Plan::Program {
                    program_display,
                    args,
                    env,
                    ..
                },
            request,
        }] = t.effects.as_slice()
        else {
            panic!("expected one run effect: {:?}", t.effects);
        };
        assert_eq!(program_display, "actions/restart-service.sh");
        assert_eq!(args, &["apache", "web-01"]);
        assert!(env.contains(&("OPSBOT_SLOT_HOST".into(), "web-01".into())));
        assert!(env.contains(&("OPSBOT_USER".into(), "alice".into())));
        assert_eq!(request.confirmed_by.as_deref(), Some("alice"));
        assert_eq!(request.messages, ["restart apache on web-01", "yes"]);
        assert!(matches!(s.conversation.phase, Phase::Executing { .. }));
    }

    #[test]
    fn outcomes_use_the_result_templates_and_feed_carry_over() {
        let mut s = Session::new();
        s.say("restart apache on web-01", Some("restart_service"), 0);
        s.say("yes", None, 0);
        let failed = ActionOutcome {
            succeeded: false,
            exit_code: Some(3),
            output: "boom\n".into(),
            duration: Duration::from_millis(20),
            error: None,
            started: true,
        };
        let t = s.feed(Input::ActionFinished(&failed), 0);
        assert_eq!(
            t.replies,
            ["Restarting apache on web-01 failed (exit status 3): boom"]
        );
        assert!(
            s.conversation.memory.is_empty(),
            "a failed request is not carried over"
        );

        s.say("restart apache on web-01", Some("restart_service"), 1);
        s.say("yes", None, 1);
        let ok = ActionOutcome {
            succeeded: true,
            exit_code: Some(0),
            output: String::new(),
            duration: Duration::ZERO,
            error: None,
            started: true,
        };
        s.feed(Input::ActionFinished(&ok), 1);
        assert_eq!(s.conversation.memory["service"].value, "apache");
        let t = s.say("restart it on web-02", Some("restart_service"), 2);
        assert_eq!(
            t.replies,
            ["I will restart apache on web-02. Shall I go ahead? (yes/no)"]
        );
        let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
            panic!()
        };
        assert_eq!(request.slots["service"].origin, SlotOrigin::CarriedOver);
        assert_eq!(request.slots["host"].origin, SlotOrigin::Extracted);
    }

    #[test]
    fn an_interrupted_action_is_recorded_as_unknown_and_never_rerun() {
        let mut s = Session::new();
        s.say("restart apache on web-01", Some("restart_service"), 0);
        s.say("yes", None, 0);
        let t = s.feed(Input::Interrupted { started: true }, 5);
        assert!(
            t.replies[0].starts_with("I lost track of your request to restart a service on a host")
        );
        assert!(!t.effects.iter().any(|e| matches!(e, Effect::Run { .. })));
        assert!(matches!(
            t.effects.as_slice(),
            [Effect::Record(Record {
                disposition: Disposition::OutcomeUnknown,
                ..
            })]
        ));
        assert_eq!(s.conversation.phase, Phase::Idle);
    }

    #[test]
    fn a_denied_request_is_recorded_with_what_was_asked() {
        let project = project();
        let u = understood(
            &project,
            "extend acme's trial by 30 days",
            Some("extend_trial"),
        );
        let ctx = Context::new("mallory", "ops", at(0));
        let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
        assert_eq!(t.replies, ["Sorry, mallory may not extend a customer's trial by some days: that needs membership of account-managers."]);
        let [Effect::Record(record)] = t.effects.as_slice() else {
            panic!("{:?}", t.effects)
        };
        assert_eq!(record.disposition, Disposition::Denied);
        assert_eq!(record.request.slots["customer"].value, "acme");
    }

    #[test]
    fn expiry_starts_just_after_the_limit() {
        let mut s = Session::new();
        s.say("restart apache", Some("restart_service"), 0);
        let t = s.say("web-01", None, 10);
        assert_eq!(
            t.replies,
            ["I will restart apache on web-01. Shall I go ahead? (yes/no)"],
            "exactly 10 minutes is still in time"
        );
        let t = s.say("yes", None, 16);
        assert_eq!(t.replies[0], "Your request to restart a service on a host waited more than 5m for an answer, so I dropped it.");
        assert!(matches!(
            t.effects.as_slice(),
            [Effect::Record(Record {
                disposition: Disposition::Expired,
                ..
            })]
        ));
    }

    #[test]
    fn the_rate_limit_holds_the_confirmation() {
        let project = project();
        let limit = project.settings.rate_limit.executions;
        let u = understood(
            &project,
            "restart apache on web-01",
            Some("restart_service"),
        );
        let mut ctx = Context::new("alice", "ops", at(0));
        let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
        let yes = understood(&project, "yes", None);
        ctx.recent_executions = limit;
        let held = step(&project, t.conversation.clone(), Input::Message(&yes), &ctx);
        assert!(held.replies[0].starts_with(&format!("You have started {limit} actions in the last 1m; please wait a little, then answer again.")));
        assert!(held.effects.is_empty());
        assert!(matches!(
            held.conversation.phase,
            Phase::AwaitingConfirmation { .. }
        ));
        ctx.recent_executions = limit - 1;
        let runs = step(&project, held.conversation, Input::Message(&yes), &ctx);
        assert!(matches!(runs.effects.as_slice(), [Effect::Run { .. }]));
    }

    #[test]
    fn access_matrix_over_users_dialogs_and_values() {
        let project = project();
        // (user, message, intent, whether it reaches a confirmation)
        let cases = [
            ("alice", "restart apache on web-01", "restart_service", true),
            (
                "alice",
                "restart postgres on db-01",
                "restart_service",
                false,
            ),
            (
                "carol",
                "restart postgres on db-01",
                "restart_service",
                true,
            ),
            (
                "mallory",
                "restart apache on web-01",
                "restart_service",
                true,
            ),
            (
                "alice",
                "deploy shop 1.0.0 to production",
                "deploy_app",
                true,
            ),
            (
                "dave",
                "deploy shop 1.0.0 to production",
                "deploy_app",
                true,
            ),
            (
                "bob",
                "deploy shop 1.0.0 to production",
                "deploy_app",
                false,
            ),
            ("bob", "deploy shop 1.0.0 to staging", "deploy_app", true),
            ("bob", "roll back shop in production", "rollback_app", false),
            ("dave", "roll back shop in production", "rollback_app", true),
            ("bob", "extend acme's trial by 3 days", "extend_trial", true),
            (
                "dave",
                "extend acme's trial by 3 days",
                "extend_trial",
                false,
            ),
            (
                "mallory",
                "extend acme's trial by 3 days",
                "extend_trial",
                false,
            ),
        ];
        for (user, text, intent, allowed) in cases {
            let u = understood(&project, text, Some(intent));
            let t = step(
                &project,
                Conversation::default(),
                Input::Message(&u),
                &Context::new(user, "ops", at(0)),
            );
            let confirming = matches!(t.conversation.phase, Phase::AwaitingConfirmation { .. });
            assert_eq!(confirming, allowed, "{user}: {text}: {:?}", t.replies);
            let denied = matches!(
                t.effects.as_slice(),
                [Effect::Record(Record {
                    disposition: Disposition::Denied,
                    ..
                })]
            );
            assert_eq!(denied, !allowed, "a denial is audited: {user}: {text}");
        }
    }

    #[test]
    fn only_a_different_approver_runs_a_production_deploy() {
        let mut s = Session::new();
        s.say("deploy shop 1.0.0 to production", Some("deploy_app"), 0);
        let t = s.say("yes", None, 0);
        assert!(t.replies[0].contains("must approve"), "{:?}", t.replies);
        let alice = s.feed(
            Input::Approval {
                approver: "alice",
                approve: true,
            },
            1,
        );
        assert!(
            alice.effects.is_empty()
                && alice.replies[0].starts_with("You cannot approve your own request")
        );
        let bob = s.feed(
            Input::Approval {
                approver: "bob",
                approve: true,
            },
            1,
        );
        assert!(
            bob.effects.is_empty()
                && bob.replies[0].starts_with("bob is not a member of release-managers")
        );
        let dave = s.feed(
            Input::Approval {
                approver: "dave",
                approve: true,
            },
            2,
        );
        let [Effect::Run { request, .. }] = dave.effects.as_slice() else {
            panic!("{:?}", dave.effects)
        };
        assert_eq!(request.approved_by.as_deref(), Some("dave"));
        assert_eq!(request.confirmed_by.as_deref(), Some("alice"));
    }

    #[test]
    fn stored_state_keeps_its_shape() {
        // The store persists this JSON; changing its shape needs a migration.
        let mut s = Session::new();
        s.say("restart apache", Some("restart_service"), 0);
        let json = serde_json::to_value(&s.conversation).unwrap();
        assert_eq!(json["phase"]["phase"], "collecting");
        assert_eq!(json["phase"]["asking"], "host");
        assert_eq!(
            json["phase"]["request"]["slots"]["service"],
            serde_json::json!({"value": "apache", "origin": "extracted"})
        );
        assert_eq!(
            json["phase"]["request"]["touched_at"],
            "2026-11-24T10:00:00Z"
        );
        let back: Conversation = serde_json::from_value(json).unwrap();
        assert_eq!(back, s.conversation);
    }

    #[test]
    fn overlong_messages_are_refused_without_changing_state() {
        let mut s = Session::new();
        s.say("restart apache", Some("restart_service"), 0);
        let before = s.conversation.clone();
        let t = s.say(&"x".repeat(MAX_MESSAGE_CHARS + 1), None, 1);
        assert!(t.replies[0].contains("I only read messages of up to 2000 characters"));
        assert_eq!(s.conversation, before);
    }
}
