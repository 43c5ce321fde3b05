//! The yes or no of a confirmation, and corrections to the request it
//! confirms ("no, on web-03", "no, make it 23:30"); anything that is not one goes to `switching`.

use super::*;

impl<'a> Step<'a> {
    pub(super) fn confirm(
        &mut self,
        mut request: Request,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        request.messages.push(u.text.clone());
        request.touched_at = self.ctx.now;
        let answer = phrases::classify(&u.text);
        match answer {
            Answer::Yes => {
                request.confirmed_by = Some(self.ctx.user.to_string());
                return self.confirmed(dialog, request);
            }
            Answer::No => return self.cancel(request),
            Answer::NoBut(_) | Answer::Other => {}
        }
        if let Some(phase) = self.not_an_answer(dialog, &mut request, None, u, memory) {
            return phase;
        }
        let before = request.slots.clone();
        let replaced = self.describe(dialog, &request);
        let found = self.fill_from_entities(dialog, &mut request, u, None);
        // A whole new request of the same kind ("add api-02 in lab …" while
        // "add web-07 in corp …" waits): every value said before changed.
        // Said, so the earlier request never disappears without a word.
        let said_before: Vec<&String> = before
            .iter()
            .filter(|(_, v)| v.origin != SlotOrigin::Default)
            .map(|(name, _)| name)
            .collect();
        if said_before.len() >= 2
            && said_before.iter().all(|name| {
                request.slots.get(*name).map(|v| &v.value) != before.get(*name).map(|v| &v.value)
            })
        {
            self.notes.insert(
                0,
                format!("Okay, this replaces your request to {replaced}; nothing was run."),
            );
            // A new request is a dry run only if this message says so.
            request.dry_run = self.ctx.dry_run;
        }
        if !found.slots.is_empty() {
            self.account(dialog, &u.text, &found.spans, &[]);
        }
        let mut errors = found.errors;
        // "no, make it 23:30": a time for a change that can wait moves it.
        let said_time = self
            .deferral(dialog, u, &found.spans)
            .and_then(|((start, end), at)| Some((u.text.get(start..end)?.to_string(), at)))
            .or_else(|| match &answer {
                Answer::NoBut(rest) if request.slots == before => {
                    self.corrected_time(dialog, strip_answer(rest))
                }
                _ => None,
            });
        let moved = match said_time {
            Some((said, at)) if request.at != Some(at) => {
                request.at = Some(at);
                request.at_said = Some(said);
                true
            }
            _ => false,
        };
        if let (true, false, Answer::NoBut(rest)) = (request.slots == before, moved, &answer) {
            // "no, banana": try the rest as a new value for each slot in turn.
            let candidate = strip_answer(rest);
            let fits = dialog.slots.iter().find_map(|slot| {
                self.slot_value(slot, candidate)
                    .ok()
                    .map(|v| (slot.name.clone(), v))
            });
            match fits {
                Some((slot, value)) => {
                    request.slots.insert(
                        slot,
                        SlotValue {
                            value,
                            origin: SlotOrigin::Asked,
                        },
                    );
                }
                None => errors.push(format!(
                    "I could not use “{}” as a new {}",
                    candidate.chars().take(60).collect::<String>(),
                    opsbot_spec::join_or(
                        &dialog
                            .slots
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                    )
                )),
            }
        }
        if request.slots != before {
            // A changed value is checked as a new one.
            request = match self.check_values(dialog, request) {
                Ok(request) => request,
                Err(phase) => return *phase,
            };
        }
        let preview = self.preview(dialog, &request);
        if request.slots != before || moved {
            let preview = self.noted(preview);
            self.say(preview);
        } else if let Some(error) = errors.first() {
            self.say(format!("{}. {preview}", capitalise(error)));
        } else if let Some((
            other @ Dialog {
                behaviour: Behaviour::Reply(_),
                ..
            },
            confidence,
        )) = u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .map(|d| (d, g.confidence))
        }) {
            self.begin(other, confidence, u, memory);
            self.say(preview);
        } else if phrases::is_questioning_yes(&u.text) {
            self.say(format!(
                "“{}” reads as a question, so I did not take it as a yes. {preview}",
                u.text.trim().chars().take(40).collect::<String>()
            ));
        } else {
            self.say(format!("Please answer yes or no. {preview}"));
        }
        Phase::AwaitingConfirmation { request }
    }
}
