//! A message while a request is open that is not an answer to it: a near
//! miss ("upgrade the kernel on web-01"), a question ("should I restart
//! nginx?"), or another request with its own values. None of them ever
//! fills the open request with its values: a near miss or a question is
//! answered as such and the open question asked again; a confident request
//! for another dialog drops the open one, announced, and starts; a less sure
//! one is named and the open request kept.

use super::*;

/// Words an answer or a correction is made of besides its values ("no, make
/// it web-02 instead"): never a sign of another request.
const ANSWER_WORDS: &[&str] = &[
    "no", "nope", "yes", "and", "also", "instead", "then", "now", "please", "it", "its", "it's",
    "one", "use", "make", "the", "a", "an", "on", "to", "in", "for", "at", "of", "with", "i",
    "meant", "mean", "sorry", "actually", "rather", "that", "this", "is", "change", "set",
    "switch", "value", "be", "should", "want", "wanted", "oh", "oops", "wait", "ok", "okay",
    "just", "but", "from", "by", "do", "same", "thanks", "thank", "you", "not", "my", "bad",
];

impl<'a> Step<'a> {
    /// The message's own words that neither the open dialog's wording, its
    /// slot and entity names, nor the words of an answer explain ("silence",
    /// "alerts" while a restart waits): what makes it another request.
    pub(super) fn foreign_words(&self, dialog: &Dialog, u: &Understanding) -> Vec<String> {
        let wording = self.wording(dialog);
        let names: Vec<String> = dialog
            .slots
            .iter()
            .flat_map(|s| [s.name.to_lowercase(), s.entity.to_lowercase()])
            .collect();
        outside_values(u)
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| {
                !wording.contains(w)
                    && !names.contains(w)
                    && !ANSWER_WORDS.contains(&w.as_str())
                    && !phrases::yes_words().contains(&w.as_str())
            })
            .collect()
    }

    /// What the open request's question or confirmation says again.
    fn ask_again(&self, dialog: &Dialog, request: &Request, asking: Option<&str>) -> String {
        match asking.and_then(|name| dialog.slot(name)) {
            Some(slot) => self.prompt(dialog, slot, request),
            None => self.preview(dialog, request),
        }
    }

    /// Brings back a change set aside for a read-only request, asking its
    /// question (or for its yes) again; one that no longer exists is dropped.
    pub(super) fn resume_parked(&mut self, waiting: Phase) -> Phase {
        let (request, asking) = match &waiting {
            Phase::Collecting { request, asking } => (request, Some(asking.as_str())),
            Phase::AwaitingConfirmation { request } => (request, None),
            _ => return Phase::Idle,
        };
        let Some(dialog) = self.dialog_of(request) else {
            return Phase::Idle;
        };
        let again = self.ask_again(dialog, request, asking);
        self.say(format!(
            "Back to your request, which is still waiting: {again}"
        ));
        waiting
    }

    /// Handles a message that is no answer to the open request (`asking`:
    /// the slot asked for, `None` at a confirmation). `None` when it may be
    /// one, so the caller reads it as an answer or a correction.
    pub(super) fn not_an_answer(
        &mut self,
        dialog: &Dialog,
        request: &mut Request,
        asking: Option<&str>,
        u: &Understanding,
        memory: &Memory,
    ) -> Option<Phase> {
        let keep = |request: &Request| match asking {
            Some(slot) => Phase::Collecting {
                request: request.clone(),
                asking: slot.to_string(),
            },
            None => Phase::AwaitingConfirmation {
                request: request.clone(),
            },
        };
        let shown: String = u.text.trim().chars().take(60).collect();
        let answer_like = matches!(
            phrases::classify(&u.text),
            Answer::Yes | Answer::No | Answer::NoBut(_)
        );
        if let Some(word) = u.unserved.as_ref().filter(|_| !answer_like) {
            request.touched_at = self.ctx.now;
            let again = self.ask_again(dialog, request, asking);
            let said = format!(
                "Sorry, I cannot “{word}” anything, so I did nothing with “{shown}”, and I used none of it for your request to {}.",
                dialog.description
            );
            self.say(format!("{said} {again}"));
            self.explain(said, Some(&dialog.name));
            return Some(keep(request));
        }
        if let Some(words) = super::accounting::negation(&super::accounting::with_values_marked(u))
        {
            // "don't restart nginx" while a restart waits: never an answer
            // or a correction; the request stays as it was.
            request.touched_at = self.ctx.now;
            let again = self.ask_again(dialog, request, asking);
            let said = format!(
                "Your message says “{words}”, so I did not take it as an answer and changed nothing. Say “cancel” to drop your request to {}.",
                dialog.description
            );
            self.say(format!("{said} {again}"));
            self.explain(said, Some(&dialog.name));
            return Some(keep(request));
        }
        let other = u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .filter(|d| d.name != dialog.name)
                .map(|d| (d, g.confidence))
        });
        // A question or a short reply the bot answers from its text ("help")
        // is answered, and the open request asked again.
        if let Some((
            other @ Dialog {
                behaviour: Behaviour::Reply(_),
                ..
            },
            confidence,
        )) = other
        {
            if confidence >= SWITCH_CONFIDENCE {
                request.touched_at = self.ctx.now;
                self.begin(other, confidence, u, memory);
                let again = self.ask_again(dialog, request, asking);
                self.say(again);
                return Some(keep(request));
            }
        }
        // A read-only question ("who is on call for frontend?") is a request
        // of its own; a question about a change is no answer.
        let asks_to_read = other.is_some_and(|(d, c)| d.read_only && c >= SWITCH_CONFIDENCE);
        if !asks_to_read && opsbot_nlu::near_miss::is_question(&u.text, &u.entities) {
            request.touched_at = self.ctx.now;
            let again = self.ask_again(dialog, request, asking);
            let taken = if asking.is_some() {
                "an answer"
            } else {
                "a yes or a change"
            };
            self.say(format!(
                "“{shown}” reads as a question, so I did not take it as {taken}. {again}"
            ));
            return Some(keep(request));
        }
        let foreign = self.foreign_words(dialog, u);
        let values_for_it = u
            .entities
            .iter()
            .any(|m| dialog.slots.iter().any(|s| s.entity == m.entity));
        // Read as nothing, or as this very request yet with two or more words
        // that are neither its wording nor an answer's ("upgrade the kernel
        // on web-01" while a restart asks for its service).
        let read_as_this = u.intent.as_ref().is_some_and(|g| g.name == dialog.intent);
        let not_for_it = u.intent.is_none() && !foreign.is_empty()
            || read_as_this && foreign.len() >= 2 && !answer_like;
        if other.is_none() && values_for_it && not_for_it {
            // Read as nothing the bot does, yet holding values this request
            // takes ("upgrade the kernel on web-01"): its values are not
            // meant for this request.
            request.touched_at = self.ctx.now;
            let again = self.ask_again(dialog, request, asking);
            let words: Vec<String> = foreign.iter().map(|w| format!("“{w}”")).collect();
            let said = format!(
                "I did not take “{shown}” as an answer: {} {} no part of a request to {}, so I used none of it.",
                opsbot_spec::join_or(&words.iter().map(String::as_str).collect::<Vec<_>>()).replacen(" or ", " and ", 1),
                if words.len() == 1 { "is" } else { "are" },
                dialog.description
            );
            self.say(format!("{said} {again}"));
            self.explain(said, Some(&dialog.name));
            return Some(keep(request));
        }
        // A read-only request ("how far behind is pg-main?") while a change
        // waits is answered, and the change kept for after it.
        if let Some((other, confidence)) = other.filter(|(d, c)| {
            d.read_only && matches!(d.behaviour, Behaviour::Run { .. }) && *c >= SWITCH_CONFIDENCE
        }) {
            if phrases::classify(&u.text) == Answer::Other && !foreign.is_empty() {
                request.touched_at = self.ctx.now;
                self.park = Some(keep(request));
                return Some(self.begin(other, confidence, u, memory));
            }
        }
        let (other, confidence) = other?;
        let names_its_values = other.slots.is_empty()
            || u.entities
                .iter()
                .any(|m| other.slots.iter().any(|s| s.entity == m.entity));
        if foreign.is_empty()
            || !names_its_values
            || phrases::classify(&u.text) != Answer::Other
            || matches!(other.behaviour, Behaviour::Reply(_))
        {
            // Only values and answer words, a yes or no, or another request
            // that names nothing of its own: read as an answer, as before.
            return None;
        }
        let pending = self.describe(dialog, request);
        // A request in words no example uses is never taken on faith over
        // one that waits: it is named, and the waiting one kept.
        if confidence >= SWITCH_CONFIDENCE && u.unsure.is_none() {
            self.say(format!(
                "Okay, I dropped your request to {pending}; nothing was run."
            ));
            self.learn_from_switch(request, &other.intent);
            request.messages.push(u.text.clone());
            self.record(
                Outcome::Cancelled,
                request.clone(),
                "abandoned for another request",
            );
            return Some(self.begin(other, confidence, u, memory));
        }
        request.touched_at = self.ctx.now;
        let again = self.ask_again(dialog, request, asking);
        let kept = format!(
            "“{shown}” reads like a request to {}, not an answer, so I used none of it; your request to {pending} is still waiting (say “cancel” to drop it, then ask again).",
            other.description
        );
        self.say(format!("{kept} {again}"));
        self.explain(kept, Some(&other.name));
        Some(keep(request))
    }
}
