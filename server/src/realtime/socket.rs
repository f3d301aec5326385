//! One websocket connection: what a client may send, and the writer that sends it events.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::events::last_seq;
use super::{EventFrame, Hub, Outgoing, Queued, ServerMessage, Subscriber, frame};
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::thread;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::threads::{self, NewPost};

/// Largest message a client may send; a larger one closes the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Fan-out rounds waiting to be written to one socket; a socket that falls further behind
/// resyncs.
pub const QUEUE_CAPACITY: usize = 256;
/// Requests the reader may queue for the writer (answers, errors, subscriptions, heartbeats);
/// with this many not yet taken, the reader reads nothing more from the client until the writer
/// takes one. Far more than a client that reads its socket ever has waiting.
pub const REPLY_CAPACITY: usize = 64;
/// How long the reader waits, with [`REPLY_CAPACITY`] requests owed, for the writer to take
/// one: the writer is stuck because the client does not read its socket. Then the socket
/// closes with 1008 `not_reading`.
const NOT_READING_GRACE: Duration = Duration::from_secs(5);
/// How far back a reconnecting client may ask; from further back it must reload.
pub const MAX_REPLAY_EVENTS: i64 = 10_000;
/// Small buffers keep idle connections cheap: every connection holds its read buffer for as
/// long as it is open, and tungstenite zero-fills the whole of it on each read. What clients
/// send is small (a post's markdown is usually well under 2 KiB); a longer message is read in
/// more than one go.
const READ_BUFFER_BYTES: usize = 2 * 1024;
const WRITE_BUFFER_BYTES: usize = 64 * 1024;
const HEARTBEAT: Duration = Duration::from_secs(25);
/// How long a closing socket waits for the client's Close.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Commands obeyed before one flush, so a burst costs few system calls.
const WRITE_BATCH: usize = 64;

/// Why the server closes a socket: the close code (4000–4999 are the application's own) and
/// the reason sent with it.
#[derive(Clone, Copy, Debug)]
pub(super) enum CloseReason {
    SignedOut,
    /// The session token the socket was opened with has expired.
    SessionExpired,
    AccessRemoved,
    RateLimited,
    MessageTooBig,
    /// A binary frame: the protocol is JSON text.
    UnsupportedData,
    /// [`REPLY_CAPACITY`] replies owed and none taken for [`NOT_READING_GRACE`].
    NotReading,
}

impl CloseReason {
    fn frame(self) -> CloseFrame {
        let (code, reason) = match self {
            CloseReason::SignedOut => (4401, "signed_out"),
            CloseReason::SessionExpired => (4401, "session_expired"),
            CloseReason::AccessRemoved => (4403, "access_removed"),
            CloseReason::RateLimited => (1008, "rate_limited"),
            CloseReason::MessageTooBig => (1009, "message_too_big"),
            CloseReason::UnsupportedData => (1003, "unsupported_data"),
            CloseReason::NotReading => (1008, "not_reading"),
        };
        CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }
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
        .on_upgrade(move |socket| serve(state, current, socket))
        .into_response())
}

/// What the reader (and the hub) ask of the writer. The writer owns the socket's sending half
/// and what it follows, so everything that goes out, replies included, goes out in the order
/// asked. Closing is not a command: it skips the queue ([`Reader::close`]).
pub(super) enum Command {
    /// Boxed: a queue allocates room for 32 commands up front, for every connection.
    Send(Box<Message>),
    /// Follow the cohort after `after` (the reader has checked that the person may see it).
    Subscribe {
        cohort_id: i32,
        after: i64,
    },
    Unsubscribe {
        cohort_id: i32,
    },
    /// A fan-out round or an ephemeral message from the hub (counted in [`Inbox`]).
    Deliver(Queued),
    /// The socket's queue overflowed: it is off the cohort's feed and must subscribe again.
    Lagged {
        cohort_id: i32,
    },
}

impl Command {
    /// The reader's requests, counted against [`REPLY_CAPACITY`]. The hub's are counted as
    /// rounds, or (`Lagged`) come at most once per followed cohort, since a lagging socket is
    /// taken off the feed.
    fn is_request(&self) -> bool {
        matches!(
            self,
            Command::Send(_) | Command::Subscribe { .. } | Command::Unsubscribe { .. }
        )
    }
}

/// A socket writer's one inbox: the reader's requests, the hub's fan-out rounds and the news
/// that the socket fell behind, taken in the order they were sent. One queue, so that a
/// delivery wakes the writer through one channel and the writer polls one. Both kinds of
/// sender are bounded by counting: a socket with [`QUEUE_CAPACITY`] of the hub's rounds not yet
/// taken is behind and resyncs; a reader with [`REPLY_CAPACITY`] requests not yet taken waits,
/// and closes the socket if the writer takes none within [`NOT_READING_GRACE`].
#[derive(Clone)]
pub(super) struct Inbox {
    sender: mpsc::UnboundedSender<Command>,
    counts: Arc<Counts>,
}

struct Counts {
    /// Rounds the hub sent that the writer has not taken yet.
    rounds: AtomicUsize,
    /// Requests the reader sent that the writer has not taken yet.
    requests: AtomicUsize,
    /// Woken when the writer takes a request from a full inbox.
    room: Notify,
    /// The same, for all sockets of this instance ([`Hub::requests_waiting`]).
    all_requests: Arc<AtomicUsize>,
}

/// Why a delivery was not queued.
pub(super) enum Undelivered {
    /// The socket is [`QUEUE_CAPACITY`] rounds behind.
    Full,
    /// The writer has ended.
    Closed,
}

/// Why a request of the reader's was not queued.
enum Unrequested {
    /// [`REPLY_CAPACITY`] requests owed, and none taken within [`NOT_READING_GRACE`].
    NotReading,
    /// The writer has ended.
    Closed,
}

impl Inbox {
    fn new(all_requests: Arc<AtomicUsize>) -> (Self, mpsc::UnboundedReceiver<Command>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let inbox = Inbox {
            sender,
            counts: Arc::new(Counts {
                rounds: AtomicUsize::new(0),
                requests: AtomicUsize::new(0),
                room: Notify::new(),
                all_requests,
            }),
        };
        (inbox, receiver)
    }

    /// For the hub's `Lagged`, which comes at most once per followed cohort. False when the
    /// writer has ended.
    pub(super) fn send(&self, command: Command) -> bool {
        debug_assert!(!command.is_request(), "the reader's requests go through `request`");
        self.sender.send(command).is_ok()
    }

    /// Queues a request of the reader's. With [`REPLY_CAPACITY`] of them not yet taken, waits
    /// for the writer to take one, at most [`NOT_READING_GRACE`]: meanwhile the reader reads
    /// nothing, so a client that sends faster than its replies go out is held back by its own
    /// socket, and one that does not read at all is found out.
    async fn request(&self, command: Command) -> Result<(), Unrequested> {
        let counts = &*self.counts;
        if counts.requests.load(Ordering::Acquire) >= REPLY_CAPACITY {
            let room = tokio::time::timeout(NOT_READING_GRACE, async {
                // `notify_one` keeps a wake-up for a waiter that comes later, so none is lost
                // between the check and the wait.
                while counts.requests.load(Ordering::Acquire) >= REPLY_CAPACITY {
                    counts.room.notified().await;
                }
            })
            .await;
            if room.is_err() {
                return Err(Unrequested::NotReading);
            }
        }
        counts.requests.fetch_add(1, Ordering::AcqRel);
        counts.all_requests.fetch_add(1, Ordering::Relaxed);
        if self.sender.send(command).is_err() {
            self.request_taken();
            return Err(Unrequested::Closed);
        }
        Ok(())
    }

    /// The writer took a request.
    fn request_taken(&self) {
        let before = self.counts.requests.fetch_sub(1, Ordering::AcqRel);
        self.counts.all_requests.fetch_sub(1, Ordering::Relaxed);
        if before >= REPLY_CAPACITY {
            self.counts.room.notify_one();
        }
    }

    /// Queues a round of the hub's, unless the socket is behind or gone.
    pub(super) fn deliver(&self, queued: Queued) -> Result<(), Undelivered> {
        if self.counts.rounds.load(Ordering::Relaxed) >= QUEUE_CAPACITY {
            return Err(Undelivered::Full);
        }
        self.counts.rounds.fetch_add(1, Ordering::Relaxed);
        if self.sender.send(Command::Deliver(queued)).is_err() {
            return Err(Undelivered::Closed);
        }
        Ok(())
    }

    /// Whether the socket is less than half its capacity behind: room for best-effort messages.
    pub(super) fn has_room_to_spare(&self) -> bool {
        self.counts.rounds.load(Ordering::Relaxed) < QUEUE_CAPACITY / 2
    }

    /// The writer took a round.
    fn taken(&self) {
        self.counts.rounds.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether the reader goes on.
enum Flow {
    Continue,
    Close(CloseReason),
    Gone,
}

/// One connection is two tasks, so that a burst of events wakes only the writer, which waits on
/// nothing but its queues, and the reader's socket, timer and access checks are polled only when
/// something arrives for them. A plain fn: an async fn would keep its arguments and what is
/// built from them side by side in every connection's future.
fn serve(state: AppState, current: CurrentUser, socket: WebSocket) -> impl Future<Output = ()> {
    let hub = state.hub.clone();
    let (sink, stream) = socket.split();
    let (inbox, received) = Inbox::new(hub.requests_gauge());
    let (close, closing) = oneshot::channel();
    let writer = Writer {
        sink,
        db: state.db.clone(),
        hub: hub.clone(),
        connection: hub.new_connection_id(),
        user_id: current.user.id,
        name: current.user.name.as_str().into(),
        tr: Tr::new(current.language()),
        inbox: inbox.clone(),
        following: HashMap::new(),
    };
    let writer_done = tokio::spawn(Box::pin(writer.run(received, closing)));
    let per_second = NonZeroU32::new(state.settings.socket_messages_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    // Bursts of three seconds' worth are fine (a reconnect subscribes to several cohorts).
    let burst = NonZeroU32::new(per_second.get().saturating_mul(3)).unwrap_or(per_second);
    let reader = Box::new(Reader {
        stream,
        access: hub.access_signals(),
        state,
        current,
        writer: inbox,
        close: Some(close),
        limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
        subscribed: HashSet::new(),
    });
    read_then_wait(reader, writer_done)
}

async fn read_then_wait(reader: Box<Reader>, mut writer_done: JoinHandle<()>) {
    // The reader ends by dropping its end of the close channel: the writer sends the Close
    // asked for, if any, and ends, also when it was stuck writing to a client that does not read.
    let writer_ended = Box::pin(reader.run(&mut writer_done)).await;
    if !writer_ended {
        let _ = writer_done.await;
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

fn text(message: &ServerMessage<'_>) -> Message {
    Message::Text(frame(message))
}

/// An error frame with the stable code and its message in the person's language.
fn error_text(tr: Tr, code: &str, client_id: Option<&str>) -> Message {
    let message = tr.t(&format!("error.{code}")).to_string();
    text(&ServerMessage::Error {
        code,
        message: &message,
        client_id,
    })
}

/// Reads what the client sends, checks it against the policy and acts on it.
struct Reader {
    stream: SplitStream<WebSocket>,
    access: broadcast::Receiver<i32>,
    state: AppState,
    current: CurrentUser,
    /// The socket writer's inbox.
    writer: Inbox,
    /// Tells the writer to send a Close now, ahead of what waits in its inbox; dropped, to end.
    close: Option<oneshot::Sender<CloseReason>>,
    limiter: DefaultDirectRateLimiter,
    /// The cohorts the client asked to follow, to check again when access changes.
    subscribed: HashSet<i32>,
}

impl Reader {
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
                _ = heartbeat.tick() => self.command(Command::Send(Box::new(Message::Ping(Default::default())))).await,
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

    /// Queues a request for the writer; waits while too many are owed (see [`Inbox::request`]).
    async fn command(&self, command: Command) -> Flow {
        match self.writer.request(command).await {
            Ok(()) => Flow::Continue,
            Err(Unrequested::NotReading) => Flow::Close(CloseReason::NotReading),
            Err(Unrequested::Closed) => Flow::Gone,
        }
    }

    async fn send(&self, message: &ServerMessage<'_>) -> Flow {
        self.command(Command::Send(Box::new(text(message)))).await
    }

    async fn error(&self, code: &str, client_id: Option<&str>) -> Flow {
        let error = error_text(Tr::new(self.current.language()), code, client_id);
        self.command(Command::Send(Box::new(error))).await
    }

    async fn handle(&mut self, text: &str) -> Flow {
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return self.error("invalid_message", None).await;
        };
        match message {
            ClientMessage::Ping => self.send(&ServerMessage::Pong).await,
            ClientMessage::Subscribe { cohort_id, after } => {
                if self.current.require(Action::ViewCohort { cohort_id }).is_err() {
                    return self.error("not_found", None).await;
                }
                self.subscribed.insert(cohort_id);
                self.command(Command::Subscribe { cohort_id, after }).await
            }
            ClientMessage::Unsubscribe { cohort_id } => {
                self.subscribed.remove(&cohort_id);
                self.command(Command::Unsubscribe { cohort_id }).await
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
        self.state.hub.ephemeral(
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
                let lost = self
                    .subscribed
                    .iter()
                    .any(|cohort_id| !fresh.may(Action::ViewCohort { cohort_id: *cohort_id }));
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

/// Sends to the client: the reader's replies and the cohorts' events, each event once and in
/// order, whether it comes live from the hub or from the log.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    db: DatabaseConnection,
    hub: Hub,
    connection: u64,
    user_id: i32,
    name: Arc<str>,
    tr: Tr,
    /// The writer's own inbox, handed to the hub when the socket joins a cohort's feed.
    inbox: Inbox,
    /// Cohort → the last sequence number this socket has sent.
    following: HashMap<i32, i64>,
}

/// Whether the writer goes on: false once the socket cannot be written or is closing.
type Going = bool;

impl Writer {
    /// Obeys the inbox until the socket cannot be written or the reader ends. The reader's
    /// close channel is watched even while a write is stuck (a client that does not read):
    /// what was waiting is dropped, and the Close is sent if the client takes it in time.
    async fn run(
        mut self,
        mut received: mpsc::UnboundedReceiver<Command>,
        mut closing: oneshot::Receiver<CloseReason>,
    ) {
        loop {
            let first = tokio::select! {
                biased;
                reason = &mut closing => {
                    self.close(reason.ok()).await;
                    break;
                }
                first = received.recv() => match first {
                    Some(first) => first,
                    None => break,
                },
            };
            let going = tokio::select! {
                biased;
                reason = &mut closing => {
                    self.close(reason.ok()).await;
                    break;
                }
                going = self.obey_waiting(first, &mut received) => going,
            };
            if !going {
                break;
            }
        }
        for cohort_id in self.following.keys() {
            self.hub.leave(*cohort_id, self.connection);
        }
        // Whatever still waits is never sent: take it off the instance's count.
        received.close();
        while let Ok(command) = received.try_recv() {
            if command.is_request() {
                self.inbox.request_taken();
            }
        }
    }

    /// Sends our Close (none when the reader just ended: the client is gone), waiting at most
    /// [`CLOSE_GRACE`] for a client that does not read.
    async fn close(&mut self, reason: Option<CloseReason>) {
        if let Some(reason) = reason {
            let close = self.sink.send(Message::Close(Some(reason.frame())));
            let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
        }
    }

    /// Obeys a command and whatever else is already waiting, then flushes once: a burst of
    /// events and replies costs one system call.
    async fn obey_waiting(&mut self, first: Command, received: &mut mpsc::UnboundedReceiver<Command>) -> Going {
        let mut next = Some(first);
        let mut obeyed = 0;
        while let Some(command) = next.take() {
            let going = match command {
                // The busiest command, obeyed in place: `obey`'s future is large (subscribing
                // reads the log), and boxing it for every delivery cost an allocation and a
                // copy of it per event per socket.
                Command::Deliver(outgoing) => self.take_delivered(&outgoing).await,
                other => {
                    if other.is_request() {
                        self.inbox.request_taken();
                    }
                    Box::pin(self.obey(other)).await
                }
            };
            if !going {
                return false;
            }
            obeyed += 1;
            if obeyed < WRITE_BATCH {
                next = received.try_recv().ok();
            }
        }
        self.sink.flush().await.is_ok()
    }

    /// Messages are written without flushing; [`Self::obey_waiting`] flushes.
    async fn obey(&mut self, command: Command) -> Going {
        match command {
            Command::Send(message) => self.write(*message).await,
            Command::Deliver(outgoing) => self.take_delivered(&outgoing).await,
            Command::Lagged { cohort_id } => self.resync(cohort_id).await,
            Command::Subscribe { cohort_id, after } => self.subscribe(cohort_id, after).await,
            Command::Unsubscribe { cohort_id } => {
                if self.following.remove(&cohort_id).is_some() {
                    self.hub.leave(cohort_id, self.connection);
                }
                true
            }
        }
    }

    /// Writes without flushing: [`Self::obey_waiting`] flushes once what its commands wrote.
    async fn write(&mut self, message: Message) -> Going {
        self.sink.feed(message).await.is_ok()
    }

    async fn internal_error(&mut self) -> Going {
        self.write(error_text(self.tr, "internal", None)).await
    }

    async fn subscribe(&mut self, cohort_id: i32, after: i64) -> Going {
        let newest = match last_seq(&self.db, cohort_id).await {
            Ok(newest) => newest,
            Err(error) => {
                error.log();
                return self.internal_error().await;
            }
        };
        let after = after.max(0);
        if after > newest || newest - after > MAX_REPLAY_EVENTS {
            return self
                .write(text(&ServerMessage::Reload {
                    cohort_id,
                    last_seq: newest,
                }))
                .await;
        }
        if !self.write(text(&ServerMessage::Subscribed { cohort_id, after })).await {
            return false;
        }
        // Replay, join the live feed, then replay what arrived in between; live events this
        // socket already sent are skipped.
        let mut last = after;
        if !self.catch_up(cohort_id, &mut last).await {
            return false;
        }
        let subscriber = Subscriber {
            connection: self.connection,
            user_id: self.user_id,
            name: self.name.clone(),
            inbox: self.inbox.clone(),
        };
        self.hub.join(cohort_id, subscriber, last);
        // Following from the moment it joined, so that the feed is left however the writer ends.
        self.following.insert(cohort_id, last);
        let going = self.catch_up(cohort_id, &mut last).await;
        self.following.insert(cohort_id, last);
        going
    }

    /// Sends the cohort's stored events after `last` straight from the log, advancing it.
    async fn catch_up(&mut self, cohort_id: i32, last: &mut i64) -> Going {
        loop {
            let events = match self.hub.inner.source.frames_after(&self.db, cohort_id, *last).await {
                Ok(events) => events,
                Err(error) => {
                    error.log();
                    return self.internal_error().await;
                }
            };
            if events.is_empty() {
                return true;
            }
            for event in events {
                let seq = event.seq;
                if self.sink.feed(Message::Text(event.text)).await.is_err() {
                    return false;
                }
                *last = seq;
            }
            if self.sink.flush().await.is_err() {
                return false;
            }
        }
    }

    /// Takes a round off the inbox's count and writes it.
    async fn take_delivered(&mut self, outgoing: &Outgoing) -> Going {
        self.inbox.taken();
        self.write_delivered(outgoing).await
    }

    /// Writes what the hub delivered, skipping events this socket already sent and filling a
    /// gap from the log.
    async fn write_delivered(&mut self, outgoing: &Outgoing) -> Going {
        match outgoing {
            Outgoing::Ephemeral(frame) => self.write(Message::Text(frame.clone())).await,
            Outgoing::Events { cohort_id, events } => {
                for EventFrame { seq, text } in events {
                    let Some(last) = self.following.get_mut(cohort_id) else {
                        // Not (or no longer) following: a resync or unsubscribe is under way.
                        break;
                    };
                    if *seq <= *last {
                        continue;
                    }
                    if *seq > *last + 1 {
                        // A gap: read what is missing from the log; it includes the rest.
                        let mut last = *last;
                        if !Box::pin(self.catch_up(*cohort_id, &mut last)).await {
                            return false;
                        }
                        self.following.insert(*cohort_id, last);
                        break;
                    }
                    *last = *seq;
                    if !self.write(Message::Text(text.clone())).await {
                        return false;
                    }
                }
                true
            }
        }
    }

    /// The socket's queue overflowed: it is off the cohort's feed and must subscribe again.
    async fn resync(&mut self, cohort_id: i32) -> Going {
        match self.following.remove(&cohort_id) {
            Some(after) => self.write(text(&ServerMessage::Resync { cohort_id, after })).await,
            None => true,
        }
    }
}
