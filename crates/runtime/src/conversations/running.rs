//! "what is running?": what runs, or waits in the middle of a run, in the
//! room, told from each conversation's stored state (a runbook's steps as
//! journalled, the step it is at and what it waits for). Anyone in the room
//! may ask; a person's own question waits behind their running step, as
//! every message of theirs does.

use crate::command::running::Asked;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::ConversationKey;
use crate::RuntimeError;

use super::Conversations;

impl Conversations {
    /// Answers `text` if it asks what is running; `false`: it does not (or
    /// names nothing that runs), and is read as a message.
    pub(crate) fn answer_running(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        text: &str,
        reply: &mut Reply<'_>,
    ) -> Result<bool, RuntimeError> {
        let Some(asked) = crate::command::running::parse(text) else {
            return Ok(false);
        };
        let project = &loaded.project;
        let zone = self
            .zone_override
            .lock()
            .expect("zone lock")
            .unwrap_or_else(|| project.settings.zone_of(&key.user));
        let mut running: Vec<(String, String)> = Vec::new();
        for (owner, conversation) in self.floor.store.conversations_in(&key.room)? {
            let Some(status) = opsbot_dialog::status(project, &conversation, zone) else {
                continue;
            };
            if let (Asked::About(words), Some(request)) = (&asked, conversation.request()) {
                let dialog = project.dialogs.get(&request.dialog);
                let about = format!(
                    "{} {} {} {}",
                    request.dialog,
                    request.intent,
                    dialog.map_or("", |d| d.description.as_str()),
                    request
                        .slot_values()
                        .into_values()
                        .collect::<Vec<_>>()
                        .join(" ")
                )
                .to_lowercase();
                if !crate::command::running::names(words, &about) {
                    continue;
                }
            }
            let whose = if project.settings.same_person(&owner.user, &key.user) {
                "Your".to_string()
            } else {
                format!("{}'s", owner.user)
            };
            running.push((owner.user.clone(), format!("{whose} {status}")));
        }
        if running.is_empty() {
            if matches!(asked, Asked::About(_)) {
                return Ok(false);
            }
            reply.say("Nothing is running or waiting in the middle of a run in this room.".into());
            return Ok(true);
        }
        running.sort();
        let lines: Vec<String> = running.into_iter().map(|(_, line)| line).collect();
        reply.say(lines.join("\n"));
        Ok(true)
    }
}
