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
use crate::proposal::{changes_nothing, Asked, Proposal, Proposed, Refusal, RequestState};
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
        self.floor
            .metrics
            .proposals
            .with_label_values(&[proposed.label()])
            .inc();
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
                    text: &proposal.asked.shown(),
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
        // In words: (what the NLU reads, what is shown, dry run).
        let words = match &proposal.asked {
            Asked::Words(text) => {
                let text = command::flatten_line_breaks(text);
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
                Some((
                    message.content.to_string(),
                    message.text.to_string(),
                    message.dry_run,
                ))
            }
            Asked::Given(_) => None,
        };
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
        let project = &loaded.project;
        let (understanding, dialog) = match (&proposal.asked, &words) {
            (Asked::Given(given), _) => match project.dialogs.get(&given.dialog) {
                Some(dialog) => (None, Some(dialog)),
                None => {
                    return refused(
                        Refusal::Invalid,
                        format!(
                            "there is no dialog named “{}”; GET /v1/dialogs lists those this token may propose",
                            given.dialog
                        ),
                    )
                }
            },
            (Asked::Words(_), Some((content, _, _))) => {
                let understanding = self.understand(loaded, content).await?;
                let dialog = understanding
                    .intent
                    .as_ref()
                    .and_then(|intent| project.dialog_for_intent(&intent.name));
                (Some(understanding), dialog)
            }
            (Asked::Words(_), None) => unreachable!("words are read above"),
        };
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
        let dry_run = words.as_ref().is_some_and(|(_, _, dry_run)| *dry_run);
        let mut ctx = self.context(loaded, key, dry_run)?;
        ctx.proposed_by = Some(&proposal.proposer);
        let input = match (&proposal.asked, &understanding) {
            (Asked::Given(given), _) => Input::Given(given),
            (_, Some(understanding)) => Input::Message(understanding),
            (Asked::Words(_), None) => unreachable!("words are understood above"),
        };
        let transition = step(project, conversation, input, &ctx);
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
                    // Values given that do not fit are the proposer's to
                    // mend; words not taken as a request are not one.
                    _ => Proposed::Refused {
                        refusal: match proposal.asked {
                            Asked::Given(_) => Refusal::Invalid,
                            Asked::Words(_) => Refusal::NotARequest,
                        },
                        reason: said.join("\n"),
                    },
                });
            }
            // Which of two requests was meant is the proposer's to say: the
            // question is not left open for the person.
            Phase::Choosing { .. } | Phase::Executing { .. } | Phase::RunbookPaused { .. } => {
                self.floor
                    .commit(key, &Conversation::default(), Commit::at(self.floor.now()))
                    .await?;
                return refused(Refusal::NotARequest, said.join("\n"));
            }
        };
        let request = after.request().expect("a pending phase holds its request");
        let (id, dialog) = (request.id.clone(), request.dialog.clone());
        let shown = match words {
            Some((_, text, _)) => text,
            None => proposal.asked.shown(),
        };
        let heading = format!("{} proposes for {}: “{shown}”", proposal.proposer, key.user);
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
