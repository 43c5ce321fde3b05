//! One notion of a person across adapters: `people:` in `opsbot.yaml` maps a
//! person to every id they use (a shell user name, a Matrix id, …), so the
//! two-person rule compares people, not ids, and a group or `allow` entry naming
//! a person or any of their ids covers all of them.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::Groups;

/// Person name → ids, and the reverse index. An id listed nowhere is a person
/// of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct People {
    ids_of: BTreeMap<String, BTreeSet<String>>,
    person_of: BTreeMap<String, String>,
}

/// An id claimed by two people: the configuration cannot say who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTwice {
    pub id: String,
    pub first: String,
    pub second: String,
}

impl People {
    /// Adds a person with their ids (their name counts as one of them).
    pub fn add(
        &mut self,
        person: &str,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<(), ClaimedTwice> {
        let mut all: BTreeSet<String> = ids.into_iter().collect();
        all.insert(person.to_string());
        for id in &all {
            if let Some(first) = self.person_of.get(id) {
                if first != person {
                    return Err(ClaimedTwice {
                        id: id.clone(),
                        first: first.clone(),
                        second: person.to_string(),
                    });
                }
            }
        }
        for id in &all {
            self.person_of.insert(id.clone(), person.to_string());
        }
        self.ids_of
            .entry(person.to_string())
            .or_default()
            .extend(all);
        Ok(())
    }

    /// The person behind an id: their configured name, or the id itself.
    pub fn person_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.person_of.get(id).map(String::as_str).unwrap_or(id)
    }

    /// Whether two ids belong to one person.
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        self.person_of(a) == self.person_of(b)
    }

    /// Every id of the person behind `id` (just `id` when it is nobody's alias).
    pub fn ids_like(&self, id: &str) -> BTreeSet<String> {
        match self.person_of.get(id) {
            Some(person) => self.ids_of[person].clone(),
            None => BTreeSet::from([id.to_string()]),
        }
    }

    /// A set of ids or person names, widened to every id of each person.
    pub fn widen(&self, members: &BTreeSet<String>) -> BTreeSet<String> {
        members.iter().flat_map(|m| self.ids_like(m)).collect()
    }

    /// Every group's members widened (see [`People::widen`]).
    pub fn widen_groups(&self, groups: &Groups) -> Groups {
        groups
            .iter()
            .map(|(name, members)| (name.clone(), self.widen(members)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.ids_of.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> People {
        let mut p = People::default();
        p.add("alice", ["@alice:localhost".to_string()]).unwrap();
        p.add("dave", ["dave".into(), "@dave:example.org".into()])
            .unwrap();
        p
    }

    #[test]
    fn aliases_are_one_person() {
        let p = people();
        assert!(p.same_person("alice", "@alice:localhost"));
        assert!(p.same_person("@dave:example.org", "dave"));
        assert!(!p.same_person("alice", "dave"));
        assert!(!p.same_person("@alice:localhost", "@alice:evil.org"));
        assert_eq!(p.person_of("@alice:localhost"), "alice");
        assert_eq!(p.person_of("bob"), "bob");
        assert!(p.same_person("bob", "bob"));
    }

    #[test]
    fn groups_widen_to_every_id() {
        let p = people();
        let groups = Groups::from([(
            "rm".to_string(),
            BTreeSet::from(["@alice:localhost".to_string(), "erin".to_string()]),
        )]);
        let wide = p.widen_groups(&groups);
        assert_eq!(
            wide["rm"],
            BTreeSet::from([
                "@alice:localhost".to_string(),
                "alice".to_string(),
                "erin".to_string()
            ])
        );
    }

    #[test]
    fn an_id_claimed_twice_is_refused() {
        let mut p = people();
        let error = p
            .add("mallory", ["@alice:localhost".to_string()])
            .unwrap_err();
        assert_eq!(error.first, "alice");
        assert_eq!(error.second, "mallory");
    }
}
