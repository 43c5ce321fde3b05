//! Who may start a dialog (`allow`, `rooms`, `require`) and who must approve
//! it (`approval`): every group and slot they name exists.

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// Every group named is defined in `opsbot.yaml` (unless that file could
    /// not be read: then its groups are unknown, not wrong).
    pub(super) fn check_groups(&mut self, names: &[String], at: &Location) {
        if self.settings.unreadable {
            return;
        }
        let known: Vec<&str> = self.settings.groups.keys().map(String::as_str).collect();
        for group in names {
            if !self.settings.groups.contains_key(group) {
                self.diagnostics.push(
                    at.clone(),
                    format!(
                        "unknown group `{group}`; expected one of {} (define groups in opsbot.yaml)",
                        join_or(&known)
                    ),
                );
            }
        }
    }

    pub(super) fn check_access(
        &mut self,
        file: &SourceFile,
        path: &str,
        raw: &raw::RawDialog,
        slot_names: &[String],
    ) -> Access {
        let at = file.index.locate(&format!("{path}.allow"));
        let allow = if raw.allow.iter().any(|u| u == "*")
            || (raw.action.is_none() && raw.steps.is_none())
        {
            Allow::Everyone
        } else {
            let (groups, users): (Vec<&String>, Vec<&String>) =
                raw.allow.iter().partition(|u| u.starts_with("group:"));
            let groups: Vec<String> = groups
                .iter()
                .map(|g| g.trim_start_matches("group:").to_string())
                .collect();
            self.check_groups(&groups, &at);
            Allow::Principals {
                users: self
                    .settings
                    .people
                    .widen(&users.into_iter().cloned().collect()),
                groups: groups.into_iter().collect(),
            }
        };
        let requirements = raw
            .require
            .iter()
            .enumerate()
            .map(|(i, requirement)| self.check_requirement(file, path, i, requirement, slot_names))
            .collect();
        Access {
            allow,
            rooms: (!raw.rooms.is_empty()).then(|| raw.rooms.iter().cloned().collect()),
            requirements,
        }
    }

    fn check_requirement(
        &mut self,
        file: &SourceFile,
        path: &str,
        i: usize,
        requirement: &raw::RawRequirement,
        slot_names: &[String],
    ) -> Requirement {
        let at = file.index.locate(&format!("{path}.require.{i}"));
        for slot in requirement.when.keys() {
            if !slot_names.contains(slot) {
                let known: Vec<&str> = slot_names.iter().map(String::as_str).collect();
                self.diagnostics.push(
                    at.clone(),
                    format!(
                        "requirement names unknown slot `{slot}`; expected one of {}",
                        join_or(&known)
                    ),
                );
            }
        }
        if requirement.when.is_empty() || requirement.groups.is_empty() {
            self.diagnostics.push(
                at.clone(),
                "requirement needs `when: {slot: pattern}` and `groups: [...]`",
            );
        }
        self.check_groups(&requirement.groups, &at);
        Requirement {
            when: requirement.when.clone(),
            groups: requirement.groups.iter().cloned().collect(),
        }
    }

    pub(super) fn check_approval(
        &mut self,
        file: &SourceFile,
        path: &str,
        raw: &raw::RawDialog,
        slot_names: &[String],
    ) -> Option<Approval> {
        let a = raw.approval.as_ref()?;
        let at = file.index.locate(&format!("{path}.approval"));
        if a.groups.is_empty() {
            self.diagnostics.push(
                at.clone(),
                "approval names no groups; expected `groups: [approvers]`",
            );
        }
        self.check_groups(&a.groups, &at);
        for slot in a.when.keys().filter(|s| !slot_names.contains(s)) {
            self.diagnostics.push(
                at.clone(),
                format!(
                    "approval names unknown slot `{slot}`; expected one of {}",
                    join_or(&slot_names.iter().map(String::as_str).collect::<Vec<_>>())
                ),
            );
        }
        Some(Approval {
            groups: a.groups.iter().cloned().collect(),
            when: a.when.clone(),
        })
    }
}
