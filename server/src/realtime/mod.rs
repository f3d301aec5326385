//! Live events over a websocket. After a change commits, its cohort is signalled; each socket
//! subscribed to that cohort then reads the events after the last number it sent from the
//! event log itself, so a missed signal costs nothing: nothing is lost, nothing sent twice,
//! everything in order. A client that reconnects sends the last number it saw.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::state::AppState;
use crate::threads::events::{EventView, events_after};

/// Largest message a client may send.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Small read buffers keep idle connections cheap (tungstenite zero-fills the whole buffer).
const READ_BUFFER_BYTES: usize = 4 * 1024;
const HEARTBEAT: Duration = Duration::from_secs(25);

/// Signals "cohort N has new events" to every socket in this process.
#[derive(Clone)]
pub struct Hub {
    signals: broadcast::Sender<i32>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            signals: broadcast::channel(1024).0,
        }
    }
}

impl Hub {
    /// Call after the transaction that stored a cohort's change has committed.
    pub fn notify(&self, cohort_id: i32) {
        // No receivers is fine: nobody is listening.
        let _ = self.signals.send(cohort_id);
    }

    fn subscribe(&self) -> broadcast::Receiver<i32> {
        self.signals.subscribe()
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    /// Follow a cohort's events after `after` (0: from the start).
    Subscribe {
        cohort_id: i32,
        #[serde(default)]
        after: i64,
    },
    Ping,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    Subscribed {
        cohort_id: i32,
        after: i64,
    },
    Event {
        cohort_id: i32,
        #[serde(flatten)]
        event: &'a EventView,
    },
    Pong,
    Error {
        code: &'static str,
    },
}

/// `GET /api/v1/realtime`: signed in (cookie or bearer) before the upgrade; a browser's
/// `Origin` must be this site.
pub async fn upgrade(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !crate::web::same_origin(&headers, &state) {
        return Err(AppError::Forbidden);
    }
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(state, current, socket))
        .into_response())
}

async fn send(socket: &mut WebSocket, message: &ServerMessage<'_>) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => socket.send(Message::Text(Utf8Bytes::from(text))).await.is_ok(),
        Err(_) => false,
    }
}

/// Sends the cohort's events after `last`, advancing it; false when the socket is gone.
async fn catch_up(
    state: &AppState,
    current: &CurrentUser,
    socket: &mut WebSocket,
    cohort_id: i32,
    last: &mut i64,
) -> bool {
    loop {
        let Ok(events) = events_after(state, current, cohort_id, *last).await else {
            return send(socket, &ServerMessage::Error { code: "not_found" }).await;
        };
        if events.is_empty() {
            return true;
        }
        for event in &events {
            if !send(socket, &ServerMessage::Event { cohort_id, event }).await {
                return false;
            }
            *last = event.seq;
        }
    }
}

async fn serve(state: AppState, current: CurrentUser, mut socket: WebSocket) {
    let mut signals = state.hub.subscribe();
    // Cohort → last sequence number sent on this socket.
    let mut following: Vec<(i32, i64)> = Vec::new();
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let text = match message {
                    Message::Text(text) => text,
                    Message::Close(_) => break,
                    _ => continue,
                };
                match serde_json::from_str::<ClientMessage>(text.as_str()) {
                    Ok(ClientMessage::Ping) => {
                        if !send(&mut socket, &ServerMessage::Pong).await { break }
                    }
                    Ok(ClientMessage::Subscribe { cohort_id, after }) => {
                        if current.require(Action::ViewCohort { cohort_id }).is_err() {
                            if !send(&mut socket, &ServerMessage::Error { code: "not_found" }).await { break }
                            continue;
                        }
                        if !send(&mut socket, &ServerMessage::Subscribed { cohort_id, after }).await { break }
                        let mut last = after.max(0);
                        if !catch_up(&state, &current, &mut socket, cohort_id, &mut last).await { break }
                        following.retain(|(id, _)| *id != cohort_id);
                        following.push((cohort_id, last));
                    }
                    Err(_) => {
                        if !send(&mut socket, &ServerMessage::Error { code: "invalid_message" }).await { break }
                    }
                }
            }
            signal = signals.recv() => {
                let due: Vec<usize> = match signal {
                    Ok(cohort_id) => following.iter().enumerate().filter(|(_, (id, _))| *id == cohort_id).map(|(i, _)| i).collect(),
                    // Missed signals: catch up on everything this socket follows.
                    Err(broadcast::error::RecvError::Lagged(_)) => (0..following.len()).collect(),
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let mut open = true;
                for index in due {
                    let (cohort_id, mut last) = following[index];
                    open = catch_up(&state, &current, &mut socket, cohort_id, &mut last).await;
                    following[index].1 = last;
                    if !open { break }
                }
                if !open { break }
            }
            _ = heartbeat.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() { break }
            }
        }
    }
}
