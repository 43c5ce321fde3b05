//! A real Prometheus Alertmanager (Debian's package, `make alertmanager`) on
//! loopback, delivering webhooks to the bot under test.

use std::path::PathBuf;
use std::process::{Child, Command};

use crate::alerts::{wait_for, TOKEN};
use crate::homeserver::free_port;
use crate::util::http;

/// Alertmanager on a free loopback port, without cluster gossip, killed when dropped.
pub(crate) struct Alertmanager {
    _dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Alertmanager {
    pub(crate) fn start(webhook_port: u16) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("am.yml");
        std::fs::write(
            &config,
            format!(
                "route:
  receiver: opsbot
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: opsbot
    webhook_configs:
      - url: http://127.0.0.1:{webhook_port}/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
        let child = Command::new(alertmanager_binary())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let alertmanager = Alertmanager {
            _dir: dir,
            port,
            child,
        };
        wait_for("Alertmanager to be ready", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/-/ready", &[], b"").0 == 200
        });
        alertmanager
    }

    /// Posts alerts to Alertmanager's own API: (name, instance, severity, resolved).
    pub(crate) fn post(&self, alerts: &[(&str, &str, &str, bool)]) {
        let now = chrono::Utc::now();
        let body: Vec<serde_json::Value> = alerts
            .iter()
            .map(|(name, instance, severity, resolved)| {
                let mut alert = serde_json::json!({
                    "labels": {"alertname": name, "instance": instance, "severity": severity, "datname": "orders"},
                    "annotations": {"summary": format!("{name} on {instance}")},
                    "startsAt": (now - chrono::Duration::minutes(7)).to_rfc3339(),
                });
                if *resolved {
                    alert["endsAt"] = serde_json::json!(now.to_rfc3339());
                }
                alert
            })
            .collect();
        let (status, answer) = http(
            self.port,
            "POST",
            "/api/v2/alerts",
            &[("Content-Type", "application/json")],
            serde_json::to_string(&body).unwrap().as_bytes(),
        );
        assert_eq!(status, 200, "Alertmanager refused the alerts: {answer}");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alertmanager_binary() -> PathBuf {
    let binary = PathBuf::from("/usr/bin/prometheus-alertmanager");
    assert!(
        binary.exists(),
        "Alertmanager is missing: `make alertmanager` installs Debian's prometheus-alertmanager"
    );
    binary
}
