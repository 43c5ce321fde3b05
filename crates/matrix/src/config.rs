//! Matrix adapter settings: a YAML file and/or `OPSBOT_MATRIX_*` environment
//! variables (the environment wins). Secrets never appear in `Debug` output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::MatrixError;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// e.g. `http://127.0.0.1:8008`
    pub homeserver: String,
    /// The bot's full user id, e.g. `@opsbot:example.org`.
    pub user: String,
    /// Used once to log in; afterwards the saved session is reused.
    pub password: Option<String>,
    /// Instead of a password: an existing access token (with its `device_id`).
    pub access_token: Option<String>,
    pub device_id: Option<String>,
    /// Session, matrix-sdk state and crypto store live here. A relative path
    /// is taken from the project folder (not the working directory, so the
    /// bot finds its device again wherever it is started); by default
    /// `matrix/` in the state folder.
    #[serde(default)]
    pub data_dir: PathBuf,
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// Messages starting with this address the bot in group rooms (besides mentions).
    pub command_prefix: Option<String>,
    /// Who may invite the bot: user ids (`@alice:example.org`) or whole servers (`:example.org`).
    #[serde(default)]
    pub allow_invites_from: Vec<String>,
    /// Deprecated: `admins:` in opsbot.yaml. Who may reload the model and
    /// make the bot leave a room; an empty list means `allow_invites_from`.
    /// Used only where opsbot.yaml names no admins (see [`crate::deprecated`]).
    #[serde(default)]
    pub admins: Option<Vec<String>>,
    /// Deprecated: `max_message_age:` in opsbot.yaml, which wins.
    #[serde(default, with = "humantime_serde_compat")]
    pub max_message_age: Option<Duration>,
    /// Deprecated: `max_concurrent_actions:` in opsbot.yaml, which wins.
    #[serde(default)]
    pub max_concurrent_actions: Option<usize>,
    /// Timeline events per room in one sync response; more than this since the
    /// last sync are fetched with `/messages` (nothing is missed either way).
    #[serde(default = "default_timeline_limit")]
    pub sync_timeline_limit: u32,
}

fn default_display_name() -> String {
    "opsbot".into()
}

fn default_timeline_limit() -> u32 {
    50
}

mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for MatrixConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConfig")
            .field("homeserver", &self.homeserver)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("device_id", &self.device_id)
            .field("data_dir", &self.data_dir)
            .field("command_prefix", &self.command_prefix)
            .field("allow_invites_from", &self.allow_invites_from)
            .finish()
    }
}

impl MatrixConfig {
    /// Reads `path` (if given), then applies `OPSBOT_MATRIX_*` variables; a
    /// relative `data_dir` is resolved against `project`, a missing one is
    /// `matrix/` under `state`.
    pub fn load(
        path: Option<&Path>,
        project: &Path,
        state: &Path,
    ) -> Result<MatrixConfig, MatrixError> {
        let mut value: serde_yaml::Value = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                serde_yaml::from_str(&text)
                    .map_err(|e| MatrixError::Config(format!("{}: {e}", path.display())))?
            }
            None => serde_yaml::Value::Mapping(Default::default()),
        };
        let map = value.as_mapping_mut().ok_or_else(|| {
            MatrixError::Config("the Matrix configuration must be a mapping".into())
        })?;
        for (variable, key) in [
            ("OPSBOT_MATRIX_HOMESERVER", "homeserver"),
            ("OPSBOT_MATRIX_USER", "user"),
            ("OPSBOT_MATRIX_PASSWORD", "password"),
            ("OPSBOT_MATRIX_ACCESS_TOKEN", "access_token"),
            ("OPSBOT_MATRIX_DEVICE_ID", "device_id"),
            ("OPSBOT_MATRIX_DATA_DIR", "data_dir"),
            ("OPSBOT_MATRIX_PREFIX", "command_prefix"),
        ] {
            if let Ok(v) = std::env::var(variable) {
                map.insert(key.into(), v.into());
            }
        }
        if let Ok(v) = std::env::var("OPSBOT_MATRIX_ALLOW_INVITES_FROM") {
            let list: Vec<serde_yaml::Value> = v
                .split(',')
                .map(|s| s.trim().into())
                .filter(|s: &serde_yaml::Value| s.as_str() != Some(""))
                .collect();
            map.insert("allow_invites_from".into(), list.into());
        }
        let mut config: MatrixConfig =
            serde_yaml::from_value(value).map_err(|e| MatrixError::Config(e.to_string()))?;
        config.data_dir = if config.data_dir.as_os_str().is_empty() {
            state.join("matrix")
        } else {
            project.join(&config.data_dir)
        };
        if config.password.is_none()
            && config.access_token.is_none()
            && !config.data_dir.join("session.json").exists()
        {
            return Err(MatrixError::Config(
                "no credentials: give `password` (or OPSBOT_MATRIX_PASSWORD) or `access_token`"
                    .into(),
            ));
        }
        Ok(config)
    }

    /// Whether `user` may invite the bot (or, for admins, make it leave).
    pub fn may_invite(&self, user: &str) -> bool {
        matches_any(&self.allow_invites_from, user)
    }

    /// Whether `user` is an admin by this file's deprecated `admins` (an
    /// empty list: the inviters, as before the key moved); `None` when the
    /// file does not set it.
    pub fn deprecated_admin(&self, user: &str) -> Option<bool> {
        let admins = self.admins.as_ref()?;
        Some(if admins.is_empty() {
            self.may_invite(user)
        } else {
            matches_any(admins, user)
        })
    }
}

fn matches_any(list: &[String], user: &str) -> bool {
    list.iter()
        .any(|entry| entry == user || (entry.starts_with(':') && user.ends_with(entry.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_rules_take_users_and_servers() {
        let config: MatrixConfig = serde_yaml::from_str("homeserver: http://x\nuser: '@b:x'\npassword: p\nallow_invites_from: ['@alice:a', ':b.org']\n").unwrap();
        assert!(config.may_invite("@alice:a"));
        assert!(config.may_invite("@carol:b.org"));
        assert!(!config.may_invite("@carol:evil.b.org.example"));
        assert!(!config.may_invite("@mallory:a"));
        assert_eq!(
            config.deprecated_admin("@alice:a"),
            None,
            "admins are opsbot.yaml's unless this file sets them"
        );
        let old: MatrixConfig = serde_yaml::from_str("homeserver: http://x\nuser: '@b:x'\npassword: p\nallow_invites_from: ['@alice:a', ':b.org']\nadmins: []\nmax_message_age: 10m\nmax_concurrent_actions: 2\n").unwrap();
        assert_eq!(
            old.deprecated_admin("@carol:b.org"),
            Some(true),
            "an empty admins list is the inviters, as before"
        );
        assert_eq!(old.deprecated_admin("@mallory:a"), Some(false));
        assert_eq!(old.max_message_age, Some(Duration::from_secs(600)));
        assert_eq!(old.max_concurrent_actions, Some(2));
        assert!(
            !format!("{config:?}").contains("\"p\""),
            "the password is redacted"
        );
    }

    #[test]
    fn the_data_folder_is_found_from_the_project_not_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("matrix.yaml");
        let (project, state) = (Path::new("/srv/bot"), Path::new("/var/lib/bot"));
        std::fs::write(&file, "homeserver: http://x\nuser: '@b:x'\npassword: p\n").unwrap();
        let config = MatrixConfig::load(Some(&file), project, state).unwrap();
        assert_eq!(config.data_dir, state.join("matrix"));
        assert_eq!(config.sync_timeline_limit, 50);
        std::fs::write(
            &file,
            "homeserver: http://x\nuser: '@b:x'\npassword: p\ndata_dir: keep/matrix\n",
        )
        .unwrap();
        let config = MatrixConfig::load(Some(&file), project, state).unwrap();
        assert_eq!(config.data_dir, project.join("keep/matrix"));
        std::fs::write(
            &file,
            "homeserver: http://x\nuser: '@b:x'\npassword: p\ndata_dir: /abs/m\n",
        )
        .unwrap();
        let config = MatrixConfig::load(Some(&file), project, state).unwrap();
        assert_eq!(config.data_dir, Path::new("/abs/m"));
    }
}
