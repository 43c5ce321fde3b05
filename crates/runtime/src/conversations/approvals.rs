//! Decisions on other people's requests: only an explicit "approve"/"deny",
//! named when more than one thing could be meant; a yes word is never one.
//! The decision is found in the approver's worker ([`Conversations::route_approval`])
//! and stepped in the requester's ([`Conversations::decide`]), so each
//! conversation is only ever changed by its own ordered worker.

use crate::command::ApprovalCommand;
use opsbot_dialog::{step, Input, Pause, Phase};

use super::Conversations;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::ConversationKey;
use crate::RuntimeError;

/// Where an approval command goes.
pub(crate) enum Approval {
    /// Nowhere: the approver is told this (nothing waits, or say which).
    Told(String),
    /// To the requester's conversation, for this request.
    Decide {
        requester: ConversationKey,
        request_id: String,
    },
}

impl Conversations {
    /// Requests of other people waiting for approval in `room`: (requester,
    /// request id, dialog), those whose id starts with `code` when given.
    fn waiting_for_approval(
        &self,
        room: &str,
        code: Option<&str>,
    ) -> Result<Vec<(ConversationKey, String, String)>, RuntimeError> {
        Ok(self
            .floor
            .store
            .conversations_in(room)?
            .into_iter()
            .filter_map(|(key, conversation)| match conversation.phase {
                Phase::AwaitingApproval { request }
                | Phase::RunbookPaused {
                    request,
                    pause: Pause::Approval,
                } => {
                    let matches = code.is_none_or(|code| request.id.starts_with(code));
                    matches.then(|| (key, request.id.clone(), request.dialog.clone()))
                }
                _ => None,
            })
            .collect())
    }

    /// A yes word from someone with nothing pending, while others' requests
    /// wait for approval: never an approval, but say how to give one.
    pub(super) fn approval_hint(
        &self,
        loaded: &Loaded,
        speaker: &ConversationKey,
    ) -> Result<Option<String>, RuntimeError> {
        let settings = &loaded.project.settings;
        let others: Vec<String> = self
            .waiting_for_approval(&speaker.room, None)?
            .into_iter()
            .filter(|(key, _, _)| !settings.same_person(&key.user, &speaker.user))
            .map(|(key, id, dialog)| format!("“approve {}” ({}: {dialog})", short(&id), key.user))
            .collect();
        Ok((!others.is_empty()).then(|| {
            format!(
                "Nothing of yours is waiting for a yes, and a yes is never an approval of someone else's request. To approve one, say {}.",
                others.join(" or ")
            )
        }))
    }

    /// "approve 7f3a" from `approver`: finds the request waiting in this room.
    /// A bare "approve" decides only when exactly one request waits and the
    /// speaker has nothing of their own pending; otherwise the request must be
    /// named.
    pub(crate) fn route_approval(
        &self,
        loaded: &Loaded,
        approver: &ConversationKey,
        command: &ApprovalCommand,
    ) -> Result<Approval, RuntimeError> {
        let waiting = self.waiting_for_approval(&approver.room, command.code.as_deref())?;
        let own = self
            .floor
            .store
            .load(approver)
            .map(|c| c.phase)
            .unwrap_or(Phase::Idle);
        let own_pending = !matches!(own, Phase::Idle | Phase::Executing { .. });
        let others: Vec<_> = waiting
            .iter()
            .filter(|(key, _, _)| {
                !loaded
                    .project
                    .settings
                    .same_person(&key.user, &approver.user)
            })
            .collect();
        if command.code.is_none() && own_pending && !others.is_empty() {
            let verb = if command.approve { "approve" } else { "deny" };
            let choices: Vec<String> = others
                .iter()
                .map(|(key, id, dialog)| format!("“{verb} {}” ({}: {dialog})", short(id), key.user))
                .collect();
            return Ok(Approval::Told(format!(
                "You have a request of your own waiting for your answer, so I will not guess what “{verb}” means. To decide on another request, name it: {}.",
                choices.join(", ")
            )));
        }
        let (requester, request_id) = match waiting.as_slice() {
            [] => {
                return Ok(Approval::Told(match &command.code {
                    Some(code) => {
                        format!("No request {code} is waiting for approval in this room.")
                    }
                    None => "No request is waiting for approval in this room.".to_string(),
                }));
            }
            [(key, id, _)] => (key.clone(), id.clone()),
            several => {
                let verb = if command.approve { "approve" } else { "deny" };
                let choices: Vec<String> = several
                    .iter()
                    .map(|(key, id, dialog)| {
                        format!("“{verb} {}” ({}: {dialog})", short(id), key.user)
                    })
                    .collect();
                return Ok(Approval::Told(format!(
                    "Several requests are waiting for approval; say which: {}.",
                    choices.join(", ")
                )));
            }
        };
        Ok(Approval::Decide {
            requester,
            request_id,
        })
    }

    /// Steps the requester's conversation with `approver`'s decision on
    /// `request_id` (in the requester's worker).
    pub(crate) async fn decide(
        &self,
        loaded: &Loaded,
        approver: &ConversationKey,
        requester: &ConversationKey,
        request_id: &str,
        approve: bool,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let conversation = self.load(requester, reply)?;
        // It may have moved on since the approval was routed.
        let waiting = match &conversation.phase {
            Phase::AwaitingApproval { request }
            | Phase::RunbookPaused {
                request,
                pause: Pause::Approval,
            } => request.id == request_id,
            _ => false,
        };
        if !waiting {
            reply.say("That request is no longer waiting for approval.".into());
            return Ok(());
        }
        tracing::info!(room = %approver.room, approver = %approver.user, requester = %requester.user, approve, "approval decision");
        let ctx = self.context(loaded, requester, false)?;
        let input = Input::Approval {
            approver: &approver.user,
            approve,
        };
        let transition = step(&loaded.project, conversation, input, &ctx);
        self.apply(
            loaded,
            requester,
            transition,
            Vec::new(),
            super::Facts::of(&ctx),
            reply,
        )
        .await?;
        Ok(())
    }
}

/// The short form of a request id people type ("approve 7f3a").
fn short(id: &str) -> &str {
    id.get(..4).unwrap_or(id)
}
