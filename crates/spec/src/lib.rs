//! opsbot's authoring format: YAML intents, entities and dialogs, loaded and
//! checked as a whole so every mistake is reported as `file:line:column`.
//!
//! This is the first stage of the pipeline (spec → nlu → dialog → runtime →
//! adapters); it depends on nothing else in opsbot.

pub mod access;
pub mod alerts;
pub mod annotation;
pub mod api;
pub mod cron;
pub mod diag;
pub mod entity;
pub mod guard;
pub mod limits;
pub mod people;
mod project;
mod raw;
pub mod redaction;
pub mod template;
pub mod token;
pub mod types;

#[cfg(test)]
mod fuzz;

use std::path::PathBuf;

pub use access::{Access, Allow, Approval, Groups, Requirement};
pub use alerts::{AlertRoute, AlertSettings, QuietHours, RouteRateLimit, Secret};
pub use diag::{Diagnostic, Diagnostics, Location};
pub use entity::{join_or, Entity, EntityMatch, MatchSource, MAX_VALUE_CHARS};
pub use limits::Limits;
pub use people::People;
pub use project::{
    load_project, training_hash, Action, Behaviour, Condition, Dialog, Example, FileLookup, Intent,
    Missed, OnFailure, OutputSource, ProgramAction, Project, ReviewSettings, Runbook, RunbookStep,
    Schedule, Settings, ShowAudit, Slot, StepKind, StepOutput, ThresholdTarget, Until, ValuesFrom,
    WhenDue, CAPABILITIES_VAR, CONTEXT_VARS, DEFAULT_MAX_CONCURRENT_ACTIONS,
    DEFAULT_MAX_MESSAGE_AGE, FAILED_STEP_VAR, OUT_OF_SCOPE, RESULT_VARS, STEP_FLAGS, STEP_VARS,
};
pub use template::Template;
pub use types::{Direction, TimeFrame, ValueType};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostics),
}
