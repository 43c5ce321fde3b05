//! The bot's settings a Matrix configuration may still hold from before they
//! moved to opsbot.yaml (issue 33): `admins`, `max_message_age` and
//! `max_concurrent_actions`. Existing deployments keep working: each stands
//! in for the runtime's own setting only where opsbot.yaml does not say, and
//! the start-up warns once which keys to move. The door itself passes no
//! policy to the runtime.

use std::sync::Arc;
use std::time::Duration;

use opsbot_runtime::runtime::IsAdmin;
use opsbot_runtime::RuntimeBuilder;
use opsbot_spec::Settings;

use crate::config::MatrixConfig;

/// What a Matrix configuration's deprecated keys change, given the project's
/// settings.
pub struct StandIns {
    /// Who is an admin by the Matrix configuration (opsbot.yaml names none).
    pub admins: Option<Arc<IsAdmin>>,
    /// How old a message may be (opsbot.yaml does not say).
    pub max_message_age: Option<Duration>,
    /// How many actions may run at once (opsbot.yaml does not say).
    pub action_limit: Option<usize>,
    /// Keys set in the Matrix configuration and not in opsbot.yaml: used.
    pub used: Vec<&'static str>,
    /// Keys set in both: opsbot.yaml's apply.
    pub ignored: Vec<&'static str>,
}

impl StandIns {
    pub fn new(config: &MatrixConfig, settings: &Settings) -> StandIns {
        let mut stand_ins = StandIns {
            admins: None,
            max_message_age: None,
            action_limit: None,
            used: Vec::new(),
            ignored: Vec::new(),
        };
        if config.admins.is_some() {
            if settings.admins.is_some() {
                stand_ins.ignored.push("admins");
            } else {
                let config = config.clone();
                stand_ins.admins = Some(Arc::new(move |user: &str| {
                    config.deprecated_admin(user).unwrap_or(false)
                }));
                stand_ins.used.push("admins");
            }
        } else if settings.admins.is_none() && !config.allow_invites_from.is_empty() {
            // As before the keys moved: with no admins named anywhere, those
            // who may invite the bot are its admins (until opsbot.yaml says).
            let config = config.clone();
            stand_ins.admins = Some(Arc::new(move |user: &str| config.may_invite(user)));
            stand_ins.used.push("allow_invites_from (as the admins)");
        }
        if let Some(age) = config.max_message_age {
            if settings.max_message_age.is_some() {
                stand_ins.ignored.push("max_message_age");
            } else {
                stand_ins.max_message_age = Some(age);
                stand_ins.used.push("max_message_age");
            }
        }
        if let Some(limit) = config.max_concurrent_actions {
            if settings.max_concurrent_actions.is_some() {
                stand_ins.ignored.push("max_concurrent_actions");
            } else {
                stand_ins.action_limit = Some(limit);
                stand_ins.used.push("max_concurrent_actions");
            }
        }
        stand_ins
    }

    /// Logs, once, what the Matrix configuration still sets that belongs in
    /// opsbot.yaml (nothing when it sets none of it).
    pub fn warn(&self) {
        if !self.used.is_empty() {
            tracing::warn!(
                keys = %self.used.join(", "),
                "the Matrix configuration sets bot settings that moved to opsbot.yaml; they are used until opsbot.yaml sets them, so move them there"
            );
        }
        if !self.ignored.is_empty() {
            tracing::warn!(
                keys = %self.ignored.join(", "),
                "the Matrix configuration sets bot settings that opsbot.yaml also sets; opsbot.yaml's apply, so remove them from the Matrix configuration"
            );
        }
    }

    /// The runtime with the stand-ins in place of the project's settings.
    pub fn apply(self, mut builder: RuntimeBuilder) -> RuntimeBuilder {
        if let Some(admins) = self.admins {
            builder = builder.admins(admins);
        }
        if let Some(age) = self.max_message_age {
            builder = builder.max_message_age(age);
        }
        if let Some(limit) = self.action_limit {
            builder = builder.action_limit(limit);
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use opsbot_spec::Allow;

    use super::*;

    fn config(extra: &str) -> MatrixConfig {
        serde_yaml::from_str(&format!(
            "homeserver: http://x\nuser: '@b:x'\npassword: p\nallow_invites_from: ['@alice:a', ':b.org']\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn without_admins_anywhere_the_inviters_stay_the_admins_as_before() {
        let stand_ins = StandIns::new(&config(""), &Settings::default());
        let is_admin = stand_ins.admins.as_ref().expect("the inviters, as before");
        assert!(is_admin("@alice:a") && is_admin("@carol:b.org"));
        assert!(!is_admin("@mallory:a"));
        assert_eq!(
            (stand_ins.max_message_age, stand_ins.action_limit),
            (None, None)
        );
        assert_eq!(stand_ins.used, ["allow_invites_from (as the admins)"]);
        // Once opsbot.yaml names admins, the inviters are no longer them.
        let said = Settings {
            admins: Some(Allow::Everyone),
            ..Settings::default()
        };
        let stand_ins = StandIns::new(&config(""), &said);
        assert!(stand_ins.admins.is_none() && stand_ins.used.is_empty());
    }

    #[test]
    fn the_old_keys_stand_in_only_where_opsbot_yaml_does_not_say() {
        let old = config("admins: []\nmax_message_age: 10m\nmax_concurrent_actions: 2\n");
        let stand_ins = StandIns::new(&old, &Settings::default());
        assert_eq!(
            stand_ins.used,
            ["admins", "max_message_age", "max_concurrent_actions"]
        );
        let is_admin = stand_ins.admins.as_ref().unwrap();
        // An empty list is the inviters, as before the keys moved.
        assert!(is_admin("@alice:a") && is_admin("@carol:b.org"));
        assert!(!is_admin("@mallory:a"));
        assert_eq!(stand_ins.max_message_age, Some(Duration::from_secs(600)));
        assert_eq!(stand_ins.action_limit, Some(2));

        let said = Settings {
            admins: Some(Allow::Everyone),
            max_message_age: Some(Duration::from_secs(60)),
            max_concurrent_actions: Some(8),
            ..Settings::default()
        };
        let stand_ins = StandIns::new(&old, &said);
        assert!(stand_ins.admins.is_none());
        assert_eq!(
            (stand_ins.max_message_age, stand_ins.action_limit),
            (None, None)
        );
        assert!(stand_ins.used.is_empty());
        assert_eq!(
            stand_ins.ignored,
            ["admins", "max_message_age", "max_concurrent_actions"]
        );

        // Named admins are those, not the inviters.
        let named = config("admins: ['@dave:a']\n");
        let stand_ins = StandIns::new(&named, &Settings::default());
        let is_admin = stand_ins.admins.as_ref().unwrap();
        assert!(is_admin("@dave:a") && !is_admin("@alice:a"));
        assert_eq!(stand_ins.used, ["admins"]);
    }
}
