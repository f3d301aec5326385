//! The transport-level ceiling: a bare tokio-tungstenite server that rebroadcasts every text
//! frame to every subscriber of its cohort, with no parsing at all. The cohort is the URL's:
//! `/ws/{cohort}` subscribes (and may send), `/publish/{cohort}` only sends. Each frame's bytes
//! are shared by all the subscribers' queues, never copied per subscriber. Whatever Samling or
//! the protocol-level bare server spend beyond this is protocol, policy and storage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clap::Parser;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[derive(Parser)]
#[command(about = "Bare websocket rebroadcast server: the transport-level fan-out ceiling of this machine")]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Frames queued per connection before it counts as too slow and stops receiving frames.
    #[arg(long, default_value_t = 4096)]
    queue: usize,
}

/// Sent to a subscriber once it is registered, so the client knows no frame can miss it.
const GREETING: &str = r#"{"type":"subscribed"}"#;

#[derive(Default)]
struct Cohort {
    subscribers: Mutex<Vec<(u64, mpsc::Sender<Utf8Bytes>)>>,
}

impl Cohort {
    fn rebroadcast(&self, frame: &Utf8Bytes) {
        let mut subscribers = self
            .subscribers
            .lock()
            .expect("cohort lock poisoned: a panic while rebroadcasting");
        // A clone of `Utf8Bytes` shares the frame's buffer (a reference count), not its bytes.
        subscribers.retain(|(id, queue)| match queue.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Never block the sender on one slow reader; dropping it shows up as loss.
                eprintln!("bench-bare-transport: connection {id} is too slow; it gets no more frames");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }
}

#[derive(Default)]
struct Hub {
    cohorts: Mutex<HashMap<String, Arc<Cohort>>>,
}

impl Hub {
    /// Looked up once per connection, so rebroadcasting takes only its cohort's lock.
    fn cohort(&self, name: &str) -> Arc<Cohort> {
        self.cohorts
            .lock()
            .expect("hub lock poisoned: a panic while connecting")
            .entry(name.to_string())
            .or_default()
            .clone()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Subscriber,
    Publisher,
}

/// `/ws/{cohort}` or `/publish/{cohort}` → the role and the cohort.
fn route(path: &str) -> Option<(Role, &str)> {
    let (role, cohort) = if let Some(cohort) = path.strip_prefix("/ws/") {
        (Role::Subscriber, cohort)
    } else {
        (Role::Publisher, path.strip_prefix("/publish/")?)
    };
    (!cohort.is_empty() && !cohort.contains('/')).then_some((role, cohort))
}

// The runtime bench-bare-server and Samling run on, so the ceilings differ only in the work per
// frame; pinned to one core it has one worker. A single-threaded runtime was no faster here.
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
    let mut routed = None;
    // The handshake callback's signature is tungstenite's, large error response and all.
    #[allow(clippy::result_large_err)]
    let check_path = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match route(request.uri().path()) {
            Some((role, cohort)) => {
                routed = Some((role, cohort.to_string()));
                Ok(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some("use /ws/{cohort} or /publish/{cohort}".to_string()));
                *refusal.status_mut() = StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    };
    // The same small read buffer as the other servers: tungstenite zero-fills it per connection.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(socket) = tokio_tungstenite::accept_hdr_async_with_config(stream, check_path, Some(config)).await else {
        return;
    };
    let Some((role, name)) = routed else { return };
    let cohort = hub.cohort(&name);
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
    if role == Role::Subscriber {
        // Queued before registering, so it reaches the client before any frame.
        if sender.send(Utf8Bytes::from_static(GREETING)).await.is_err() {
            return;
        }
        cohort
            .subscribers
            .lock()
            .expect("cohort lock poisoned: a panic while rebroadcasting")
            .push((connection, sender.clone()));
    }
    while let Some(Ok(message)) = source.next().await {
        match message {
            Message::Text(frame) => cohort.rebroadcast(&frame),
            Message::Close(_) => break,
            _ => {}
        }
    }
    cohort
        .subscribers
        .lock()
        .expect("cohort lock poisoned: a panic while rebroadcasting")
        .retain(|(id, _)| *id != connection);
    drop(sender);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_names_the_role_and_the_cohort() {
        assert!(matches!(route("/ws/7"), Some((Role::Subscriber, "7"))));
        assert!(matches!(route("/publish/7"), Some((Role::Publisher, "7"))));
        assert!(route("/ws/").is_none());
        assert!(route("/ws/7/x").is_none());
        assert!(route("/").is_none());
    }
}
