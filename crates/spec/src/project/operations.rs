//! The bot's own operating policy in `opsbot.yaml`, the same for every door:
//! who its admins are (`admins:`), how old a message may be when it arrives
//! and still be acted on (`max_message_age:`), and how many actions may run
//! at once (`max_concurrent_actions:`).

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// Checks the operating policy into `self.settings`; needs the groups
    /// and people checked first (admins may name them).
    pub(super) fn check_operations(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        self.check_admins(file, raw);
        self.check_message_age(file, raw);
        self.check_action_limit(file, raw);
    }

    fn check_admins(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let Some(list) = &raw.admins else {
            return;
        };
        let settings = &mut self.settings;
        let (admins, unknown) = crate::access::principals(list, &settings.groups, &settings.people);
        for (at, group) in unknown {
            self.diagnostics.push(
                file.index.locate(&format!("admins.{at}")),
                crate::access::unknown_group(&group, &settings.groups),
            );
        }
        // `admins: []` says "nobody" as much as leaving the key out, but it
        // is said: a door's deprecated admins do not stand in for it.
        settings.admins = Some(admins.unwrap_or(Allow::Principals {
            users: BTreeSet::new(),
            groups: BTreeSet::new(),
        }));
    }

    fn check_message_age(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let Some(text) = raw.max_message_age.as_deref() else {
            return;
        };
        let at = file.index.locate("max_message_age");
        match humantime::parse_duration(text) {
            Ok(age) => match guard::out_of_range(age, guard::MESSAGE_AGE_RANGE) {
                None => self.settings.max_message_age = Some(age),
                Some(expected) => self.diagnostics.push(
                    at,
                    format!("max_message_age `{text}` is out of range; {expected}"),
                ),
            },
            Err(e) => self.diagnostics.push(
                at,
                format!(
                    "max_message_age `{text}` is not a duration ({e}); expected e.g. `1h` or `30m`"
                ),
            ),
        }
    }

    fn check_action_limit(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let Some(limit) = raw.max_concurrent_actions else {
            return;
        };
        let (low, high) = guard::ACTION_LIMIT_RANGE;
        match usize::try_from(limit) {
            Ok(limit) if (low..=high).contains(&limit) => {
                self.settings.max_concurrent_actions = Some(limit)
            }
            _ => self.diagnostics.push(
                file.index.locate("max_concurrent_actions"),
                format!("max_concurrent_actions {limit} is out of range; expected a whole number from {low} to {high}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use crate::SpecError;

    fn pack(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/packs")
            .join(name)
    }

    /// A copy of a test pack with `extra` appended to its opsbot.yaml, and
    /// the line the first appended line is on.
    fn pack_with(name: &str, extra: &str) -> (tempfile::TempDir, usize) {
        let dir = tempfile::tempdir().unwrap();
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(pack(name))
            .arg(dir.path().join(name))
            .status();
        assert!(copied.unwrap().success(), "cp");
        let yaml = dir.path().join(name).join("opsbot.yaml");
        let text = std::fs::read_to_string(&yaml).unwrap();
        let first = text.lines().count() + 1;
        std::fs::write(&yaml, format!("{text}{extra}")).unwrap();
        (dir, first)
    }

    fn load(name: &str, extra: &str) -> crate::Project {
        let (dir, _) = pack_with(name, extra);
        crate::load_project(&dir.path().join(name)).expect("the project loads")
    }

    /// The report of a pack whose opsbot.yaml has `extra` appended, and the
    /// line the first appended line is on.
    fn report(name: &str, extra: &str) -> (String, usize) {
        let (dir, first) = pack_with(name, extra);
        match crate::load_project(&dir.path().join(name)) {
            Err(SpecError::Invalid(diagnostics)) => (diagnostics.to_string().trim().into(), first),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("{name}: `{extra}` was accepted"),
        }
    }

    #[test]
    fn admins_are_people_ids_and_groups_or_everyone() {
        let db = load("dbops", "admins: [group:dba, \"@ops:db.example\"]\n");
        let settings = &db.settings;
        for admin in [
            "@priya:db.example",
            "priya",
            "@lena:db.example",
            "@ops:db.example",
        ] {
            assert!(settings.is_admin(admin), "{admin}");
        }
        assert!(!settings.is_admin("@mallory:db.example"));
        // A person named is an admin under each of their ids.
        let ci = load("cicd", "admins:\n  - kim\n");
        assert!(ci.settings.is_admin("@kim:ci.example") && ci.settings.is_admin("kim.lee"));
        assert!(!ci.settings.is_admin("@raj:ci.example"));
        let everyone = load("cicd", "admins: [\"*\"]\n");
        assert!(everyone.settings.is_admin("@anyone:else.example"));
        // Absent or empty: nobody; but only an empty list says so (a door's
        // deprecated admins may stand in for an absent one).
        for (name, extra, said) in [("dbops", "", false), ("cicd", "admins: []\n", true)] {
            let project = load(name, extra);
            assert!(!project.settings.is_admin("@priya:db.example"), "{name}");
            assert!(!project.settings.is_admin("@kim:ci.example"), "{name}");
            assert_eq!(project.settings.admins.is_some(), said, "{name}");
        }
    }

    #[test]
    fn an_admin_group_that_does_not_exist_is_reported_where_it_is_named() {
        // Named twice: told once, where it is first named.
        let (said, first) = report(
            "dbops",
            "admins:\n  - \"@ops:db.example\"\n  - group:dbas\n  - group:dbas\n",
        );
        assert_eq!(
            said,
            format!("opsbot.yaml:{}:5: unknown group `dbas`; expected one of dba (define groups in opsbot.yaml)", first + 2)
        );
        let (said, first) = report("cicd", "admins: [kim, group:release, group:ops]\n");
        assert_eq!(
            said,
            format!("opsbot.yaml:{first}:30: unknown group `ops`; expected one of release (define groups in opsbot.yaml)")
        );
    }

    #[test]
    fn the_message_age_is_a_duration_from_a_minute_to_thirty_days() {
        let unset = load("dbops", "").settings;
        assert_eq!(unset.max_message_age, None);
        assert_eq!(unset.message_age_limit(), Duration::from_secs(3600));
        for (text, seconds) in [("2h", 7200), ("1m", 60), ("30d", 30 * 86_400)] {
            let project = load("cicd", &format!("max_message_age: {text}\n"));
            assert_eq!(
                project.settings.message_age_limit(),
                Duration::from_secs(seconds),
                "{text}"
            );
        }
        for (text, why) in [
            ("0s", "is out of range; expected between 1m and 30days"),
            ("59s", "is out of range; expected between 1m and 30days"),
            ("31d", "is out of range; expected between 1m and 30days"),
            (
                "soon",
                "is not a duration (expected number at 0); expected e.g. `1h` or `30m`",
            ),
        ] {
            let (said, line) = report("dbops", &format!("max_message_age: {text}\n"));
            assert_eq!(
                said,
                format!("opsbot.yaml:{line}:18: max_message_age `{text}` {why}")
            );
        }
    }

    #[test]
    fn the_action_limit_is_from_one_to_sixty_four() {
        let unset = load("cicd", "").settings;
        assert_eq!(
            (unset.max_concurrent_actions, unset.action_limit()),
            (None, 4)
        );
        for limit in [1, 12, 64] {
            let project = load("dbops", &format!("max_concurrent_actions: {limit}\n"));
            assert_eq!(project.settings.max_concurrent_actions, Some(limit));
        }
        for limit in ["0", "65", "-1"] {
            let (said, line) = report("cicd", &format!("max_concurrent_actions: {limit}\n"));
            assert_eq!(
                said,
                format!("opsbot.yaml:{line}:25: max_concurrent_actions {limit} is out of range; expected a whole number from 1 to 64")
            );
        }
    }
}
