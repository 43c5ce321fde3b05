//! The dialog engine: per-conversation state machines that collect slots, ask for
//! confirmation and decide what to run. Pure: (state, understood message) → (new
//! state, replies, effects). It knows no adapter, store or process; the runtime
//! performs the effects it returns.

pub mod asides;
pub mod engine;
pub mod extras;
pub mod phrases;
pub mod plan;
pub mod post;
pub mod state;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod words_fuzz;

pub use engine::{
    lock_of, overlong_reply, status, step, ActionOutcome, AlertContext, CodeCheck, Context, Effect,
    Given, Input, Lesson, LessonKind, Outcome, Record, Transition, MAX_MESSAGE_CHARS,
};
pub use extras::{evaluate_extra_parts, parse_extra_parts, ExtraPart, ExtrasReport};
pub use plan::{AuditQuery, Lookup, Plan};
pub use state::{
    AlertLink, Choice, Conversation, Explanation, LastDialog, Pause, PendingReminder, Phase,
    Reading, Remembered, Request, RunbookRun, SlotOrigin, SlotValue, StepDone, StepStatus,
};
