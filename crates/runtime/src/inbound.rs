//! One parse of each message: what kind of input it is is decided once, here,
//! before any policy runs, and `Bot::handle` is a match on the result.

use opsbot_dialog::phrases::{self, ApprovalCommand};

/// A message as an adapter received it: whose, which (an adapter id makes it
/// handled at most once), the text, and when it was sent with how old it may
/// be to be acted on (a bot that was offline does not act on stale requests).
#[derive(Debug, Clone)]
pub struct Envelope<'t> {
    pub key: crate::ConversationKey,
    pub message_id: Option<&'t str>,
    pub text: &'t str,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub max_age: Option<std::time::Duration>,
    /// The bot's message this one answers (a reply to it, or in its thread),
    /// as the adapter's message id: a request about an alert takes its values.
    pub replying_to: Option<&'t str>,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound<'t> {
    /// Over the length limit: refused (with this reply) before anything reads it.
    TooLong(String),
    /// "approve 7f3a", "deny": a decision on another person's request.
    Approval(ApprovalCommand),
    /// "reload the model": an admin's request for the newest model.
    Reload,
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

/// Parses a message once.
pub fn parse(text: &str) -> Inbound<'_> {
    if let Some(refusal) = opsbot_dialog::overlong_reply(text) {
        return Inbound::TooLong(refusal);
    }
    let text = text.trim();
    if let Some(command) = phrases::approval_command(text) {
        return Inbound::Approval(command);
    }
    if phrases::is_reload_command(text) {
        return Inbound::Reload;
    }
    let (dry_run, content) = phrases::strip_dry_run(text);
    Inbound::Message(Message {
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
            parse(" approve 7f3a "),
            Inbound::Approval(ApprovalCommand {
                approve: true,
                code: Some("7f3a".into())
            })
        );
        assert_eq!(parse("reload the model"), Inbound::Reload);
        assert!(matches!(parse(&"x".repeat(1 << 20)), Inbound::TooLong(_)));
        // The limit comes first: a long approval is still too long.
        assert!(matches!(
            parse(&format!("approve {}", "f".repeat(3000))),
            Inbound::TooLong(_)
        ));
        let Inbound::Message(m) = parse("dry run: deploy shop 1.2 to qa\n") else {
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
        let Inbound::Message(m) = parse("123 456") else {
            panic!()
        };
        assert_eq!(m.code.as_deref(), Some("123456"));
        // "lgtm" is a yes word for the speaker's own question, never an approval.
        assert!(matches!(parse("lgtm"), Inbound::Message(_)));
    }
}
