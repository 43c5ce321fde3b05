//! The terminal adapter: `opsbot shell`. Interactive with a prompt on a terminal;
//! otherwise one message per input line and each reply on stdout, so it can be
//! scripted and tested.

use std::io::{BufRead, Write};

use anyhow::Result;
use opsbot_runtime::{ConversationKey, Envelope, Receipt, ReplyId, ReplySink, Runtime};

pub struct ShellOptions {
    pub user: String,
    pub room: String,
    pub interactive: bool,
}

/// Runs the conversation until end of input (or `/quit` when interactive).
pub fn run(
    bot: &Runtime,
    runtime: &tokio::runtime::Runtime,
    options: &ShellOptions,
    mut input: impl BufRead,
    output: &mut (dyn Write + Send),
) -> Result<()> {
    let key = ConversationKey::new(&options.room, &options.user);
    if options.interactive {
        writeln!(output, "opsbot shell — you are {} in room {}. Say “help” to see what I can do; /quit or Ctrl-D to leave.", options.user, options.room)?;
    }
    // An action the previous process left unfinished is reported first.
    runtime.block_on(async {
        bot.ingress().start().await?;
        bot.ingress()
            .deliver_owed(&key, &mut |reply: String| {
                let _ = print_reply(output, options.interactive, &reply);
            })
            .await
    })?;
    let mut line = Vec::new();
    loop {
        // Requests scheduled for a time that has come run before the next
        // line is read (the terminal has no room to be told in meanwhile).
        for said in runtime.block_on(bot.fire_due())? {
            // A post for another room (a schedule's) is shown with its room.
            let reply = if said.room == key.room {
                said.text
            } else {
                format!("[{}] {}", said.room, said.text)
            };
            print_reply(output, options.interactive, &reply)?;
        }
        if options.interactive {
            write!(output, "{}> ", options.user)?;
            output.flush()?;
        }
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            if options.interactive {
                writeln!(output)?;
            }
            return Ok(());
        }
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text.trim_end_matches(['\n', '\r']).to_string(),
            Err(_) => {
                print_reply(
                    output,
                    options.interactive,
                    "I could not read that line: it is not valid UTF-8 text.",
                )?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if options.interactive && text.trim() == "/quit" {
            return Ok(());
        }
        let mut printer = Printer {
            output: &mut *output,
            interactive: options.interactive,
            next: 0,
            failed: None,
        };
        let envelope = Envelope::new(key.clone(), text);
        // A failure was told on the terminal; the shell goes on.
        let _: Receipt = runtime.block_on(bot.ingress().receive_editing(envelope, &mut printer));
        if let Some(e) = printer.failed {
            return Err(e.into());
        }
    }
}

/// Prints replies as they come. A terminal cannot change a line it printed,
/// so an edit (a long-running action still running, then its result) is
/// printed as the new text.
struct Printer<'o> {
    output: &'o mut (dyn Write + Send),
    interactive: bool,
    next: u64,
    failed: Option<std::io::Error>,
}

impl ReplySink for Printer<'_> {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        if let Err(e) = print_reply(self.output, self.interactive, &text) {
            self.failed = Some(e);
        }
        self.next += 1;
        Some(ReplyId(self.next))
    }

    fn edit(&mut self, _id: ReplyId, text: String) {
        self.say(text);
    }
}

fn print_reply(
    output: &mut (dyn Write + Send),
    interactive: bool,
    reply: &str,
) -> std::io::Result<()> {
    if interactive {
        for (i, line) in reply.lines().enumerate() {
            let lead = if i == 0 { "bot>   " } else { "       " };
            writeln!(output, "{lead}{line}")?;
        }
    } else {
        writeln!(output, "{reply}")?;
    }
    output.flush()
}
