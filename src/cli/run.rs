//! `opsbot run`, the bot in Matrix rooms: the runtime wired to the Matrix
//! door, the alert listener, the health and API listeners, the scheduler,
//! the model refresh and the admin socket. Built only with the `doors`
//! feature (the default), like everything that needs matrix-sdk or axum.

use super::*;

pub(super) fn run_matrix(paths: &Paths, args: &RunArgs) -> Result<()> {
    let config =
        opsbot_matrix::MatrixConfig::load(args.config.as_deref(), &paths.project, &paths.state)?;
    let builder = app::open_bot(paths)?;
    // The bot's policy is opsbot.yaml's; a Matrix configuration from before
    // it moved there stands in only where opsbot.yaml does not say.
    let stand_ins = opsbot_matrix::deprecated::StandIns::new(&config, &builder.project().settings);
    stand_ins.warn();
    let bot = Arc::new(
        stand_ins
            .apply(builder)
            .door("matrix")
            .dry_run(args.dry_run)
            .reloader(crate::refresh::reloader(paths))
            .build(),
    );
    let runtime = runtime()?;
    runtime.spawn(crate::refresh::watch(bot.clone(), paths.clone()));
    // Removed when the bot stops (the guard is dropped on return).
    let _socket = crate::admin::start(&paths.state, &bot, &runtime);
    runtime.block_on(async {
        // One stop signal for every part: the Matrix adapter, the alert
        // listener and the alert delivery worker.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
            let _ = stop.send(true);
        });
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        if let Some(alerts) = bot.model().snapshot().project.settings.alerts.clone() {
            start_alerts(&bot, &alerts, paths, until_stopped.clone()).await?;
        }
        if let Some(address) = bot.model().snapshot().project.settings.health_listen {
            // Scrapers and probes: a few connections, never a body to wait for.
            let router = opsbot_webhook::health_router(bot.clone());
            serve_on(address, router, 16, until_stopped()).await?;
            tracing::info!(%address, "health and metrics listening");
        }
        if let Some(api) = bot.model().snapshot().project.settings.api.clone() {
            // Proposers are scripts and assistants: a few connections each.
            let router = opsbot_webhook::api_router(bot.clone(), &api)
                .merge(opsbot_webhook::health_router(bot.clone()));
            serve_on(api.listen, router, 32, until_stopped()).await?;
            tracing::info!(address = %api.listen, tokens = api.tokens.len(), "API listening");
        }
        let (scheduler, stopped) = (bot.clone(), until_stopped());
        tokio::spawn(async move { scheduler.run_schedule(stopped).await });
        opsbot_matrix::run(config, bot, until_stopped()).await?;
        anyhow::Ok(())
    })?;
    Ok(())
}

/// Serves `router` on a listener of its own (bound now, so a taken port stops
/// `opsbot run` at once) with at most `max_connections` and 10 s to send a
/// request.
async fn serve_on(
    address: std::net::SocketAddr,
    router: opsbot_webhook::Router,
    max_connections: usize,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = opsbot_webhook::bind(address).await?;
    let limits = opsbot_webhook::Limits {
        max_connections,
        read_timeout: std::time::Duration::from_secs(10),
    };
    tokio::spawn(opsbot_webhook::serve(listener, router, limits, stopped));
    Ok(())
}

/// The alert listener and the delivery worker, started before Matrix so a bad
/// secret or a taken port stops `opsbot run` at once.
async fn start_alerts<F: std::future::Future<Output = ()> + Send + 'static>(
    bot: &Arc<Runtime>,
    alerts: &opsbot_spec::AlertSettings,
    paths: &Paths,
    until_stopped: impl Fn() -> F,
) -> Result<()> {
    let credentials = opsbot_webhook::Credentials::resolve(alerts, &paths.project)?;
    let listener = opsbot_webhook::bind(alerts.listen).await?;
    let router = opsbot_webhook::router(bot.clone(), credentials, alerts);
    let limits = crate::limits::listener_limits(alerts);
    let stopped = until_stopped();
    tokio::spawn(opsbot_webhook::serve(listener, router, limits, stopped));
    let (bot, stopped) = (bot.clone(), until_stopped());
    tokio::spawn(async move { bot.alerts().deliver(stopped).await });
    Ok(())
}
