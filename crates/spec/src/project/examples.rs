//! Examples made from chat messages (`opsbot review`): the message's own
//! text kept literal, its values marked only where the marking teaches no
//! closed list anything. A closed list (an entity with `values:` and no
//! pattern or type) grows from an annotation the author writes by hand, never
//! from a reviewed message: what a user typed must not become a value a
//! program is run with.

use super::*;

impl Project {
    /// The message `text` as an example of `label` (annotation syntax): the
    /// text escaped, so brackets the user typed stay text, and each of
    /// `values` marked when the label's dialog has a slot for its entity and
    /// the mark adds nothing to the entity's values: for a closed list, the
    /// words are already listed for that value; otherwise the value checks.
    /// Other values are left as plain words.
    pub fn example_from_message(&self, label: &str, text: &str, values: &[EntitySpan]) -> String {
        let slots: Vec<&str> = self
            .dialog_for_intent(label)
            .map(|d| d.slots.iter().map(|s| s.entity.as_str()).collect())
            .unwrap_or_default();
        let marked: Vec<EntitySpan> = values
            .iter()
            .filter(|v| slots.contains(&v.entity.as_str()))
            .filter(|v| {
                let Some(surface) = text.get(v.start..v.end) else {
                    return false;
                };
                let Some(entity) = self.entities.get(&v.entity) else {
                    return false;
                };
                if entity.is_closed() {
                    entity.lookup(&v.value).is_some()
                        && entity.lookup(surface) == entity.lookup(&v.value)
                } else {
                    entity.validate_exact(&v.value, chrono::Utc::now()).is_ok()
                }
            })
            .cloned()
            .collect();
        annotation::annotate(text, &marked)
    }

    /// What `after` (this project loaded again) lists in a closed list that
    /// this one does not, one `entity: words → value` each: the project
    /// files grew a closed list in between.
    pub fn closed_list_growth(&self, after: &Project) -> Vec<String> {
        let mut grown = Vec::new();
        for (name, entity) in &after.entities {
            if !entity.is_closed() {
                continue;
            }
            let before = self.entities.get(name);
            for (surface, canonical) in entity.listed() {
                let known =
                    before.is_some_and(|b| b.is_closed() && b.lookup(surface) == Some(canonical));
                if !known {
                    grown.push(format!("{name}: “{surface}” → {canonical}"));
                }
            }
        }
        grown
    }
}

#[cfg(test)]
#[path = "examples_tests.rs"]
mod tests;
