//! `grantd serve`: runs until SIGTERM or Ctrl-C, then lets in-flight requests finish.

use grantd_server::Application;

use crate::settings::Settings;

pub async fn run(settings: Settings) -> Result<(), String> {
    let config = settings.resolve()?;
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("grantd: listening on http://{}", app.local_addr());
    app.run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
