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

    /// "“bounce” is not a word my requests use. Do you mean to restart a
    /// service on a host?": the classifier read a dialog that runs an action,
    /// but the message asks for it in a word no example uses (or states a
    /// problem without asking anything), so whether it was meant is asked
    /// before anything runs or is offered to run (a lookup too: "delete the
    /// orders topic" is not answered with a description of it). A yes starts it; the answer labels the message for
    /// the review inbox, so the new word can be taught.
    /// With `below_threshold`, the same question about a message not
    /// understood whose likeliest intent is clearly ahead but not likely
    /// enough to act on ("I am not sure I understood. Did you mean to …?"),
    /// for any dialog: asking costs one word, refusing costs a retyped
    /// request.
    fn ask_meant(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
        below_threshold: bool,
    ) -> Phase {
        let word = u.unsure.as_ref().and_then(|s| s.word.as_deref());
        let said = match word {
            Some(word) => format!("“{word}” is not a word my requests use."),
            None if below_threshold => "I am not sure I understood.".to_string(),
            None => "You did not say what to do.".to_string(),
        };
        let shown: String = u.text.trim().chars().take(80).collect();
        // With every value given, the question says what would run ("I read
        // your message as “I will kill queries on orders …”."); a yes still
        // leads to the confirmation.
        let question = match self.would_do(dialog, confidence, u, memory) {
            Some(statement) => format!(
                "I read your message as “{statement}”. Is that what you meant? Say yes or no."
            ),
            None if below_threshold => {
                format!("Did you mean to {}? Say yes or no.", dialog.description)
            }
            None => format!("Do you mean to {}? Say yes or no.", dialog.description),
        };
        self.say(format!("{said} {question}"));
        let why = match word {
            Some(word) => format!("none of the requests I was taught say “{word}”"),
            None if below_threshold => "not surely enough to act on it".to_string(),
            None => "it asks for nothing in words".to_string(),
        };
        self.explain(
            format!(
                "“{shown}” reads most like a request to {}, but {why}, so I asked before offering to run anything.",
                dialog.description
            ),
            Some(&dialog.name),
        );
        self.read_as(u, None);
        Phase::Choosing {
            options: vec![Choice {
                intent: dialog.intent.clone(),
                dialog: dialog.name.clone(),
                confidence,
            }],
            message: u.clone(),
            asked_at: self.ctx.now,
            disowned: false,
        }
    }

    /// What `u` would start, said as its confirmation says it ("I will
    /// restart nginx on web-02"), when it would reach the confirmation now;
    /// nothing of the try is kept (replies, effects, notes, readings).
    fn would_do(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
    ) -> Option<String> {
        let kept = (self.replies.len(), self.effects.len(), self.notes.len());
        let (reading, explanation, park) = (
            self.reading.clone(),
            self.explanation.clone(),
            self.park.take(),
        );
        let phase = self.begin(dialog, confidence, u, memory);
        let statement = match &phase {
            Phase::AwaitingConfirmation { request } => Some(self.stated(dialog, request)),
            _ => None,
        };
        self.replies.truncate(kept.0);
        self.effects.truncate(kept.1);
        self.notes.truncate(kept.2);
        (self.reading, self.explanation, self.park) = (reading, explanation, park);
        statement
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
        let answer = phrases::classify(&u.text);
        if matches!(answer, Answer::No) || phrases::is_cancel(&u.text) {
            self.say(if disowned {
                "Okay."
            } else if options.len() == 1 {
                "Okay, I did nothing."
            } else {
                "Okay, I will do neither."
            });
            return Phase::Idle;
        }
        // "Do you mean to …?" has one option: a yes takes it.
        let yes = (options.len() == 1 && matches!(answer, Answer::Yes)).then_some(0);
        let ordinal = phrases::ordinal_choice(&u.text, options.len());
        // A reply that names values of its own, or asks in words no example
        // uses, is a request of its own, never the answer that starts the
        // first message with the first message's values ("deploy shop 1.3 to
        // production" after "restart apache or deploy shop 1.2?").
        let own_request = !u.entities.is_empty() || u.unsure.is_some() || u.unserved.is_some();
        if yes.is_none() && ordinal.is_none() && own_request {
            return self.start(u, memory, None);
        }
        let picked = yes
            .or(ordinal)
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
        // The person said which they meant: no longer in doubt.
        message.unsure = None;
        message.meant = None;
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
        match self.dialog_read(u.intent.as_ref()) {
            Some((dialog, confidence))
                if u.unsure.is_some() && matches!(dialog.behaviour, Behaviour::Run { .. }) =>
            {
                self.ask_meant(dialog, confidence, u, memory, false)
            }
            Some((dialog, confidence)) => {
                let phase = self.begin(dialog, confidence, u, memory);
                self.learn_if_unsure(confidence);
                phase
            }
            None => {
                // Kept for review either way; a yes relabels it.
                self.learn_not_understood(u);
                match self.dialog_read(u.meant.as_ref()) {
                    Some((dialog, confidence)) => {
                        self.ask_meant(dialog, confidence, u, memory, true)
                    }
                    None => {
                        self.not_understood(u);
                        Phase::Idle
                    }
                }
            }
        }
    }

    /// The dialog a reading (the intent read, or the one asked about) would
    /// start, with its confidence.
    fn dialog_read(&self, guess: Option<&IntentGuess>) -> Option<(&'a Dialog, f32)> {
        let guess = guess?;
        self.project
            .dialog_for_intent(&guess.name)
            .map(|d| (d, guess.confidence))
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
        // another intent, confidently and in its own words (not read through
        // a word no example uses: "same for …"), whose dialog has a slot for
        // a value named.
        let asks_for_other = u.unsure.is_none()
            && u.intent.as_ref().is_some_and(|g| {
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
        // Its request word is the opening ("same for"): nothing to note about
        // a word no example uses.
        let mut again = u.clone();
        again.unsure = None;
        Some(self.begin_with(dialog, confidence, &again, memory, CarryOver::AllSlots))
    }
}
