//! Is a room message meant for the bot, and what does it say once the address
//! is taken off? In front: "@opsbot:server", "@opsbot", "opsbot:", "OpsBot,",
//! the command prefix. Anywhere: the full id or an @-name ("hey @opsbot who is
//! on call", "who is on call @opsbot"). With an intentional mention (the
//! bot in `m.mentions`, as an Element pill sends it) the bare name is also
//! taken off wherever it stands, since the pill's text is the display name.

/// How the bot can be addressed in a group room.
#[derive(Debug, Clone)]
pub struct Addressing {
    pub user_id: String,
    pub localpart: String,
    pub display_name: String,
    pub prefix: Option<String>,
}

/// Characters that may stand right after a name that addresses the bot.
fn ends_a_name(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with([':', ',', ' ', '\t', '\n', '\r', '!', '?', '.', ';'])
}

fn starts_a_name(before: &str) -> bool {
    before.is_empty()
        || before.ends_with(|c: char| c.is_whitespace() || matches!(c, '(' | '[' | '"' | '“'))
}

/// Finds `name` in `body` as a whole word (case-insensitive): its byte range.
fn find_word(body: &str, name: &str) -> Option<(usize, usize)> {
    if name.is_empty() {
        return None;
    }
    let lower = body.to_lowercase();
    let needle = name.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII; only then give up.
    if lower.len() != body.len() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = lower[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        if starts_a_name(&body[..start]) && ends_a_name(&body[end..]) {
            return Some((start, end));
        }
        from = end;
    }
    None
}

/// `body` without `start..end` and a ':' or ',' right after it, spaces and
/// punctuation tidied ("who is on call, @opsbot?" → "who is on call?").
fn cut(body: &str, start: usize, end: usize) -> String {
    let before = body[..start].trim_end();
    let rest = body[end..].trim_start_matches([':', ',']).trim_start();
    let joined = if rest.is_empty() || rest.starts_with(['?', '!', '.', ';']) {
        format!("{}{rest}", before.trim_end_matches(','))
    } else if before.is_empty() {
        rest.to_string()
    } else {
        format!("{before} {rest}")
    };
    joined
        .trim()
        .trim_start_matches([',', ':'])
        .trim()
        .to_string()
}

impl Addressing {
    pub fn new(user_id: &str, display_name: &str, prefix: Option<String>) -> Addressing {
        let localpart = user_id
            .trim_start_matches('@')
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        Addressing {
            user_id: user_id.to_string(),
            localpart,
            display_name: display_name.to_string(),
            prefix,
        }
    }

    /// The message without its address; `None` when it is not for the bot. In a
    /// direct-message room every message is for the bot; `mentioned`: the
    /// event's `m.mentions` names the bot.
    pub fn strip(&self, body: &str, direct: bool, mentioned: bool) -> Option<String> {
        let body = body.trim();
        if let Some(rest) = self.strip_front(body) {
            return Some(rest.to_string());
        }
        // An @-name anywhere: the full id first, so "@opsbot:localhost" is
        // taken whole rather than as "@opsbot" followed by ":localhost".
        let at_names = [
            self.user_id.clone(),
            format!("@{}", self.localpart),
            format!("@{}", self.display_name),
        ];
        for name in &at_names {
            if let Some((start, end)) = find_word(body, name) {
                return Some(cut(body, start, end));
            }
        }
        if mentioned {
            for name in [&self.display_name, &self.localpart] {
                if let Some((start, end)) = find_word(body, name) {
                    return Some(cut(body, start, end));
                }
            }
            return Some(body.to_string());
        }
        direct.then(|| body.to_string())
    }

    /// The message after a name or prefix in front of it.
    fn strip_front<'a>(&self, body: &'a str) -> Option<&'a str> {
        let names = [
            Some(self.user_id.as_str()),
            Some(self.display_name.as_str()),
            Some(self.localpart.as_str()),
            self.prefix.as_deref(),
        ];
        for name in names.into_iter().flatten().filter(|n| !n.is_empty()) {
            let with_at = format!("@{name}");
            for candidate in [name, with_at.as_str()] {
                if let Some(head) = body.get(..candidate.len()) {
                    if head.eq_ignore_ascii_case(candidate) {
                        let rest = &body[candidate.len()..];
                        // The name must end here: "opsbotty" is not "opsbot".
                        if rest.is_empty() || rest.starts_with([':', ',', ' ', '\t', '\n', '\r']) {
                            return Some(rest.trim_start_matches([':', ',']).trim());
                        }
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(a: &Addressing, body: &str) -> Option<String> {
        a.strip(body, false, false)
    }

    #[test]
    fn mentions_names_and_prefixes_in_front() {
        let a = Addressing::new("@opsbot:localhost", "OpsBot", Some("!ops".into()));
        for (body, said) in [
            ("@opsbot:localhost restart apache", "restart apache"),
            ("opsbot: restart apache", "restart apache"),
            ("OpsBot, restart apache", "restart apache"),
            ("@opsbot restart apache", "restart apache"),
            ("!ops restart apache", "restart apache"),
            ("opsbot:\nrestart apache", "restart apache"),
        ] {
            assert_eq!(strip(&a, body).as_deref(), Some(said), "{body:?}");
        }
        assert_eq!(strip(&a, "restart apache"), None);
        assert_eq!(strip(&a, "opsbotty restart"), None);
        assert_eq!(
            a.strip("restart apache", true, false).as_deref(),
            Some("restart apache")
        );
        assert_eq!(a.strip("opsbot: yes", true, false).as_deref(), Some("yes"));
    }

    #[test]
    fn an_at_mention_anywhere_addresses_the_bot() {
        let a = Addressing::new("@opsbot:localhost", "OpsBot", None);
        for (body, said) in [
            ("hey @opsbot who is on call", "hey who is on call"),
            ("who is on call @opsbot", "who is on call"),
            ("who is on call, @opsbot?", "who is on call?"),
            ("restart apache @opsbot:localhost", "restart apache"),
            ("please @OpsBot: restart redis", "please restart redis"),
        ] {
            assert_eq!(strip(&a, body).as_deref(), Some(said), "{body:?}");
        }
        // Talking about the bot, or a longer name, is not addressing it.
        assert_eq!(strip(&a, "is opsbot down again"), None);
        assert_eq!(strip(&a, "ask @opsbotty instead"), None);
        assert_eq!(strip(&a, "mail me@opsbot.example"), None);
    }

    #[test]
    fn an_intentional_mention_takes_the_pill_text_off_wherever_it_stands() {
        let a = Addressing::new("@opsbot:localhost", "Ops Bot", None);
        for (body, said) in [
            ("who is on call Ops Bot", "who is on call"),
            ("hey Ops Bot, restart apache", "hey restart apache"),
            ("restart apache opsbot", "restart apache"),
            ("restart apache", "restart apache"),
        ] {
            assert_eq!(
                a.strip(body, false, true).as_deref(),
                Some(said),
                "{body:?}"
            );
        }
        assert_eq!(
            a.strip("who is on call Ops Bot", false, false),
            None,
            "without the mention a bare name at the end is chatter"
        );
    }
}
