//! Who may give the bot's admin commands ("reload the model", "leave this
//! room") for one message: the builder's override where there is one (the
//! shell's operator), otherwise `admins:` in the opsbot.yaml of the snapshot
//! the message is handled with, so a reloaded project's admins apply at once.

use opsbot_spec::Settings;

use crate::runtime::IsAdmin;

pub(crate) struct Admins<'a> {
    /// The builder's override, if any.
    pub overriding: Option<&'a IsAdmin>,
    /// The settings of the message's snapshot.
    pub settings: &'a Settings,
}

impl Admins<'_> {
    /// `None` when `user` is an admin; otherwise `refusal`, with a hint for
    /// the author when nobody could be one (opsbot.yaml names no admins).
    pub fn refuse(&self, user: &str, refusal: &str) -> Option<String> {
        match self.overriding {
            Some(is_admin) if is_admin(user) => None,
            Some(_) => Some(refusal.to_string()),
            None if self.settings.is_admin(user) => None,
            None if self.settings.admins.is_none() => Some(format!(
                "{refusal} This bot has none yet: opsbot.yaml names them under `admins:`."
            )),
            None => Some(refusal.to_string()),
        }
    }
}
