//! "reload the model" from an admin: the newest trained model (with the
//! project it was trained on) replaces the one in use, or the admin hears why
//! the current one stays.

use crate::model::Model;
use crate::reply::Reply;
use crate::runtime::IsAdmin;
use crate::store::ConversationKey;

pub(crate) async fn apply(
    model: &Model,
    is_admin: Option<&IsAdmin>,
    key: &ConversationKey,
    reply: &mut Reply<'_>,
) {
    let not_enabled = "Reloading the model is not enabled here; restart the bot or send it SIGHUP.";
    let Some(is_admin) = is_admin else {
        reply.say(not_enabled.into());
        return;
    };
    if !is_admin(&key.user) {
        reply.say("Only an admin of this bot can reload the model.".into());
        return;
    }
    match model.reload().await {
        None => reply.say(not_enabled.into()),
        Some(Ok(summary)) => reply.say(summary),
        Some(Err(error)) => reply.say(format!(
            "I could not reload the model, so I am still using the current one: {error}"
        )),
    };
}
