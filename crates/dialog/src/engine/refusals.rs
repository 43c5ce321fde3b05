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
        let opening = u
            .text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_lowercase();
        self.explain(
            format!("“{}” opens with “{opening}”, so I read it as a question, and a question never starts something that changes things; I only {} when asked to.", u.text.trim(), described.join(" or ")),
            Some(&first.name),
        );
        self.read_as(u, None);
        true
    }

    /// Says so, and offers the nearest things the bot can do (or all of them
    /// when nothing is near).
    pub(super) fn not_understood(&mut self, u: &Understanding) {
        let shown: String = u.text.trim().chars().take(80).collect();
        let offer = self.offer(u);
        if let Some(word) = &u.unserved {
            self.say(format!(
                "Sorry, I cannot “{word}” anything: none of my requests do that, so I did nothing with “{shown}”. {offer}"
            ));
            let closest = u
                .nearest_intents()
                .next()
                .and_then(|g| self.project.dialog_for_intent(&g.name));
            let guess = closest
                .map(|d| format!(" Its other words are closest to what I do to {}, but guessing would run something you did not ask for.", d.description))
                .unwrap_or_default();
            self.explain(
                format!("No request I was taught starts with “{word}”, so nothing I do is what you asked for.{guess}"),
                closest.map(|d| d.name.as_str()),
            );
            return;
        }
        let best = u
            .nearest_intents()
            .next()
            .and_then(|g| Some((self.project.dialog_for_intent(&g.name)?, g.confidence)));
        match best {
            Some((dialog, confidence)) if confidence >= NEAREST_MIN_CONFIDENCE => self.explain(
                format!(
                    "“{shown}” read most like a request to {}, but I was only {:.0}% sure of it, too little to act on; say it another way, or say “help”.",
                    dialog.description,
                    confidence * 100.0
                ),
                Some(&dialog.name),
            ),
            _ => self.explain(
                format!("“{shown}” is like nothing I was taught to do; say “help” to see what I can do."),
                None,
            ),
        }
        self.say(format!("Sorry, I did not understand “{shown}”. {offer}"));
    }

    /// "Closest to that, I can: • …" (the two nearest dialogs), or everything
    /// the bot can do when nothing is near.
    fn offer(&self, u: &Understanding) -> String {
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
            format!("I can:\n{}", self.project.capabilities())
        } else {
            format!(
                "Closest to that, I can:\n{}\nSay “help” to see everything I can do.",
                nearest.join("\n")
            )
        }
    }

    /// A word of the message nobody taught the bot, where the first open
    /// slot's value would go: why it was not taken ("“tempdb” is not a
    /// database such as orders …"), instead of asking as if nothing was said.
    pub(super) fn unknown_value(
        &self,
        dialog: &Dialog,
        request: &Request,
        u: &Understanding,
    ) -> Option<(String, String)> {
        let slot = dialog
            .slots
            .iter()
            .find(|s| !request.slots.contains_key(&s.name) && s.default.is_none())?;
        let entity = self.project.entities.get(&slot.entity)?;
        // Typed values are found by their shape; an unknown word is no time.
        if entity.value_type().is_some() {
            return None;
        }
        // Two letters are enough for a name ("qa", "eu"), but not for the
        // little words of a sentence.
        u.unknown
            .iter()
            .filter(|w| {
                let short = w.chars().count() == 2;
                w.chars().count() >= 2
                    && !VAGUE.contains(&w.as_str())
                    && !(short && SHORT_WORDS.contains(&w.as_str()))
            })
            .find_map(|word| {
                self.slot_value(slot, word)
                    .err()
                    .map(|error| (word.clone(), error))
            })
    }
}

/// Two-letter words of sentences, never a name a person gives a value.
const SHORT_WORDS: &[&str] = &[
    "am", "an", "as", "at", "be", "by", "do", "go", "he", "hi", "if", "in", "is", "it", "me", "my",
    "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we", "ya", "yo",
];

/// Words that stand for a value without naming one ("restart something",
/// "same for redis"): never reported as a value that was not taken.
const VAGUE: &[&str] = &[
    "something",
    "anything",
    "everything",
    "nothing",
    "thing",
    "things",
    "stuff",
    "same",
    "again",
    "one",
    "ones",
    "it",
    "its",
    "them",
    "that",
    "this",
    "these",
    "those",
    "there",
    "here",
    "now",
    "asap",
    "today",
    "please",
    "thanks",
    "thank",
    "all",
    "both",
    "whatever",
    "some",
    "any",
    "other",
    "another",
    "too",
    "also",
    "again",
    "right",
    "away",
    "quick",
    "quickly",
    "real",
    "soon",
    "later",
    "again",
    "already",
    "still",
    "just",
    "really",
];
