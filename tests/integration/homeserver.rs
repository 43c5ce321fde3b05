//! What the end-to-end tests share: a real Synapse homeserver started on a
//! free loopback port and the real `opsbot run` process; the people with
//! their real matrix-sdk clients are in `person.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use crate::person::{Message, Person};
use crate::util::{repo, Fixture};

pub(crate) const BOT: &str = "@opsbot:localhost";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const WAIT: Duration = Duration::from_secs(40);

/// The virtualenv's Python, creating it (with Synapse from PyPI) when missing.
pub(crate) fn synapse_python() -> PathBuf {
    let venv = repo().join(".venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import synapse"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        assert!(
            Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .unwrap()
                .success(),
            "creating {}",
            venv.display()
        );
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "matrix-synapse>=1.163,<2"])
            .status()
            .unwrap();
        assert!(pip.success(), "pip install matrix-synapse failed");
    }
    python
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_matrix/client/versions HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}

/// A Synapse homeserver on loopback, killed when dropped.
pub(crate) struct Synapse {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    pub(crate) python: PathBuf,
    pub(crate) child: Option<Child>,
}

/// The homeserver's message rate limit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageLimit {
    /// High enough never to be met: the tests are about other things.
    Unlimited,
    /// Synapse's own default (0.2 messages a second, bursts of 10).
    Stock,
}

impl Synapse {
    pub(crate) fn start() -> Synapse {
        Synapse::start_with(MessageLimit::Unlimited)
    }

    pub(crate) fn start_with(limit: MessageLimit) -> Synapse {
        let python = synapse_python();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hs.yaml");
        let generated = Command::new(&python)
            .args([
                "-m",
                "synapse.app.homeserver",
                "--server-name",
                "localhost",
                "--config-path",
            ])
            .arg(&config)
            .arg("--data-directory")
            .arg(dir.path())
            .args(["--generate-config", "--report-stats=no"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            generated.status.success(),
            "generating the Synapse config: {}",
            String::from_utf8_lossy(&generated.stderr)
        );
        let port = free_port();
        let mut yaml: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let overrides: serde_yaml::Value = serde_yaml::from_str(&format!(
            "listeners:
  - port: {port}
    tls: false
    type: http
    x_forwarded: false
    bind_addresses: ['127.0.0.1']
    resources: [{{names: [client], compress: false}}]
trusted_key_servers: []
suppress_key_server_warning: true
enable_registration: false
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
  per_issuer: {{per_second: 1000, burst_count: 1000}}
"
        ))
        .unwrap();
        if limit == MessageLimit::Unlimited {
            yaml.as_mapping_mut().unwrap().insert(
                "rc_message".into(),
                serde_yaml::from_str("{per_second: 1000, burst_count: 1000}").unwrap(),
            );
        }
        for (key, value) in overrides.as_mapping().unwrap() {
            yaml.as_mapping_mut()
                .unwrap()
                .insert(key.clone(), value.clone());
        }
        std::fs::write(&config, serde_yaml::to_string(&yaml).unwrap()).unwrap();
        let mut synapse = Synapse {
            dir,
            port,
            python,
            child: None,
        };
        synapse.launch();
        synapse
    }

    pub(crate) fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("synapse.out")).unwrap();
        let child = Command::new(&self.python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.path().join("hs.yaml"))
            .current_dir(self.dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while !answers(self.port) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Synapse did not start: {}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn register(&self, name: &str) {
        let out = Command::new(
            self.python
                .parent()
                .unwrap()
                .join("register_new_matrix_user"),
        )
        .arg("-c")
        .arg(self.dir.path().join("hs.yaml"))
        .args(["-u", name, "-p", PASSWORD, "--no-admin"])
        .arg(self.url())
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "registering {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Registers many users at once (one Python process, not one each).
    pub(crate) fn register_many(&self, names: &[String]) {
        let config: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(self.dir.path().join("hs.yaml")).unwrap(),
        )
        .unwrap();
        let secret = config["registration_shared_secret"].as_str().unwrap();
        let out = Command::new(&self.python)
            .args([
                "-c",
                "import sys\nfrom synapse._scripts.register_new_matrix_user import request_registration\nurl, secret, password = sys.argv[1:4]\nfor name in sys.argv[4:]:\n    request_registration(name, password, url, secret, admin=False, _print=lambda *_: None)",
            ])
            .arg(self.url())
            .arg(secret)
            .arg(PASSWORD)
            .args(names)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "registering {names:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The requests of `user` that Synapse answered with `status`, from its
    /// access log (`homeserver.log`).
    pub(crate) fn answered(&self, user: &str, status: u16) -> usize {
        let log =
            std::fs::read_to_string(self.dir.path().join("homeserver.log")).unwrap_or_default();
        let who = format!("{{{user}}}");
        let code = format!(" {status} \"");
        log.lines()
            .filter(|l| l.contains(&who) && l.contains("Processed request") && l.contains(&code))
            .count()
    }

    /// Where Synapse writes its log.
    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.path().join("synapse.out")
    }

    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log_file())
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `opsbot run` process.
pub(crate) struct BotProcess {
    pub(crate) child: Child,
}

pub(crate) fn start_bot(fixture: &Fixture, config: &Path) -> BotProcess {
    start_bot_with(fixture, config, &[])
}

/// `opsbot run` with extra environment variables (secrets named in the project).
pub(crate) fn start_bot_with(fixture: &Fixture, config: &Path, env: &[(&str, &str)]) -> BotProcess {
    start_bot_limited(fixture, config, env, None)
}

/// `opsbot run`, with its open-file limit (soft and hard) set to `open_files`.
pub(crate) fn start_bot_limited(
    fixture: &Fixture,
    config: &Path,
    env: &[(&str, &str)],
    open_files: Option<u64>,
) -> BotProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(fixture.path().join("bot.log"))
        .unwrap();
    let args = ["run", "--config", config.to_str().unwrap()];
    // The limit is set by prlimit(1), never by a pre_exec closure: a closure
    // makes std fork() this test process instead of posix_spawn, and fork runs
    // OpenBLAS's prefork handler, which waits forever for a BLAS thread that
    // an in-process bot of another test is using (seen: CI hung in
    // `blas_thread_shutdown_`).
    let mut command = match open_files {
        Some(limit) => {
            let mut command = Command::new("prlimit");
            command
                .arg(format!("--nofile={limit}:{limit}"))
                .arg("--")
                .arg(fixture.command(&args).get_program())
                .args(fixture.command(&args).get_args())
                .env_remove("RUST_LOG");
            command
        }
        None => fixture.command(&args),
    };
    let child = command
        .env(
            "RUST_LOG",
            format!("{},opsbot_matrix=debug", opsbot::cli::DEFAULT_LOG_FILTER),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    BotProcess { child }
}

impl BotProcess {
    pub(crate) fn kill9(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the bot's Matrix settings for `synapse` into the fixture
/// (`matrix.yaml`), accepting invites from `inviters`; `extra` adds lines.
pub(crate) fn matrix_config(
    fixture: &Fixture,
    synapse: &Synapse,
    inviters: &[&str],
    extra: &str,
) -> PathBuf {
    let config = fixture.path().join("matrix.yaml");
    let inviters: Vec<String> = inviters
        .iter()
        .map(|i| format!("'@{i}:localhost'"))
        .collect();
    std::fs::write(
        &config,
        format!(
            "homeserver: {}\nuser: '{BOT}'\npassword: '{PASSWORD}'\ndata_dir: {}\nallow_invites_from: [{}]\n{extra}",
            synapse.url(),
            fixture.state().join("matrix").display(),
            inviters.join(", ")
        ),
    )
    .unwrap();
    config
}

/// A runtime like the bot's (two workers) for a test's clients.
pub(crate) fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs an end-to-end scenario; when it fails, prints the bot's log and
/// the tail of Synapse's (`synapse_log`) first, then fails the same way.
pub(crate) fn run_scenario(
    fixture: &Fixture,
    synapse_log: &Path,
    scenario: impl std::future::Future<Output = ()>,
) {
    let runtime = test_runtime();
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(scenario)));
    if let Err(panic) = outcome {
        eprintln!(
            "--- bot log ---\n{}",
            std::fs::read_to_string(fixture.path().join("bot.log")).unwrap_or_default()
        );
        eprintln!("--- synapse log (tail) ---\n{}", log_tail(synapse_log));
        std::panic::resume_unwind(panic);
    }
}

/// The last 30 lines of a log file.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
