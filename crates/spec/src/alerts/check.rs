//! Checking `alerts:`: the listener (address, secrets, limits), each route
//! (name, rooms, label matches, severity, slots, rate limit, mention,
//! summary), quiet hours, hooks and mute rules. Every mistake is collected
//! with its position; a section with any has no settings.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use super::*;
use crate::diag::{Diagnostics, PositionIndex};

/// Route slots must name a slot some dialog has, or they would never fill one.
pub(crate) fn check_slots(
    settings: &AlertSettings,
    dialog_slots: impl Fn(&str) -> bool,
    diagnostics: &mut Diagnostics,
) {
    for route in &settings.routes {
        for (slot, at) in &route.slots_at {
            if !dialog_slots(slot) {
                diagnostics.push(
                    at.clone(),
                    format!("route `{}` fills a slot `{slot}` that no dialog has; expected the name of a dialog's slot", route.name),
                );
            }
        }
    }
}

/// The alert settings, or `None` when the listener cannot be set up; every
/// mistake goes into `diagnostics`.
pub(crate) fn check(
    raw: RawAlerts,
    root: &Path,
    (groups, people): (&crate::Groups, &crate::People),
    index: &PositionIndex,
    diagnostics: &mut Diagnostics,
) -> Option<AlertSettings> {
    let RawAlerts {
        listen,
        listen_beyond_loopback,
        token_env,
        token_file,
        hmac_secret_env,
        hmac_secret_file,
        max_body,
        max_connections,
        read_timeout,
        context_window,
        quiet_hours,
        hooks,
        routes,
        mute,
    } = raw;
    let mut checker = AlertsChecker {
        root,
        index,
        diagnostics,
    };
    let listen = checker.check_listen(listen.as_deref(), listen_beyond_loopback);
    let named_a_secret = token_env.is_some()
        || token_file.is_some()
        || hmac_secret_env.is_some()
        || hmac_secret_file.is_some();
    let token = checker.check_secret(token_env, token_file, "token");
    let hmac_secret = checker.check_secret(hmac_secret_env, hmac_secret_file, "hmac_secret");
    if !named_a_secret {
        checker.diagnostics.push(
            index.locate("alerts"),
            "alerts need a way to authenticate senders; expected `token_env` or `token_file` (a bearer token) and/or `hmac_secret_env` or `hmac_secret_file` (X-Hub-Signature-256)",
        );
    }
    let (max_body, max_connections) = checker.check_sizes(max_body, max_connections);
    let read_timeout = checker.check_read_timeout(read_timeout.as_deref());
    let context_window = checker.check_context_window(context_window.as_deref());
    let routes = checker.check_routes(routes);
    // Checked before the listen address decides whether there are settings,
    // so every mistake is reported at once.
    let quiet_hours = noise::check_quiet_hours(quiet_hours, index, checker.diagnostics);
    let hooks = hooks::check_hooks(hooks, index, checker.diagnostics);
    let mute = mute::check_mute(mute, groups, people, index, checker.diagnostics);
    Some(AlertSettings {
        listen: listen?,
        token,
        hmac_secret,
        max_body,
        max_connections,
        read_timeout,
        context_window,
        quiet_hours,
        hooks,
        routes,
        mute,
    })
}

/// What checking `alerts:` needs: the project folder (rota files), the
/// positions in `opsbot.yaml`, and the diagnostics collected.
struct AlertsChecker<'a> {
    root: &'a Path,
    index: &'a PositionIndex,
    diagnostics: &'a mut Diagnostics,
}

impl AlertsChecker<'_> {
    /// A socket address, on loopback unless `listen_beyond_loopback` says so.
    fn check_listen(&mut self, text: Option<&str>, beyond_loopback: bool) -> Option<SocketAddr> {
        let listen_text = text.unwrap_or(DEFAULT_LISTEN);
        match listen_text.parse::<SocketAddr>() {
            Ok(addr) if !addr.ip().is_loopback() && !beyond_loopback => {
                self.diagnostics.push(
                    self.index.locate("alerts.listen"),
                    format!("`{listen_text}` is not a loopback address; webhooks carry operational data, so set `listen_beyond_loopback: true` to listen there (and put TLS in front)"),
                );
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                self.diagnostics.push(
                    self.index.locate("alerts.listen"),
                    format!(
                        "`{listen_text}` is not an address with a port; expected e.g. `127.0.0.1:9095`"
                    ),
                );
                None
            }
        }
    }

    /// `{what}_env` or `{what}_file`, not both, and no empty variable name.
    fn check_secret(
        &mut self,
        env: Option<String>,
        file: Option<String>,
        what: &str,
    ) -> Option<Secret> {
        match (env, file) {
            (Some(_), Some(_)) => {
                self.diagnostics.push(
                    self.index.locate(&format!("alerts.{what}_file")),
                    format!("give the {what} once: `{what}_env` or `{what}_file`, not both"),
                );
                None
            }
            (Some(name), None) if name.trim().is_empty() => {
                self.diagnostics.push(
                    self.index.locate(&format!("alerts.{what}_env")),
                    format!("`{what}_env` is empty; expected the name of an environment variable"),
                );
                None
            }
            (Some(name), None) => Some(Secret::Env(name)),
            (None, Some(path)) => Some(Secret::File(PathBuf::from(path))),
            (None, None) => None,
        }
    }

    /// `max_body` and `max_connections` within their ranges.
    fn check_sizes(
        &mut self,
        max_body: Option<usize>,
        max_connections: Option<usize>,
    ) -> (usize, usize) {
        let max_body = max_body.unwrap_or(DEFAULT_MAX_BODY);
        if !(1024..=64 * 1024 * 1024).contains(&max_body) {
            self.diagnostics.push(
                self.index.locate("alerts.max_body"),
                format!(
                    "max_body {max_body} is out of range; expected bytes from 1024 to 67108864"
                ),
            );
        }
        let max_connections = max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(4..=4096).contains(&max_connections) {
            self.diagnostics.push(
                self.index.locate("alerts.max_connections"),
                format!("max_connections {max_connections} is out of range; expected 4 to 4096"),
            );
        }
        (max_body, max_connections)
    }

    fn check_read_timeout(&mut self, text: Option<&str>) -> Duration {
        match text.map(humantime::parse_duration) {
            None => DEFAULT_READ_TIMEOUT,
            Some(Ok(timeout))
                if (Duration::from_millis(100)..=Duration::from_secs(300)).contains(&timeout) =>
            {
                timeout
            }
            Some(_) => {
                self.diagnostics.push(
                    self.index.locate("alerts.read_timeout"),
                    "read_timeout is not a duration from 100ms to 5m; expected e.g. `10s`",
                );
                DEFAULT_READ_TIMEOUT
            }
        }
    }

    fn check_context_window(&mut self, text: Option<&str>) -> Duration {
        match text.map(humantime::parse_duration) {
            None => DEFAULT_CONTEXT_WINDOW,
            Some(Ok(window)) if window <= Duration::from_secs(24 * 3600) => window,
            Some(_) => {
                self.diagnostics.push(
                    self.index.locate("alerts.context_window"),
                    "context_window is not a duration up to 24h; expected e.g. `15m`, or `0s` for replies only",
                );
                DEFAULT_CONTEXT_WINDOW
            }
        }
    }

    /// Every route, each with a name of its own.
    fn check_routes(&mut self, routes: Vec<RawRoute>) -> Vec<AlertRoute> {
        let mut names = BTreeSet::new();
        routes
            .into_iter()
            .enumerate()
            .map(|(i, route)| self.check_route(i, route, &mut names))
            .collect()
    }

    fn check_route(
        &mut self,
        i: usize,
        route: RawRoute,
        names: &mut BTreeSet<String>,
    ) -> AlertRoute {
        let at = format!("alerts.routes.{i}");
        let name = route.name.unwrap_or_else(|| format!("route {}", i + 1));
        if !names.insert(name.clone()) {
            self.diagnostics.push(
                self.index.locate(&format!("{at}.name")),
                format!(
                    "route name `{name}` is used twice; expected each route to have its own name"
                ),
            );
        }
        self.check_rooms(&at, &name, &route.rooms);
        let labels = self.check_labels(&at, route.equals, route.match_re);
        let min_severity = route.min_severity.and_then(|s| {
            let rank = severity_rank(&s);
            if rank.is_none() {
                self.diagnostics.push(
                    self.index.locate(&format!("{at}.min_severity")),
                    format!(
                        "unknown severity `{s}`; expected one of {}",
                        SEVERITIES.join(", ")
                    ),
                );
            }
            rank
        });
        let (slots, slots_at) = self.check_route_slots(&at, route.slots);
        let rate_limit = route.rate_limit.and_then(|raw| {
            noise::check_rate_limit(
                raw,
                &format!("{at}.rate_limit"),
                self.index,
                self.diagnostics,
            )
        });
        let mention = route.mention.and_then(|m| self.check_mention(&at, m));
        let summary = route
            .summary
            .filter(|text| match LabelTemplate::parse(text) {
                Ok(_) => true,
                Err(why) => {
                    self.diagnostics
                        .push(self.index.locate(&format!("{at}.summary")), why);
                    false
                }
            });
        AlertRoute {
            name,
            labels,
            min_severity,
            rooms: route.rooms,
            continue_matching: route.continue_matching,
            slots,
            slots_at,
            rate_limit,
            mention,
            summary,
        }
    }

    /// At least one room, each a plausible room id.
    fn check_rooms(&mut self, at: &str, name: &str, rooms: &[String]) {
        if rooms.is_empty() {
            self.diagnostics.push(
                self.index.locate(at),
                format!(
                    "route `{name}` names no rooms; expected `rooms:` with at least one room id"
                ),
            );
        }
        for (j, room) in rooms.iter().enumerate() {
            if room.trim().is_empty() || room.chars().any(char::is_control) {
                self.diagnostics.push(
                    self.index.locate(&format!("{at}.rooms.{j}")),
                    "a room id is empty or holds control characters; expected e.g. `!abc:example.org`",
                );
            }
        }
    }

    /// Exact label values, then whole-value regular expressions.
    fn check_labels(
        &mut self,
        at: &str,
        equals: BTreeMap<String, String>,
        match_re: BTreeMap<String, String>,
    ) -> Vec<(String, LabelMatch)> {
        let mut labels: Vec<(String, LabelMatch)> = equals
            .into_iter()
            .map(|(label, value)| (label, LabelMatch::Equals(value)))
            .collect();
        for (label, pattern) in match_re {
            match Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => labels.push((label, LabelMatch::Regex(re))),
                Err(e) => self.diagnostics.push(
                    self.index.locate(&format!("{at}.match_re.{label}")),
                    format!(
                        "`{pattern}` is not a valid regular expression ({}); expected Rust regex syntax",
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches("error: ")
                    ),
                ),
            }
        }
        labels
    }

    /// Each slot's template over the alert, and where it was written (to
    /// check it against the dialogs once they are known).
    #[allow(clippy::type_complexity)]
    fn check_route_slots(
        &mut self,
        at: &str,
        raw: BTreeMap<String, String>,
    ) -> (
        BTreeMap<String, LabelTemplate>,
        BTreeMap<String, crate::diag::Location>,
    ) {
        let mut slots = BTreeMap::new();
        let mut slots_at = BTreeMap::new();
        for (slot, template) in raw {
            slots_at.insert(
                slot.clone(),
                self.index.locate(&format!("{at}.slots.{slot}")),
            );
            match LabelTemplate::parse(&template) {
                Ok(parsed) => {
                    slots.insert(slot, parsed);
                }
                Err(why) => self
                    .diagnostics
                    .push(self.index.locate(&format!("{at}.slots.{slot}")), why),
            }
        }
        (slots, slots_at)
    }

    /// A fixed mention, or a rota file in the project with a key template and
    /// a column counted from 1.
    fn check_mention(&mut self, route_at: &str, raw: RawMention) -> Option<Mention> {
        let (file, key, column) = match raw {
            RawMention::Fixed(who) => return Some(Mention::Fixed(who)),
            RawMention::Rota { file, key, column } => (file, key, column),
        };
        let at = format!("{route_at}.mention");
        match LabelTemplate::parse(&key) {
            Ok(_) if column == 0 => {
                self.diagnostics.push(
                    self.index.locate(&at),
                    "mention column counts from 1; expected e.g. `column: 3`",
                );
                None
            }
            Ok(_) if !self.root.join(&file).is_file() => {
                self.diagnostics.push(
                    self.index.locate(&format!("{at}.file")),
                    format!("`{file}` is not a file in the project; expected a tab-separated rota such as data/oncall.tsv"),
                );
                None
            }
            Ok(key) => Some(Mention::Rota {
                file: PathBuf::from(file),
                key,
                column,
            }),
            Err(why) => {
                self.diagnostics
                    .push(self.index.locate(&format!("{at}.match")), why);
                None
            }
        }
    }
}
