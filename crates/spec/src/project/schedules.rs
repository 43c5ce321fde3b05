//! Recurring posts (`schedules:` in a dialogs file): the cron expression and
//! its zone, the read-only dialog they run, its slot values (each checked as
//! a person's answer would be), the rooms, the missed policy.

use super::checker::Checker;
use super::source::*;
use super::*;
use crate::cron::Every;

impl Checker<'_> {
    /// Every schedule that passes its checks, by name.
    pub(super) fn check_schedules(
        &mut self,
        files: &[(&SourceFile, raw::DialogFile)],
        dialogs: &BTreeMap<String, Dialog>,
    ) -> BTreeMap<String, Schedule> {
        let mut schedules = BTreeMap::new();
        for (file, parsed) in files {
            for (name, raw) in &parsed.schedules {
                let at = format!("schedules.{name}");
                if schedules.contains_key(name) {
                    self.diagnostics.push(
                        file.index.locate(&at),
                        format!("schedule `{name}` is defined twice; expected each schedule once"),
                    );
                    continue;
                }
                if let Some(schedule) = self.check_schedule(file, &at, name, raw, dialogs) {
                    schedules.insert(name.clone(), schedule);
                }
            }
        }
        schedules
    }

    fn check_schedule(
        &mut self,
        file: &SourceFile,
        at: &str,
        name: &str,
        raw: &raw::RawSchedule,
        dialogs: &BTreeMap<String, Dialog>,
    ) -> Option<Schedule> {
        let before = self.diagnostics.len();
        let zone = match &raw.time_zone {
            Some(text) => self.check_zone(text, file.index.locate(&format!("{at}.time_zone"))),
            None => Some(self.settings.time_zone),
        };
        let every = zone.and_then(|zone| match Every::parse(&raw.cron, zone) {
            Ok(every) => Some(every),
            Err(reason) => {
                self.diagnostics.push(
                    file.index.locate(&format!("{at}.cron")),
                    format!("{reason}; expected e.g. `0 9 * * MON-FRI` (09:00 on weekdays)"),
                );
                None
            }
        });
        let missed = match raw.missed.as_deref() {
            None | Some("skip") => Missed::Skip,
            Some("run") => Missed::Run,
            Some(other) => {
                self.diagnostics.push(
                    file.index.locate(&format!("{at}.missed")),
                    format!("`missed: {other}` is not a policy for a post; expected `run` or `skip` (nobody is there to ask)"),
                );
                Missed::Skip
            }
        };
        if raw.rooms.is_empty() {
            self.diagnostics.push(
                file.index.locate(at),
                format!(
                    "schedule `{name}` names no rooms; expected `rooms:` with at least one room id"
                ),
            );
        }
        for (j, room) in raw.rooms.iter().enumerate() {
            if room.trim().is_empty() || room.chars().any(char::is_control) {
                self.diagnostics.push(
                    file.index.locate(&format!("{at}.rooms.{j}")),
                    "a room id is empty or holds control characters; expected e.g. `!abc:example.org`",
                );
            }
        }
        let slots = self.check_schedule_dialog(file, at, raw, dialogs);
        if self.diagnostics.len() != before {
            return None;
        }
        Some(Schedule {
            name: name.to_string(),
            every: every?,
            dialog: raw.dialog.clone(),
            slots: slots?,
            rooms: raw.rooms.clone(),
            missed,
        })
    }

    /// The dialog exists, only reads and runs something; every slot given
    /// is one of its slots with a valid value, and every slot without a
    /// default is given.
    fn check_schedule_dialog(
        &mut self,
        file: &SourceFile,
        at: &str,
        raw: &raw::RawSchedule,
        dialogs: &BTreeMap<String, Dialog>,
    ) -> Option<BTreeMap<String, String>> {
        let Some(dialog) = dialogs.get(&raw.dialog) else {
            let names: Vec<&str> = dialogs
                .values()
                .filter(|d| d.read_only && matches!(d.behaviour, Behaviour::Run { .. }))
                .map(|d| d.name.as_str())
                .collect();
            self.diagnostics.push(
                file.index.locate(&format!("{at}.dialog")),
                format!(
                    "no dialog `{}`; expected a read-only dialog with an action: {}",
                    raw.dialog,
                    if names.is_empty() {
                        "there is none".to_string()
                    } else {
                        join_or(&names)
                    }
                ),
            );
            return None;
        };
        if !dialog.read_only || !matches!(dialog.behaviour, Behaviour::Run { .. }) {
            self.diagnostics.push(
                file.index.locate(&format!("{at}.dialog")),
                format!(
                    "dialog `{}` {}; a schedule posts what a read-only dialog's action answers, expected one with `read_only: true` and an `action`",
                    raw.dialog,
                    if dialog.read_only { "only replies" } else { "changes something" }
                ),
            );
            return None;
        }
        let mut values = BTreeMap::new();
        for (slot_name, value) in &raw.slots {
            let Some(slot) = dialog.slots.iter().find(|s| &s.name == slot_name) else {
                let names: Vec<&str> = dialog.slots.iter().map(|s| s.name.as_str()).collect();
                self.diagnostics.push(
                    file.index.locate(&format!("{at}.slots.{slot_name}")),
                    format!(
                        "dialog `{}` has no slot `{slot_name}`; expected {}",
                        dialog.name,
                        if names.is_empty() {
                            "no slots".to_string()
                        } else {
                            join_or(&names)
                        }
                    ),
                );
                continue;
            };
            let checked = self
                .entities
                .get(&slot.entity)
                .map(|entity| entity.validate(value, chrono::Utc::now()));
            match checked {
                // A time is kept as written: it means each post's moment.
                Some(Ok(canonical)) => {
                    let typed = self
                        .entities
                        .get(&slot.entity)
                        .is_some_and(|entity| entity.value_type().is_some());
                    values.insert(
                        slot_name.clone(),
                        if typed { value.clone() } else { canonical },
                    );
                }
                Some(Err(reason)) => self.diagnostics.push(
                    file.index.locate(&format!("{at}.slots.{slot_name}")),
                    format!("`{value}` is not a valid {}: {reason}", slot.entity),
                ),
                None => {}
            }
        }
        for slot in &dialog.slots {
            if !raw.slots.contains_key(&slot.name) && slot.default.is_none() {
                self.diagnostics.push(
                    file.index.locate(&format!("{at}.slots")),
                    format!(
                        "schedule gives no value for slot `{}` of dialog `{}`, which has no default; expected `slots: {{{}: …}}`",
                        slot.name, dialog.name, slot.name
                    ),
                );
            }
        }
        Some(values)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::SpecError;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// A copy of a project with `dialogs/schedules.yaml` written.
    fn with_schedules(project: &Path, yaml: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("bot");
        std::fs::create_dir_all(&copy).unwrap();
        for part in ["opsbot.yaml", "intents", "dialogs", "actions", "data"] {
            if project.join(part).exists() {
                let copied = std::process::Command::new("cp")
                    .arg("-r")
                    .arg(project.join(part))
                    .arg(copy.join(part))
                    .status();
                assert!(copied.unwrap().success(), "cp");
            }
        }
        std::fs::write(copy.join("dialogs/schedules.yaml"), yaml).unwrap();
        (dir, copy)
    }

    /// On the example bot and both packs: a schedule of each project's first
    /// read-only dialog, with a value for each slot, loads as written.
    #[test]
    fn a_schedule_of_a_read_only_dialog_loads_on_three_projects() {
        for project in [
            repo(),
            repo().join("tests/packs/dbops"),
            repo().join("tests/packs/cicd"),
        ] {
            let loaded = crate::load_project(&project).unwrap();
            let dialog = loaded
                .dialogs
                .values()
                .find(|d| d.read_only && matches!(d.behaviour, crate::Behaviour::Run { .. }))
                .unwrap_or_else(|| panic!("{}: a read-only dialog", project.display()));
            let slots: Vec<String> = dialog
                .slots
                .iter()
                .filter_map(|s| {
                    let value = loaded.entities[&s.entity].canonical_values().next()?;
                    Some(format!("{}: \"{value}\"", s.name))
                })
                .collect();
            let yaml = format!(
                "schedules:\n  morning:\n    cron: \"0 9 * * MON-FRI\"\n    time_zone: Europe/Berlin\n    dialog: {}\n    slots: {{{}}}\n    rooms: [\"!ops:example.org\"]\n",
                dialog.name,
                slots.join(", ")
            );
            let (_dir, copy) = with_schedules(&project, &yaml);
            let loaded = crate::load_project(&copy)
                .unwrap_or_else(|e| panic!("{}: {e}\n{yaml}", project.display()));
            let schedule = &loaded.schedules["morning"];
            assert_eq!(schedule.dialog, dialog.name);
            assert_eq!(schedule.every.expression(), "0 9 * * MON-FRI");
            assert_eq!(schedule.every.zone(), chrono_tz::Europe::Berlin);
            assert_eq!(schedule.rooms, ["!ops:example.org"]);
        }
    }

    #[test]
    fn every_mistake_in_a_schedule_names_its_line() {
        let yaml = r#"schedules:
  a:
    cron: "0 9 * *"
    dialog: who_is_on_call
    rooms: ["!r:x"]
  b:
    cron: "0 9 * * *"
    time_zone: Mars/Olympus
    dialog: deploy_app
    rooms: []
  c:
    cron: "0 9 * * *"
    dialog: who_is_on_call
    slots: {team: nobody, colour: red}
    rooms: ["!r:x"]
    missed: ask
  d:
    cron: "0 9 * * *"
    dialog: nosuch
    rooms: ["!r:x"]
  e:
    cron: "0 9 * * *"
    dialog: restart_service
    rooms: ["!r:x"]
"#;
        let (_dir, copy) = with_schedules(&repo(), yaml);
        let report = match crate::load_project(&copy) {
            Err(SpecError::Invalid(diagnostics)) => diagnostics.to_string(),
            other => panic!("{other:?}"),
        };
        let expected = [
            "dialogs/schedules.yaml:3:11: `0 9 * *` is not a cron expression of five fields",
            "dialogs/schedules.yaml:6:3: schedule `b` names no rooms",
            "dialogs/schedules.yaml:8:16: `Mars/Olympus` is not a time zone",
            "dialogs/schedules.yaml:9:13: dialog `deploy_app` changes something",
            "dialogs/schedules.yaml:14:19: `nobody` is not a valid team",
            "dialogs/schedules.yaml:14:35: dialog `who_is_on_call` has no slot `colour`",
            "dialogs/schedules.yaml:16:13: `missed: ask` is not a policy for a post",
            "dialogs/schedules.yaml:19:13: no dialog `nosuch`; expected a read-only dialog with an action",
            "dialogs/schedules.yaml:23:13: dialog `restart_service` changes something",
        ];
        for line in expected {
            assert!(report.contains(line), "missing {line:?} in\n{report}");
        }
        assert_eq!(report.lines().count(), expected.len(), "{report}");
    }
}
