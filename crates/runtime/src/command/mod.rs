//! One parse of each message: what kind of input it is is decided once, here,
//! before any policy runs, and the ingress is a match on the result. Each
//! built-in command that needs more than a call into one service has its
//! own file with its own apply.

use opsbot_dialog::phrases;

use crate::alerts::MuteCommand;

pub(crate) mod admins;
pub(crate) mod leave;
pub(crate) mod reload;
pub mod remind;
pub(crate) mod running;
pub mod schedule;
pub mod words;

pub use words::ApprovalCommand;

/// What the parse needs to know about the bot: which commands it has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands {
    /// The project has alerts: "mute …" is the bot's own command.
    pub mutes: bool,
    /// The door can leave a room: "leave this room" is the bot's own command.
    pub leave: bool,
    /// "remind me …" is the bot's own command: no intent of the project
    /// has examples that start with "remind".
    pub reminders: bool,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'t> {
    /// Over the length limit: refused (with this reply) before anything reads it.
    TooLong(String),
    /// "approve 7f3a", "deny": a decision on another person's request.
    Approval(ApprovalCommand),
    /// "reload the model": an admin's request for the newest model.
    Reload,
    /// "leave this room": an admin's request.
    Leave,
    /// "what is scheduled?", "cancel 7f3a", "move it to 22:00".
    Schedule(schedule::ScheduleCommand),
    /// "remind me to check the backups in 2 hours".
    Remind(remind::RemindCommand),
    /// "mute web-01 for 2 hours", "unmute …", "what is muted" (or why the
    /// mute cannot be read).
    Mute(Result<MuteCommand, String>),
    /// Anything else, for the speaker's own conversation.
    Message(Message<'t>),
}

/// A message for the speaker's own conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'t> {
    /// The whole message, trimmed (surrounding whitespace carries no meaning);
    /// line breaks inside it are already spaces ([`flatten_line_breaks`]).
    pub text: &'t str,
    /// The text for the NLU: without a "dry run:" prefix.
    pub content: &'t str,
    pub dry_run: bool,
    /// Six digits: a TOTP code, if the conversation waits for one.
    pub code: Option<String>,
}

/// A message with its line breaks and tabs as spaces: a person who pressed
/// Shift+Enter ("restart apache⏎on web-01", or `\r\n` from some clients)
/// means the same as on one line. Other control characters stay, to be refused.
pub fn flatten_line_breaks(text: &str) -> std::borrow::Cow<'_, str> {
    let breaks = |c: char| {
        matches!(
            c,
            '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    };
    if !text.contains(breaks) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut flat = String::with_capacity(text.len());
    for c in text.chars() {
        if breaks(c) {
            // "\r\n" and runs of breaks become one space.
            if !flat.ends_with(' ') {
                flat.push(' ');
            }
        } else {
            flat.push(c);
        }
    }
    std::borrow::Cow::Owned(flat)
}

/// Parses a message once (line breaks already flattened).
pub fn parse(text: &str, commands: Commands) -> Command<'_> {
    if let Some(refusal) = opsbot_dialog::overlong_reply(text) {
        return Command::TooLong(refusal);
    }
    let text = text.trim();
    if let Some(command) = words::approval_command(text) {
        return Command::Approval(command);
    }
    if words::is_reload_command(text) {
        return Command::Reload;
    }
    if commands.leave && leave::is_leave_request(text) {
        return Command::Leave;
    }
    if let Some(command) = schedule::parse(text) {
        return Command::Schedule(command);
    }
    if let Some(command) = remind::parse(text).filter(|_| commands.reminders) {
        return Command::Remind(command);
    }
    // Mutes are the bot's own words where it has alerts; elsewhere "mute …"
    // is for the project's dialogs.
    if let Some(mute) = crate::alerts::parse_mute(text).filter(|_| commands.mutes) {
        return Command::Mute(mute);
    }
    let (dry_run, content) = words::strip_dry_run(text);
    Command::Message(Message {
        text,
        content,
        dry_run,
        code: phrases::totp_code(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_spaces() {
        assert_eq!(
            flatten_line_breaks("restart apache\r\non web-01"),
            "restart apache on web-01"
        );
        assert_eq!(
            flatten_line_breaks("deploy shop\n\n1.2\tto qa\u{2028}now"),
            "deploy shop 1.2 to qa now"
        );
        assert_eq!(flatten_line_breaks("bell\u{7}"), "bell\u{7}");
        assert!(matches!(
            flatten_line_breaks("one line"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn each_kind_is_told_apart_once() {
        assert_eq!(
            parse(" approve 7f3a ", Commands::default()),
            Command::Approval(ApprovalCommand {
                approve: true,
                code: Some("7f3a".into())
            })
        );
        assert_eq!(
            parse("reload the model", Commands::default()),
            Command::Reload
        );
        assert!(matches!(
            parse(&"x".repeat(1 << 20), Commands::default()),
            Command::TooLong(_)
        ));
        // The limit comes first: a long approval is still too long.
        assert!(matches!(
            parse(
                &format!("approve {}", "f".repeat(3000)),
                Commands::default()
            ),
            Command::TooLong(_)
        ));
        let Command::Message(m) = parse("dry run: deploy shop 1.2 to qa\n", Commands::default())
        else {
            panic!()
        };
        assert_eq!(
            (m.text, m.content, m.dry_run, m.code),
            (
                "dry run: deploy shop 1.2 to qa",
                "deploy shop 1.2 to qa",
                true,
                None
            )
        );
        let Command::Message(m) = parse("123 456", Commands::default()) else {
            panic!()
        };
        assert_eq!(m.code.as_deref(), Some("123456"));
        // Leaving and mutes are commands only where the bot has them.
        let all = Commands {
            mutes: true,
            leave: true,
            reminders: true,
        };
        assert!(matches!(
            parse("remind me to check the backups in 2 hours", all),
            Command::Remind(_)
        ));
        assert!(matches!(
            parse(
                "remind me to check the backups in 2 hours",
                Commands::default()
            ),
            Command::Message(_)
        ));
        assert_eq!(parse("leave this room", all), Command::Leave);
        assert!(matches!(
            parse("leave this room", Commands::default()),
            Command::Message(_)
        ));
        assert!(matches!(
            parse("mute web-01 for 2 hours", all),
            Command::Mute(Ok(_))
        ));
        assert!(matches!(
            parse("mute web-01 for 2 hours", Commands::default()),
            Command::Message(_)
        ));
        // "lgtm" is a yes word for the speaker's own question, never an approval.
        assert!(matches!(
            parse("lgtm", Commands::default()),
            Command::Message(_)
        ));
    }
}
