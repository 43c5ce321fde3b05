//! "leave this room" from an admin: the bot says goodbye and leaves through
//! the door's chat port. Only a door that can leave makes it a command.

use super::admins::Admins;
use crate::chat::Outbound;
use crate::floor::Floor;
use crate::reply::Reply;
use crate::store::ConversationKey;

/// Whether a message asks the bot to leave the room it is said in.
pub fn is_leave_request(text: &str) -> bool {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_lowercase();
    matches!(
        t.as_str(),
        "leave this room" | "please leave this room" | "leave the room" | "please leave"
    )
}

pub(crate) async fn apply(
    floor: &Floor,
    admins: &Admins<'_>,
    key: &ConversationKey,
    reply: &mut Reply<'_>,
) {
    if let Some(refusal) = admins.refuse(&key.user, "Only an admin may ask me to leave this room.")
    {
        reply.say(refusal);
        return;
    }
    let Some(chat) = floor.chat() else {
        return;
    };
    // Said (and sent) before leaving: a room left first cannot be told.
    let said = chat
        .send(Outbound {
            room: key.room.clone(),
            text: "Leaving this room. Invite me again if you need me.".into(),
            mention: Some(key.user.clone()),
        })
        .await;
    if said.is_none() {
        tracing::warn!(room = %key.room, "could not say goodbye before leaving");
    }
    if !chat.leave(&key.room).await {
        tracing::warn!(room = %key.room, "could not leave the room");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_plain_request_is_a_leave_request() {
        assert!(super::is_leave_request("Please leave this room."));
        assert!(super::is_leave_request(" leave the room! "));
        assert!(!super::is_leave_request(
            "leave this room alone and restart apache"
        ));
    }
}
