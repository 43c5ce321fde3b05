//! `opsbot shell`, the bot in a terminal: the runtime wired to the terminal
//! door, the model refresh and the admin socket through which the command
//! line reaches the running bot. `opsbot run` (Matrix) is in `run.rs`.

use super::*;

pub(super) fn run_shell(paths: &Paths, args: &ShellArgs) -> Result<()> {
    let user = args
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "you".into());
    // The person at the terminal runs the bot, so they may reload its model.
    let operator = user.clone();
    let bot = Arc::new(
        app::open_bot(paths)?
            .door("shell")
            .dry_run(args.dry_run)
            .reloader(crate::refresh::reloader(paths))
            .admins(Arc::new(move |u: &str| u == operator))
            .build(),
    );
    let runtime = runtime()?;
    runtime.spawn(crate::refresh::watch(bot.clone(), paths.clone()));
    let _socket = crate::admin::start(&paths.state, &bot, &runtime);
    let options = ShellOptions {
        user,
        room: args.room.clone(),
        interactive: std::io::stdin().is_terminal(),
    };
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout();
    shell::run(&bot, &runtime, &options, stdin, &mut stdout)
}
