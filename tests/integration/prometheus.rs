//! A real Prometheus (Debian's package, `make prometheus`) on loopback,
//! scraping the bot's `/metrics` and answering PromQL over its HTTP API.

use std::process::{Child, Command};

use crate::alerts::wait_for;
use crate::homeserver::free_port;
use crate::util::http;

/// Prometheus on a free loopback port scraping `target_port` every second,
/// killed when dropped.
pub(crate) struct Prometheus {
    _dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Prometheus {
    pub(crate) fn start(target_port: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: opsbot
    static_configs:
      - targets: ['127.0.0.1:{target_port}']
"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (make prometheus)");
        let prometheus = Prometheus {
            _dir: dir,
            port,
            child,
        };
        wait_for("Prometheus to be ready", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/-/ready", &[], b"").0 == 200
        });
        prometheus
    }

    /// The value of an instant PromQL query with one result, once
    /// Prometheus has one (it scrapes every second).
    pub(crate) fn value(&self, query: &str) -> f64 {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let path = format!("/api/v1/query?query={encoded}");
        let found = std::cell::Cell::new(None);
        wait_for(&format!("Prometheus to answer {query}"), || {
            let (status, body) = http(self.port, "GET", &path, &[], b"");
            if status != 200 {
                return false;
            }
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            found.set(
                answer["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok()),
            );
            found.get().is_some()
        });
        found.get().unwrap()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
