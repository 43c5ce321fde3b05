//! Recurring posts (`schedules:`): what a schedule runs — its read-only
//! dialog's action with the schedule's fixed values, as the bot, in the
//! schedule's zone — and what it says after, from the dialog's own `success`
//! and `failure` templates. Pure, like the engine; the runtime runs the plan
//! and posts the text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_spec::types::TimeFrame;
use opsbot_spec::{Behaviour, Project, Schedule};

use crate::engine::{variables, ActionOutcome};
use crate::plan::{self, Plan};
use crate::state::{Request, SlotOrigin, SlotValue};

/// Who a post runs as: no person asked for it; its author wrote it.
pub const POSTER: &str = "schedule";

/// The request and plan of `schedule`'s post due at `at`, or `None` when its
/// dialog is gone or no longer runs an action (the project changed).
pub fn post_plan(
    project: &Project,
    schedule: &Schedule,
    at: DateTime<Utc>,
) -> Option<(Request, Plan)> {
    let dialog = project.dialogs.get(&schedule.dialog)?;
    let Behaviour::Run { action, .. } = &dialog.behaviour else {
        return None;
    };
    let mut slots: BTreeMap<String, SlotValue> = dialog
        .slots
        .iter()
        .filter_map(|slot| {
            let (said, origin) = match schedule.slots.get(&slot.name) {
                Some(value) => (value, SlotOrigin::Extracted),
                None => (slot.default.as_ref()?, SlotOrigin::Default),
            };
            // A time ("yesterday at 18:00") means the post's own moment, in
            // the schedule's zone, as a value said then would.
            let frame = TimeFrame {
                now: at,
                zone: schedule.every.zone(),
                direction: slot.limits.direction,
            };
            let value = project
                .entities
                .get(&slot.entity)
                .and_then(|entity| entity.validate_in(said, &frame).ok())
                .unwrap_or_else(|| said.clone());
            Some((slot.name.clone(), SlotValue { value, origin }))
        })
        .collect();
    slots.retain(|_, v| !v.value.is_empty());
    let room = schedule.rooms.first().map_or("", String::as_str);
    let request = Request {
        id: post_id(&schedule.name, at),
        dialog: dialog.name.clone(),
        intent: dialog.intent.clone(),
        confidence: 1.0,
        slots,
        messages: vec![format!(
            "schedule {} ({})",
            schedule.name,
            schedule.every.expression()
        )],
        failed_answers: 0,
        confirmed_by: None,
        approved_by: None,
        declined_by: None,
        two_factor: false,
        dry_run: false,
        started_at: at,
        alert: None,
        touched_at: at,
        offered: Vec::new(),
        checked: BTreeMap::new(),
        at: None,
        at_said: None,
        proposed_by: None,
        runbook: None,
    };
    let vars = variables(project, &request, POSTER, room, schedule.every.zone());
    let plan = plan::build(dialog, action, &vars, &request, POSTER, room);
    Some((request, plan))
}

/// What the post says once its plan ran: the dialog's `success` (or
/// `failure`) template with `{output}`, `{exit_code}` and `{duration}`.
pub fn post_text(
    project: &Project,
    schedule: &Schedule,
    request: &Request,
    outcome: &ActionOutcome,
) -> String {
    let Some(Behaviour::Run {
        success, failure, ..
    }) = project.dialogs.get(&request.dialog).map(|d| &d.behaviour)
    else {
        return String::new();
    };
    let room = schedule.rooms.first().map_or("", String::as_str);
    let mut vars = variables(project, request, POSTER, room, schedule.every.zone());
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
    template.render(&vars).trim_end().to_string()
}

/// One id per schedule and time: a post retried after a crash keeps its id
/// in the journal, so it is known to have started.
fn post_id(schedule: &str, at: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(schedule.as_bytes());
    hasher.update([0]);
    hasher.update(at.to_rfc3339().as_bytes());
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn example_with(yaml: &str) -> (tempfile::TempDir, Project) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = tempfile::tempdir().unwrap();
        for part in ["opsbot.yaml", "intents", "dialogs", "actions", "data"] {
            let copied = std::process::Command::new("cp")
                .arg("-r")
                .arg(repo.join(part))
                .arg(dir.path().join(part))
                .status();
            assert!(copied.unwrap().success());
        }
        std::fs::write(dir.path().join("dialogs/zz-schedules.yaml"), yaml).unwrap();
        let project = opsbot_spec::load_project(dir.path()).unwrap();
        (dir, project)
    }

    /// A time a schedule gives, or its dialog's default, means each post's
    /// own moment in the schedule's zone (it was once resolved when the
    /// project loaded, and later empty).
    #[test]
    fn a_posts_time_values_are_read_at_each_post_in_its_zone() {
        let (dir, _) = example_with("");
        std::fs::write(
            dir.path().join("intents/zz-failures.yaml"),
            "intents:\n  failures_since:\n    examples:\n      - what failed since [yesterday](datetime)\n      - failures since [monday](datetime)\n      - list the failures\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("dialogs/zz-schedules.yaml"),
            "dialogs:\n  failures_since:\n    description: list what failed\n    allow: [\"*\"]\n    read_only: true\n    slots:\n      - name: since\n        entity: datetime\n        direction: past\n        default: yesterday at 18:00\n      - name: until\n        entity: datetime\n        prompt: Until when?\n    action: { program: actions/oncall.sh, args: [\"{since.iso}\", \"{until.iso}\"] }\n    success: \"{output}\"\nschedules:\n  morning:\n    cron: \"0 8 * * *\"\n    time_zone: Europe/Berlin\n    dialog: failures_since\n    slots: {until: today at 6am}\n    rooms: [\"!etl:x\"]\n",
        )
        .unwrap();
        let project = opsbot_spec::load_project(dir.path()).unwrap();
        let schedule = &project.schedules["morning"];
        for (at, since, until) in [
            (
                "2026-03-02T07:00:00Z",
                "2026-03-01T17:00:00Z",
                "2026-03-02T05:00:00Z",
            ),
            (
                "2026-07-10T06:00:00Z",
                "2026-07-09T16:00:00Z",
                "2026-07-10T04:00:00Z",
            ),
        ] {
            let (_, plan) = post_plan(&project, schedule, at.parse().unwrap()).unwrap();
            let Plan::Program { args, .. } = &plan else {
                panic!("{plan:?}");
            };
            let utc = |iso: &str| {
                DateTime::parse_from_rfc3339(iso)
                    .unwrap()
                    .with_timezone(&Utc)
                    .to_rfc3339()
            };
            assert_eq!(
                args.iter().map(|a| utc(a)).collect::<Vec<_>>(),
                [utc(since), utc(until)],
                "{at}"
            );
        }
    }

    #[test]
    fn a_post_runs_its_dialog_with_the_fixed_values_and_says_its_success() {
        let (_dir, project) = example_with(
            "schedules:\n  handover:\n    cron: \"0 9 * * MON\"\n    time_zone: Europe/Berlin\n    dialog: who_is_on_call\n    slots: {team: dba}\n    rooms: [\"!db:x\"]\n",
        );
        let schedule = &project.schedules["handover"];
        let at: DateTime<Utc> = "2026-03-02T08:00:00Z".parse().unwrap();
        let (request, plan) = post_plan(&project, schedule, at).unwrap();
        assert_eq!(request.slot_values()["team"], "database");
        let Plan::Program { args, .. } = &plan else {
            panic!("{plan:?}");
        };
        assert_eq!(args, &["database".to_string()]);
        // The same schedule and time give the same id; another time another.
        assert_eq!(post_plan(&project, schedule, at).unwrap().0.id, request.id);
        let later = at + chrono::Duration::days(7);
        assert_ne!(
            post_plan(&project, schedule, later).unwrap().0.id,
            request.id
        );
        let outcome = ActionOutcome {
            started: true,
            succeeded: true,
            exit_code: Some(0),
            output: "carol is on call\n".into(),
            duration: std::time::Duration::from_millis(20),
            error: None,
        };
        assert_eq!(
            post_text(&project, schedule, &request, &outcome),
            "carol is on call"
        );
        let failed = ActionOutcome {
            succeeded: false,
            exit_code: Some(1),
            output: "rota missing".into(),
            ..outcome
        };
        assert_eq!(
            post_text(&project, schedule, &request, &failed),
            "I could not read the on-call rota: rota missing"
        );
    }
}
