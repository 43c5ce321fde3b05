//! Refusals that explain: questions that would start a change, near-miss
//! requests no dialog serves, and messages not understood at all.

use super::*;

impl<'a> Step<'a> {
    /// A question ("how do I back up orders?", "should I back up or restore
    /// orders?") never starts an action that changes something: says so, with
    /// how to ask for it. Returns whether it refused.
    pub(super) fn refuse_question(&mut self, u: &Understanding) -> bool {
        if !opsbot_nlu::near_miss::is_question(&u.text, &u.entities) {
            return false;
        }
        let guesses = u.intent.iter().chain(u.ambiguous.iter());
        let writes: Vec<&Dialog> = guesses
            .filter_map(|g| self.project.dialog_for_intent(&g.name))
            .filter(|d| matches!(d.behaviour, Behaviour::Run { .. }) && !d.read_only)
            .collect();
        let Some(first) = writes.first() else {
            return false;
        };
        let mut described: Vec<String> = Vec::new();
        for d in &writes {
            if !described.contains(&d.description) {
                described.push(d.description.clone());
            }
        }
        let example = self
            .project
            .intents
            .get(&first.intent)
            .and_then(|i| i.examples.iter().find(|e| e.text.split(' ').count() >= 3))
            .map(|e| format!(", such as “{}”", e.text))
            .unwrap_or_default();
        self.say(format!(
            "That reads as a question, so I did not start anything: I {} only when asked to. To have me do it, say it as a request{example}.",
            described.join(" or ")
        ));
        self.read_as(u, None);
        true
    }

    /// Says so, and offers the nearest things the bot can do (or all of them
    /// when nothing is near).
    pub(super) fn not_understood(&mut self, u: &Understanding) {
        let shown: String = u.text.trim().chars().take(80).collect();
        if let Some(word) = &u.unserved {
            let nearest: Vec<String> = u
                .nearest_intents()
                .filter(|g| g.confidence >= NEAREST_MIN_CONFIDENCE)
                .filter_map(|g| self.project.dialog_for_intent(&g.name))
                .map(|d| format!("• {}", d.description))
                .take(2)
                .collect();
            let offer = if nearest.is_empty() {
                format!("I can:\n{}", self.project.capabilities())
            } else {
                format!(
                    "Closest to that, I can:\n{}\nSay “help” to see everything I can do.",
                    nearest.join("\n")
                )
            };
            self.say(format!(
                "Sorry, I cannot “{word}” anything: none of my requests do that, so I did nothing with “{shown}”. {offer}"
            ));
            return;
        }
        let mut nearest: Vec<String> = Vec::new();
        for guess in u.nearest_intents() {
            if guess.confidence < NEAREST_MIN_CONFIDENCE {
                break;
            }
            if let Some(dialog) = self.project.dialog_for_intent(&guess.name) {
                let line = format!("• {}", dialog.description);
                if !nearest.contains(&line) {
                    nearest.push(line);
                }
            }
            if nearest.len() == 2 {
                break;
            }
        }
        if nearest.is_empty() {
            self.say(format!(
                "Sorry, I did not understand “{shown}”. I can:\n{}",
                self.project.capabilities()
            ));
        } else {
            self.say(format!(
                "Sorry, I did not understand “{shown}”. Closest to that, I can:\n{}\nSay “help” to see everything I can do.",
                nearest.join("\n")
            ));
        }
    }
}
