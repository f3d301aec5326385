//! Building the application: database, mailer, state, middleware, a bound listener; then
//! serving until a shutdown signal, finishing the requests in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::Request;
use axum::middleware;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::rate_limit::{PostLimits, SignInLimits};
use crate::auth::session_token::SessionKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::mail::transport::Mailer;
use crate::state::AppState;
use crate::{db, routes, web};

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds `settings.bind`, connects and migrates; the port is known before anyone talks to it.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        Self::build_on(settings, listener, clock).await
    }

    /// Like [`Application::build`], on a listener the caller bound (tests bind port 0 first, so
    /// the public URL can name the real port).
    pub async fn build_on(settings: Settings, listener: TcpListener, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let state = build_state(settings, clock).await?;
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (limits, post_limits) = (self.state.sign_in_limits.clone(), self.state.post_limits.clone());
        let cleaner = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                every.tick().await;
                limits.forget_idle();
                post_limits.forget_idle();
            }
        });
        let listener = tokio::spawn(crate::realtime::listen(self.state.hub.clone()));
        let (stop_digests, digests_stopped) = tokio::sync::watch::channel(false);
        let retention = tokio::spawn(crate::privacy::retention::run_periodically(
            self.state.clone(),
            digests_stopped.clone(),
        ));
        // Data exports another instance was preparing when it stopped are taken over.
        let exports = tokio::spawn(crate::privacy::export::resume_periodically(
            self.state.clone(),
            digests_stopped.clone(),
        ));
        let digests = tokio::spawn(crate::digests::worker::run_periodically(
            self.state.clone(),
            digests_stopped,
        ));
        let app = app(self.state);
        // Without TCP_NODELAY the kernel holds a small write back while an earlier one is
        // unacknowledged (Nagle's algorithm), and the peer acknowledges late (delayed ACK): a
        // live event could wait tens of milliseconds for nothing.
        let connections = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::warn!(error = %error, "cannot turn off Nagle's algorithm on a connection");
            }
        });
        let result = axum::serve(connections, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("server stopped with an error");
        cleaner.abort();
        listener.abort();
        // The outbox worker finishes the mail it is sending, then stops.
        let _ = stop_digests.send(true);
        let _ = digests.await;
        // The retention worker stops with the same signal, after the run under way.
        let _ = retention.await;
        let _ = exports.await;
        result
    }
}

/// Connects, migrates and sets up what handlers share; also for commands that work without
/// serving (`samling digests …`).
pub async fn build_state(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let db = db::connect(&settings.database_url).await?;
    db::migrate(&db).await?;
    crate::reindex::index_if_empty(&db).await?;
    Ok(AppState {
        db: db.clone(),
        mailer: Mailer::from_settings(&settings)?,
        sessions: SessionKeys::new(settings.signing_secret.expose()),
        sign_in_limits: Arc::new(SignInLimits::new(
            settings.sign_in_limit_per_address,
            settings.sign_in_limit_per_ip,
        )),
        post_limits: Arc::new(PostLimits::new(settings.posts_per_minute)),
        hub: crate::realtime::Hub::new(db.clone(), Arc::new(crate::threads::events::ThreadEvents)),
        outbox: Arc::new(tokio::sync::Notify::new()),
        posts: crate::threads::writer::PostWriter::start(
            db::post_writer_connection(&settings.database_url, &db).await?,
        ),
        storage: crate::resources::storage::Storage::from_settings(&settings)?,
        settings: Arc::new(settings),
        clock,
    })
}

/// The routes wrapped in the middleware every request passes: request id, tracing, security
/// headers, problem+json for every API error, CSRF protection.
pub fn app(state: AppState) -> Router {
    routes::router(state.clone())
        .layer(middleware::from_fn(web::text_rule))
        .layer(middleware::from_fn_with_state(state.clone(), web::csrf_protection))
        .layer(middleware::from_fn_with_state(state, web::error_pages))
        .layer(middleware::from_fn(web::api_problems))
        .layer(middleware::from_fn(web::security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
