//! `opsbot.yaml`: bot-wide settings, people and groups, checked.

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// Reads and checks `opsbot.yaml` into `self.settings` (the defaults when
    /// there is none).
    pub(super) fn check_settings(&mut self) -> Result<(), SpecError> {
        let relative = Path::new("opsbot.yaml");
        if !self.root.join(relative).exists() {
            return Ok(());
        }
        let file = read_source(self.root, relative)?;
        let Some(raw) = parse_yaml::<raw::RawSettings>(&file, &mut self.diagnostics) else {
            self.settings.unreadable = true;
            return Ok(());
        };
        self.check_understanding(&file, &raw);
        self.check_people_and_groups(&file, &raw);
        self.check_operations(&file, &raw);
        self.check_time_zones(&file, &raw);
        self.check_progress_every(&file, &raw);
        self.check_programs_outside(&file, &raw);
        self.check_redactions(&file, &raw);
        self.check_rate_limit(&file, &raw);
        self.check_expiries(&file, &raw);
        if let Some(alerts) = raw.alerts {
            self.settings.alerts = crate::alerts::check(
                alerts,
                self.root,
                (&self.settings.groups, &self.settings.people),
                &file.index,
                &mut self.diagnostics,
            );
        }
        if let Some(listen) = &raw.health_listen {
            match listen.parse::<std::net::SocketAddr>() {
                Ok(address)
                    if self.settings.alerts.as_ref().is_some_and(|a| a.listen == address) =>
                {
                    self.diagnostics.push(
                        file.index.locate("health_listen"),
                        format!("`{listen}` is the alerts listener's address, which answers /healthz, /readyz and /metrics already; remove `health_listen` or give it another port"),
                    )
                }
                Ok(address) => self.settings.health_listen = Some(address),
                Err(_) => self.diagnostics.push(
                    file.index.locate("health_listen"),
                    format!("`{listen}` is not an address with a port; expected e.g. `127.0.0.1:9096`"),
                ),
            }
        }
        if let Some(api) = raw.api {
            let api = crate::api::check(api, &file.index, &mut self.diagnostics);
            let taken = [
                self.settings.alerts.as_ref().map(|a| a.listen),
                self.settings.health_listen,
            ];
            if taken.contains(&Some(api.listen)) {
                self.diagnostics.push(
                    file.index.locate("api.listen"),
                    format!("`{}` is already the alerts or health listener's address; give the API a port of its own", api.listen),
                );
            }
            self.settings.api = Some(api);
        }
        self.settings.nlu_only = raw.nlu_only.unwrap_or(false);
        if let Some(review) = raw.review {
            self.settings.review = self.check_review(review, &file);
        }
        Ok(())
    }

    /// The name and how messages are understood: threshold, its target, the
    /// ambiguity margin, the encoder.
    fn check_understanding(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let settings = &mut self.settings;
        let diagnostics = &mut self.diagnostics;
        if let Some(name) = &raw.name {
            settings.name = name.clone();
        }
        if let Some(threshold) = raw.confidence_threshold {
            if (0.0..=1.0).contains(&threshold) {
                settings.confidence_threshold = Some(threshold);
            } else {
                diagnostics.push(
                    file.index.locate("confidence_threshold"),
                    format!("confidence_threshold {threshold} is out of range; expected a number from 0 to 1"),
                );
            }
        }
        if let Some(target) = raw.threshold_target.as_deref() {
            match ThresholdTarget::parse(target) {
                Some(target) => settings.threshold_target = target,
                None => diagnostics.push(
                    file.index.locate("threshold_target"),
                    format!("threshold_target `{target}` is not understood; expected `balanced` or `refuse at most N%` with N from 0 to 50 (of the messages the model reads right)"),
                ),
            }
        }
        if let Some(margin) = raw.ambiguity_margin {
            if (0.0..=1.0).contains(&margin) {
                settings.ambiguity_margin = margin;
            } else {
                diagnostics.push(
                    file.index.locate("ambiguity_margin"),
                    format!("ambiguity_margin {margin} is out of range; expected a number from 0 to 1 (0 never asks)"),
                );
            }
        }
        match raw.encoder.as_deref() {
            None | Some("all-MiniLM-L6-v2") => {}
            Some("none") => settings.use_encoder = false,
            Some(other) => diagnostics.push(
                file.index.locate("encoder"),
                format!("unknown encoder `{other}`; expected `all-MiniLM-L6-v2` (the default) or `none` (n-gram features only)"),
            ),
        }
    }

    /// Group and person names, each id one person's; groups widened to every
    /// id of their members.
    fn check_people_and_groups(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let settings = &mut self.settings;
        let diagnostics = &mut self.diagnostics;
        for (name, members) in &raw.groups {
            if !is_identifier(name) {
                diagnostics.push(
                    file.index.locate(&format!("groups.{name}")),
                    format!(
                        "`{name}` is not a valid group name; expected letters, digits, '_' or '-'"
                    ),
                );
            }
            settings
                .groups
                .insert(name.clone(), members.iter().cloned().collect());
        }
        for (person, ids) in &raw.people {
            let at = file.index.locate(&format!("people.{person}"));
            if !is_identifier(person) {
                diagnostics.push(
                    at.clone(),
                    format!(
                        "`{person}` is not a valid person name; expected letters, digits, '_' or '-'"
                    ),
                );
            }
            if let Err(twice) = settings.people.add(person, ids.iter().cloned()) {
                diagnostics.push(at, format!("id `{}` is listed for both `{}` and `{}`; expected each id to belong to one person", twice.id, twice.first, twice.second));
            }
        }
        settings.groups = settings.people.widen_groups(&settings.groups);
    }

    /// The bot's zone and each person's (people's zones by person, not id).
    fn check_time_zones(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        if let Some(text) = raw.time_zone.as_deref() {
            if let Some(tz) = self.check_zone(text, file.index.locate("time_zone")) {
                self.settings.time_zone = tz;
            }
        }
        for (person, text) in &raw.time_zones {
            let at = file.index.locate(&format!("time_zones.{person}"));
            if let Some(tz) = self.check_zone(text, at) {
                let person = self.settings.people.person_of(person).to_string();
                self.settings.time_zones.insert(person, tz);
            }
        }
    }

    pub(super) fn check_zone(&mut self, text: &str, at: Location) -> Option<chrono_tz::Tz> {
        let found = crate::types::parse_zone(text);
        if found.is_none() {
            self.diagnostics.push(at, format!("`{text}` is not a time zone; expected an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`"));
        }
        found
    }

    fn check_progress_every(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        match raw.progress_every.as_deref() {
            None => {}
            Some("off") => self.settings.progress_every = None,
            Some(text) => match humantime::parse_duration(text) {
                Ok(every)
                    if every >= Duration::from_secs(1) && every <= Duration::from_secs(3600) =>
                {
                    self.settings.progress_every = Some(every)
                }
                _ => self.diagnostics.push(
                    file.index.locate("progress_every"),
                    format!("progress_every `{text}` is not a duration from 1s to 1h; expected e.g. `5s`, or `off`"),
                ),
            },
        }
    }

    fn check_programs_outside(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        for (i, program) in raw.programs_outside_project.iter().enumerate() {
            match std::fs::canonicalize(self.root.join(program)) {
                Ok(path) if Path::new(program).is_absolute() => {
                    self.settings.programs_outside_project.push(path)
                }
                _ => self.diagnostics.push(
                    file.index.locate(&format!("programs_outside_project.{i}")),
                    format!("`{program}` is not an existing absolute path; expected e.g. `/usr/bin/systemctl`"),
                ),
            }
        }
    }

    fn check_redactions(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        for (i, pattern) in raw.redact.iter().enumerate() {
            match Regex::new(pattern) {
                Ok(re) => match guard::redaction_problem(&re) {
                    None => self.settings.redact.push(re),
                    Some(problem) => self
                        .diagnostics
                        .push(file.index.locate(&format!("redact.{i}")), problem),
                },
                Err(e) => self.diagnostics.push(
                    file.index.locate(&format!("redact.{i}")),
                    format!("redaction pattern is not a valid regular expression ({}); expected Rust regex syntax", e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ")),
                ),
            }
        }
    }

    fn check_rate_limit(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        if let Some(limit) = &raw.rate_limit {
            match humantime::parse_duration(&limit.per) {
                Ok(per) if limit.executions > 0 && !per.is_zero() => {
                    self.settings.rate_limit = RateLimit {
                        executions: limit.executions,
                        per,
                    }
                }
                _ => self.diagnostics.push(
                    file.index.locate("rate_limit"),
                    "rate_limit is invalid; expected `executions:` above 0 and `per:` a duration such as `1m`",
                ),
            }
        }
    }

    /// How long questions, carried-over values and confirmations wait.
    fn check_expiries(&mut self, file: &SourceFile, raw: &raw::RawSettings) {
        let settings = &mut self.settings;
        let diagnostics = &mut self.diagnostics;
        for (key, value, target) in [
            (
                "pending_expiry",
                &raw.pending_expiry,
                &mut settings.pending_expiry,
            ),
            (
                "carry_over_expiry",
                &raw.carry_over_expiry,
                &mut settings.carry_over_expiry,
            ),
            (
                "confirmation_expiry",
                &raw.confirmation_expiry,
                &mut settings.confirmation_expiry,
            ),
        ] {
            if let Some(text) = value {
                let range = if key == "carry_over_expiry" {
                    (Duration::ZERO, guard::EXPIRY_RANGE.1)
                } else {
                    guard::EXPIRY_RANGE
                };
                match humantime::parse_duration(text) {
                    Ok(d) => match guard::out_of_range(d, range) {
                        None => *target = d,
                        Some(expected) => diagnostics.push(
                            file.index.locate(key),
                            format!("{key} `{text}` is out of range; {expected}"),
                        ),
                    },
                    Err(e) => diagnostics.push(
                        file.index.locate(key),
                        format!("`{text}` is not a duration ({e}); expected e.g. `10m` or `90s`"),
                    ),
                }
            }
        }
    }

    fn check_review(&mut self, raw: raw::RawReview, file: &SourceFile) -> ReviewSettings {
        let diagnostics = &mut self.diagnostics;
        let mut review = ReviewSettings::default();
        if let Some(enabled) = raw.enabled {
            review.enabled = enabled;
        }
        if let Some(text) = raw.keep {
            match humantime::parse_duration(&text) {
                Ok(keep) if keep >= Duration::from_secs(3600) => review.keep = keep,
                _ => diagnostics.push(
                    file.index.locate("review.keep"),
                    format!(
                        "review.keep `{text}` is not a duration of at least 1h; expected e.g. `90d`"
                    ),
                ),
            }
        }
        if let Some(max) = raw.max_entries {
            if max == 0 {
                diagnostics.push(
                    file.index.locate("review.max_entries"),
                    "review.max_entries is 0; expected at least 1 (or `enabled: false` to record nothing)",
                );
            } else {
                review.max_entries = max;
            }
        }
        if let Some(below) = raw.below_confidence {
            if (0.0..=1.0).contains(&below) {
                review.below_confidence = below;
            } else {
                diagnostics.push(
                    file.index.locate("review.below_confidence"),
                    format!("review.below_confidence {below} is out of range; expected a number from 0 to 1 (0 records no understood message)"),
                );
            }
        }
        review.exclude_rooms = raw.exclude_rooms;
        review
    }
}
