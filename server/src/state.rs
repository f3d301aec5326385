//! What every request handler shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::rate_limit::{PostLimits, SignInLimits};
use crate::auth::session_token::SessionKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::mail::transport::Mailer;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub mailer: Mailer,
    pub sessions: SessionKeys,
    pub sign_in_limits: Arc<SignInLimits>,
    pub post_limits: Arc<PostLimits>,
    pub clock: Arc<dyn Clock>,
    /// Live sockets: signals them when a cohort has new events or someone's access changed.
    pub hub: crate::realtime::Hub,
    /// Wakes the outbox worker when a mail that should go at once (a sign-in link) is recorded.
    pub outbox: Arc<tokio::sync::Notify>,
    /// Stores new posts in groups (see [`crate::threads::writer`]).
    pub posts: crate::threads::writer::PostWriter,
    /// Uploaded resource files.
    pub storage: crate::resources::storage::Storage,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The host (and port) of the public URL, e.g. `samling.example.no`: calendar UIDs and
    /// Message-IDs end with it.
    pub fn public_host(&self) -> &str {
        let url = self.settings.public_url.as_str();
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        without_scheme.split('/').next().unwrap_or(without_scheme)
    }

    /// The domain part of the `Message-ID`s Samling makes: the public host without its port.
    pub fn message_id_domain(&self) -> &str {
        self.public_host()
            .split(':')
            .next()
            .filter(|host| !host.is_empty())
            .unwrap_or("samling")
    }

    /// An absolute link into Samling, for e-mails.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.settings.public_url.trim_end_matches('/'), path_and_query)
    }
}
