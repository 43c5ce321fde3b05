//! A scheduled request that is due, stepped in its requester's conversation
//! (`Input::Due`): the engine checks it again as of now and runs it; the step's
//! commit forgets the job, so it never fires twice.

use opsbot_dialog::{step, Input};

use super::{Conversations, Facts};
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::{ConversationKey, Job};
use crate::RuntimeError;

impl Conversations {
    /// Steps `job` in `key`'s conversation when it is still scheduled and
    /// due (it may have fired already from an earlier wake-up, or been
    /// cancelled); returns whether it was.
    pub(crate) async fn due(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        job: &Job,
        reply: &mut Reply<'_>,
    ) -> Result<bool, RuntimeError> {
        let now = self.floor.now();
        // One read of this job, not of every job: a thousand due at once
        // must not cost a million.
        let current = self
            .floor
            .store
            .job(job.id())?
            .filter(|j| j.due_at() <= now);
        let Some(request) = current.as_ref().and_then(Job::request) else {
            return Ok(false);
        };
        tracing::info!(room = %key.room, user = %key.user, request = %request.id, "scheduled request due");
        let conversation = self.load(key, reply)?;
        let ctx = self.context(loaded, key, false)?;
        let transition = step(&loaded.project, conversation, Input::Due(request), &ctx);
        self.apply(loaded, key, transition, Vec::new(), Facts::of(&ctx), reply)
            .await?;
        Ok(true)
    }
}
