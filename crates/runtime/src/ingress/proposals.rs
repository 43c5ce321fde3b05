//! The way in for doors that can only propose (see [`crate::proposal`]): a
//! proposal is stepped in its person's conversation worker, in order with
//! what the person says in chat, and its state is read back by id.

use opsbot_dialog::{Phase, Request};
use tokio::sync::oneshot;

use super::Ingress;
use crate::audit::AuditOutcome;
use crate::key::ConversationKey;
use crate::proposal::{Proposal, Proposed, RequestState, RequestStatus};
use crate::store::Work;
use crate::RuntimeError;

impl Ingress {
    /// Steps `proposal` in its person's conversation and says what became
    /// of it (posted, answered, or refused with nothing changed).
    pub async fn propose(&self, proposal: Proposal) -> Result<Proposed, RuntimeError> {
        let this = self.clone();
        let (done, result) = oneshot::channel();
        self.queues.push(proposal.key.clone(), async move {
            let outcome = match this.services() {
                Ok(services) => {
                    let loaded = services.model.snapshot();
                    let outcome = services.conversations.propose(&loaded, &proposal).await;
                    drop(services);
                    outcome
                }
                Err(e) => Err(e),
            };
            let _ = done.send(outcome);
        });
        result
            .await
            .map_err(|_| RuntimeError::Internal("the proposal was dropped".into()))?
    }

    /// Where the request `id` of the person of `key` stands: waiting in the
    /// conversation, scheduled, or ended as the audit trail says; `None` when
    /// none of them knows it (another person's request included).
    pub fn request_status(
        &self,
        key: &ConversationKey,
        id: &str,
    ) -> Result<Option<RequestStatus>, RuntimeError> {
        let services = self.services()?;
        let store = &services.floor.store;
        let conversation = store.load(key)?;
        if let Some(request) = conversation.request().filter(|r| r.id == id) {
            let state = match &conversation.phase {
                Phase::AwaitingConfirmation { .. } => RequestState::AwaitingConfirmation,
                Phase::AwaitingCode { .. } => RequestState::AwaitingCode,
                Phase::AwaitingApproval { .. } => RequestState::AwaitingApproval,
                Phase::Executing { .. } => RequestState::Running,
                _ => RequestState::Asking,
            };
            return Ok(Some(pending(request, state)));
        }
        if let Some(job) = store.job(id)?.filter(|job| job.key == *key) {
            if let Work::Request(request) = &job.work {
                return Ok(Some(pending(request, RequestState::Scheduled)));
            }
        }
        for record in store.audit_newest_first() {
            let record = record?;
            let still_open = matches!(
                record.outcome,
                AuditOutcome::CodeRejected | AuditOutcome::Scheduled
            );
            if record.request_id != id || record.user != key.user || still_open {
                continue;
            }
            return Ok(Some(RequestStatus {
                id: id.to_string(),
                dialog: record.dialog.clone(),
                state: RequestState::Ended,
                outcome: Some(record.outcome),
                confirmed_by: record.confirmed_by.clone(),
                declined_by: record.declined_by.clone(),
                approved_by: record.approved_by.clone(),
                exit_code: record.exit_code,
                detail: record.output.clone().or(record.reason.clone()),
            }));
        }
        Ok(None)
    }
}

fn pending(request: &Request, state: RequestState) -> RequestStatus {
    RequestStatus {
        id: request.id.clone(),
        dialog: request.dialog.clone(),
        state,
        outcome: None,
        confirmed_by: request.confirmed_by.clone(),
        declined_by: None,
        approved_by: request.approved_by.clone(),
        exit_code: None,
        detail: None,
    }
}
