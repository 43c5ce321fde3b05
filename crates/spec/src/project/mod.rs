//! The checked bot definition: settings, entities, intents and dialogs, loaded from
//! a project folder and validated as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::access::{Access, Allow, Approval, Groups, Requirement};
use crate::annotation::{self, is_identifier, AnnotatedText, EntitySpan};
use crate::diag::{Diagnostics, Location, PositionIndex};
use crate::entity::{join_or, Entity};
use crate::guard;
use crate::limits::Limits;
use crate::people::People;
use crate::raw;
use crate::template::Template;
use crate::types::ValueType;
use crate::SpecError;

/// Variables every template may use besides the dialog's slots.
pub const CONTEXT_VARS: &[&str] = &["user", "room", "bot"];
/// Variables only result templates (`success`, `failure`) may use.
pub const RESULT_VARS: &[&str] = &["output", "exit_code", "duration"];
/// The variable a `reply` may use to list what the bot can do.
pub const CAPABILITIES_VAR: &str = "capabilities";
/// Class name the classifier uses for out-of-scope examples.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// `max_message_age` when opsbot.yaml does not set it: a request from before
/// an outage of more than an hour is likely done or moot.
pub const DEFAULT_MAX_MESSAGE_AGE: Duration = Duration::from_secs(3600);
/// `max_concurrent_actions` when opsbot.yaml does not set it.
pub const DEFAULT_MAX_CONCURRENT_ACTIONS: usize = 4;

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub executions: u32,
    pub per: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// Overrides the threshold the model learned on held-out data.
    pub confidence_threshold: Option<f32>,
    /// How training learns the threshold (`threshold_target:`).
    pub threshold_target: ThresholdTarget,
    /// Two intents closer than this in probability are ambiguous: the bot asks.
    pub ambiguity_margin: f32,
    /// Train with the sentence encoder (`nlu.encoder: none` trains on n-grams only).
    pub use_encoder: bool,
    /// How long a question for a slot waits for its answer.
    pub pending_expiry: Duration,
    pub carry_over_expiry: Duration,
    /// How long a confirmation, approval or 2FA code is awaited.
    pub confirmation_expiry: Duration,
    /// Group name → every id of its members (person names widened to their ids).
    pub groups: Groups,
    /// Who is who across adapters: the two-person rule compares people.
    pub people: People,
    /// The zone people say and read times in (`time_zone:`, UTC by default).
    pub time_zone: chrono_tz::Tz,
    /// Person → their own zone (`time_zones:`).
    pub time_zones: BTreeMap<String, chrono_tz::Tz>,
    pub redact: Vec<Regex>,
    pub rate_limit: RateLimit,
    /// Programs outside the project folder that actions may run (resolved paths).
    pub programs_outside_project: Vec<PathBuf>,
    /// How often a long-running action's message is updated in place, where
    /// the adapter can edit messages (`None`: never).
    pub progress_every: Option<Duration>,
    /// Alert webhooks and their routes to rooms (`None`: no listener).
    pub alerts: Option<crate::alerts::AlertSettings>,
    /// Where `/healthz`, `/readyz` and `/metrics` are answered on their own
    /// (`None`: only on the alerts listener, if any).
    pub health_listen: Option<std::net::SocketAddr>,
    /// The HTTP API (`api:`), if the project has one.
    pub api: Option<crate::api::ApiSettings>,
    /// What the review inbox records, and for how long.
    pub review: ReviewSettings,
    /// `nlu_only: true`: intents need no dialogs (a project to train and
    /// evaluate an NLU, not a bot to talk to).
    pub nlu_only: bool,
    /// Who may reload the model and make the bot leave a room (`admins:`).
    /// `None`: opsbot.yaml does not say, so nobody is (a door's deprecated
    /// setting may stand in); `admins: []` is `Some` and admits nobody. See
    /// [`Settings::is_admin`].
    pub admins: Option<Allow>,
    /// Messages older than this when they arrive (sent while the bot was
    /// down) are not acted on; the sender is told. `None`: opsbot.yaml does
    /// not say (see [`Settings::message_age_limit`]).
    pub max_message_age: Option<Duration>,
    /// Actions running at once across all rooms; others wait their turn.
    /// `None`: opsbot.yaml does not say (see [`Settings::action_limit`]).
    pub max_concurrent_actions: Option<usize>,
    /// `opsbot.yaml` is not YAML of settings (its error is reported): checks
    /// that need its groups stay quiet instead of cascading.
    pub unreadable: bool,
}

/// How training chooses the confidence threshold, on readings of examples the
/// model did not train on (`threshold_target:` in `opsbot.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum ThresholdTarget {
    /// The best in-scope accuracy plus out-of-scope recall. Without
    /// `out_of_scope` examples recall cannot be measured: then it refuses at
    /// most 2 % of the messages it reads right, and never sets the threshold
    /// above 0.5.
    #[default]
    Balanced,
    /// The highest threshold that refuses at most this share (0–0.5) of the
    /// messages the model reads right.
    RefuseRightAtMost(f32),
}

impl ThresholdTarget {
    /// Parses `balanced` or `refuse at most 1%` (also `1.5 %`).
    pub fn parse(text: &str) -> Option<ThresholdTarget> {
        let text = text.trim().to_lowercase();
        if text == "balanced" {
            return Some(ThresholdTarget::Balanced);
        }
        let rest = text.strip_prefix("refuse at most")?.trim();
        let number = rest.strip_suffix('%')?.trim();
        let percent: f32 = number.parse().ok()?;
        (percent > 0.0 && percent <= 50.0)
            .then_some(ThresholdTarget::RefuseRightAtMost(percent / 100.0))
    }
}

/// The review inbox (`review:` in `opsbot.yaml`): messages the bot did not
/// understand, or understood only after asking, kept for labelling.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewSettings {
    pub enabled: bool,
    /// Entries older than this are purged.
    pub keep: Duration,
    /// The most entries kept; the oldest go first.
    pub max_entries: usize,
    /// A message understood with less confidence than this is recorded too.
    pub below_confidence: f32,
    /// Rooms whose messages are never recorded.
    pub exclude_rooms: Vec<String>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            enabled: true,
            keep: Duration::from_secs(90 * 24 * 3600),
            max_entries: 10_000,
            below_confidence: 0.6,
            exclude_rooms: Vec::new(),
        }
    }
}

impl ReviewSettings {
    /// Whether messages in `room` may be recorded.
    pub fn records_room(&self, room: &str) -> bool {
        self.enabled && !self.exclude_rooms.iter().any(|r| r == room)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: "opsbot".into(),
            confidence_threshold: None,
            threshold_target: ThresholdTarget::default(),
            ambiguity_margin: 0.15,
            use_encoder: true,
            pending_expiry: Duration::from_secs(10 * 60),
            carry_over_expiry: Duration::from_secs(30 * 60),
            confirmation_expiry: Duration::from_secs(5 * 60),
            groups: Groups::new(),
            people: People::default(),
            time_zone: chrono_tz::Tz::UTC,
            time_zones: BTreeMap::new(),
            redact: Vec::new(),
            rate_limit: RateLimit {
                executions: 20,
                per: Duration::from_secs(60),
            },
            programs_outside_project: Vec::new(),
            progress_every: Some(Duration::from_secs(5)),
            alerts: None,
            health_listen: None,
            api: None,
            review: ReviewSettings::default(),
            nlu_only: false,
            admins: None,
            max_message_age: None,
            max_concurrent_actions: None,
            unreadable: false,
        }
    }
}

impl Settings {
    /// The zone the person behind `id` says and reads times in.
    pub fn zone_of(&self, id: &str) -> chrono_tz::Tz {
        self.time_zones
            .get(self.people.person_of(id))
            .or_else(|| self.time_zones.get(id))
            .copied()
            .unwrap_or(self.time_zone)
    }

    /// Whether two ids belong to one person (see `people:`).
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        self.people.same_person(a, b)
    }

    /// The person behind an id, for rate limits and audit.
    pub fn person_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.people.person_of(id)
    }

    /// Whether `user` (any id of a person) is an admin of the bot: named in
    /// `admins:`, a member of a group named there, or anyone with `"*"`.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admins
            .as_ref()
            .is_some_and(|admins| admins.admits(&self.groups, user))
    }

    /// How old a message may be when it arrives and still be acted on.
    pub fn message_age_limit(&self) -> Duration {
        self.max_message_age.unwrap_or(DEFAULT_MAX_MESSAGE_AGE)
    }

    /// How many actions may run at once.
    pub fn action_limit(&self) -> usize {
        self.max_concurrent_actions
            .unwrap_or(DEFAULT_MAX_CONCURRENT_ACTIONS)
    }

    /// Replaces every match of the built-in and the author's redaction
    /// patterns by `[redacted]` (see `redaction`).
    pub fn redact(&self, text: &str) -> String {
        crate::redaction::redact(text, &self.redact)
    }
}

/// A training example with its annotations and where it was written.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub spans: Vec<EntitySpan>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Intent {
    pub name: String,
    pub examples: Vec<Example>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Slot {
    pub name: String,
    pub entity: String,
    pub prompt: Option<Template>,
    pub default: Option<String>,
    pub carry_over: bool,
    /// Ranges, a side of now, a reach: checked once the value resolves.
    pub limits: Limits,
    /// Where the values it may take are looked up (`values_from:`).
    pub values_from: Option<ValuesFrom>,
}

/// A lookup of the values a slot may take, given the other slots: the lines
/// a read-only program prints, or the lines of a file under the project.
#[derive(Debug, Clone)]
pub enum ValuesFrom {
    Program(ProgramAction),
    File(FileLookup),
}

/// `values_from: {file: "data/builds/{pipeline}.txt"}`: the file a filled
/// path names, never read outside its declared folder.
#[derive(Debug, Clone)]
pub struct FileLookup {
    /// A path template relative to the project root.
    pub path: Template,
    /// The lookup folder, resolved (links followed): the template's folder
    /// part before its first placeholder (`data/builds`), inside the project
    /// and apart from the state folder. Every filled path must resolve under it.
    pub folder: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ProgramAction {
    /// Absolute path of the program.
    pub program: PathBuf,
    /// As written, for previews ("actions/restart.sh").
    pub program_display: String,
    pub args: Vec<Template>,
    pub env: BTreeMap<String, Template>,
    pub timeout: Duration,
    pub workdir: PathBuf,
}

/// `show_audit:`: the newest audit records, filtered.
#[derive(Debug, Clone)]
pub struct ShowAudit {
    pub intent: Option<String>,
    /// Whose records: a person or id, from a slot (`"{person}"`).
    pub user: Option<Template>,
    /// From when: a time, from a slot (`"{since}"`).
    pub since: Option<Template>,
    /// Every outcome, not only actions that ran and succeeded.
    pub all_outcomes: bool,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub enum Action {
    Program(ProgramAction),
    /// Lists the newest audit records of one intent (read-only, built in).
    ShowAudit(ShowAudit),
    /// `steps:` run one after another (see `runbooks.rs`).
    Runbook(Runbook),
}

// A project holds a handful of dialogs; boxing the larger variant would only
// add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers with a message; nothing runs.
    Reply(Template),
    Run {
        action: Action,
        running: Option<Template>,
        success: Template,
        failure: Template,
    },
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub name: String,
    pub intent: String,
    pub description: String,
    pub access: Access,
    /// Who must approve, and when; `None`: no approval.
    pub approval: Option<Approval>,
    pub two_factor: bool,
    /// Changes nothing (said with `read_only: true`): its runs do not count
    /// against the per-person rate limit, which guards actions that do.
    pub read_only: bool,
    /// A change that may be asked for at a later time ("at 21:00", said with
    /// `schedulable: true`): it is confirmed now and runs then. Read-only
    /// dialogs never are.
    pub schedulable: bool,
    /// What happens when a scheduled request of this dialog falls due.
    pub when_due: WhenDue,
    pub slots: Vec<Slot>,
    pub confirm: Option<Template>,
    pub behaviour: Behaviour,
    /// What a dry run runs instead of the action: a read-only program that
    /// shows what the action would touch.
    pub preview: Option<ProgramAction>,
    /// A runbook's `lock:`: no two runs whose lock renders the same at once.
    pub lock: Option<Template>,
}

impl Dialog {
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }
}

/// Everything a bot is made of, checked.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
    pub entities: BTreeMap<String, Entity>,
    pub intents: BTreeMap<String, Intent>,
    pub out_of_scope: Vec<Example>,
    pub dialogs: BTreeMap<String, Dialog>,
    /// Recurring posts, by name.
    pub schedules: BTreeMap<String, Schedule>,
    /// SHA-256 of the files under `intents/`: a model trained on other data is stale.
    pub training_hash: String,
}

impl Project {
    pub fn dialog_for_intent(&self, intent: &str) -> Option<&Dialog> {
        self.dialogs.values().find(|d| d.intent == intent)
    }

    /// One line per dialog, for help replies.
    pub fn capabilities(&self) -> String {
        self.dialogs
            .values()
            .map(|d| format!("• {}", d.description))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

mod actions;
mod checker;
mod dialogs;
mod entities;
mod examples;
mod intents;
mod load;
mod operations;
mod permissions;
mod runbook_checks;
mod runbooks;
mod schedules;
mod settings;
mod slot_limits;
mod source;
mod values_from;

#[cfg(test)]
mod check_tests;

pub use load::load_project;
pub use runbooks::{
    Condition, OnFailure, OutputSource, Runbook, RunbookStep, StepKind, StepOutput, Until,
    FAILED_STEP_VAR, STEP_FLAGS, STEP_VARS,
};
pub use source::training_hash;

/// What happens when a scheduled request falls due (`schedulable:` as a
/// mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhenDue {
    /// A request whose time passed by more than `grace` (the bot was not
    /// running then).
    pub missed: Missed,
    /// How late a request still runs as on time.
    pub grace: Duration,
    /// The requester confirms again at the time, before it runs.
    pub confirm: bool,
}

impl Default for WhenDue {
    fn default() -> Self {
        WhenDue {
            missed: Missed::Skip,
            grace: Duration::from_secs(600),
            confirm: false,
        }
    }
}

/// `missed:` — what a scheduled request does when its time passed while the
/// bot was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// Runs late, saying so.
    Run,
    /// Does not run; its room is told (the default: a change never runs
    /// late unasked).
    Skip,
    /// Asks its requester whether to run it now.
    Ask,
}

/// A recurring post (`schedules:`): a read-only dialog run with fixed slot
/// values at the times a cron expression gives, its answer posted to rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub name: String,
    pub every: crate::cron::Every,
    pub dialog: String,
    /// Slot name → canonical value.
    pub slots: BTreeMap<String, String>,
    pub rooms: Vec<String>,
    /// `Run` or `Skip` (a post is never asked about: nobody asked for it).
    pub missed: Missed,
}
