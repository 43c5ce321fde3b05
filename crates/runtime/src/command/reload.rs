//! "reload the model" from an admin: the newest trained model (with the
//! project it was trained on) replaces the one in use, or the admin hears why
//! the current one stays.

use super::admins::Admins;
use crate::model::Model;
use crate::reply::Reply;
use crate::store::ConversationKey;

pub(crate) async fn apply(
    model: &Model,
    admins: &Admins<'_>,
    key: &ConversationKey,
    reply: &mut Reply<'_>,
) {
    if let Some(refusal) =
        admins.refuse(&key.user, "Only an admin of this bot can reload the model.")
    {
        reply.say(refusal);
        return;
    }
    let not_enabled = "Reloading the model is not enabled here; restart the bot or send it SIGHUP.";
    match model.reload().await {
        None => reply.say(not_enabled.into()),
        Some(Ok(summary)) => reply.say(summary),
        Some(Err(error)) => reply.say(format!(
            "I could not reload the model, so I am still using the current one: {error}"
        )),
    };
}
