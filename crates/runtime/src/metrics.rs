//! What the bot counts for Prometheus (the `prometheus` crate, text format):
//! messages by door and outcome, intents and their confidence, requests by
//! dialog and outcome (from the audit records every commit writes, so a
//! refusal, an approval, a two-factor code or a run is counted once, where it
//! is recorded), action durations, alerts, scheduled work, and the door's own
//! failures. Label values come from bounded sets only — door names, the
//! project's intents and dialogs, outcomes — never a user id or free text.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::audit::AuditRecord;

/// Seconds, for latencies from a millisecond to a minute.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// Seconds, for actions from a tenth of a second to ten minutes.
const ACTION_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0];

/// The bot's counters and histograms, registered once.
pub struct Metrics {
    registry: Registry,
    /// `opsbot_messages_total{door, outcome}`: handled, ignored, failed.
    pub messages: IntCounterVec,
    /// `opsbot_message_seconds`: from a message's turn in its conversation
    /// to its last reply.
    pub message_seconds: Histogram,
    /// `opsbot_intents_total{intent}`: what the NLU read (`none`: not
    /// understood).
    pub intents: IntCounterVec,
    /// `opsbot_intent_confidence`: the confidence of each reading.
    pub confidence: Histogram,
    /// `opsbot_nlu_seconds`: one reading.
    pub nlu_seconds: Histogram,
    /// `opsbot_requests_total{dialog, outcome}`: every audited outcome
    /// (succeeded, failed, denied, rejected, expired, code_rejected, …).
    pub requests: IntCounterVec,
    /// `opsbot_action_seconds{dialog}`: actions that ran.
    pub action_seconds: HistogramVec,
    /// `opsbot_alert_notifications_total{status}`: alert notifications
    /// accepted (firing, resolved).
    pub alert_notifications: IntCounterVec,
    /// `opsbot_alert_deliveries_total{outcome}`: alert messages posted or
    /// failed.
    pub alert_deliveries: IntCounterVec,
    /// `opsbot_scheduled_total{kind}`: scheduled work that fell due
    /// (request, reminder, post).
    pub scheduled: IntCounterVec,
    /// `opsbot_door_failures_total{door, what}`: a door's sync or send
    /// failures and retries (e.g. `matrix`, `sync`).
    pub door_failures: IntCounterVec,
    /// `opsbot_proposals_total{result}`: proposals from the API and MCP
    /// (posted, answered, or the refusal: forbidden, busy, …).
    pub proposals: IntCounterVec,
    /// `opsbot_model_stale`: 1 while the intent model served was trained
    /// before `intents/` last changed (served until `opsbot train`).
    pub model_stale: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter");
            registry
                .register(Box::new(c.clone()))
                .expect("registered once");
            c
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .expect("a valid histogram");
            registry
                .register(Box::new(h.clone()))
                .expect("registered once");
            h
        };
        let messages = counter(
            "opsbot_messages_total",
            "Messages received, by door and outcome.",
            &["door", "outcome"],
        );
        let intents = counter(
            "opsbot_intents_total",
            "Messages read as each intent (none: not understood).",
            &["intent"],
        );
        let requests = counter(
            "opsbot_requests_total",
            "Audited outcomes of requests and commands, by dialog.",
            &["dialog", "outcome"],
        );
        let alert_notifications = counter(
            "opsbot_alert_notifications_total",
            "Alert notifications accepted, by status.",
            &["status"],
        );
        let alert_deliveries = counter(
            "opsbot_alert_deliveries_total",
            "Alert messages posted to rooms, by outcome.",
            &["outcome"],
        );
        let scheduled = counter(
            "opsbot_scheduled_total",
            "Scheduled work that fell due, by kind.",
            &["kind"],
        );
        let door_failures = counter(
            "opsbot_door_failures_total",
            "Failures and retries of a door's connection, by door and what failed.",
            &["door", "what"],
        );
        let proposals = counter(
            "opsbot_proposals_total",
            "Proposals from the HTTP API and MCP, by result (posted, answered, or why refused).",
            &["result"],
        );
        let message_seconds = histogram(
            "opsbot_message_seconds",
            "Time from a message's turn to its last reply.",
            &LATENCY_BUCKETS,
        );
        let nlu_seconds = histogram(
            "opsbot_nlu_seconds",
            "Time to read one message.",
            &LATENCY_BUCKETS,
        );
        let confidence = histogram(
            "opsbot_intent_confidence",
            "Confidence of each reading.",
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
        );
        let action_seconds = HistogramVec::new(
            HistogramOpts::new("opsbot_action_seconds", "Duration of actions that ran.")
                .buckets(ACTION_BUCKETS.to_vec()),
            &["dialog"],
        )
        .expect("a valid histogram");
        registry
            .register(Box::new(action_seconds.clone()))
            .expect("registered once");
        let model_stale = IntGauge::new(
            "opsbot_model_stale",
            "1 while the intent model served was trained before intents/ last changed.",
        )
        .expect("a valid gauge");
        registry
            .register(Box::new(model_stale.clone()))
            .expect("registered once");
        Metrics {
            registry,
            messages,
            message_seconds,
            intents,
            confidence,
            nlu_seconds,
            requests,
            action_seconds,
            alert_notifications,
            alert_deliveries,
            scheduled,
            door_failures,
            proposals,
            model_stale,
        }
    }

    /// Counts one failure or retry of a door's connection ("matrix",
    /// "sync" | "send_retry" | "send_given_up" | "rate_limited").
    pub fn door_failure(&self, door: &str, what: &str) {
        self.door_failures.with_label_values(&[door, what]).inc();
    }

    /// Counts what a commit recorded: each record's dialog and outcome, and
    /// an action's duration.
    pub fn observe_records(&self, records: &[AuditRecord]) {
        for record in records {
            self.requests
                .with_label_values(&[record.dialog.as_str(), record.outcome.as_str()])
                .inc();
            if let (Some(_), Some(ms)) = (&record.command, record.duration_ms) {
                self.action_seconds
                    .with_label_values(&[record.dialog.as_str()])
                    .observe(ms as f64 / 1000.0);
            }
        }
    }

    /// Everything in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%error, "cannot encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_each_series_with_bounded_labels() {
        let metrics = Metrics::new();
        metrics
            .messages
            .with_label_values(&["shell", "handled"])
            .inc();
        metrics.confidence.observe(0.93);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE opsbot_messages_total counter"),
            "{text}"
        );
        assert!(
            text.contains("opsbot_messages_total{door=\"shell\",outcome=\"handled\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("opsbot_intent_confidence_bucket{le=\"0.95\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE opsbot_message_seconds histogram"),
            "{text}"
        );
    }
}
