//! Access control: who may start a dialog, in which rooms, which slot values need
//! extra group membership, and who may approve. Default deny: a dialog with an
//! action must list who may run it. Decisions use stable user ids only.

use std::collections::{BTreeMap, BTreeSet};

/// Who may start a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    Everyone,
    Principals {
        users: BTreeSet<String>,
        groups: BTreeSet<String>,
    },
}

/// Values of some slots that need extra group membership ("prod needs release-managers").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Slot name → glob on the slot's canonical value.
    pub when: BTreeMap<String, String>,
    pub groups: BTreeSet<String>,
}

/// Two-person rule: a different member of `groups` approves before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub groups: BTreeSet<String>,
    /// Slot name → glob; empty: every request needs approval.
    pub when: BTreeMap<String, String>,
}

impl Approval {
    pub fn applies(&self, slots: &BTreeMap<String, String>) -> bool {
        self.when
            .iter()
            .all(|(slot, pattern)| slots.get(slot).is_some_and(|v| glob_match(pattern, v)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub allow: Allow,
    /// `None`: any room.
    pub rooms: Option<BTreeSet<String>>,
    pub requirements: Vec<Requirement>,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            allow: Allow::Everyone,
            rooms: None,
            requirements: Vec::new(),
        }
    }
}

/// Group name → members.
pub type Groups = BTreeMap<String, BTreeSet<String>>;

/// Whether `user` is in any of `groups`.
pub fn member_of_any(groups: &Groups, user: &str, wanted: &BTreeSet<String>) -> bool {
    wanted
        .iter()
        .any(|g| groups.get(g).is_some_and(|members| members.contains(user)))
}

fn names(set: &BTreeSet<String>) -> String {
    let list: Vec<&str> = set.iter().map(String::as_str).collect();
    crate::join_or(&list)
}

impl Access {
    /// May `user` start this dialog in `room`? The error names what is missing,
    /// not the whole policy.
    pub fn check_start(&self, groups: &Groups, user: &str, room: &str) -> Result<(), String> {
        if let Some(rooms) = &self.rooms {
            if !rooms.contains(room) {
                return Err(format!(
                    "it may run only in {}, not in this room",
                    names(rooms)
                ));
            }
        }
        match &self.allow {
            Allow::Everyone => Ok(()),
            Allow::Principals {
                users,
                groups: allowed,
            } => {
                if users.contains(user) || member_of_any(groups, user, allowed) {
                    Ok(())
                } else if allowed.is_empty() {
                    Err("you are not on its list of users".to_string())
                } else {
                    Err(format!("that needs membership of {}", names(allowed)))
                }
            }
        }
    }

    /// May `user` run it with these slot values?
    pub fn check_values(
        &self,
        groups: &Groups,
        user: &str,
        slots: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        for requirement in &self.requirements {
            let applies = requirement
                .when
                .iter()
                .all(|(slot, pattern)| slots.get(slot).is_some_and(|v| glob_match(pattern, v)));
            if applies && !member_of_any(groups, user, &requirement.groups) {
                let condition: Vec<String> = requirement
                    .when
                    .iter()
                    .map(|(slot, pattern)| format!("{slot} {pattern}"))
                    .collect();
                return Err(format!(
                    "{} needs membership of {}",
                    condition.join(" and "),
                    names(&requirement.groups)
                ));
            }
        }
        Ok(())
    }
}

/// A list naming who may do something, as `alerts.mute.allow` and `admins:`
/// in opsbot.yaml take it: user ids, person names (widened to every id of the
/// person), `group:NAME` entries, or `"*"` for everyone. `None` for an empty
/// list (nobody). Also the groups it names that `groups` does not define,
/// each once, sorted, with the index of the first entry naming it (for the
/// diagnostic's position; see [`unknown_group`]).
pub(crate) fn principals(
    list: &[String],
    groups: &Groups,
    people: &crate::people::People,
) -> (Option<Allow>, Vec<(usize, String)>) {
    if list.is_empty() {
        return (None, Vec::new());
    }
    if list.iter().any(|entry| entry == "*") {
        return (Some(Allow::Everyone), Vec::new());
    }
    let mut users = BTreeSet::new();
    let mut named = BTreeSet::new();
    let mut unknown = BTreeMap::new();
    for (at, entry) in list.iter().enumerate() {
        match entry.strip_prefix("group:") {
            Some(group) => {
                if !groups.contains_key(group) {
                    unknown.entry(group.to_string()).or_insert(at);
                }
                named.insert(group.to_string());
            }
            None => {
                users.insert(entry.clone());
            }
        }
    }
    let allow = Allow::Principals {
        users: people.widen(&users),
        groups: named,
    };
    let unknown = unknown.into_iter().map(|(group, at)| (at, group)).collect();
    (Some(allow), unknown)
}

/// The diagnostic for a `group:NAME` entry naming a group opsbot.yaml does
/// not define.
pub(crate) fn unknown_group(group: &str, groups: &Groups) -> String {
    let known: Vec<&str> = groups.keys().map(String::as_str).collect();
    format!(
        "unknown group `{group}`; expected one of {} (define groups in opsbot.yaml)",
        crate::join_or(&known)
    )
}

impl Allow {
    /// Whether `user` is allowed: named (any id of a named person) or a
    /// member of a named group.
    pub fn admits(&self, groups: &Groups, user: &str) -> bool {
        match self {
            Allow::Everyone => true,
            Allow::Principals {
                users,
                groups: named,
            } => users.contains(user) || member_of_any(groups, user, named),
        }
    }
}

/// Shell-style wildcards: `*` any run of characters, `?` one character.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((star_p, star_v)) = star {
            pi = star_p + 1;
            vi = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn access_matrix_over_users_rooms_and_values() {
        let groups: Groups = BTreeMap::from([
            ("ops".to_string(), set(&["olga"])),
            ("dba".to_string(), set(&["dan"])),
        ]);
        let access = Access {
            allow: Allow::Principals {
                users: set(&["uma"]),
                groups: set(&["ops", "dba"]),
            },
            rooms: Some(set(&["!ops"])),
            requirements: vec![Requirement {
                when: BTreeMap::from([("host".to_string(), "db-*".to_string())]),
                groups: set(&["dba"]),
            }],
        };
        let web = BTreeMap::from([("host".to_string(), "web-1".to_string())]);
        let db = BTreeMap::from([("host".to_string(), "db-1".to_string())]);
        // (user, room, values, start allowed, values allowed)
        let cases = [
            ("uma", "!ops", &web, true, true),
            ("uma", "!ops", &db, true, false),
            ("olga", "!ops", &web, true, true),
            ("olga", "!ops", &db, true, false),
            ("dan", "!ops", &db, true, true),
            ("eve", "!ops", &web, false, true),
            ("uma", "!random", &web, false, true),
            ("dan", "!random", &db, false, true),
        ];
        for (user, room, values, start, allowed_values) in cases {
            assert_eq!(
                access.check_start(&groups, user, room).is_ok(),
                start,
                "{user} in {room}"
            );
            assert_eq!(
                access.check_values(&groups, user, values).is_ok(),
                allowed_values,
                "{user} with {values:?}"
            );
        }
        assert_eq!(
            access.check_start(&groups, "eve", "!ops").unwrap_err(),
            "that needs membership of dba or ops"
        );
        assert_eq!(
            access.check_values(&groups, "uma", &db).unwrap_err(),
            "host db-* needs membership of dba"
        );
        assert_eq!(
            access.check_start(&groups, "uma", "!random").unwrap_err(),
            "it may run only in !ops, not in this room"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("db-*", "db-01"));
        assert!(glob_match("*", ""));
        assert!(glob_match("web-0?", "web-07"));
        assert!(!glob_match("db-*", "web-db-01"));
        assert!(glob_match("*prod*", "preproduction"));
        assert!(!glob_match("production", "production-2"));
    }
}
