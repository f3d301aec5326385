//! One socket's side of the hub: the inbox its writer takes everything from, and the writer,
//! which alone sends to the socket. What a client may send is the entry point's
//! (`routes::socket`), which starts a connection with [`Hub::open`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::events::last_seq;
use super::{EventFrame, Hub, Outgoing, Queued, ServerMessage, Subscriber, frame};
use crate::i18n::Tr;

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
/// How long a closing socket waits for the client's Close.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Commands obeyed before one flush, so a burst costs few system calls.
const WRITE_BATCH: usize = 64;

/// Why the server closes a socket: the close code (4000–4999 are the application's own) and
/// the reason sent with it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CloseReason {
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
pub(crate) enum Unrequested {
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

/// The reader's way to the writer: what to send and what to follow, in the order asked. Each
/// waits while [`REPLY_CAPACITY`] requests are owed (see [`Inbox::request`]).
pub(crate) struct Requests(Inbox);

impl Requests {
    pub(crate) async fn send(&self, message: Message) -> Result<(), Unrequested> {
        self.0.request(Command::Send(Box::new(message))).await
    }

    /// Follow the cohort after `after`; the caller has checked that the person may see it.
    pub(crate) async fn subscribe(&self, cohort_id: i32, after: i64) -> Result<(), Unrequested> {
        self.0.request(Command::Subscribe { cohort_id, after }).await
    }

    pub(crate) async fn unsubscribe(&self, cohort_id: i32) -> Result<(), Unrequested> {
        self.0.request(Command::Unsubscribe { cohort_id }).await
    }
}

/// A connection's writer, started: the reader's side of it.
pub(crate) struct Opened {
    pub requests: Requests,
    /// Tells the writer to send a Close now, ahead of what waits in its inbox; dropped, to end.
    pub close: oneshot::Sender<CloseReason>,
    /// Ends when the writer has ended: it could not write, or the reader ended.
    pub writer_done: JoinHandle<()>,
}

impl Hub {
    /// Starts the writer of a new connection of `user_id`'s (`name` is shown in presence, `tr`
    /// words its errors): it sends to `sink` what the returned requests ask for, and the events
    /// of the cohorts it follows.
    pub(crate) fn open<S>(&self, sink: S, user_id: i32, name: Arc<str>, tr: Tr) -> Opened
    where
        S: Sink<Message> + Unpin + Send + 'static,
    {
        let (inbox, received) = Inbox::new(self.requests_gauge());
        let (close, closing) = oneshot::channel();
        let writer = Writer {
            sink,
            hub: self.clone(),
            connection: self.new_connection_id(),
            user_id,
            name,
            tr,
            inbox: inbox.clone(),
            following: HashMap::new(),
        };
        let writer_done = tokio::spawn(Box::pin(writer.run(received, closing)));
        Opened {
            requests: Requests(inbox),
            close,
            writer_done,
        }
    }
}

pub(crate) fn text(message: &ServerMessage<'_>) -> Message {
    Message::Text(frame(message))
}

/// An error frame with the stable code and its message in the person's language.
pub(crate) fn error_text(tr: Tr, code: &str, client_id: Option<&str>) -> Message {
    let message = tr.t(&format!("error.{code}")).to_string();
    text(&ServerMessage::Error {
        code,
        message: &message,
        client_id,
    })
}

/// Sends to the client: the reader's replies and the cohorts' events, each event once and in
/// order, whether it comes live from the hub or from the log.
struct Writer<S> {
    sink: S,
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

impl<S> Writer<S>
where
    S: Sink<Message> + Unpin + Send + 'static,
{
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
        let newest = match last_seq(&self.hub.inner.db, cohort_id).await {
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
            let inner = &*self.hub.inner;
            let events = match inner.source.frames_after(&inner.db, cohort_id, *last).await {
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
