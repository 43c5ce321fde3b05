//! Learning from use: which messages go to the review inbox (as
//! [`Effect::Learn`]), and "that's not what I meant", which asks what was.
//!
//! The engine remembers how it read the user's latest new message
//! ([`Reading`]); a cancel on the very next message, a switch to another
//! request, or the user disowning the reading turns it into a lesson.

use super::*;

/// At most this many other intents are offered after "that's not what I meant".
const DISOWN_OPTIONS: usize = 3;

impl<'a> Step<'a> {
    /// Records a lesson; one about the same message earlier in this step is
    /// replaced (the later one knows more).
    pub(super) fn learn(&mut self, lesson: Lesson) {
        self.effects.retain(
            |e| !matches!(e, Effect::Learn(l) if l.id == lesson.id || l.message.text == lesson.message.text),
        );
        self.effects.push(Effect::Learn(lesson));
    }

    fn lesson(&self, reading: &Reading, kind: LessonKind) -> Lesson {
        Lesson {
            id: reading.id.clone(),
            kind,
            message: reading.message.clone(),
            taken_as: reading.taken_as.clone(),
            chosen: None,
            suggested: None,
            at: reading.at,
        }
    }

    /// Remembers how a new message was read (`taken_as`: the intent, `None`
    /// when not understood). A message right after a request was cancelled
    /// that asks for something else says what the cancelled one meant.
    pub(super) fn read_as(&mut self, u: &Understanding, taken_as: Option<&str>) {
        if let Some(previous) = self.reading.take() {
            if previous.cancelled && taken_as.is_some() && previous.taken_as.as_deref() != taken_as
            {
                let mut lesson = self.lesson(&previous, LessonKind::Corrected);
                lesson.suggested = taken_as.map(str::to_string);
                self.learn(lesson);
            }
        }
        self.reading = Some(Reading {
            id: request_id(self.ctx, &u.text),
            message: u.clone(),
            taken_as: taken_as.map(str::to_string),
            at: self.ctx.now,
            cancelled: false,
        });
    }

    /// A message no intent was confident enough for.
    pub(super) fn learn_not_understood(&mut self, u: &Understanding) {
        self.read_as(u, None);
        if let Some(reading) = &self.reading {
            let lesson = self.lesson(reading, LessonKind::NotUnderstood);
            self.learn(lesson);
        }
    }

    /// A message understood, but with little confidence (a limit of 1
    /// records every understood message, even one scored 1.0).
    pub(super) fn learn_if_unsure(&mut self, confidence: f32) {
        let below = self.project.settings.review.below_confidence;
        if confidence >= below && below < 1.0 {
            return;
        }
        if let Some(reading) = &self.reading {
            let lesson = self.lesson(reading, LessonKind::LowConfidence);
            self.learn(lesson);
        }
    }

    /// A request cancelled on the message right after the one that started it.
    pub(super) fn learn_from_cancel(&mut self, request: &Request) {
        let Some(reading) = self.reading.as_mut() else {
            return;
        };
        if reading.id != request.id || request.messages.len() > 2 {
            return;
        }
        reading.cancelled = true;
        let reading = reading.clone();
        let lesson = self.lesson(&reading, LessonKind::Cancelled);
        self.learn(lesson);
    }

    /// A request dropped at once for another (`instead`: its intent).
    pub(super) fn learn_from_switch(&mut self, request: &Request, instead: &str) {
        let Some(reading) = self.reading.clone() else {
            return;
        };
        if reading.id != request.id || request.messages.len() > 1 {
            return;
        }
        let mut lesson = self.lesson(&reading, LessonKind::Corrected);
        lesson.suggested = Some(instead.to_string());
        self.learn(lesson);
    }

    /// The user answered "did you mean …?" (`chosen`: the intent, or
    /// `out_of_scope` for none of them) about the message read as `reading`.
    pub(super) fn learn_choice(&mut self, message: &Understanding, disowned: bool, chosen: &str) {
        let reading = match self.reading.clone() {
            Some(r) if r.message.text == message.text => r,
            _ => Reading {
                id: request_id(self.ctx, &message.text),
                message: message.clone(),
                taken_as: None,
                at: self.ctx.now,
                cancelled: false,
            },
        };
        let kind = if disowned {
            LessonKind::Flagged
        } else {
            LessonKind::Ambiguous
        };
        let mut lesson = self.lesson(&reading, kind);
        lesson.chosen = Some(chosen.to_string());
        self.learn(lesson);
    }

    /// "That's not what I meant": drops the request the misread message
    /// started (unless it already runs), records the lesson and asks which of
    /// the other close intents was meant.
    pub(super) fn disown(&mut self, phase: Phase) -> Phase {
        let Some(reading) = self.reading.clone() else {
            self.say("I have not read anything of yours lately that I could correct. Say “help” to see what I can do.");
            return phase;
        };
        let lesson = self.lesson(&reading, LessonKind::Flagged);
        self.learn(lesson);
        let shown: String = reading.message.text.trim().chars().take(80).collect();
        let phase = match phase {
            Phase::Executing { request } => {
                self.say(format!(
                    "Your request to {} is already running, so I cannot take it back; I noted that “{shown}” was not meant that way.",
                    self.description(&request.dialog)
                ));
                return Phase::Executing { request };
            }
            Phase::Collecting { request, .. }
            | Phase::AwaitingConfirmation { request }
            | Phase::AwaitingCode { request }
            | Phase::AwaitingApproval { request }
                if request.id == reading.id =>
            {
                self.say(format!(
                    "Sorry — I dropped my reading of “{shown}” as a request to {}. Nothing was run.",
                    self.description(&request.dialog)
                ));
                self.record(
                    Outcome::Cancelled,
                    request,
                    "the requester said it was not what they meant",
                );
                Phase::Idle
            }
            Phase::Idle | Phase::Choosing { .. } => Phase::Idle,
            other => {
                // Another request is pending (the misread message was an aside).
                self.say(format!("Noted: “{shown}” was not meant that way."));
                return other;
            }
        };
        let mut options: Vec<Choice> = Vec::new();
        for guess in reading.message.nearest_intents() {
            if Some(&guess.name) == reading.taken_as.as_ref() {
                continue;
            }
            let Some(dialog) = self.project.dialog_for_intent(&guess.name) else {
                continue;
            };
            if options.iter().any(|o| o.dialog == dialog.name)
                || reading.taken_as.as_deref() == Some(dialog.intent.as_str())
            {
                continue;
            }
            options.push(Choice {
                intent: guess.name.clone(),
                dialog: dialog.name.clone(),
                confidence: guess.confidence,
            });
            if options.len() == DISOWN_OPTIONS {
                break;
            }
        }
        if options.is_empty() {
            self.say(format!(
                "Sorry. I noted that “{shown}” was misread, so someone can teach me what it means."
            ));
            return phase;
        }
        let listed: Vec<String> = options
            .iter()
            .enumerate()
            .map(|(i, o)| format!("{}. {}", i + 1, self.description(&o.dialog)))
            .collect();
        self.say(format!(
            "Sorry. What did you mean by “{shown}”?\n{}\nSay a number, what you meant, or “none of these”.",
            listed.join("\n")
        ));
        Phase::Choosing {
            options,
            message: reading.message,
            asked_at: self.ctx.now,
            disowned: true,
        }
    }
}
