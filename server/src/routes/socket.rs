//! `GET /api/v1/realtime`: the websocket's client protocol. The upgrade, and the reader that
//! takes what a client sends, checks it against the policy and acts on it; what goes out is
//! sent by the socket's writer in `realtime` (see `docs/realtime.md`).
//!
//! [`serve`] works on any sink and stream of websocket messages: the upgraded socket's two
//! halves in production, channels in the tests.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::{Sink, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::realtime::ServerMessage;
use crate::realtime::connection::{CLOSE_GRACE, CloseReason, Requests, Unrequested, error_text, text};
use crate::state::AppState;
use crate::threads::{self, NewPost, live};

/// Largest message a client may send; a larger one closes the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Small buffers keep idle connections cheap: every connection holds its read buffer for as
/// long as it is open, and tungstenite zero-fills the whole of it on each read. What clients
/// send is small (a post's markdown is usually well under 2 KiB); a longer message is read in
/// more than one go.
const READ_BUFFER_BYTES: usize = 2 * 1024;
const WRITE_BUFFER_BYTES: usize = 64 * 1024;
const HEARTBEAT: Duration = Duration::from_secs(25);

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
        return Err(AppError::CrossOrigin);
    }
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            serve(state, current, sink, stream)
        })
        .into_response())
}

/// Whether the reader goes on.
enum Flow {
    Continue,
    Close(CloseReason),
    Gone,
}

/// Serves one connection of `current`'s: `sink` takes what the server sends, `stream` gives
/// what the client sends (an error ends the connection; one that says the message was too
/// big closes it with 1009). Ends when the connection has ended.
///
/// One connection is two tasks, so that a burst of events wakes only the writer, which waits on
/// nothing but its queues, and the reader's socket, timer and access checks are polled only when
/// something arrives for them. A plain fn: an async fn would keep its arguments and what is
/// built from them side by side in every connection's future.
pub fn serve<S, R, E>(state: AppState, current: CurrentUser, sink: S, stream: R) -> impl Future<Output = ()>
where
    S: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin + Send + 'static,
    E: StdError + Send + 'static,
{
    let (opened, access) = live::open_connection(&state, &current, sink);
    let per_second = NonZeroU32::new(state.settings.socket_messages_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    // Bursts of three seconds' worth are fine (a reconnect subscribes to several cohorts).
    let burst = NonZeroU32::new(per_second.get().saturating_mul(3)).unwrap_or(per_second);
    let reader = Box::new(Reader {
        stream,
        access,
        state,
        current,
        writer: opened.requests,
        close: Some(opened.close),
        limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
        subscribed: HashSet::new(),
    });
    read_then_wait(reader, opened.writer_done)
}

async fn read_then_wait<R, E>(reader: Box<Reader<R>>, mut writer_done: JoinHandle<()>)
where
    R: Stream<Item = Result<Message, E>> + Unpin + Send + 'static,
    E: StdError + Send + 'static,
{
    // The reader ends by dropping its end of the close channel: the writer sends the Close
    // asked for, if any, and ends, also when it was stuck writing to a client that does not read.
    let writer_ended = Box::pin(reader.run(&mut writer_done)).await;
    if !writer_ended {
        let _ = writer_done.await;
    }
}

/// Whether a read failed on a message over [`MAX_MESSAGE_BYTES`].
fn is_too_big(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if let Some(tungstenite::Error::Capacity(_)) = cause.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Reads what the client sends, checks it against the policy and acts on it.
struct Reader<R> {
    stream: R,
    access: broadcast::Receiver<i32>,
    state: AppState,
    current: CurrentUser,
    /// The socket writer's inbox.
    writer: Requests,
    /// Tells the writer to send a Close now, ahead of what waits in its inbox; dropped, to end.
    close: Option<oneshot::Sender<CloseReason>>,
    limiter: DefaultDirectRateLimiter,
    /// The cohorts the client asked to follow, to check again when access changes.
    subscribed: HashSet<i32>,
}

impl<R, E> Reader<R>
where
    R: Stream<Item = Result<Message, E>> + Unpin + Send + 'static,
    E: StdError + Send + 'static,
{
    /// Reads until the client goes or the socket closes; true when the writer ended first.
    async fn run(mut self: Box<Self>, writer_done: &mut JoinHandle<()>) -> bool {
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        // The socket lives no longer than the session it was opened with, as an HTTP request
        // with the same token would be refused from then on.
        let mut session_ends = self.state.clock.sleep_until(self.current.session_expires_at);
        loop {
            let flow = tokio::select! {
                incoming = self.stream.next() => match incoming {
                    Some(Ok(message)) => Box::pin(self.received(message)).await,
                    None => Flow::Gone,
                    Some(Err(error)) if is_too_big(&error) => Flow::Close(CloseReason::MessageTooBig),
                    Some(Err(_)) => Flow::Gone,
                },
                changed = self.access.recv() => match changed {
                    Ok(user_id) if user_id != self.current.user.id => Flow::Continue,
                    // Ours, or missed some: check again.
                    Ok(_) | Err(RecvError::Lagged(_)) => Box::pin(self.check_access()).await,
                    Err(RecvError::Closed) => Flow::Gone,
                },
                _ = heartbeat.tick() => self.flow(self.writer.send(Message::Ping(Default::default())).await),
                () = &mut session_ends => {
                    if self.session_expired() {
                        Flow::Close(CloseReason::SessionExpired)
                    } else {
                        // Woke early (the clock was set back): wait again.
                        session_ends = self.state.clock.sleep_until(self.current.session_expires_at);
                        Flow::Continue
                    }
                }
                // The writer could not write: the client is gone.
                _ = &mut *writer_done => return true,
            };
            match flow {
                Flow::Continue => {}
                Flow::Gone => return false,
                Flow::Close(reason) => {
                    if let Some(close) = self.close.take() {
                        let _ = close.send(reason);
                    }
                    // Finish the closing handshake: read what the client still sends until its
                    // Close, so the connection is not reset before the client reads our code.
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        while let Some(Ok(message)) = self.stream.next().await {
                            if let Message::Close(_) = message {
                                break;
                            }
                        }
                    })
                    .await;
                    return false;
                }
            }
        }
    }

    /// One frame from the client. Every frame counts against the rate limit: each costs the
    /// server work (the websocket library answers a ping itself), whatever its kind.
    async fn received(&mut self, message: Message) -> Flow {
        if let Message::Close(_) = message {
            return Flow::Gone;
        }
        if self.limiter.check().is_err() {
            return Flow::Close(CloseReason::RateLimited);
        }
        match message {
            // Nothing is done for a session that has expired, even if its timer has not fired yet.
            Message::Text(_) if self.session_expired() => Flow::Close(CloseReason::SessionExpired),
            Message::Text(text) => self.handle(text.as_str()).await,
            Message::Binary(_) => Flow::Close(CloseReason::UnsupportedData),
            // Pings are answered by the websocket library; pongs answer our heartbeat.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Flow::Continue,
        }
    }

    /// Whether the reader goes on after queueing a request for the writer (which waits while
    /// too many are owed, see [`Requests`]).
    fn flow(&self, queued: Result<(), Unrequested>) -> Flow {
        match queued {
            Ok(()) => Flow::Continue,
            Err(Unrequested::NotReading) => Flow::Close(CloseReason::NotReading),
            Err(Unrequested::Closed) => Flow::Gone,
        }
    }

    async fn send(&self, message: &ServerMessage<'_>) -> Flow {
        self.flow(self.writer.send(text(message)).await)
    }

    async fn error(&self, code: &str, client_id: Option<&str>) -> Flow {
        let error = error_text(Tr::new(self.current.language()), code, client_id);
        self.flow(self.writer.send(error).await)
    }

    async fn handle(&mut self, text: &str) -> Flow {
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return self.error("invalid_message", None).await;
        };
        match message {
            ClientMessage::Ping => self.send(&ServerMessage::Pong).await,
            ClientMessage::Subscribe { cohort_id, after } => {
                if live::may_follow(&self.current, cohort_id).is_err() {
                    return self.error("not_found", None).await;
                }
                self.subscribed.insert(cohort_id);
                self.flow(self.writer.subscribe(cohort_id, after).await)
            }
            ClientMessage::Unsubscribe { cohort_id } => {
                self.subscribed.remove(&cohort_id);
                self.flow(self.writer.unsubscribe(cohort_id).await)
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
                        let message = error.message(Tr::new(self.current.language()));
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

    async fn typing(&mut self, thread_id: i32) -> Flow {
        match live::typing(&self.state, &self.current, thread_id).await {
            Ok(()) => Flow::Continue,
            Err(AppError::NotFound) => self.error("not_found", None).await,
            Err(AppError::Forbidden) => self.error("forbidden", None).await,
            Err(error) => {
                error.log();
                self.error("internal", None).await
            }
        }
    }

    fn session_expired(&self) -> bool {
        self.current.session_expired(self.state.now())
    }

    /// After a sign-out, deactivation or membership change: close if access is gone.
    async fn check_access(&mut self) -> Flow {
        if self.session_expired() {
            return Flow::Close(CloseReason::SessionExpired);
        }
        match crate::auth::extract::refresh(&self.state, &self.current).await {
            Ok(Some(fresh)) => {
                let lost = !live::may_follow_all(&fresh, &self.subscribed);
                self.current = fresh;
                if lost {
                    Flow::Close(CloseReason::AccessRemoved)
                } else {
                    Flow::Continue
                }
            }
            Ok(None) => Flow::Close(CloseReason::SignedOut),
            Err(error) => {
                error.log();
                Flow::Continue
            }
        }
    }
}

/// The protocol over channels: the handler as production runs it, on a real database, without
/// a server or a socket. `tests/api/realtime.rs` covers the same over real websockets.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::ws::Message;
    use chrono::{TimeZone, Utc};
    use futures::StreamExt;
    use futures::channel::mpsc;
    use serde_json::{Value, json};
    use tokio::task::JoinHandle;

    use super::{MAX_MESSAGE_BYTES, serve};
    use crate::bench_seed::{self, BenchSeed};
    use crate::clock::ManualClock;
    use crate::config::Settings;
    use crate::state::AppState;

    /// A server's state on a fresh SQLite file: two cohorts of two members, a thread in each.
    struct World {
        state: AppState,
        clock: ManualClock,
        seed: BenchSeed,
        _dir: tempfile::TempDir,
    }

    async fn world() -> World {
        world_with(|_| {}).await
    }

    async fn world_with(adjust: impl FnOnce(&mut Settings)) -> World {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut settings = Settings {
            database_url: format!("sqlite://{}/samling.sqlite?mode=rwc", dir.path().display()),
            outbox_dir: dir.path().join("outbox"),
            files_dir: dir.path().join("files"),
            ..Settings::default()
        };
        adjust(&mut settings);
        let start = Utc
            .with_ymd_and_hms(2027, 3, 10, 9, 0, 0)
            .single()
            .expect("a valid date");
        let clock = ManualClock::starting_at(start);
        let state = crate::startup::build_state(settings, Arc::new(clock.clone()))
            .await
            .expect("the state builds");
        let seed = bench_seed::seed(&state.db, &state.settings, 2, 2, start)
            .await
            .expect("the seed is stored");
        World {
            state,
            clock,
            seed,
            _dir: dir,
        }
    }

    impl World {
        /// The `member`th member of the `cohort`th cohort (from 0), connected.
        async fn connect(&self, cohort: usize, member: usize) -> Client {
            let token = &self.seed.cohorts[cohort].members[member].token;
            let current = crate::auth::extract::authenticate(&self.state, token)
                .await
                .expect("the token is checked")
                .expect("the token is valid");
            let (to_server, stream) = mpsc::unbounded();
            let (sink, from_server) = mpsc::unbounded();
            let served = tokio::spawn(serve(self.state.clone(), current, sink, stream));
            Client {
                to_server,
                from_server,
                served,
            }
        }

        fn cohort_id(&self, cohort: usize) -> i32 {
            self.seed.cohorts[cohort].cohort_id
        }

        fn thread_id(&self, cohort: usize) -> i32 {
            self.seed.cohorts[cohort].thread_id
        }
    }

    /// The client's ends of the two channels the handler serves.
    struct Client {
        to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        from_server: mpsc::UnboundedReceiver<Message>,
        served: JoinHandle<()>,
    }

    impl Client {
        fn send_frame(&self, message: Message) {
            self.to_server.unbounded_send(Ok(message)).expect("the handler reads");
        }

        fn send(&self, message: Value) {
            self.send_frame(Message::Text(message.to_string().into()));
        }

        /// The next message the server sends, within 5 s.
        async fn next_frame(&mut self) -> Message {
            tokio::time::timeout(std::time::Duration::from_secs(5), self.from_server.next())
                .await
                .expect("a message within 5 s")
                .expect("the server still sends")
        }

        /// The next JSON message that is not presence or typing (those are ephemeral).
        async fn next(&mut self) -> Value {
            loop {
                if let Message::Text(text) = self.next_frame().await {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if !matches!(message["type"].as_str(), Some("presence" | "typing")) {
                        return message;
                    }
                }
            }
        }

        /// Reads until the server's Close; its code and reason. Then the handler ends.
        async fn close_frame(mut self) -> (u16, String) {
            loop {
                if let Message::Close(frame) = self.next_frame().await {
                    let frame = frame.expect("a close code");
                    // The client answers the Close, as a websocket client does.
                    let _ = self.to_server.unbounded_send(Ok(Message::Close(None)));
                    tokio::time::timeout(std::time::Duration::from_secs(5), self.served)
                        .await
                        .expect("the handler ends after the Close")
                        .expect("the handler does not panic");
                    return (frame.code, frame.reason.to_string());
                }
            }
        }
    }

    #[tokio::test]
    async fn a_subscriber_gets_the_replay_then_the_posts_of_others_live_and_the_poster_its_answer() {
        let world = world().await;
        let (cohort_id, thread_id) = (world.cohort_id(0), world.thread_id(0));
        let mut reader = world.connect(0, 1).await;
        reader.send(json!({ "type": "subscribe", "cohort_id": cohort_id }));
        assert_eq!(
            reader.next().await,
            json!({ "type": "subscribed", "cohort_id": cohort_id, "after": 0 })
        );
        // The thread the seed started, replayed from the log with the thread as it is now.
        let replayed = reader.next().await;
        assert_eq!(
            (
                &replayed["type"],
                &replayed["seq"],
                &replayed["kind"],
                &replayed["thread"]["id"]
            ),
            (&json!("event"), &json!(1), &json!("thread_created"), &json!(thread_id))
        );

        let mut poster = world.connect(0, 0).await;
        let post = json!({ "type": "post", "thread_id": thread_id, "body": "Hei **alle**", "client_id": "c-1" });
        poster.send(post.clone());
        let posted = poster.next().await;
        assert_eq!((&posted["type"], &posted["created"]), (&json!("posted"), &json!(true)));
        let event = reader.next().await;
        assert_eq!(
            (
                &event["type"],
                &event["cohort_id"],
                &event["seq"],
                &event["kind"],
                &event["post"]["id"]
            ),
            (
                &json!("event"),
                &json!(cohort_id),
                &json!(2),
                &json!("post_created"),
                &posted["post_id"]
            )
        );
        assert!(
            event["post"]["body_html"]
                .as_str()
                .is_some_and(|html| html.contains("<strong>alle</strong>")),
            "{event}"
        );

        // A retry after a lost answer finds the same post and announces nothing new.
        poster.send(post);
        assert_eq!(
            poster.next().await,
            json!({ "type": "posted", "client_id": "c-1", "post_id": posted["post_id"], "created": false })
        );
        reader.send(json!({ "type": "ping" }));
        assert_eq!(
            reader.next().await,
            json!({ "type": "pong" }),
            "no second event came first"
        );
    }

    #[tokio::test]
    async fn bad_messages_and_other_cohorts_are_answered_with_errors_and_the_socket_stays_open() {
        let world = world().await;
        let mut client = world.connect(0, 0).await;
        client.send_frame(Message::Text("not json".into()));
        let invalid = client.next().await;
        assert_eq!(
            (&invalid["type"], &invalid["code"]),
            (&json!("error"), &json!("invalid_message"))
        );
        client.send(json!({ "type": "subscribe", "cohort_id": world.cohort_id(1) }));
        assert_eq!(client.next().await["code"], "not_found", "another cohort is not found");
        client.send(json!({ "type": "post", "thread_id": world.thread_id(0), "body": "  ", "client_id": "c-2" }));
        let refused = client.next().await;
        assert_eq!(
            (&refused["type"], &refused["code"], &refused["client_id"]),
            (&json!("error"), &json!("empty_post"), &json!("c-2"))
        );
        assert_eq!(refused["message"], "Skriv noe før du sender.");
        client.send(json!({ "type": "ping" }));
        assert_eq!(client.next().await, json!({ "type": "pong" }));

        // The client goes: the handler ends.
        drop(client.to_server);
        tokio::time::timeout(std::time::Duration::from_secs(5), client.served)
            .await
            .expect("the handler ends when the client goes")
            .expect("the handler does not panic");
    }

    #[tokio::test]
    async fn a_binary_frame_closes_with_1003() {
        let world = world().await;
        let client = world.connect(0, 0).await;
        client.send_frame(Message::Binary(vec![0, 1].into()));
        assert_eq!(client.close_frame().await, (1003, "unsupported_data".to_string()));
    }

    #[tokio::test]
    async fn a_message_too_big_to_read_closes_with_1009() {
        let world = world().await;
        let client = world.connect(0, 0).await;
        // What the websocket library reports for a message over the limit.
        let too_big = tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size: MAX_MESSAGE_BYTES + 1,
            max_size: MAX_MESSAGE_BYTES,
        });
        client
            .to_server
            .unbounded_send(Err(axum::Error::new(too_big)))
            .expect("the handler reads");
        assert_eq!(client.close_frame().await, (1009, "message_too_big".to_string()));
    }

    #[tokio::test]
    async fn frames_beyond_the_rate_limit_close_with_1008() {
        let world = world_with(|settings| settings.socket_messages_per_second = 1).await;
        let client = world.connect(0, 0).await;
        // A burst of three seconds' worth is allowed; the fourth frame is one too many.
        for _ in 0..4 {
            client.send_frame(Message::Pong(vec![1].into()));
        }
        assert_eq!(client.close_frame().await, (1008, "rate_limited".to_string()));
    }

    #[tokio::test]
    async fn the_socket_closes_with_4401_when_its_session_expires() {
        let world = world().await;
        let mut client = world.connect(0, 0).await;
        client.send(json!({ "type": "ping" }));
        assert_eq!(client.next().await, json!({ "type": "pong" }));
        world
            .clock
            .advance(chrono::Duration::hours(world.state.settings.session_hours));
        assert_eq!(client.close_frame().await, (4401, "session_expired".to_string()));
    }

    #[tokio::test]
    async fn signing_out_closes_the_socket_with_4401() {
        let world = world().await;
        let mut client = world.connect(0, 0).await;
        client.send(json!({ "type": "subscribe", "cohort_id": world.cohort_id(0), "after": 1 }));
        assert_eq!(client.next().await["type"], "subscribed");
        let token = &world.seed.cohorts[0].members[0].token;
        let person = crate::auth::extract::authenticate(&world.state, token)
            .await
            .expect("the token is checked")
            .expect("the token is valid");
        crate::auth::sign_in::sign_out(&world.state, &person)
            .await
            .expect("signed out");
        assert_eq!(client.close_frame().await, (4401, "signed_out".to_string()));
    }
}
