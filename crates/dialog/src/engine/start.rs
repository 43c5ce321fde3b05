//! Starting a request from a message read while nothing is open: yes or no
//! to nothing, follow-ups, questions refused, the ambiguity question and its
//! answer, or the dialog of the intent read (begun in `request`).

use super::*;

impl<'a> Step<'a> {
    /// Asks which of two close intents was meant.
    pub(super) fn ask_which(&mut self, u: &Understanding) -> Option<Phase> {
        let mut options: Vec<Choice> = Vec::new();
        for guess in &u.ambiguous {
            let dialog = self.project.dialog_for_intent(&guess.name)?;
            if options.iter().any(|o| o.dialog == dialog.name) {
                return None; // two intents of one dialog: nothing to choose
            }
            options.push(Choice {
                intent: guess.name.clone(),
                dialog: dialog.name.clone(),
                confidence: guess.confidence,
            });
        }
        if options.len() < 2 {
            return None;
        }
        let described: Vec<String> = options
            .iter()
            .map(|o| format!("to {}", self.description(&o.dialog)))
            .collect();
        self.say(format!(
            "Did you mean {}? Say “the first”, “the second” or what you meant.",
            described.join(" or ")
        ));
        self.read_as(u, None);
        Some(Phase::Choosing {
            options,
            message: u.clone(),
            asked_at: self.ctx.now,
            disowned: false,
        })
    }

    /// Resolves the answer to "did you mean A or B?" (or, `disowned`, to
    /// "what did you mean?"): by position, by words of an option's name or
    /// description, or by what the reply itself means. The answer labels the
    /// message for the review inbox. Anything else is read as a new message.
    pub(super) fn choose(
        &mut self,
        options: Vec<Choice>,
        message: Understanding,
        disowned: bool,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        if phrases::is_none_of_these(&u.text) {
            self.learn_choice(&message, disowned, opsbot_spec::OUT_OF_SCOPE);
            self.say("Okay, none of these. I noted it, so someone can teach me what you meant.");
            return Phase::Idle;
        }
        if matches!(phrases::classify(&u.text), Answer::No) || phrases::is_cancel(&u.text) {
            self.say(if disowned {
                "Okay."
            } else {
                "Okay, I will do neither."
            });
            return Phase::Idle;
        }
        let picked = phrases::ordinal_choice(&u.text, options.len())
            .or_else(|| self.option_named(&options, &u.text))
            .or_else(|| {
                let intent = &u.intent.as_ref()?.name;
                options.iter().position(|o| &o.intent == intent)
            });
        let Some(index) = picked else {
            return self.start(u, memory, None);
        };
        let choice = &options[index];
        let Some(dialog) = self.project.dialogs.get(&choice.dialog) else {
            self.not_understood(u);
            return Phase::Idle;
        };
        self.learn_choice(&message, disowned, &choice.intent);
        let mut message = message;
        message.intent = Some(IntentGuess {
            name: choice.intent.clone(),
            confidence: choice.confidence,
        });
        message.ambiguous.clear();
        self.begin(dialog, choice.confidence, &message, memory)
    }

    /// The one option whose dialog name, intent name or description shares a
    /// word with the reply ("deploy", "the restart one"), if exactly one does.
    pub(super) fn option_named(&self, options: &[Choice], reply: &str) -> Option<usize> {
        const IGNORED: &[&str] = &[
            "the", "a", "an", "to", "on", "of", "one", "for", "and", "i", "meant", "mean",
            "please", "it", "in", "with",
        ];
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .filter(|w| !IGNORED.contains(&w.as_str()))
                .collect()
        };
        let reply = words(reply);
        if reply.is_empty() {
            return None;
        }
        let matching: Vec<usize> = options
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                let names = words(&format!(
                    "{} {} {}",
                    o.dialog.replace('_', " "),
                    o.intent.replace('_', " "),
                    self.description(&o.dialog)
                ));
                reply.iter().any(|w| names.iter().any(|n| stem_eq(n, w)))
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    pub(super) fn start(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Phase {
        // A new request is the latest decision: "why?" never explains a
        // refusal older than it (one made in this step stays).
        self.explanation.take_if(|e| e.at != self.ctx.now);
        match phrases::classify(&u.text) {
            Answer::Yes => {
                self.say("There is nothing waiting for a yes right now. Say “help” to see what I can do.");
                return Phase::Idle;
            }
            Answer::No => {
                self.say("Okay. There is nothing to cancel.");
                return Phase::Idle;
            }
            _ => {}
        }
        if let Some(phase) = self.follow_up(u, memory, last_dialog) {
            return phase;
        }
        if self.refuse_question(u) {
            return Phase::Idle;
        }
        if !u.ambiguous.is_empty() {
            if let Some(phase) = self.ask_which(u) {
                return phase;
            }
        }
        match u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .map(|d| (d, g.confidence))
        }) {
            Some((dialog, confidence)) => {
                let phase = self.begin(dialog, confidence, u, memory);
                self.learn_if_unsure(confidence);
                phase
            }
            None => {
                self.learn_not_understood(u);
                self.not_understood(u);
                Phase::Idle
            }
        }
    }

    /// "and on web-02", "also staging", "same for redis": a message that opens
    /// like a follow-up and names a value for the last finished request's
    /// dialog repeats that request with the new value, every other slot
    /// carried over.
    pub(super) fn follow_up(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Option<Phase> {
        let last = last_dialog?;
        let dialog = self.project.dialogs.get(&last.dialog)?;
        if !phrases::is_follow_up(&u.text)
            || !u
                .entities
                .iter()
                .any(|m| dialog.slots.iter().any(|s| s.entity == m.entity))
        {
            return None;
        }
        // A follow-up that clearly asks for something else is that request:
        // another intent, confidently, whose dialog has a slot for a value named.
        let asks_for_other = u.intent.as_ref().is_some_and(|g| {
            g.confidence >= SWITCH_CONFIDENCE
                && self.project.dialog_for_intent(&g.name).is_some_and(|d| {
                    d.name != dialog.name
                        && u.entities
                            .iter()
                            .any(|m| d.slots.iter().any(|s| s.entity == m.entity))
                })
        });
        if asks_for_other {
            return None;
        }
        let confidence = u.intent.as_ref().map_or(0.0, |g| g.confidence);
        Some(self.begin_with(dialog, confidence, u, memory, CarryOver::AllSlots))
    }
}
