//! Live events over websockets.
//!
//! Stored changes: after a change commits, its cohort is signalled. One fan-out task per cohort
//! (per server instance) reads the new events from the event log once, serialises each once and
//! hands the same bytes to every subscribed socket's writer, which holds at most
//! [`QUEUE_CAPACITY`] of these rounds. A socket that is that far behind is not silently
//! skipped: it is told to resync from the last number it got. A missed
//! signal costs nothing, because the next one reads everything after the last number sent.
//!
//! Ephemeral things (presence, typing) go through the same queues but are never stored, and
//! are dropped for a socket that is behind.
//!
//! With PostgreSQL, signals travel between instances by LISTEN/NOTIFY ([`listen`]).
//!
//! The event log is here too ([`events`]): areas append their changes to it and commit with
//! [`commit_and_signal`]. What a client may send over its socket is the entry point's
//! (`routes::socket`); each socket's writer is here ([`connection`]).

pub(crate) mod connection;
pub mod events;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use sea_orm::{DatabaseBackend, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};

pub use connection::{QUEUE_CAPACITY, REPLY_CAPACITY};
use events::{EventSource, PG_CHANNEL, notify_instances};

use crate::error::AppResult;

/// What a socket's writer sends: a cohort's stored events, in order (with their numbers, to
/// skip what it already sent), or an ephemeral message.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Events { cohort_id: i32, events: Vec<EventFrame> },
    Ephemeral(Utf8Bytes),
}

/// One message shared by every socket it goes to. A queue slot is a pointer, so a socket's
/// queue blocks stay small however large the messages are.
pub(crate) type Queued = Arc<Outgoing>;

struct Subscriber {
    connection: u64,
    user_id: i32,
    name: Arc<str>,
    /// The socket writer's inbox: the cohort's events, and the news when the socket fell
    /// behind and was taken off the feed.
    inbox: connection::Inbox,
}

struct Feed {
    wake: Arc<Notify>,
    subscribers: Vec<Subscriber>,
    /// Events this instance just stored and rendered, by number: delivered without reading
    /// them back from the database when they follow on from the last one sent.
    fresh: BTreeMap<i64, EventFrame>,
    /// Something changed that only the database knows (an edit, another instance, a missed
    /// signal): the fan-out task reads the event log.
    stale: bool,
    /// Who is present changed and the sockets hear of it shortly ([`PRESENCE_INTERVAL`]).
    presence_due: bool,
    /// The highest event number this instance has delivered or holds fresh: a signal from the
    /// database up to it (this instance's own posts come back as NOTIFY too) needs no read.
    known: i64,
}

/// The most fresh events a feed holds for its fan-out task; beyond that it reads the log.
const FRESH_LIMIT: usize = 256;

struct HubInner {
    db: DatabaseConnection,
    /// Renders the log's events for the sockets.
    source: Arc<dyn EventSource>,
    feeds: Mutex<HashMap<i32, Feed>>,
    /// People whose sessions or memberships changed: their sockets check again.
    access: broadcast::Sender<i32>,
    next_connection: AtomicU64,
    /// Requests the sockets' readers queued that their writers have not taken yet.
    requests_waiting: Arc<AtomicUsize>,
}

/// The live part of one server instance.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerMessage<'a> {
    Subscribed {
        cohort_id: i32,
        after: i64,
    },
    /// The socket fell behind: subscribe again with `after`.
    Resync {
        cohort_id: i32,
        after: i64,
    },
    /// What the client missed is too old to replay: load the page again.
    Reload {
        cohort_id: i32,
        /// The cohort's newest number: load the page, then subscribe after it.
        last_seq: i64,
    },
    /// Who has the cohort open now (on this instance): sent to a socket when it subscribes,
    /// and to all of them at most once per [`PRESENCE_INTERVAL`] when it changes. At most
    /// [`PRESENCE_LISTED`] people by name, and how many there are in all.
    Presence {
        cohort_id: i32,
        people: &'a [Person],
        count: usize,
    },
    Typing {
        cohort_id: i32,
        thread_id: i32,
        user_id: i32,
        name: &'a str,
    },
    Posted {
        client_id: &'a str,
        post_id: i32,
        /// False when an earlier try with this client id stored it.
        created: bool,
    },
    Pong,
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Person {
    pub user_id: i32,
    pub name: String,
}

/// The most people a presence snapshot lists by name (the others are counted): enough to
/// show, and small enough that every socket's snapshot stays small.
pub const PRESENCE_LISTED: usize = 20;
/// How often, at most, a cohort's sockets hear who is present. Changes in between are sent
/// together: when many people connect at once, each socket gets one snapshot per interval,
/// not one message per person.
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) fn frame(message: &ServerMessage<'_>) -> Utf8Bytes {
    // Serialising these types cannot fail: no maps with non-string keys, no custom serialisers.
    Utf8Bytes::from(serde_json::to_string(message).unwrap_or_default())
}

/// A stored event as its cohort's sockets receive it: its number, and the message serialised
/// once for all of them.
#[derive(Clone, Debug)]
pub struct EventFrame {
    seq: i64,
    text: Utf8Bytes,
}

impl EventFrame {
    /// The `event` message: `type` and `cohort_id`, then the fields of `event` (its `seq`,
    /// `kind` and content, as the area that stored it renders them).
    pub fn new(cohort_id: i32, seq: i64, event: &impl Serialize) -> Self {
        #[derive(Serialize)]
        #[serde(tag = "type", rename = "event")]
        struct EventMessage<'a, E> {
            cohort_id: i32,
            #[serde(flatten)]
            event: &'a E,
        }
        // As `frame`: the areas' event views serialise without failing.
        let text = serde_json::to_string(&EventMessage { cohort_id, event }).unwrap_or_default();
        Self {
            seq,
            text: Utf8Bytes::from(text),
        }
    }

    pub fn seq(&self) -> i64 {
        self.seq
    }
}

/// Commits a transaction that appended to the cohort's event log, then signals the cohort's
/// sockets on this instance (other instances hear of it from the log's NOTIFY, at the commit).
/// Every stored change that has an event ends with this.
pub async fn commit_and_signal(txn: DatabaseTransaction, hub: &Hub, cohort_id: i32) -> AppResult<()> {
    txn.commit().await?;
    hub.notify(cohort_id);
    Ok(())
}

impl Hub {
    /// `source` renders the log's events, which the hub reads when a socket catches up or a
    /// signal comes without them.
    pub fn new(db: DatabaseConnection, source: Arc<dyn EventSource>) -> Self {
        Self {
            inner: Arc::new(HubInner {
                db,
                source,
                feeds: Mutex::new(HashMap::new()),
                access: broadcast::channel(256).0,
                next_connection: AtomicU64::new(1),
                requests_waiting: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    fn feeds(&self) -> MutexGuard<'_, HashMap<i32, Feed>> {
        // A panic while holding the lock leaves the map usable: recover it.
        self.inner.feeds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cohort has new events in the log (see [`commit_and_signal`]); for a change committed
    /// in a transaction that also did other things (erasing a person).
    pub fn notify(&self, cohort_id: i32) {
        self.signalled(cohort_id, None);
    }

    /// The cohort has new events in the log, up to `last` where the signal says: unless this
    /// instance already has them, its fan-out task reads the log.
    fn signalled(&self, cohort_id: i32, last: Option<i64>) {
        if let Some(feed) = self.feeds().get_mut(&cohort_id) {
            if last.is_some_and(|last| last <= feed.known) {
                return;
            }
            feed.stale = true;
            feed.wake.notify_one();
        }
    }

    /// Whether sockets of this instance follow the cohort: an event nobody here follows need not
    /// be rendered for [`Hub::publish`] (a socket that subscribes later replays it from the log).
    pub fn follows(&self, cohort_id: i32) -> bool {
        self.feeds().contains_key(&cohort_id)
    }

    /// Call after the transaction that stored `event` has committed, with the event as it
    /// was stored: the fan-out task sends it without reading it back. If it does not follow
    /// on from what was sent (two commits signalled out of order), the task reads the log.
    pub fn publish(&self, cohort_id: i32, event: EventFrame) {
        if let Some(feed) = self.feeds().get_mut(&cohort_id) {
            if feed.fresh.len() < FRESH_LIMIT {
                feed.known = feed.known.max(event.seq);
                feed.fresh.insert(event.seq, event);
            } else {
                feed.stale = true;
            }
            feed.wake.notify_one();
        }
    }

    /// What the fan-out task should send now: the fresh events in order, and whether it must
    /// read the log as well.
    fn take_fresh(&self, cohort_id: i32) -> (BTreeMap<i64, EventFrame>, bool) {
        match self.feeds().get_mut(&cohort_id) {
            Some(feed) => (
                std::mem::take(&mut feed.fresh),
                std::mem::replace(&mut feed.stale, false),
            ),
            None => (BTreeMap::new(), false),
        }
    }

    /// Call after someone was signed out, deactivated or removed from a cohort: their open
    /// sockets check again and close if they lost access.
    pub fn access_changed(&self, user_id: i32) {
        // No receivers is fine: nobody is connected.
        let _ = self.inner.access.send(user_id);
        let db = self.inner.db.clone();
        tokio::spawn(async move {
            if let Err(error) = notify_instances(&db, format!("u:{user_id}")).await {
                tracing::warn!(error = %error, "could not tell other instances about an access change");
            }
        });
    }

    pub(crate) fn access_signals(&self) -> broadcast::Receiver<i32> {
        self.inner.access.subscribe()
    }

    /// Replies and other requests of clients that this instance's socket writers have not
    /// taken yet: at most [`REPLY_CAPACITY`] per socket, however fast a client sends and
    /// whether or not it reads.
    pub fn requests_waiting(&self) -> usize {
        self.inner.requests_waiting.load(Ordering::Relaxed)
    }

    fn requests_gauge(&self) -> Arc<AtomicUsize> {
        self.inner.requests_waiting.clone()
    }

    fn new_connection_id(&self) -> u64 {
        self.inner.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a socket to the cohort's feed. `sent` is the last number the socket has sent; a
    /// new feed starts from there and looks for newer events at once.
    fn join(&self, cohort_id: i32, subscriber: Subscriber, sent: i64) {
        let mut feeds = self.feeds();
        let feed = feeds.entry(cohort_id).or_insert_with(|| {
            let wake = Arc::new(Notify::new());
            tokio::spawn(fan_out(self.clone(), cohort_id, wake.clone(), sent));
            wake.notify_one();
            Feed {
                wake,
                subscribers: Vec::new(),
                fresh: BTreeMap::new(),
                // A new feed starts from `sent`: anything newer is in the log.
                stale: true,
                presence_due: false,
                known: sent,
            }
        });
        feed.subscribers.retain(|s| s.connection != subscriber.connection);
        let joined = subscriber.inbox.clone();
        if !feed.subscribers.iter().any(|s| s.user_id == subscriber.user_id) {
            self.presence_changed(cohort_id, feed);
        }
        feed.subscribers.push(subscriber);
        let _ = joined.deliver(Arc::new(Outgoing::Ephemeral(presence_frame(cohort_id, feed))));
    }

    /// Takes a socket off a cohort's feed; the last one out ends the feed.
    fn leave(&self, cohort_id: i32, connection: u64) {
        let mut feeds = self.feeds();
        let Some(feed) = feeds.get_mut(&cohort_id) else { return };
        let Some(user_id) = feed
            .subscribers
            .iter()
            .find(|s| s.connection == connection)
            .map(|s| s.user_id)
        else {
            return;
        };
        feed.subscribers.retain(|s| s.connection != connection);
        if feed.subscribers.is_empty() {
            // Wakes the fan-out task so it sees it is no longer needed.
            feed.wake.notify_one();
            feeds.remove(&cohort_id);
            return;
        }
        if !feed.subscribers.iter().any(|s| s.user_id == user_id) {
            self.presence_changed(cohort_id, feed);
        }
    }

    /// Someone came or left: the cohort's sockets get a new snapshot after
    /// [`PRESENCE_INTERVAL`], with whatever else changed meanwhile.
    fn presence_changed(&self, cohort_id: i32, feed: &mut Feed) {
        if feed.presence_due {
            return;
        }
        feed.presence_due = true;
        let (hub, wake) = (self.clone(), feed.wake.clone());
        tokio::spawn(async move {
            tokio::time::sleep(PRESENCE_INTERVAL).await;
            let mut feeds = hub.feeds();
            // The feed may have ended, and another begun, meanwhile.
            if let Some(feed) = feeds.get_mut(&cohort_id).filter(|feed| Arc::ptr_eq(&feed.wake, &wake)) {
                feed.presence_due = false;
                let snapshot = presence_frame(cohort_id, feed);
                broadcast_ephemeral(feed, snapshot);
            }
        });
    }

    /// Sends an ephemeral message to the cohort's sockets on this instance.
    pub(crate) fn ephemeral(&self, cohort_id: i32, message: &ServerMessage<'_>) {
        if let Some(feed) = self.feeds().get(&cohort_id) {
            broadcast_ephemeral(feed, frame(message));
        }
    }

    /// Hands the cohort's next serialised events to every subscriber, all in one queue slot: a
    /// burst costs each socket one hand-over and one wake-up. A full queue takes the socket off
    /// the feed and tells it to resync; it is never skipped silently.
    fn deliver(&self, cohort_id: i32, events: Vec<EventFrame>) {
        if events.is_empty() {
            return;
        }
        let mut feeds = self.feeds();
        let Some(feed) = feeds.get_mut(&cohort_id) else { return };
        if let Some(last) = events.last() {
            feed.known = feed.known.max(last.seq);
        }
        let outgoing = Arc::new(Outgoing::Events { cohort_id, events });
        feed.subscribers
            .retain(|subscriber| match subscriber.inbox.deliver(outgoing.clone()) {
                Ok(()) => true,
                Err(connection::Undelivered::Full) => {
                    subscriber.inbox.send(connection::Command::Lagged { cohort_id });
                    false
                }
                Err(connection::Undelivered::Closed) => false,
            });
    }

    /// Whether the feed that `wake` belongs to is still the cohort's.
    fn feed_is_current(&self, cohort_id: i32, wake: &Arc<Notify>) -> bool {
        self.feeds()
            .get(&cohort_id)
            .is_some_and(|feed| Arc::ptr_eq(&feed.wake, wake))
    }
}

/// Who has the cohort open now: the first [`PRESENCE_LISTED`] people by user id, and the count.
fn presence_frame(cohort_id: i32, feed: &Feed) -> Utf8Bytes {
    let present: BTreeMap<i32, &str> = feed.subscribers.iter().map(|s| (s.user_id, &*s.name)).collect();
    let people: Vec<Person> = present
        .iter()
        .take(PRESENCE_LISTED)
        .map(|(user_id, name)| Person {
            user_id: *user_id,
            name: name.to_string(),
        })
        .collect();
    frame(&ServerMessage::Presence {
        cohort_id,
        people: &people,
        count: present.len(),
    })
}

/// Best effort: presence and typing are only about "now", so a socket whose queue is half full
/// misses them, keeping the room for stored events it must not miss.
fn broadcast_ephemeral(feed: &Feed, frame: Utf8Bytes) {
    let outgoing = Arc::new(Outgoing::Ephemeral(frame));
    for subscriber in &feed.subscribers {
        if subscriber.inbox.has_room_to_spare() {
            let _ = subscriber.inbox.deliver(outgoing.clone());
        }
    }
}

/// Per signal, sends the cohort's new events to its sockets: the ones this instance just
/// stored as they are, anything else read from the event log once. Every event is serialised
/// once for all sockets, by whoever stored it or by the event source.
async fn fan_out(hub: Hub, cohort_id: i32, wake: Arc<Notify>, mut sent: i64) {
    loop {
        wake.notified().await;
        if !hub.feed_is_current(cohort_id, &wake) {
            return;
        }
        // Under load, let the posts that are finishing now finish first: they are then sent
        // together, and each socket's writer sends several per system call. Idle, this
        // costs nothing.
        tokio::task::yield_now().await;
        let (fresh, mut stale) = hub.take_fresh(cohort_id);
        let mut ready = Vec::new();
        // Taken in order, each by value: the frames move on as they are.
        let already_sent = sent;
        for (seq, event) in fresh.into_iter().skip_while(|(seq, _)| *seq <= already_sent) {
            if seq != sent + 1 {
                // A gap: an event committed meanwhile is in the log, not here yet.
                stale = true;
                break;
            }
            ready.push(event);
            sent = seq;
        }
        hub.deliver(cohort_id, ready);
        if !stale {
            continue;
        }
        loop {
            let events = match hub.inner.source.frames_after(&hub.inner.db, cohort_id, sent).await {
                Ok(events) => events,
                Err(error) => {
                    error.log();
                    // Try again shortly; sockets that see a gap catch up from the log themselves.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    wake.notify_one();
                    break;
                }
            };
            let Some(last) = events.last().map(EventFrame::seq) else {
                break;
            };
            hub.deliver(cohort_id, events);
            sent = last;
        }
    }
}

/// Listens for other instances' signals on PostgreSQL and passes them to this instance's hub.
/// The signals only say "cohort N changed" or "person N's access changed"; the events
/// themselves are read from the database, so a notification lost while reconnecting is
/// caught up by the next one.
pub async fn listen(hub: Hub) {
    if hub.inner.db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    let pool = hub.inner.db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for other instances; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(PG_CHANNEL).await {
            tracing::warn!(error = %error, "cannot listen for other instances; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // This instance's own connection name: its signals were sent to its sockets at once.
        let own: Option<String> = match sea_orm::sqlx::query_scalar("SELECT current_setting('application_name')")
            .fetch_one(&pool)
            .await
        {
            Ok(name) => Some(name),
            Err(error) => {
                tracing::warn!(error = %error, "cannot learn this instance's connection name");
                None
            }
        };
        // Anything missed while not listening: every feed looks again.
        hub.wake_all();
        while let Ok(notification) = listener.recv().await {
            let (signal, sender) = events::instance_of(notification.payload());
            if sender.is_some() && sender == own.as_deref() {
                continue;
            }
            match signal.split_once(':') {
                // `c:<cohort>:<last event number>`; a signal without the number reads the log.
                Some(("c", cohort)) => {
                    let (cohort, last) = match cohort.split_once(':') {
                        Some((cohort, last)) => (cohort, last.parse().ok()),
                        None => (cohort, None),
                    };
                    if let Ok(cohort_id) = cohort.parse() {
                        hub.signalled(cohort_id, last);
                    }
                }
                Some(("u", user)) => {
                    if let Ok(user_id) = user.parse() {
                        let _ = hub.inner.access.send(user_id);
                    }
                }
                _ => {}
            }
        }
        tracing::warn!("lost the PostgreSQL listener; reconnecting");
    }
}

impl Hub {
    fn wake_all(&self) {
        for feed in self.feeds().values_mut() {
            feed.stale = true;
            feed.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::EventFrame;

    #[test]
    fn an_event_frame_is_the_event_message_with_the_events_fields_in_order() {
        #[derive(Serialize)]
        struct Event {
            seq: i64,
            kind: &'static str,
            post_id: Option<i32>,
        }
        let event = Event {
            seq: 7,
            kind: "post_created",
            post_id: Some(12),
        };
        let frame = EventFrame::new(3, 7, &event);
        assert_eq!(frame.seq(), 7);
        assert_eq!(
            frame.text.as_str(),
            r#"{"type":"event","cohort_id":3,"seq":7,"kind":"post_created","post_id":12}"#
        );
    }
}
