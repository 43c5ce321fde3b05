//! A throwaway copy of the example project and helpers to run the binary in it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The repository root (the example project).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The `models/` folder of a bot trained once per test process. Training is
/// deterministic for the same sources, so a copy of this model is the model a
/// fixture would train itself; dozens of tests share one training per bot
/// instead of each spending seconds of the suite's two cores on it.
///
/// The templates live under the target folder (statics are never dropped, so
/// a temporary folder would outlive the run); `cargo clean` removes them.
fn trained_models(name: &str, sources: impl FnOnce(&Path) -> Fixture) -> PathBuf {
    static TRAINED: Mutex<BTreeMap<String, Arc<OnceLock<Fixture>>>> = Mutex::new(BTreeMap::new());
    let cell = TRAINED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    // Waits while another test trains the same bot; a failed training panics
    // here in each test that needs it.
    let template = cell.get_or_init(|| {
        let fixture = sources(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("trained"));
        let out = fixture.run(&["train"], "");
        assert!(
            out.status.success(),
            "training {name} failed: {}",
            stderr(&out)
        );
        fixture
    });
    template.path().join("models")
}

/// Copies the trained files of `from` (a `models/` folder) into `to`, leaving
/// the shared encoder's link alone.
fn copy_models(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            continue;
        } else if kind.is_dir() {
            copy_models(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Fixture {
    /// A copy of the example bot's sources (no model, no state).
    pub fn example() -> Fixture {
        Fixture::from_sources(&repo())
    }

    /// A copy of one of the test packs in `tests/packs/` (bots of other
    /// domains), untrained.
    pub fn pack(name: &str) -> Fixture {
        Fixture::pack_in(name, &std::env::temp_dir())
    }

    fn pack_in(name: &str, parent: &Path) -> Fixture {
        let sources = repo().join("tests/packs").join(name);
        let fixture = Fixture::from_sources_in(&sources, parent);
        // A pack's own transcripts and near-miss requests come along.
        if sources.join("tests").is_dir() {
            copy_tree(&sources.join("tests"), &fixture.path().join("tests"));
        }
        fixture
    }

    /// A test pack, trained (the model is trained once per test process and
    /// copied into each fixture).
    pub fn trained_pack(name: &str) -> Fixture {
        let fixture = Fixture::pack(name);
        let models = trained_models(name, |parent| Fixture::pack_in(name, parent));
        copy_models(&models, &fixture.path().join("models"));
        fixture
    }

    fn from_sources(sources: &Path) -> Fixture {
        Fixture::from_sources_in(sources, &std::env::temp_dir())
    }

    fn from_sources_in(sources: &Path, parent: &Path) -> Fixture {
        std::fs::create_dir_all(parent).unwrap();
        let dir = tempfile::tempdir_in(parent).unwrap();
        for folder in ["intents", "dialogs", "actions", "data"] {
            if sources.join(folder).is_dir() {
                copy_tree(&sources.join(folder), &dir.path().join(folder));
            }
        }
        let _ = std::fs::remove_dir_all(dir.path().join("data/state"));
        std::fs::copy(sources.join("opsbot.yaml"), dir.path().join("opsbot.yaml")).unwrap();
        // The sentence encoder is shared (read-only); the embedding cache is
        // copied so training here encodes only what the repository has not.
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).unwrap();
        std::os::unix::fs::symlink(
            repo().join(opsbot_encoder::MODEL_DIR),
            dir.path().join(opsbot_encoder::MODEL_DIR),
        )
        .unwrap();
        let _ = std::fs::copy(
            repo().join("models/embedding-cache.bin"),
            models.join("embedding-cache.bin"),
        );
        Fixture { dir }
    }

    /// The example bot, trained (once per test process, as `trained_pack`).
    pub fn trained() -> Fixture {
        let fixture = Fixture::example();
        let models = trained_models("example", |parent| {
            Fixture::from_sources_in(&repo(), parent)
        });
        copy_models(&models, &fixture.path().join("models"));
        fixture
    }

    /// The bot of this (trained) fixture, in-process, on its state folder.
    pub fn bot(&self) -> opsbot_runtime::Runtime {
        let project = opsbot_spec::load_project(self.path()).unwrap();
        let nlu = self.nlu(&project);
        let store = opsbot_runtime::SledStore::open(&self.state().join("opsbot.db")).unwrap();
        opsbot_runtime::Runtime::new(project, nlu, store, self.state())
    }

    /// The trained model of this fixture, with its encoder.
    pub fn nlu(&self, project: &opsbot_spec::Project) -> opsbot_nlu::Nlu {
        let paths = opsbot::app::Paths::new(self.path(), Some(&self.state()));
        opsbot::app::load_nlu(project, &paths).unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    /// Adds lines to the project's `opsbot.yaml`.
    pub fn append_settings(&self, lines: &str) {
        let settings = std::fs::read_to_string(self.path().join("opsbot.yaml")).unwrap();
        self.write("opsbot.yaml", &format!("{settings}{lines}"));
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_opsbot"));
        command
            .arg("--project")
            .arg(self.path())
            .arg("--state")
            .arg(self.state())
            .args(args)
            .env_remove("RUST_LOG");
        command
    }

    /// Runs the binary with `input` on stdin and waits for it.
    pub fn run(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `opsbot shell` as `user`, one message per line; returns stdout.
    pub fn shell(&self, user: &str, lines: &[&str]) -> String {
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let out = self.run(&["shell", "--user", user], &input);
        assert!(out.status.success(), "shell failed: {}", stderr(&out));
        stdout(&out)
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One HTTP/1.1 request on loopback; returns the status code and the body.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // A server may answer (413) and close before the whole body is written.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}
