//! The authoring format exactly as written in YAML (serde types, no checks yet).
//!
//! `validate` turns these into the checked [`crate::Project`]; keeping the raw shape
//! separate lets every mistake be collected instead of stopping at the first.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One file under `intents/`: entities, intents with examples, out-of-scope examples.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentFile {
    #[serde(default)]
    pub entities: BTreeMap<String, RawEntity>,
    #[serde(default)]
    pub intents: BTreeMap<String, RawIntent>,
    /// Messages the bot must not act on (chit-chat, other domains); trained as
    /// their own class so "not understood" is learned, not only thresholded.
    #[serde(default)]
    pub out_of_scope: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntity {
    /// Shown when a value is rejected: "a host name like web-01 or an IP address".
    pub description: Option<String>,
    /// Regular expression that finds the entity in text and, anchored, validates it.
    pub pattern: Option<String>,
    /// A built-in type instead of a pattern: `integer`, `duration`, `ip`, …
    #[serde(rename = "type")]
    pub value_type: Option<String>,
    /// Canonical value → synonyms that mean it.
    #[serde(default)]
    pub values: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntent {
    #[serde(default)]
    pub examples: Vec<String>,
}

/// One file under `dialogs/`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogFile {
    #[serde(default)]
    pub dialogs: BTreeMap<String, RawDialog>,
    /// Recurring posts: a read-only dialog run on a cron schedule.
    #[serde(default)]
    pub schedules: BTreeMap<String, RawSchedule>,
}

/// `schedules: {name: {cron, time_zone, dialog, slots, rooms, missed}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Five fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// The zone the expression is read in; the project's `time_zone` if
    /// not given.
    pub time_zone: Option<String>,
    /// A read-only dialog with an action.
    pub dialog: String,
    /// Fixed values for the dialog's slots.
    #[serde(default)]
    pub slots: BTreeMap<String, String>,
    /// Room ids to post to.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// `skip` (default) or `run`: a post whose time passed while the bot
    /// was not running.
    pub missed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDialog {
    /// The intent that starts this dialog; defaults to the dialog's name.
    pub intent: Option<String>,
    /// One line for `help`: "restart a service on a host".
    pub description: Option<String>,
    /// Who may run it: user ids, `group:NAME`, or `"*"` for everyone.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Rooms it may run in; empty means any room.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Extra group memberships needed for some slot values.
    #[serde(default)]
    pub require: Vec<RawRequirement>,
    /// A different member of these groups must approve before it runs.
    pub approval: Option<RawApproval>,
    /// The requester must give a current TOTP code before it runs.
    #[serde(default)]
    pub two_factor: bool,
    #[serde(default)]
    pub slots: Vec<RawSlot>,
    /// Shown before running; the bot appends "(yes/no)".
    pub confirm: Option<String>,
    /// A dialog that only reads may skip confirmation, if it says so.
    #[serde(default)]
    pub read_only: bool,
    /// Whether a change may be asked for at a later time ("at 21:00"): then
    /// it is confirmed now and runs at that time. Off by default, since a
    /// confirmation written for "now" would read wrong; without it the time
    /// is named back, never dropped.
    #[serde(default)]
    pub schedulable: RawSchedulable,
    pub action: Option<RawAction>,
    /// Instead of one `action`: a runbook, programs and questions run one
    /// after another.
    pub steps: Option<Vec<RawStep>>,
    /// Run in order when a step with `on_failure: rollback` fails or the
    /// requester aborts a runbook.
    #[serde(default)]
    pub rollback: Vec<RawStep>,
    /// One run at a time per value of this template (`"{cluster}"`), across
    /// all runbooks that name the same lock.
    pub lock: Option<String>,
    /// A read-only program a dry run runs instead, to show what the action
    /// would touch ("the queries that would be killed").
    pub preview: Option<RawAction>,
    /// Reply for dialogs without an action (greetings, help).
    pub reply: Option<String>,
    pub running: Option<String>,
    pub success: Option<String>,
    pub failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequirement {
    /// Slot name → glob on its canonical value (`*` and `?` wildcards).
    pub when: BTreeMap<String, String>,
    pub groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    pub groups: Vec<String>,
    /// Only for these slot values (globs); empty: always.
    #[serde(default)]
    pub when: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlot {
    pub name: Option<String>,
    pub entity: String,
    pub prompt: Option<String>,
    pub default: Option<String>,
    /// Reuse this slot's value from the user's previous finished request when the
    /// new message does not give one ("restart it on web-02").
    #[serde(default)]
    pub carry_over: bool,
    /// The smallest value: a number, or a duration such as `1m`.
    pub min: Option<RawBound>,
    /// The largest value: a number, or a duration such as `1h`.
    pub max: Option<RawBound>,
    /// Times: `past`, `future` or `any`.
    pub direction: Option<String>,
    /// Times: how far from now at most, e.g. `30 days`.
    pub within: Option<String>,
    /// The values this slot may take, looked up once the others are known:
    /// a command (`actions/list-replicas.sh {cluster}`, one value per line of
    /// its output) or `{file: data/replicas-{cluster}.txt}`.
    pub values_from: Option<RawValuesFrom>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawValuesFrom {
    Command(String),
    File { file: String },
}

/// A limit as written: `9` or `1m`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBound {
    Number(f64),
    Text(String),
}

/// One step of a runbook: a program (the fields of an action) or a question.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: String,
    /// What it does, for the plan and the progress message.
    pub description: Option<String>,
    pub program: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub timeout: Option<String>,
    pub workdir: Option<String>,
    #[serde(default)]
    pub unsafe_shell_command_string: bool,
    /// Instead of a program: a yes/no question to the requester.
    pub ask: Option<String>,
    /// Instead of a program or a question: a pause (`2m`), kept in the store.
    pub wait: Option<String>,
    /// Runs the program again every `every` until it succeeds, for at most
    /// `within`.
    pub until: Option<RawUntil>,
    /// Another member of these groups must approve this step before it runs.
    pub approval: Option<RawApproval>,
    /// Run only if this condition holds.
    pub when: Option<String>,
    /// Values read from the program's output, by name.
    #[serde(default)]
    pub outputs: BTreeMap<String, RawOutput>,
    /// `stop` (default), `continue` or `rollback`.
    pub on_failure: Option<String>,
}

/// Where a step's output value is read: a JSON field or a regex capture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUntil {
    pub every: String,
    pub within: String,
}

/// Exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub json: Option<String>,
    pub regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    /// Program to run, relative to the project root unless absolute.
    pub program: Option<String>,
    /// Argument templates; each renders to exactly one argument.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variable templates.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How long the program may run, e.g. `30s`, `2m`.
    pub timeout: Option<String>,
    /// Working directory, relative to the project root.
    pub workdir: Option<String>,
    /// Instead of a program: list recent audit records of one intent.
    pub show_audit: Option<RawShowAudit>,
    /// Lets `program` be a shell or interpreter given a command string
    /// (`sh -c …`): loudly named because it undoes opsbot's argv-only rule.
    #[serde(default)]
    pub unsafe_shell_command_string: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShowAudit {
    /// Only records of this intent.
    pub intent: Option<String>,
    /// Only this person's records (a template: `"{person}"`).
    pub user: Option<String>,
    /// Only records at or after this time (a template: `"{since}"`).
    pub since: Option<String>,
    /// Every outcome (denied, cancelled, failed …), not only what ran.
    #[serde(default)]
    pub all_outcomes: bool,
    #[serde(default = "default_audit_limit")]
    pub limit: usize,
}

fn default_audit_limit() -> usize {
    5
}

/// `opsbot.yaml` at the project root.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub name: Option<String>,
    /// Intent confidence below which a message is "not understood".
    pub confidence_threshold: Option<f32>,
    /// How training learns the threshold: `balanced` or `refuse at most 1%`.
    pub threshold_target: Option<String>,
    /// Probability gap under which two intents count as ambiguous.
    pub ambiguity_margin: Option<f32>,
    /// Sentence encoder for the intent classifier: `all-MiniLM-L6-v2` or `none`.
    pub encoder: Option<String>,
    /// How long a pending question or confirmation stays open, e.g. `10m`.
    pub pending_expiry: Option<String>,
    /// How long a finished request's slots may be carried over, e.g. `30m`.
    pub carry_over_expiry: Option<String>,
    /// How long a confirmation, approval or 2FA code is awaited, e.g. `5m`.
    pub confirmation_expiry: Option<String>,
    /// Group name → members (user ids or person names).
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Person name → every id they use (shell user, Matrix id, …).
    #[serde(default)]
    pub people: BTreeMap<String, Vec<String>>,
    /// The zone times are said and shown in: an IANA name, `UTC` by default.
    pub time_zone: Option<String>,
    /// Person (or id) → their own zone.
    #[serde(default)]
    pub time_zones: BTreeMap<String, String>,
    /// How often a long-running action's message is updated in place, e.g.
    /// `5s`; `off` never.
    pub progress_every: Option<String>,
    /// Absolute paths of programs outside the project that actions may run.
    #[serde(default)]
    pub programs_outside_project: Vec<String>,
    /// Regular expressions whose matches are replaced by `[redacted]` in the audit.
    #[serde(default)]
    pub redact: Vec<String>,
    pub rate_limit: Option<RawRateLimit>,
    /// Alert webhooks and where they go.
    pub alerts: Option<crate::alerts::RawAlerts>,
    /// An address that answers `/healthz`, `/readyz` and `/metrics` on its
    /// own (the alerts listener answers them too), e.g. `127.0.0.1:9096`.
    pub health_listen: Option<String>,
    /// The HTTP door that can only propose (see [`crate::api`]).
    pub api: Option<crate::api::RawApi>,
    /// The review inbox of misunderstood messages.
    pub review: Option<RawReview>,
    /// Intents without dialogs are fine: the project trains and evaluates an
    /// NLU, it is not a bot to talk to.
    pub nlu_only: Option<bool>,
    /// Who may say "reload the model" and "leave this room": user ids, person
    /// names, `group:NAME`, or `"*"`.
    pub admins: Option<Vec<String>>,
    /// Messages older than this when they arrive are not acted on, e.g. `1h`.
    pub max_message_age: Option<String>,
    /// Actions running at once across all rooms (signed, so a negative
    /// number is told as out of range rather than as a type error).
    pub max_concurrent_actions: Option<i64>,
}

/// `review:` in `opsbot.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    /// `false`: record nothing.
    pub enabled: Option<bool>,
    /// Entries older than this are purged, e.g. `90d`.
    pub keep: Option<String>,
    /// At most this many entries are kept (the oldest go first).
    pub max_entries: Option<usize>,
    /// Understood, but with less confidence than this: worth a review.
    pub below_confidence: Option<f32>,
    /// Rooms whose messages are never recorded.
    #[serde(default)]
    pub exclude_rooms: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// At most this many executions per user …
    pub executions: u32,
    /// … within this window, e.g. `1m`.
    pub per: String,
}

/// `schedulable:` as written: `true`/`false`, or a mapping saying what
/// happens when the request falls due (which also means `true`).
#[derive(Debug, Default)]
pub struct RawSchedulable {
    pub on: bool,
    pub when_due: RawWhenDue,
}

/// `schedulable: {missed: ask, grace: 15m, confirm_when_due: true}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhenDue {
    /// `run`, `skip` or `ask`: a request whose time passed while the bot
    /// was not running.
    pub missed: Option<String>,
    /// How late a request may still run as on time (`10m`).
    pub grace: Option<String>,
    /// Ask the requester again when it falls due.
    #[serde(default)]
    pub confirm_when_due: bool,
}

impl<'de> Deserialize<'de> for RawSchedulable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Form;
        impl<'de> serde::de::Visitor<'de> for Form {
            type Value = RawSchedulable;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "`true`, `false`, or a mapping with `missed`, `grace` or `confirm_when_due`",
                )
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<RawSchedulable, E> {
                Ok(RawSchedulable {
                    on,
                    when_due: RawWhenDue::default(),
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSchedulable, A::Error> {
                let when_due =
                    RawWhenDue::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawSchedulable { on: true, when_due })
            }
        }
        deserializer.deserialize_any(Form)
    }
}
