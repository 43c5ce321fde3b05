//! The book's examples run: every fenced block of `docs/src/**/*.md` and the
//! README that is marked as part of a project is written into a scratch
//! project and put through `opsbot check`, `opsbot test` and `opsbot shell`,
//! and the command-line chapter is compared with clap's own help, so an
//! example that no longer works fails the build.
//!
//! A block is marked by words after its language in the info string:
//!
//! - `file=PATH`: the block is the file PATH of a project (`append`: added
//!   to the end of the base's file instead of replacing it);
//! - `project=NAME`: which project (default: one per page);
//! - `base=example` (the repository's example bot) or `base=actions` (its
//!   `actions/` and `data/` only): what the project starts from (default: an
//!   empty folder);
//! - `shell` (with `user=NAME`, default alice): a session of lines
//!   `> message` or `NAME> message` and reply lines (`bot> ` optional), fed
//!   to `opsbot shell` on the trained project, every reply compared;
//! - `cli=ARGS` (`opsbot`, `train`, `audit.verify`): the exact output of
//!   `opsbot ARGS --help`;
//! - `skip`: a deliberately partial snippet, not run.
//!
//! Every YAML block must parse and must say `file=` or `skip`, so an example
//! cannot silently go unchecked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{repo, stderr, stdout, Fixture};

/// One fenced block of a page.
struct Block {
    /// Page and line of the opening fence, for messages.
    place: String,
    page: String,
    lang: String,
    attrs: BTreeMap<String, String>,
    text: String,
}

impl Block {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }

    fn has(&self, flag: &str) -> bool {
        self.attrs.contains_key(flag)
    }
}

/// The README and every page of the book, relative to the repository.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut pages = vec![repo().join("README.md")];
    walk(&repo().join("docs/src"), &mut pages);
    pages.sort();
    pages
}

/// The fenced blocks of a Markdown text; a fence may be indented (inside a
/// list item), and its indentation is taken off the block's lines.
fn blocks_of(page: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let attrs = words
            .map(|word| match word.split_once('=') {
                Some((key, value)) => (key.to_string(), value.to_string()),
                None => (word.to_string(), String::new()),
            })
            .collect();
        let mut body = String::new();
        for (_, line) in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            let cut = line.len() - line.trim_start().len();
            body.push_str(&line[cut.min(indent)..]);
            body.push('\n');
        }
        blocks.push(Block {
            place: format!("{page}:{}", number + 1),
            page: page.to_string(),
            lang,
            attrs,
            text: body,
        });
    }
    blocks
}

fn all_blocks() -> Vec<Block> {
    pages()
        .iter()
        .flat_map(|path| {
            let page = path.strip_prefix(repo()).unwrap().display().to_string();
            blocks_of(&page, &std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

/// A scratch project assembled from the blocks that name it.
#[derive(Default)]
struct Project {
    base: Option<String>,
    files: Vec<(String, String, bool, String)>,
    transcripts: Vec<String>,
    shells: Vec<(String, String, String)>,
}

fn projects(blocks: &[Block], failures: &mut Vec<String>) -> BTreeMap<String, Project> {
    let mut projects: BTreeMap<String, Project> = BTreeMap::new();
    for block in blocks {
        if block.attr("cli").is_some() || block.has("skip") {
            continue;
        }
        let (file, shell) = (block.attr("file"), block.has("shell"));
        if file.is_none() && !shell {
            continue;
        }
        let name = match block.attr("project") {
            Some(name) => name.to_string(),
            None => block.page.clone(),
        };
        let project = projects.entry(name).or_default();
        if let Some(base) = block.attr("base") {
            if project.base.as_deref().is_some_and(|b| b != base) {
                failures.push(format!("{}: a second base for its project", block.place));
            }
            project.base = Some(base.to_string());
        }
        if let Some(file) = file {
            if file.starts_with("tests/conversations/") {
                project.transcripts.push(file.to_string());
            }
            let entry = (
                file.to_string(),
                block.text.clone(),
                block.has("append"),
                block.place.clone(),
            );
            project.files.push(entry);
        }
        if shell {
            let user = block.attr("user").unwrap_or("alice").to_string();
            project
                .shells
                .push((user, block.text.clone(), block.place.clone()));
        }
    }
    projects
}

/// A copy of the example bot with what the base does not keep removed.
fn scratch(base: Option<&str>) -> Fixture {
    let fixture = Fixture::example();
    let remove: &[&str] = match base {
        Some("example") => &[],
        Some("actions") => &["intents", "dialogs", "opsbot.yaml"],
        None => &["intents", "dialogs", "actions", "data", "opsbot.yaml"],
        Some(other) => panic!("unknown base `{other}`"),
    };
    for name in remove {
        let path = fixture.path().join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    fixture
}

/// A shell session's messages (stdin) and the replies expected (stdout).
fn session(text: &str, user: &str) -> Result<(String, Vec<String>), String> {
    let speaker = regex::Regex::new(r"^([A-Za-z][\w.-]*)?> ?(.*)$").unwrap();
    let (mut input, mut replies) = (String::new(), Vec::new());
    for line in text.lines() {
        match speaker.captures(line) {
            Some(c) if c.get(1).is_some_and(|m| m.as_str() == "bot") => {
                replies.push(c[2].trim().to_string())
            }
            Some(c) => {
                let name = c.get(1).map_or(user, |m| m.as_str());
                if name != user {
                    return Err(format!(
                        "a message from {name}, but the session is {user}'s"
                    ));
                }
                input.push_str(&c[2]);
                input.push('\n');
            }
            None => replies.push(line.trim_end().to_string()),
        }
    }
    Ok((input, replies))
}

fn run_project(name: &str, project: &Project, failures: &mut Vec<String>) {
    let fixture = scratch(project.base.as_deref());
    // Whole files first, then what is appended to them, whatever the pages' order.
    let mut files: Vec<_> = project.files.iter().collect();
    files.sort_by_key(|(_, _, append, _)| *append);
    for (file, text, append, _) in files {
        let path = fixture.path().join(file);
        let before = if *append {
            std::fs::read_to_string(&path).unwrap_or_default() + "\n"
        } else {
            String::new()
        };
        fixture.write(file, &format!("{before}{text}"));
        if file.starts_with("actions/") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let places = project
        .files
        .iter()
        .map(|(_, _, _, place)| place.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if project.files.iter().any(|(file, ..)| file == "matrix.yaml") {
        let config = fixture.path().join("matrix.yaml");
        if let Err(e) = opsbot_matrix::MatrixConfig::load(
            Some(config.as_path()),
            fixture.path(),
            &fixture.state(),
        ) {
            failures.push(format!("{name} ({places}): matrix.yaml: {e}"));
        }
    }
    let check = fixture.run(&["check"], "");
    if !check.status.success() {
        failures.push(format!(
            "{name} ({places}): opsbot check failed:\n{}{}",
            stdout(&check),
            stderr(&check)
        ));
        return;
    }
    if project.transcripts.is_empty() && project.shells.is_empty() {
        return;
    }
    let train = fixture.run(&["train"], "");
    if !train.status.success() {
        failures.push(format!("{name}: opsbot train failed:\n{}", stderr(&train)));
        return;
    }
    if !project.transcripts.is_empty() {
        let paths: Vec<String> = project
            .transcripts
            .iter()
            .map(|file| fixture.path().join(file).display().to_string())
            .collect();
        let mut args = vec!["test"];
        args.extend(paths.iter().map(String::as_str));
        let test = fixture.run(&args, "");
        if !test.status.success() {
            failures.push(format!(
                "{name} ({places}): opsbot test failed:\n{}{}",
                stdout(&test),
                stderr(&test)
            ));
        }
    }
    for (user, text, place) in &project.shells {
        let (input, expected) = match session(text, user) {
            Ok(session) => session,
            Err(e) => {
                failures.push(format!("{place}: {e}"));
                continue;
            }
        };
        // A fresh state folder per session, so each starts as the page shows.
        let _ = std::fs::remove_dir_all(fixture.state());
        let out = fixture.run(&["shell", "--user", user.as_str()], &input);
        let got: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        if !out.status.success() || got != expected {
            failures.push(format!(
                "{place}: the shell session differs\nexpected:\n{}\ngot:\n{}{}",
                expected.join("\n"),
                got.join("\n"),
                stderr(&out)
            ));
        }
    }
}

/// Every example project of the book and the README passes `opsbot check`,
/// its transcripts pass `opsbot test` and its shell sessions replay exactly.
#[test]
fn book_examples_run() {
    let blocks = all_blocks();
    let mut failures = Vec::new();
    let projects = projects(&blocks, &mut failures);
    assert!(
        projects.len() >= 7,
        "only {} example projects found",
        projects.len()
    );
    for (name, project) in &projects {
        run_project(name, project, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every YAML block parses and says whether it is a project file or a
/// deliberately partial snippet.
#[test]
fn book_yaml_blocks_are_marked_and_parse() {
    let mut failures = Vec::new();
    for block in all_blocks() {
        if block.lang != "yaml" && block.lang != "yml" {
            continue;
        }
        if block.attr("file").is_none() && !block.has("skip") {
            failures.push(format!(
                "{}: a YAML block without file= or skip",
                block.place
            ));
        }
        if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(&block.text) {
            failures.push(format!("{}: not YAML: {e}", block.place));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `opsbot ARGS --help`, as the chapter shows it (no variable of the
/// environment shown as a default).
fn help(args: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_opsbot"));
    if args != "opsbot" {
        command.args(args.split('.'));
    }
    for variable in [
        "OPSBOT_PROJECT",
        "OPSBOT_STATE",
        "OPSBOT_ENCODER",
        "OPSBOT_MATRIX_CONFIG",
    ] {
        command.env_remove(variable);
    }
    let out = command.arg("--help").output().unwrap();
    assert!(
        out.status.success(),
        "opsbot {args} --help: {}",
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The subcommands a help text lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The command-line chapter is clap's help, every command and subcommand of
/// it, word for word.
#[test]
fn book_cli_chapter_is_the_help() {
    let chapter = "docs/src/cli.md";
    let text = std::fs::read_to_string(repo().join(chapter)).unwrap();
    let shown: BTreeMap<String, String> = blocks_of(chapter, &text)
        .into_iter()
        .filter_map(|b| Some((b.attr("cli")?.to_string(), b.text)))
        .collect();
    let mut wanted = vec!["opsbot".to_string()];
    for command in subcommands(&help("opsbot")) {
        let nested = subcommands(&help(&command));
        wanted.push(command.clone());
        wanted.extend(nested.into_iter().map(|sub| format!("{command}.{sub}")));
    }
    let mut failures = Vec::new();
    for args in &wanted {
        let real = help(args);
        let command = match args.as_str() {
            "opsbot" => "opsbot --help".to_string(),
            _ => format!("opsbot {} --help", args.replace('.', " ")),
        };
        match shown.get(args) {
            None => failures.push(format!(
                "{chapter} lacks `{command}`; add:\n```text cli={args}\n{real}```"
            )),
            Some(text) if *text != real => failures.push(format!(
                "{chapter}: `{command}` differs; it is now:\n```text cli={args}\n{real}```"
            )),
            Some(_) => {}
        }
    }
    for args in shown.keys().filter(|a| !wanted.contains(*a)) {
        failures.push(format!("{chapter}: `cli={args}` is no command"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
