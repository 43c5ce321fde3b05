//! Is a room message meant for the bot, and what does it say once the address
//! ("@opsbot:server", "opsbot:", the command prefix) is taken off?

/// How the bot can be addressed in a group room.
#[derive(Debug, Clone)]
pub struct Addressing {
    pub user_id: String,
    pub localpart: String,
    pub display_name: String,
    pub prefix: Option<String>,
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
    /// direct-message room every message is for the bot.
    pub fn strip<'a>(&self, body: &'a str, direct: bool) -> Option<&'a str> {
        let body = body.trim();
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
                        if rest.is_empty() || rest.starts_with([':', ',', ' ', '\t']) {
                            return Some(rest.trim_start_matches([':', ',', ' ', '\t']).trim());
                        }
                    }
                }
            }
        }
        direct.then_some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_names_and_prefixes() {
        let a = Addressing::new("@opsbot:localhost", "OpsBot", Some("!ops".into()));
        assert_eq!(
            a.strip("@opsbot:localhost restart apache", false),
            Some("restart apache")
        );
        assert_eq!(
            a.strip("opsbot: restart apache", false),
            Some("restart apache")
        );
        assert_eq!(
            a.strip("OpsBot, restart apache", false),
            Some("restart apache")
        );
        assert_eq!(
            a.strip("@opsbot restart apache", false),
            Some("restart apache")
        );
        assert_eq!(
            a.strip("!ops restart apache", false),
            Some("restart apache")
        );
        assert_eq!(a.strip("restart apache", false), None);
        assert_eq!(a.strip("opsbotty restart", false), None);
        assert_eq!(a.strip("restart apache", true), Some("restart apache"));
        assert_eq!(a.strip("opsbot: yes", true), Some("yes"));
    }
}
