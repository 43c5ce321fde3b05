//! Explanations asked in between: "why?" after a refusal gives its reason,
//! "who can do that?" names who may run a dialog (and where, with whose
//! approval), and "which ones are there?" lists a slot's choices, numbered,
//! so "2" or "the first one" answers.

use super::*;
use crate::asides::{self, WhoCan};
use opsbot_spec::{Allow, ValueType};

impl<'a> Step<'a> {
    /// Keeps the reason behind a decision for a later "why?".
    pub(super) fn explain(&mut self, why: impl Into<String>, dialog: Option<&str>) {
        self.explanation = Some(Explanation {
            why: why.into(),
            dialog: dialog.map(str::to_string),
            at: self.ctx.now,
        });
    }

    /// Answers "why?" and "who can …?" in any phase (which stays as it is);
    /// false when the message is neither.
    pub(super) fn aside(&mut self, u: &Understanding) -> bool {
        if asides::is_why(&u.text) {
            let reply = match &self.explanation {
                Some(e) => e.why.clone(),
                None => "I have not refused or dropped anything lately, so there is nothing to explain. Say “help” to see what I can do.".to_string(),
            };
            self.say(reply);
            return true;
        }
        let Some(asked) = asides::who_can(&u.text) else {
            return false;
        };
        let named = match asked {
            WhoCan::Named(_) => u
                .intent
                .as_ref()
                .and_then(|g| self.project.dialog_for_intent(&g.name)),
            WhoCan::ThatOne => None,
        };
        let dialog = named.or_else(|| {
            let last = self.explanation.as_ref()?.dialog.as_ref()?;
            self.project.dialogs.get(last)
        });
        let reply = match dialog {
            Some(d) => self.who_may(d),
            None => "Who can do what? Name the request, e.g. “who can restart a service?”, or ask right after I refuse one.".to_string(),
        };
        self.say(reply);
        true
    }

    /// "Members of dba (lena, omar or priya) may fail a cluster over to its
    /// standby, in !dba only; another member of dba must approve each request."
    pub(super) fn who_may(&self, dialog: &Dialog) -> String {
        let settings = &self.project.settings;
        let people = |ids: &BTreeSet<String>| -> String {
            let mut names: Vec<&str> = ids.iter().map(|id| settings.people.person_of(id)).collect();
            names.sort_unstable();
            names.dedup();
            opsbot_spec::join_or(&names).replacen(" or ", " and ", 1)
        };
        // "payments-admins (alice and carol)": every group named with its members.
        let group = |g: &String| -> String {
            let members = settings.groups.get(g).cloned().unwrap_or_default();
            format!("{g} ({})", people(&members))
        };
        let groups_of = |groups: &BTreeSet<String>| -> String {
            let named: Vec<String> = groups.iter().map(group).collect();
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            opsbot_spec::join_or(&named)
        };
        let who = match &dialog.access.allow {
            Allow::Everyone => "Everyone".to_string(),
            Allow::Principals { users, groups } => {
                let mut parts: Vec<String> = groups
                    .iter()
                    .map(|g| format!("members of {}", group(g)))
                    .collect();
                if !users.is_empty() {
                    parts.push(people(users));
                }
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                capitalise(&opsbot_spec::join_or(&parts))
            }
        };
        let mut text = format!("{who} may {}", dialog.description);
        if let Some(rooms) = &dialog.access.rooms {
            let rooms: Vec<&str> = rooms.iter().map(String::as_str).collect();
            text.push_str(&format!(", in {} only", opsbot_spec::join_or(&rooms)));
        }
        text.push('.');
        for requirement in &dialog.access.requirements {
            let when: Vec<String> = requirement
                .when
                .iter()
                .map(|(slot, pattern)| format!("{slot} {pattern}"))
                .collect();
            text.push_str(&format!(
                " {} needs membership of {}.",
                capitalise(&when.join(" and ")),
                groups_of(&requirement.groups)
            ));
        }
        if let Some(approval) = &dialog.approval {
            let when = if approval.when.is_empty() {
                "each request".to_string()
            } else {
                let when: Vec<String> = approval
                    .when
                    .iter()
                    .map(|(slot, pattern)| format!("{slot} {pattern}"))
                    .collect();
                format!("requests with {}", when.join(" and "))
            };
            text.push_str(&format!(
                " Another member of {} must approve {when}.",
                groups_of(&approval.groups)
            ));
        }
        if dialog.two_factor {
            text.push_str(" It asks for a two-factor code.");
        }
        text
    }

    /// "which ones are there?" while `slot` is asked: its choices, numbered
    /// (kept on the request so a number answers), or what a typed value may be.
    pub(super) fn list_choices(&mut self, dialog: &Dialog, slot: &Slot, request: &mut Request) {
        let Some(entity) = self.project.entities.get(&slot.entity) else {
            return;
        };
        let prompt = self.prompt(dialog, slot, request);
        let values: Vec<String> = entity.canonical_values().map(str::to_string).collect();
        if entity.value_type().is_none() && !values.is_empty() {
            self.say(format!(
                "I know these: {}. Say one, or its number. {prompt}",
                numbered(&values)
            ));
            request.offered = values;
            return;
        }
        let limits = slot.limits.describe(&slot.name, entity.value_type());
        let kind = match entity.value_type() {
            Some(ValueType::DateTime) => {
                format!("{} (in {})", entity.description, self.ctx.time_zone.name())
            }
            _ => entity.description.clone(),
        };
        let limits = limits.map(|l| format!("; {l}")).unwrap_or_default();
        self.say(format!("I take {kind}{limits}. {prompt}"));
    }

    /// After a refusal that listed a closed list's values ("“web” is not a
    /// service (apache, nginx …)"), "the first one" or "2" picks from that
    /// list, in the order it was shown.
    pub(super) fn offer_listed(&self, slot: &Slot, request: &mut Request, errors: &[String]) {
        let Some(entity) = self.project.entities.get(&slot.entity) else {
            return;
        };
        if !request.offered.is_empty()
            || !entity.is_closed()
            || entity.value_type().is_some()
            || !errors.iter().any(|e| e.contains(&entity.description))
        {
            return;
        }
        let mut values: Vec<String> = entity.canonical_values().map(str::to_string).collect();
        // The order said: the description's when it lists them all (the
        // refusal then says only it), else the list's own.
        let described = entity.description.to_lowercase();
        let at = |v: &String| {
            described
                .match_indices(v.to_lowercase().as_str())
                .map(|(i, _)| i)
                .find(|&i| {
                    let before = described[..i].chars().next_back();
                    let after = described[i + v.len()..].chars().next();
                    !before.is_some_and(char::is_alphanumeric)
                        && !after.is_some_and(char::is_alphanumeric)
                })
        };
        if values.iter().all(|v| at(v).is_some()) {
            values.sort_by_key(|v| at(v));
        }
        request.offered = values;
    }
}
