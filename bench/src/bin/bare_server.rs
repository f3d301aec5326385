//! The ceiling: a bare tokio-tungstenite broadcast server speaking Samling's client protocol,
//! with no database, no policy and no HTTP framework. Each event is serialised once and the
//! same bytes are queued to every subscriber of its cohort.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[derive(Parser)]
#[command(about = "Bare websocket broadcast server: the fan-out ceiling of this machine")]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Messages queued per connection before it counts as too slow and stops receiving events.
    #[arg(long, default_value_t = 4096)]
    queue: usize,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe {
        cohort_id: i64,
        #[serde(default)]
        after: i64,
    },
    Post {
        cohort_id: i64,
        thread_id: i64,
        body: String,
        client_id: String,
    },
    Ping,
}

#[derive(Serialize)]
struct PostPayload<'a> {
    client_id: &'a str,
    body_html: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    Subscribed {
        cohort_id: i64,
        after: i64,
    },
    Event {
        cohort_id: i64,
        seq: u64,
        kind: &'static str,
        thread_id: i64,
        post: PostPayload<'a>,
    },
    Pong,
    Error {
        code: &'static str,
    },
}

#[derive(Default)]
struct Cohort {
    seq: u64,
    subscribers: Vec<(u64, mpsc::Sender<Utf8Bytes>)>,
}

#[derive(Default)]
struct Hub {
    cohorts: Mutex<HashMap<i64, Cohort>>,
}

impl Hub {
    fn subscribe(&self, cohort_id: i64, connection: u64, queue: mpsc::Sender<Utf8Bytes>) {
        let mut cohorts = self
            .cohorts
            .lock()
            .expect("hub lock poisoned: a panic while broadcasting");
        let cohort = cohorts.entry(cohort_id).or_default();
        cohort.subscribers.retain(|(id, _)| *id != connection);
        cohort.subscribers.push((connection, queue));
    }

    fn unsubscribe(&self, cohort_ids: &[i64], connection: u64) {
        let mut cohorts = self
            .cohorts
            .lock()
            .expect("hub lock poisoned: a panic while broadcasting");
        for cohort_id in cohort_ids {
            if let Some(cohort) = cohorts.get_mut(cohort_id) {
                cohort.subscribers.retain(|(id, _)| *id != connection);
            }
        }
    }

    fn publish(&self, cohort_id: i64, thread_id: i64, body: &str, client_id: &str) {
        let mut cohorts = self
            .cohorts
            .lock()
            .expect("hub lock poisoned: a panic while broadcasting");
        let cohort = cohorts.entry(cohort_id).or_default();
        cohort.seq += 1;
        let event = ServerMessage::Event {
            cohort_id,
            seq: cohort.seq,
            kind: "post_created",
            thread_id,
            post: PostPayload {
                client_id,
                body_html: body,
            },
        };
        let Some(bytes) = to_bytes(&event) else { return };
        cohort
            .subscribers
            .retain(|(id, queue)| match queue.try_send(bytes.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Never block the publisher on one slow reader; dropping it shows up as loss.
                    eprintln!("bench-bare-server: connection {id} is too slow; it gets no more events");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
    }
}

fn to_bytes(message: &ServerMessage<'_>) -> Option<Utf8Bytes> {
    serde_json::to_string(message).ok().map(Utf8Bytes::from)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(&args.bind).await?;
    println!("listening {}", listener.local_addr()?);
    let hub = Arc::new(Hub::default());
    let mut next_id = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        next_id += 1;
        tokio::spawn(serve(hub.clone(), stream, next_id, args.queue));
    }
}

async fn serve(hub: Arc<Hub>, stream: TcpStream, connection: u64, queue: usize) {
    let _ = stream.set_nodelay(true);
    // Small read buffer as in Samling: tungstenite zero-fills the whole buffer per connection.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    let (sender, mut receiver) = mpsc::channel::<Utf8Bytes>(queue);
    let writer = tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            // Batch whatever is already queued into one flush.
            while let Ok(next) = receiver.try_recv() {
                if sink.feed(Message::Text(next)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut followed: Vec<i64> = Vec::new();
    while let Some(Ok(message)) = source.next().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = match serde_json::from_str::<ClientMessage>(text.as_str()) {
            Ok(ClientMessage::Subscribe { cohort_id, after }) => {
                // "subscribed" must reach the client before the cohort's first event.
                let Some(subscribed) = to_bytes(&ServerMessage::Subscribed { cohort_id, after }) else {
                    break;
                };
                if sender.send(subscribed).await.is_err() {
                    break;
                }
                hub.subscribe(cohort_id, connection, sender.clone());
                followed.push(cohort_id);
                None
            }
            Ok(ClientMessage::Post {
                cohort_id,
                thread_id,
                body,
                client_id,
            }) => {
                hub.publish(cohort_id, thread_id, &body, &client_id);
                None
            }
            Ok(ClientMessage::Ping) => to_bytes(&ServerMessage::Pong),
            Err(_) => to_bytes(&ServerMessage::Error {
                code: "invalid_message",
            }),
        };
        if let Some(reply) = reply
            && sender.send(reply).await.is_err()
        {
            break;
        }
    }
    hub.unsubscribe(&followed, connection);
    drop(sender);
    let _ = writer.await;
}
