//! Limits and refusals that keep a project from hurting the bot or its users:
//! only regular files of bounded size and nesting are read, and settings that
//! defeat a safety property (an empty redaction pattern, a shell command string,
//! a program outside the project, absurd timeouts or expiries) are refused by
//! `opsbot check` with the reason.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

/// The largest YAML file read (a 10 MB intents file is far beyond any bot).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// The deepest nesting of collections a project file may have.
pub const MAX_NESTING: usize = 64;
/// Bounds of an action's timeout.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(24 * 3600));
/// Bounds of a runbook's `wait:` and of an `until:`'s interval and time
/// limit: the wait is kept in the store, not slept, so a day is fine.
pub const WAIT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 3600));
/// Bounds of how long a confirmation, approval, code or question is awaited.
pub const EXPIRY_RANGE: (Duration, Duration) =
    (Duration::from_secs(5), Duration::from_secs(7 * 24 * 3600));
/// Bounds of `max_message_age`: below a minute, ordinary delays (a sync's
/// long poll, clocks a little apart, timestamps in whole seconds) would drop
/// fresh messages; beyond 30 days nothing would count as stale.
pub const MESSAGE_AGE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(30 * 24 * 3600));
/// Bounds of `max_concurrent_actions`: at least one, or no action ever runs;
/// more than 64 processes at once from chat is a mistake, not a plan.
pub const ACTION_LIMIT_RANGE: (usize, usize) = (1, 64);

/// How long a `values_from` lookup (a program, or reading a file) may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// The state folder (store, audit key, checkpoint copy, review inbox) when
/// `--state` does not name another, relative to the project root.
pub const DEFAULT_STATE_DIR: &str = "data/state";

/// Reads a project file: a regular file (never a FIFO, device or socket, which
/// could block or never end) of at most [`MAX_FILE_BYTES`], as UTF-8.
pub fn read_project_file(path: &Path) -> Result<String, std::io::Error> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a FIFO, device, socket or folder); expected a YAML file",
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "the file is {} bytes; expected at most {MAX_FILE_BYTES} bytes",
            meta.len()
        )));
    }
    let mut text = String::new();
    // The file may grow between the check and the read: never read past the limit.
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "the file grew past {MAX_FILE_BYTES} bytes while it was read"
        )));
    }
    Ok(text)
}

/// Where a YAML text nests collections deeper than [`MAX_NESTING`], as a
/// 1-based (line, column). Counts flow brackets and block indentation levels
/// (a `- ` or `key:` opening), in one pass, ignoring quoted text and comments.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        // Each "- " on a line opens a sequence, each indentation step a level:
        // a level needs at least one column, so the indent bounds the depth.
        let dashes = line[..indent].matches('-').count();
        if dashes + indent / 2 > MAX_NESTING * 2 {
            return Some((index + 1, indent.min(line.len()) + 1));
        }
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let (mut line, mut column) = (1, 0);
    let mut previous = '\n';
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
            comment = false;
            previous = c;
            continue;
        }
        if comment {
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if matches!(previous, ' ' | '[' | '{' | ',' | ':' | '\n') => {
                quote = Some(c)
            }
            (None, '#') if matches!(previous, ' ' | '\n' | '\t') => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((line, column));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    None
}

/// Why a redaction pattern would garble the audit, if it would: a pattern that
/// matches the empty string writes "[redacted]" between every character.
pub fn redaction_problem(pattern: &Regex) -> Option<String> {
    pattern.is_match("").then(|| {
        format!(
            "redaction pattern `{}` matches the empty string, so it would write [redacted] between every character of every audit message; expected a pattern that needs at least one character",
            pattern.as_str()
        )
    })
}

/// Programs that run a command string given with `-c` (or `-e`).
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "pdksh",
    "fish",
    "csh",
    "tcsh",
    "ash",
    "busybox",
    "rbash",
    "yash",
    "elvish",
    "nu",
    "pwsh",
    "powershell",
];
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "osascript",
    "awk",
    "gawk",
    "mawk",
    "tclsh",
    "expect",
];

fn base_name(program: &str) -> String {
    let name = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // python3.11, perl5.36: the version does not change what it is.
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
        .to_string()
}

/// Programs whose operands are always a command string a shell parses
/// (`watch CMD`, `ssh HOST CMD`).
const COMMAND_STRING_RUNNERS: &[&str] = &["watch", "ssh"];
/// Shell-like programs with a `-c COMMAND` flag besides the shells.
const DASH_C_RUNNERS: &[&str] = &["script", "su", "runuser"];

fn is_runner(name: &str) -> bool {
    SHELLS.contains(&name) || INTERPRETERS.contains(&name) || DASH_C_RUNNERS.contains(&name)
}

/// The flag after which `runner` takes a command string, among `rest`.
fn command_flag<'a>(runner: &str, rest: &'a [String]) -> Option<&'a str> {
    let is_interpreter = INTERPRETERS.contains(&runner);
    rest.iter().map(String::as_str).find(|a| {
        *a == "--command"
            || a.eq_ignore_ascii_case("-command")
            || (a.starts_with('-')
                && !a.starts_with("--")
                && (a.contains('c') || (is_interpreter && (a.contains('e') || a.contains('E')))))
            || (runner.ends_with("awk") && !a.starts_with('-'))
    })
}

/// Why an action's program and arguments amount to a command string for a
/// shell or interpreter, if they do: `sh -c "…"`, `bash -lc`, `python3 -c`,
/// `perl -E`, and the same behind any wrapper that runs its operands
/// (`env -u X sh -c`, `timeout 5 sh -c`, `nice`, `xargs`, `find -exec sh -c`,
/// `env -S "sh -c …"`), `script -qc`, `watch`, `ssh`, git aliases that run a
/// shell (`-c alias.x=!…`), `tar --to-command`, and a copy of a shell or
/// interpreter under another name. `program` is the configured path;
/// `resolved` where it leads.
pub fn shell_string_problem(program: &str, resolved: &Path, args: &[String]) -> Option<String> {
    let refuse = |what: String| {
        Some(format!(
            "action runs {what}, i.e. a command string a shell or interpreter parses, which is exactly what opsbot never does with chat values; expected a script file under the project (or set `unsafe_shell_command_string: true` on this action if you accept the risk)"
        ))
    };
    let mut names = vec![base_name(program), base_name(&resolved.to_string_lossy())];
    if let Some(copy) = copy_of_known_runner(resolved) {
        names.push(copy);
    }
    // Every word of the command line, arguments split at spaces too
    // (`env -S "sh -c …"`), with the program first.
    let words: Vec<String> = args
        .iter()
        .flat_map(|a| a.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    if let Some(name) = names
        .iter()
        .find(|n| COMMAND_STRING_RUNNERS.contains(&n.as_str()))
    {
        return refuse(format!("`{name}`, whose operands are a command"));
    }
    if let Some(name) = names.iter().find(|n| is_runner(n)) {
        if let Some(flag) = command_flag(name, &words) {
            return refuse(format!("`{name}` with `{flag}`"));
        }
    }
    if names.iter().any(|n| n == "git") {
        if let Some(alias) = words
            .iter()
            .find(|w| w.contains("alias.") && w.contains("=!"))
        {
            return refuse(format!("`git` with a shell alias `{alias}`"));
        }
    }
    if names.iter().any(|n| n == "tar") {
        if let Some(option) = words.iter().find(|w| {
            w.starts_with("--to-command")
                || w.starts_with("--checkpoint-action")
                || w.starts_with("--use-compress-program")
                || w.starts_with("--info-script")
                || w.starts_with("--new-volume-script")
        }) {
            return refuse(format!("`tar` with `{option}`"));
        }
    }
    // A wrapper (env, timeout, nice, xargs, find -exec, flock, …) running a
    // shell or interpreter among its operands.
    for (at, word) in words.iter().enumerate() {
        let name = base_name(word);
        if is_runner(&name) || COMMAND_STRING_RUNNERS.contains(&name.as_str()) {
            if COMMAND_STRING_RUNNERS.contains(&name.as_str()) {
                return refuse(format!("`{name}` (through `{}`)", names[0]));
            }
            if let Some(flag) = command_flag(&name, &words[at + 1..]) {
                return refuse(format!("`{name}` with `{flag}` (through `{}`)", names[0]));
            }
        }
    }
    None
}

/// The name of the shell or interpreter `program` is a byte-for-byte copy
/// of (`actions/tool` copied from `/bin/bash`), if it is one.
fn copy_of_known_runner(program: &Path) -> Option<String> {
    let meta = std::fs::metadata(program).ok()?;
    if !meta.is_file() || meta.len() > 64 * 1024 * 1024 {
        return None;
    }
    let mut candidates = Vec::new();
    for dir in ["/bin", "/usr/bin", "/usr/local/bin"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = base_name(&entry.file_name().to_string_lossy());
            if !is_runner(&name) {
                continue;
            }
            if let Ok(found) = std::fs::metadata(entry.path()) {
                if found.len() == meta.len() && entry.path() != program {
                    candidates.push((name, entry.path()));
                }
            }
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let bytes = std::fs::read(program).ok()?;
    candidates
        .into_iter()
        .find(|(_, path)| std::fs::read(path).is_ok_and(|other| other == bytes))
        .map(|(name, _)| name)
}

/// Whether a program lies outside the project folder (after resolving links).
pub fn outside_project(root: &Path, program: &Path) -> bool {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let program = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    !program.starts_with(root)
}

/// The project root as an absolute path, so programs and folders resolve the
/// same whatever the working directory of a later step.
pub fn absolute_root(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(root))
            .unwrap_or_else(|_| root.to_path_buf())
    })
}

/// Whether a value could be taken for an option by the program it is given
/// to (`--force`, `-rf`, a Unix time before 1970): no slot value may be one,
/// whoever listed it, so a listed value, an annotated one and a typed value's
/// fields are held to it as much as a user's words.
pub fn looks_like_option(value: &str) -> bool {
    value.trim_start().starts_with('-')
}

/// Why a value listed for entity `entity` (canonical or synonym) is refused
/// by `opsbot check`, if it is.
pub fn listed_value_problem(entity: &str, value: &str) -> Option<String> {
    looks_like_option(value).then(|| {
        format!(
            "value `{value}` of entity `{entity}` starts with '-', so a program could take it for an option (no value starting with '-' is ever accepted); expected a value without a leading '-'"
        )
    })
}

/// Why a duration falls outside `range`, if it does.
pub fn out_of_range(value: Duration, range: (Duration, Duration)) -> Option<String> {
    (value < range.0 || value > range.1).then(|| {
        format!(
            "expected between {} and {}",
            humantime::format_duration(range.0),
            humantime::format_duration(range.1)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shell_strings_are_recognised() {
        for (program, list) in [
            ("/bin/sh", &["-c", "echo {host}"][..]),
            ("/usr/bin/bash", &["-lc", "x"]),
            ("/usr/bin/env", &["bash", "-c", "x"]),
            ("/usr/bin/env", &["-i", "A=1", "sh", "-ec", "x"]),
            ("/usr/bin/python3.11", &["-c", "print(1)"]),
            ("/usr/bin/perl", &["-e", "print 1"]),
            ("/usr/bin/awk", &["{print}"]),
            ("/usr/bin/timeout", &["5", "sh", "-c", "x {host}"]),
            ("/usr/bin/nice", &["-n", "5", "bash", "-c", "x"]),
            ("/usr/bin/nohup", &["sh", "-c", "x"]),
            ("/usr/bin/setsid", &["sh", "-c", "x"]),
            ("/usr/bin/stdbuf", &["-oL", "sh", "-c", "x"]),
            ("/usr/bin/flock", &["/tmp/l", "sh", "-c", "x"]),
            ("/usr/bin/xargs", &["sh", "-c", "x"]),
            ("/usr/bin/find", &[".", "-exec", "sh", "-c", "x {}", ";"]),
            ("/usr/bin/script", &["-qc", "x {host}"]),
            ("/usr/bin/env", &["-S", "sh -c x"]),
            ("/usr/bin/env", &["-u", "X", "sh", "-c", "x"]),
            ("/usr/bin/perl", &["-E", "say 1"]),
            ("/usr/bin/ssh", &["host", "uptime {host}"]),
            ("/usr/bin/git", &["-c", "alias.x=!sh -c x", "x"]),
            ("/usr/bin/tar", &["-xf", "a.tar", "--to-command=sh"]),
            ("/usr/bin/watch", &["uptime"]),
        ] {
            assert!(
                shell_string_problem(program, Path::new(program), &args(list)).is_some(),
                "{program} {list:?}"
            );
        }
        for (program, list) in [
            ("actions/restart.sh", &["{service}"][..]),
            ("/bin/bash", &["actions/restart.sh", "{host}"]),
            ("/usr/bin/python3", &["actions/x.py", "--count", "2"]),
            ("/usr/bin/systemctl", &["restart", "-c"]),
        ] {
            assert!(
                shell_string_problem(program, Path::new(program), &args(list)).is_none(),
                "{program} {list:?}"
            );
        }
    }

    #[test]
    fn a_copy_of_a_shell_under_another_name_is_a_shell() {
        let Some(shell) = ["/bin/bash", "/bin/sh", "/bin/dash"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
        else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("tool");
        std::fs::copy(shell, &copy).unwrap();
        assert!(shell_string_problem("actions/tool", &copy, &args(&["-c", "x {host}"])).is_some());
        assert!(shell_string_problem("actions/tool", &copy, &args(&["restart"])).is_none());
    }

    #[test]
    fn nesting_limits() {
        assert_eq!(too_deep("a: [1, [2, {b: 3}]]\n# [[[[[[\n"), None);
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert_eq!(too_deep(&deep), Some((1, 4 + MAX_NESTING)));
        let quoted = format!("a: \"{}\"\n", "[".repeat(100));
        assert_eq!(too_deep(&quoted), None);
        let dashes = format!("{}x\n", "- ".repeat(200));
        assert!(too_deep(&dashes).is_some());
    }

    #[test]
    fn empty_matching_redactions_are_refused() {
        for pattern in ["", "a*", "(?i)(x)?", "^"] {
            assert!(redaction_problem(&Regex::new(pattern).unwrap()).is_some());
        }
        assert!(redaction_problem(&Regex::new("token=\\S+").unwrap()).is_none());
    }

    #[test]
    fn only_regular_bounded_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo");
        let error = read_project_file(&fifo).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(read_project_file(&big)
            .unwrap_err()
            .to_string()
            .contains("expected at most"));
    }
}
