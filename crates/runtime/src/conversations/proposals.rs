//! A proposal (see [`crate::proposal`]) stepped in the person's own
//! conversation: only into an idle one, only as a new request, only for a
//! dialog the proposer's scope and the person's access cover; a change ends
//! at a question or a confirmation posted in the room, never at a run.

use opsbot_dialog::phrases;
use opsbot_dialog::{step, Conversation, Effect, Input, Phase};

use super::{Conversations, Facts};
use crate::audit::{AuditOutcome, AuditRecord, BotCommand};
use crate::chat::Outbound;
use crate::command::{self, Command, Commands};
use crate::model::Loaded;
use crate::proposal::{changes_nothing, Proposal, Proposed, Refusal, RequestState};
use crate::store::Commit;
use crate::RuntimeError;

impl Conversations {
    /// Steps `proposal` in its person's conversation (called from that
    /// conversation's worker, so nothing the person says slips in between).
    pub(crate) async fn propose(
        &self,
        loaded: &std::sync::Arc<Loaded>,
        proposal: &Proposal,
    ) -> Result<Proposed, RuntimeError> {
        let proposed = self.step_proposal(loaded, proposal).await?;
        if let Proposed::Refused { refusal, reason } = &proposed {
            // Every call is in the trail: a refused one as what was asked,
            // by whom, for whom, and why not (a taken one is audited as the
            // request it became, with its proposer).
            let key = &proposal.key;
            let detail = format!("{}: {reason}", refusal.as_str());
            let mut record = AuditRecord::command(
                &loaded.project.settings,
                key,
                self.floor.now(),
                &BotCommand {
                    name: "api_proposal",
                    target: &proposal.proposer,
                    text: &proposal.text,
                    outcome: AuditOutcome::Denied,
                    detail: &detail,
                    confirmed: false,
                },
            );
            record.proposed_by = Some(proposal.proposer.clone());
            let conversation = self.floor.store.load(key)?;
            let change = Commit {
                records: vec![record],
                ..Commit::at(self.floor.now())
            };
            self.floor.commit(key, &conversation, change).await?;
        }
        Ok(proposed)
    }

    async fn step_proposal(
        &self,
        loaded: &std::sync::Arc<Loaded>,
        proposal: &Proposal,
    ) -> Result<Proposed, RuntimeError> {
        let key = &proposal.key;
        let refused = |refusal, reason: String| Ok(Proposed::Refused { refusal, reason });
        let text = command::flatten_line_breaks(&proposal.text);
        let message = match command::parse(&text, Commands::default()) {
            Command::Message(message) if message.code.is_none() => message,
            Command::TooLong(why) => return refused(Refusal::NotARequest, why),
            _ => {
                return refused(
                    Refusal::NotARequest,
                    "that is one of the bot's commands or an answer, which only a person in the room may give".into(),
                )
            }
        };
        if phrases::classify(message.text) != phrases::Answer::Other {
            return refused(
                Refusal::NotARequest,
                format!("“{}” is an answer, which only a person in the room may give; propose a request instead", message.text),
            );
        }
        let conversation = self.floor.store.load(key)?;
        if conversation.phase != Phase::Idle {
            return refused(
                Refusal::Busy,
                format!(
                    "{} has a request open in that room ({}); propose again once it is answered",
                    key.user,
                    conversation.phase_name()
                ),
            );
        }
        let understanding = self.understand(loaded, message.content).await?;
        let project = &loaded.project;
        let dialog = understanding
            .intent
            .as_ref()
            .and_then(|intent| project.dialog_for_intent(&intent.name));
        if let Some(dialog) = dialog {
            if !proposal.scope.covers(dialog) {
                return refused(
                    Refusal::Forbidden,
                    format!("this token may not propose `{}`", dialog.name),
                );
            }
            if let Err(why) =
                dialog
                    .access
                    .check_start(&project.settings.groups, &key.user, &key.room)
            {
                return refused(
                    Refusal::Forbidden,
                    format!("{} may not use `{}`: {why}", key.user, dialog.name),
                );
            }
        }
        let mut ctx = self.context(loaded, key, message.dry_run)?;
        ctx.proposed_by = Some(&proposal.proposer);
        let transition = step(project, conversation, Input::Message(&understanding), &ctx);
        // The gate in code, whatever the engine decided: a proposal never
        // runs or schedules a change by itself (a change dialog always asks
        // for a yes — `opsbot check` insists — but this does not rely on it).
        let acts = transition.effects.iter().any(|effect| match effect {
            Effect::Run { request, .. } => project
                .dialogs
                .get(&request.dialog)
                .is_none_or(|d| !d.read_only),
            Effect::Schedule(_) => true,
            _ => false,
        });
        if acts {
            tracing::warn!(proposer = %proposal.proposer, "a proposal would have run a change without a person's yes; refused");
            return refused(
                Refusal::Forbidden,
                "that would run a change without a person's confirmation".into(),
            );
        }
        let facts = Facts::of(&ctx);
        let mut said = Vec::new();
        let after = self
            .apply(
                loaded,
                key,
                transition,
                Vec::new(),
                facts,
                &mut |r: String| said.push(r),
            )
            .await?;
        let state = match &after.phase {
            Phase::Collecting { .. } | Phase::Checking { .. } => RequestState::Asking,
            Phase::AwaitingConfirmation { .. } => RequestState::AwaitingConfirmation,
            Phase::AwaitingCode { .. } => RequestState::AwaitingCode,
            Phase::AwaitingApproval { .. } => RequestState::AwaitingApproval,
            Phase::Idle => {
                return Ok(match dialog {
                    Some(dialog) if changes_nothing(dialog) => Proposed::Answered {
                        dialog: dialog.name.clone(),
                        said,
                    },
                    _ => Proposed::Refused {
                        refusal: Refusal::NotARequest,
                        reason: said.join("\n"),
                    },
                })
            }
            // Which of two requests was meant is the proposer's to say: the
            // question is not left open for the person.
            Phase::Choosing { .. } | Phase::Executing { .. } => {
                self.floor
                    .commit(key, &Conversation::default(), Commit::at(self.floor.now()))
                    .await?;
                return refused(Refusal::NotARequest, said.join("\n"));
            }
        };
        let request = after.request().expect("a pending phase holds its request");
        let (id, dialog) = (request.id.clone(), request.dialog.clone());
        let heading = format!(
            "{} proposes for {}: “{}”",
            proposal.proposer, key.user, message.text
        );
        for (n, text) in std::iter::once(heading)
            .chain(said.iter().cloned())
            .enumerate()
        {
            let posted = self
                .floor
                .announce(Outbound {
                    room: key.room.clone(),
                    text,
                    mention: (n > 0).then(|| key.user.clone()),
                })
                .await;
            if posted.is_none() && n == 0 {
                // Nobody could answer it: it does not wait.
                self.floor
                    .commit(key, &Conversation::default(), Commit::at(self.floor.now()))
                    .await?;
                return refused(
                    Refusal::Unpostable,
                    format!(
                        "the bot cannot post in {} now, so nobody could confirm it",
                        key.room
                    ),
                );
            }
        }
        Ok(Proposed::Posted {
            id,
            dialog,
            state,
            said,
        })
    }
}
