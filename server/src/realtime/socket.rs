//! One websocket connection: what a client may send, and the writer that sends it events.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sea_orm::EntityTrait;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::{Hub, Outgoing, Queued, ServerMessage, Subscriber, frame};
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::thread;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::threads::events::{REPLAY_LIMIT, last_seq, load_events};
use crate::threads::{self, NewPost};

/// Largest message a client may send; a larger one closes the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Events waiting to be written to one socket; a socket that falls further behind resyncs.
pub const QUEUE_CAPACITY: usize = 256;
/// How far back a reconnecting client may ask; from further back it must reload.
pub const MAX_REPLAY_EVENTS: i64 = 10_000;
/// Small buffers keep idle connections cheap (tungstenite zero-fills the whole read buffer).
const READ_BUFFER_BYTES: usize = 4 * 1024;
const WRITE_BUFFER_BYTES: usize = 8 * 1024;
const HEARTBEAT: Duration = Duration::from_secs(25);
/// How long a closing socket waits for the client's Close.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Events written before one flush, so a burst costs few system calls.
const WRITE_BATCH: usize = 64;

/// Close codes (4000–4999 are the application's own).
const CLOSE_SIGNED_OUT: u16 = 4401;
const CLOSE_ACCESS_REMOVED: u16 = 4403;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    /// Follow a cohort's events after `after` (0: from the start).
    Subscribe {
        cohort_id: i32,
        #[serde(default)]
        after: i64,
    },
    Unsubscribe {
        cohort_id: i32,
    },
    /// Posts in a thread, like `POST /api/v1/threads/{id}/posts`.
    Post {
        thread_id: i32,
        body: String,
        client_id: String,
        #[serde(default)]
        parent_post_id: Option<i32>,
    },
    /// "I am writing in this thread", passed on to the others, never stored.
    Typing {
        thread_id: i32,
    },
    Ping,
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
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let (connection, inbox) = open(state, current, socket);
            serve(connection, inbox)
        })
        .into_response())
}

/// What woke a connection's loop.
enum Input {
    Socket(Option<Result<Message, axum::Error>>),
    Queued(Queued),
    Lagged(i32),
    Access(Result<i32, RecvError>),
    Heartbeat,
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Close(u16, &'static str),
    Gone,
}

struct Connection {
    state: AppState,
    hub: Hub,
    current: CurrentUser,
    id: u64,
    socket: WebSocket,
    queue: mpsc::Sender<Queued>,
    lagged: mpsc::UnboundedSender<i32>,
    /// Cohort → the last sequence number this socket has sent.
    following: HashMap<i32, i64>,
}

/// What a connection's loop waits on besides its socket.
struct Inbox {
    queued: mpsc::Receiver<Queued>,
    lag_notices: mpsc::UnboundedReceiver<i32>,
    access: tokio::sync::broadcast::Receiver<i32>,
    limiter: DefaultDirectRateLimiter,
    heartbeat: tokio::time::Interval,
}

/// Sets up a new connection, boxed: an async fn's task stores its arguments twice (as
/// arguments and as locals), so [`serve`] takes pointers, not a kilobyte of state.
fn open(state: AppState, current: CurrentUser, socket: WebSocket) -> (Box<Connection>, Box<Inbox>) {
    let hub = state.hub.clone();
    let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
    let (lagged, lag_notices) = mpsc::unbounded_channel();
    let per_second = NonZeroU32::new(state.settings.socket_messages_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    // Bursts of three seconds' worth are fine (a reconnect subscribes to several cohorts).
    let burst = NonZeroU32::new(per_second.get().saturating_mul(3)).unwrap_or(per_second);
    let inbox = Inbox {
        queued,
        lag_notices,
        access: hub.access_signals(),
        limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
    };
    let connection = Connection {
        id: hub.new_connection_id(),
        hub,
        state,
        current,
        socket,
        queue,
        lagged,
        following: HashMap::new(),
    };
    (Box::new(connection), Box::new(inbox))
}

async fn serve(mut connection: Box<Connection>, mut inbox: Box<Inbox>) {
    let Inbox {
        queued,
        lag_notices,
        access,
        limiter,
        heartbeat,
    } = &mut *inbox;
    loop {
        // The select only says what happened; the awaits that follow are outside it, so the
        // task holds the waiting futures or one step's future, never both.
        let input = tokio::select! {
            incoming = connection.socket.recv() => Input::Socket(incoming),
            Some(outgoing) = queued.recv() => Input::Queued(outgoing),
            Some(cohort_id) = lag_notices.recv() => Input::Lagged(cohort_id),
            changed = access.recv() => Input::Access(changed),
            _ = heartbeat.tick() => Input::Heartbeat,
        };
        let flow = match input {
            Input::Socket(incoming) => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if limiter.check().is_err() {
                        Flow::Close(CLOSE_POLICY, "rate_limited")
                    } else {
                        Box::pin(connection.handle(text.as_str())).await
                    }
                }
                Some(Ok(Message::Binary(_))) => connection.error("invalid_message", None).await,
                Some(Ok(Message::Close(_))) | None => Flow::Gone,
                Some(Ok(_)) => Flow::Continue,
                Some(Err(error)) if is_too_big(&error) => Flow::Close(CLOSE_TOO_BIG, "message_too_big"),
                Some(Err(_)) => Flow::Gone,
            },
            Input::Queued(outgoing) => connection.write_queued(outgoing, queued).await,
            Input::Lagged(cohort_id) => connection.resync(cohort_id).await,
            Input::Access(changed) => match changed {
                Ok(user_id) if user_id != connection.current.user.id => Flow::Continue,
                // Ours, or missed some: check again.
                Ok(_) | Err(RecvError::Lagged(_)) => Box::pin(connection.check_access()).await,
                Err(RecvError::Closed) => Flow::Gone,
            },
            Input::Heartbeat => connection.write(Message::Ping(Default::default())).await,
        };
        match flow {
            Flow::Continue => {}
            Flow::Gone => break,
            Flow::Close(code, reason) => {
                Box::pin(connection.close(code, reason)).await;
                break;
            }
        }
    }
    for cohort_id in connection.following.keys() {
        connection.hub.leave(*cohort_id, connection.id);
    }
}

fn is_too_big(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(tungstenite::Error::Capacity(_)) = cause.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

impl Connection {
    /// Sends our Close and finishes the closing handshake: reads what the client still sends
    /// until its Close, so the connection is not reset before the client reads our code.
    async fn close(&mut self, code: u16, reason: &'static str) {
        let close = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = self.socket.send(Message::Close(Some(close))).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if let Message::Close(_) = message {
                    break;
                }
            }
        })
        .await;
    }

    fn tr(&self) -> Tr {
        Tr::new(self.current.language())
    }

    async fn write(&mut self, message: Message) -> Flow {
        match self.socket.send(message).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Gone,
        }
    }

    async fn send(&mut self, message: &ServerMessage<'_>) -> Flow {
        self.write(Message::Text(frame(message))).await
    }

    async fn error(&mut self, code: &str, client_id: Option<&str>) -> Flow {
        let message = self.tr().t(&format!("error.{code}")).to_string();
        self.send(&ServerMessage::Error {
            code,
            message: &message,
            client_id,
        })
        .await
    }

    async fn handle(&mut self, text: &str) -> Flow {
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return self.error("invalid_message", None).await;
        };
        match message {
            ClientMessage::Ping => self.send(&ServerMessage::Pong).await,
            ClientMessage::Subscribe { cohort_id, after } => self.subscribe(cohort_id, after).await,
            ClientMessage::Unsubscribe { cohort_id } => {
                if self.following.remove(&cohort_id).is_some() {
                    self.hub.leave(cohort_id, self.id);
                }
                Flow::Continue
            }
            ClientMessage::Post {
                thread_id,
                body,
                client_id,
                parent_post_id,
            } => {
                let new = NewPost {
                    body,
                    parent_post_id,
                    client_id: client_id.clone(),
                };
                match threads::create_post(&self.state, &self.current, thread_id, new).await {
                    Ok((post, created)) => {
                        self.send(&ServerMessage::Posted {
                            client_id: &client_id,
                            post_id: post.id,
                            created,
                        })
                        .await
                    }
                    Err(error) => {
                        error.log();
                        let message = error.message(self.tr());
                        self.send(&ServerMessage::Error {
                            code: error.code(),
                            message: &message,
                            client_id: Some(&client_id),
                        })
                        .await
                    }
                }
            }
            ClientMessage::Typing { thread_id } => self.typing(thread_id).await,
        }
    }

    async fn subscribe(&mut self, cohort_id: i32, after: i64) -> Flow {
        if self.current.require(Action::ViewCohort { cohort_id }).is_err() {
            return self.error("not_found", None).await;
        }
        let newest = match last_seq(&self.state.db, cohort_id).await {
            Ok(newest) => newest,
            Err(error) => {
                error.log();
                return self.error("internal", None).await;
            }
        };
        let after = after.max(0);
        if after > newest || newest - after > MAX_REPLAY_EVENTS {
            return self
                .send(&ServerMessage::Reload {
                    cohort_id,
                    last_seq: newest,
                })
                .await;
        }
        if let Flow::Gone = self.send(&ServerMessage::Subscribed { cohort_id, after }).await {
            return Flow::Gone;
        }
        // Replay, join the live feed, then replay what arrived in between; the writer skips
        // live events this socket already sent.
        let mut last = after;
        if let Flow::Gone = self.catch_up(cohort_id, &mut last).await {
            return Flow::Gone;
        }
        let subscriber = Subscriber {
            connection: self.id,
            user_id: self.current.user.id,
            name: self.current.user.name.as_str().into(),
            queue: self.queue.clone(),
            lagged: self.lagged.clone(),
        };
        self.hub.join(cohort_id, subscriber, last);
        let flow = self.catch_up(cohort_id, &mut last).await;
        self.following.insert(cohort_id, last);
        flow
    }

    /// Sends the cohort's stored events after `last` straight from the log, advancing it.
    async fn catch_up(&mut self, cohort_id: i32, last: &mut i64) -> Flow {
        loop {
            let events = match load_events(&self.state.db, cohort_id, *last, REPLAY_LIMIT).await {
                Ok(events) => events,
                Err(error) => {
                    error.log();
                    return self.error("internal", None).await;
                }
            };
            if events.is_empty() {
                return Flow::Continue;
            }
            for event in &events {
                self.socket
                    .feed(Message::Text(frame(&ServerMessage::Event { cohort_id, event })))
                    .await
                    .ok();
                *last = event.seq;
            }
            if self.socket.flush().await.is_err() {
                return Flow::Gone;
            }
        }
    }

    /// Writes one queued message and whatever else is waiting, then flushes once.
    async fn write_queued(&mut self, first: Queued, queued: &mut mpsc::Receiver<Queued>) -> Flow {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(outgoing) = next.take() {
            let frame = match &*outgoing {
                Outgoing::Ephemeral(frame) => Some(frame.clone()),
                &Outgoing::Event {
                    cohort_id,
                    seq,
                    ref frame,
                } => match self.following.get(&cohort_id).copied() {
                    // Not (or no longer) following: a resync or unsubscribe is under way.
                    None => None,
                    Some(last) if seq <= last => None,
                    Some(last) if seq == last + 1 => {
                        self.following.insert(cohort_id, seq);
                        Some(frame.clone())
                    }
                    Some(mut last) => {
                        // A gap: read what is missing from the log; it includes this event.
                        if let Flow::Gone = Box::pin(self.catch_up(cohort_id, &mut last)).await {
                            return Flow::Gone;
                        }
                        self.following.insert(cohort_id, last);
                        None
                    }
                },
            };
            if let Some(frame) = frame {
                if self.socket.feed(Message::Text(frame)).await.is_err() {
                    return Flow::Gone;
                }
                written += 1;
            }
            if written < WRITE_BATCH {
                next = queued.try_recv().ok();
            }
        }
        match self.socket.flush().await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Gone,
        }
    }

    /// The socket's queue overflowed: it is off the cohort's feed and must subscribe again.
    async fn resync(&mut self, cohort_id: i32) -> Flow {
        match self.following.remove(&cohort_id) {
            Some(after) => self.send(&ServerMessage::Resync { cohort_id, after }).await,
            None => Flow::Continue,
        }
    }

    async fn typing(&mut self, thread_id: i32) -> Flow {
        let found = match thread::Entity::find_by_id(thread_id).one(&self.state.db).await {
            Ok(found) => found,
            Err(error) => {
                AppError::from(error).log();
                return self.error("internal", None).await;
            }
        };
        let Some(found) = found.filter(|t| self.current.may(Action::ViewCohort { cohort_id: t.cohort_id })) else {
            return self.error("not_found", None).await;
        };
        if !self.current.may(Action::WriteInCohort {
            cohort_id: found.cohort_id,
        }) {
            return self.error("forbidden", None).await;
        }
        self.hub.ephemeral(
            found.cohort_id,
            &ServerMessage::Typing {
                cohort_id: found.cohort_id,
                thread_id,
                user_id: self.current.user.id,
                name: &self.current.user.name,
            },
        );
        Flow::Continue
    }

    /// After a sign-out, deactivation or membership change: close if access is gone.
    async fn check_access(&mut self) -> Flow {
        match crate::auth::extract::refresh(&self.state, &self.current).await {
            Ok(Some(fresh)) => {
                let lost = self
                    .following
                    .keys()
                    .any(|cohort_id| !fresh.may(Action::ViewCohort { cohort_id: *cohort_id }));
                self.current = fresh;
                if lost {
                    Flow::Close(CLOSE_ACCESS_REMOVED, "access_removed")
                } else {
                    Flow::Continue
                }
            }
            Ok(None) => Flow::Close(CLOSE_SIGNED_OUT, "signed_out"),
            Err(error) => {
                error.log();
                Flow::Continue
            }
        }
    }
}
