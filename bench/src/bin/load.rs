//! The load generator: websocket subscribers spread over cohorts, posts on an open-loop
//! timetable (or a closed window for peak throughput), post-to-delivery latency per subscriber,
//! and loss and duplicate checks. Also measures a server's memory per idle connection.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use samling_bench::{Incoming, post_index, scan, vm_rss_kib};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// `bench-bare-server`: posts go over a websocket publisher connection.
    Bare,
    /// Samling: posts go as `--post-over` says.
    Samling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PostOver {
    /// Each post goes over its author's own subscribed websocket, as the thread page sends it.
    Websocket,
    /// `POST /api/v1/threads/{id}/posts`, as an API client sends it.
    Http,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Posts on a fixed timetable at `--rate`, never waiting for earlier ones.
    Open,
    /// Keeps `--window` posts not yet delivered to every subscriber, as fast as they complete:
    /// the peak deliveries per second without loss.
    Burst,
    /// Opens `--clients` idle subscribed connections and reports the server's memory per connection.
    Idle,
}

#[derive(Parser)]
#[command(about = "Websocket fan-out load generator for Samling and the bare ceiling server")]
struct Args {
    #[arg(long, value_enum)]
    target: Target,
    #[arg(long, value_enum, default_value = "open")]
    mode: Mode,
    /// host:port of the server.
    #[arg(long)]
    addr: String,
    /// Samling only: how posts are sent.
    #[arg(long, value_enum, default_value = "websocket")]
    post_over: PostOver,
    /// Samling only: the JSON written by `samling bench-seed`.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Websocket subscribers, spread round-robin over the cohorts.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    #[arg(long, default_value_t = 1)]
    cohorts: usize,
    /// Posts per second (open mode), spread round-robin over the cohorts and their members.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of posting.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait for deliveries after the last post.
    #[arg(long, default_value_t = 5.0)]
    grace: f64,
    /// Burst mode: posts outstanding at once.
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Burst mode: at most this many posts.
    #[arg(long, default_value_t = 200_000)]
    max_posts: usize,
    /// The server process: idle mode reads its VmRSS (required), the other modes its CPU time
    /// while posting (optional).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Connections being opened and subscribed at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Characters in each post body.
    #[arg(long, default_value_t = 100)]
    body_chars: usize,
    /// Copied into the JSON line, to tell runs apart.
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Deserialize)]
struct Seed {
    cohorts: Vec<SeedCohort>,
}

#[derive(Deserialize)]
struct SeedCohort {
    cohort_id: i64,
    thread_id: i64,
    members: Vec<SeedMember>,
}

#[derive(Deserialize)]
struct SeedMember {
    token: String,
}

/// A cohort under test: who posts in it and how many subscribe to it.
struct Cohort {
    id: i64,
    thread_id: i64,
    /// Samling: a token per member, posting round-robin; empty for the bare server.
    tokens: Vec<String>,
    subscribers: usize,
}

const POST_UNSENT: u32 = 0;
const POST_SENT: u32 = 1;
const POST_ACCEPTED: u32 = 2;
const POST_REJECTED: u32 = 3;

/// What subscribers and posters share; indexed by post number k (post k goes to cohort k % C).
struct Shared {
    epoch: Instant,
    prefix: String,
    cohort_sizes: Vec<usize>,
    sent_at_ns: Vec<AtomicU64>,
    status: Vec<AtomicU32>,
    /// Distinct subscribers that got post k.
    deliveries: Vec<AtomicU32>,
    /// Posts every subscriber of their cohort has got (burst mode's window).
    completed: AtomicUsize,
    completed_signal: Notify,
    delivered_total: AtomicU64,
    ready: AtomicUsize,
    latency_us: Mutex<Histogram<u64>>,
    /// Samling: from sending a post to its HTTP answer (the server's own share of the latency).
    answer_us: Mutex<Histogram<u64>>,
    first_error: Mutex<Option<String>>,
    /// Post id → k from Samling's answers, for events that carry no client id.
    post_numbers: Mutex<HashMap<u64, usize>>,
    warned_missing_post: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn note_error(&self, error: String) {
        let mut first = self.first_error.lock().expect("error lock poisoned");
        if first.is_none() {
            *first = Some(error);
        }
    }

    /// Samling answered post k: its time to the answer, and whether it was stored.
    fn answered(&self, k: usize, outcome: Result<(), String>) {
        if k >= self.status.len() {
            return;
        }
        let answer_us = self.now_ns().saturating_sub(self.sent_at_ns[k].load(Ordering::Relaxed)) / 1_000;
        self.answer_us
            .lock()
            .expect("histogram lock poisoned")
            .saturating_record(answer_us.max(1));
        match outcome {
            Ok(()) => self.status[k].store(POST_ACCEPTED, Ordering::Relaxed),
            Err(error) => {
                self.status[k].store(POST_REJECTED, Ordering::Relaxed);
                self.note_error(error);
            }
        }
    }

    fn record_latencies(&self, batch: &mut Vec<u64>) {
        let mut histogram = self.latency_us.lock().expect("histogram lock poisoned");
        for value in batch.drain(..) {
            histogram.saturating_record(value.max(1));
        }
    }
}

/// One subscriber's own counts, merged at the end.
#[derive(Default)]
struct SubscriberReport {
    delivered: u64,
    duplicate_client_ids: u64,
    duplicate_seqs: u64,
    resyncs: u64,
    errors: u64,
    foreign: u64,
    disconnected: bool,
}

#[derive(Default)]
struct PostReport {
    sent: u64,
    accepted: u64,
    rejected: u64,
    posting_seconds: f64,
    delivered_in_window: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.clients > 0 && args.cohorts > 0,
        "--clients and --cohorts must be at least 1"
    );
    let cohorts = plan_cohorts(&args)?;
    match args.mode {
        Mode::Idle => idle(&args, &cohorts).await,
        Mode::Open | Mode::Burst => load(&args, cohorts).await,
    }
}

fn plan_cohorts(args: &Args) -> anyhow::Result<Vec<Cohort>> {
    let subscribers = |index: usize| args.clients / args.cohorts + usize::from(index < args.clients % args.cohorts);
    match args.target {
        Target::Bare => Ok((0..args.cohorts)
            .map(|index| Cohort {
                id: index as i64 + 1,
                thread_id: index as i64 + 1,
                tokens: Vec::new(),
                subscribers: subscribers(index),
            })
            .collect()),
        Target::Samling => {
            let path = args.seed.as_ref().context("--target samling needs --seed FILE")?;
            let seed: Seed = serde_json::from_slice(
                &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            )?;
            if seed.cohorts.len() < args.cohorts {
                bail!(
                    "the seed has {} cohorts, {} asked for",
                    seed.cohorts.len(),
                    args.cohorts
                );
            }
            seed.cohorts
                .into_iter()
                .take(args.cohorts)
                .enumerate()
                .map(|(index, cohort)| {
                    let wanted = subscribers(index);
                    if cohort.members.len() < wanted {
                        bail!(
                            "cohort {} has {} members, {wanted} needed",
                            cohort.cohort_id,
                            cohort.members.len()
                        );
                    }
                    Ok(Cohort {
                        id: cohort.cohort_id,
                        thread_id: cohort.thread_id,
                        tokens: cohort.members.into_iter().map(|member| member.token).collect(),
                        subscribers: wanted,
                    })
                })
                .collect()
        }
    }
}

fn websocket_url(args: &Args) -> String {
    match args.target {
        Target::Bare => format!("ws://{}/", args.addr),
        Target::Samling => format!("ws://{}/api/v1/realtime", args.addr),
    }
}

async fn open_socket(url: &str, token: Option<&str>) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
    }
    // Thousands of client sockets in one process: keep their buffers small too.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    Ok(socket)
}

fn subscribe_message(cohort_id: i64, after: u64) -> Message {
    Message::Text(Utf8Bytes::from(
        json!({"type": "subscribe", "cohort_id": cohort_id, "after": after}).to_string(),
    ))
}

/// Client i follows cohort i % C as member i / C of it.
fn subscriber_slots(cohorts: &[Cohort], clients: usize) -> Vec<(usize, Option<String>)> {
    (0..clients)
        .map(|i| {
            let index = i % cohorts.len();
            (index, cohorts[index].tokens.get(i / cohorts.len()).cloned())
        })
        .collect()
}

/// Opens, subscribes and runs every subscriber; returns once all are subscribed and caught up.
async fn start_subscribers(
    args: &Args,
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    stop: &watch::Receiver<bool>,
    posts_per_cohort: usize,
) -> anyhow::Result<(
    Vec<tokio::task::JoinHandle<SubscriberReport>>,
    Vec<mpsc::UnboundedSender<Message>>,
)> {
    let url = websocket_url(args);
    let mut outboxes = Vec::with_capacity(args.clients);
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let mut tasks = Vec::with_capacity(args.clients);
    let started = Instant::now();
    for (index, token) in subscriber_slots(cohorts, args.clients) {
        let permit = gate.clone().acquire_owned().await?;
        let subscriber = Subscriber {
            cohort_index: index,
            cohort_id: cohorts[index].id,
            cohort_count: cohorts.len(),
            last_seq: 0,
            seen: vec![0; posts_per_cohort / 64 + 1],
            latencies: Vec::with_capacity(256),
            unresolved: Vec::new(),
            report: SubscriberReport::default(),
            shared: shared.clone(),
        };
        let (outbox, to_send) = mpsc::unbounded_channel();
        outboxes.push(outbox);
        tasks.push(tokio::spawn(subscriber.run(
            url.clone(),
            token,
            to_send,
            stop.clone(),
            permit,
        )));
    }
    // The permits come back as subscribers finish catching up.
    let deadline = Instant::now() + Duration::from_secs(300);
    while shared.ready.load(Ordering::Relaxed) < args.clients {
        if Instant::now() > deadline || tasks.iter().any(|task| task.is_finished()) {
            bail!(
                "only {} of {} subscribers got ready{}",
                shared.ready.load(Ordering::Relaxed),
                args.clients,
                shared
                    .first_error
                    .lock()
                    .expect("error lock poisoned")
                    .as_deref()
                    .map(|error| format!(": {error}"))
                    .unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "bench-load: {} subscribers ready in {:.1} s",
        args.clients,
        started.elapsed().as_secs_f64()
    );
    Ok((tasks, outboxes))
}

struct Subscriber {
    cohort_index: usize,
    cohort_id: i64,
    cohort_count: usize,
    last_seq: u64,
    /// Bit per post of this cohort (post k is bit k / C), to catch a client id twice.
    seen: Vec<u64>,
    latencies: Vec<u64>,
    /// Events matched by post id that arrived before the answer to their POST: (post id, when).
    unresolved: Vec<(u64, u64)>,
    report: SubscriberReport,
    shared: Arc<Shared>,
}

impl Subscriber {
    async fn run(
        mut self,
        url: String,
        token: Option<String>,
        mut to_send: mpsc::UnboundedReceiver<Message>,
        mut stop: watch::Receiver<bool>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> SubscriberReport {
        let mut permit = Some(permit);
        let mut socket = match open_socket(&url, token.as_deref()).await {
            Ok(socket) => socket,
            Err(error) => {
                self.shared.note_error(format!("{error:#}"));
                self.report.disconnected = true;
                return self.report;
            }
        };
        // The ping is answered after the replay the subscription triggers, so the pong means "caught up".
        let handshake = [
            subscribe_message(self.cohort_id, 0),
            Message::Text(Utf8Bytes::from_static(r#"{"type":"ping"}"#)),
        ];
        for message in handshake {
            if socket.send(message).await.is_err() {
                self.report.disconnected = true;
                return self.report;
            }
        }
        loop {
            tokio::select! {
                incoming = socket.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            self.report.disconnected = !*stop.borrow();
                            break;
                        }
                        Some(Ok(_)) => continue,
                    };
                    match scan(text.as_str()) {
                        Incoming::PostCreated { seq, client_id, post_id } => self.on_post(seq, client_id, post_id),
                        Incoming::OtherEvent { seq } => self.on_seq(seq),
                        Incoming::Pong => {
                            if permit.take().is_some() {
                                self.shared.ready.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Incoming::Resync { after, .. } => {
                            self.report.resyncs += 1;
                            // The server replays from there; older numbers are not duplicates then.
                            self.last_seq = self.last_seq.min(after);
                            if socket.send(subscribe_message(self.cohort_id, after)).await.is_err() {
                                self.report.disconnected = true;
                                break;
                            }
                        }
                        Incoming::Posted { client_id } => {
                            if let Some(k) = post_index(client_id, &self.shared.prefix) {
                                self.shared.answered(k, Ok(()));
                            }
                        }
                        Incoming::Error { code, client_id } => {
                            let error = format!("cohort {}: server error {code}", self.cohort_id);
                            match client_id.and_then(|id| post_index(id, &self.shared.prefix)) {
                                Some(k) => self.shared.answered(k, Err(error)),
                                None => {
                                    self.report.errors += 1;
                                    self.shared.note_error(error);
                                }
                            }
                        }
                        Incoming::Subscribed | Incoming::Other => {}
                    }
                }
                Some(post) = to_send.recv() => {
                    if socket.send(post).await.is_err() {
                        self.report.disconnected = true;
                        break;
                    }
                }
                // Otherwise a subscriber whose cohort goes quiet would hold its early events forever.
                _ = tokio::time::sleep(Duration::from_millis(20)), if !self.unresolved.is_empty() => {
                    self.resolve_waiting();
                }
                _ = stop.changed() => {
                    let _ = socket.close(None).await;
                    break;
                }
            }
        }
        self.resolve_waiting();
        self.report.foreign += self.unresolved.len() as u64;
        self.shared.record_latencies(&mut self.latencies);
        self.report
    }

    fn on_seq(&mut self, seq: u64) {
        if seq <= self.last_seq {
            self.report.duplicate_seqs += 1;
        } else {
            self.last_seq = seq;
        }
    }

    fn on_post(&mut self, seq: u64, client_id: Option<&str>, post_id: Option<u64>) {
        let received_ns = self.shared.now_ns();
        self.on_seq(seq);
        let k = match (client_id, post_id) {
            (Some(client_id), _) => post_index(client_id, &self.shared.prefix),
            (None, Some(post_id)) => {
                if !self.shared.warned_missing_post.swap(true, Ordering::Relaxed) {
                    eprintln!("bench-load: events carry no post.client_id; matching them by post_id instead");
                }
                self.resolve_waiting();
                let known = self
                    .shared
                    .post_numbers
                    .lock()
                    .expect("post id lock poisoned")
                    .get(&post_id)
                    .copied();
                if known.is_none() {
                    self.unresolved.push((post_id, received_ns));
                    return;
                }
                known
            }
            (None, None) => None,
        };
        match k.filter(|k| *k < self.shared.status.len()) {
            Some(k) => self.deliver(k, received_ns),
            // Replayed history from earlier runs.
            None => self.report.foreign += 1,
        }
    }

    /// Matches the events that came before their POST's answer, now that more answers are in.
    fn resolve_waiting(&mut self) {
        if self.unresolved.is_empty() {
            return;
        }
        let known: Vec<(usize, u64)> = {
            let numbers = self.shared.post_numbers.lock().expect("post id lock poisoned");
            let mut known = Vec::new();
            self.unresolved
                .retain(|(post_id, received_ns)| match numbers.get(post_id) {
                    Some(k) => {
                        known.push((*k, *received_ns));
                        false
                    }
                    None => true,
                });
            known
        };
        for (k, received_ns) in known {
            self.deliver(k, received_ns);
        }
    }

    fn deliver(&mut self, k: usize, received_ns: u64) {
        if k % self.cohort_count != self.cohort_index {
            self.report.errors += 1;
            self.shared
                .note_error(format!("cohort {} got post {k} of another cohort", self.cohort_id));
            return;
        }
        let bit = k / self.cohort_count;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if self.seen[word] & mask != 0 {
            self.report.duplicate_client_ids += 1;
            return;
        }
        self.seen[word] |= mask;
        self.report.delivered += 1;
        self.shared.delivered_total.fetch_add(1, Ordering::Relaxed);
        let sent_ns = self.shared.sent_at_ns[k].load(Ordering::Relaxed);
        self.latencies.push(received_ns.saturating_sub(sent_ns) / 1_000);
        if self.latencies.len() >= 256 {
            self.shared.record_latencies(&mut self.latencies);
        }
        let got = self.shared.deliveries[k].fetch_add(1, Ordering::Relaxed) + 1;
        if got as usize == self.shared.cohort_sizes[self.cohort_index] {
            self.shared.completed.fetch_add(1, Ordering::Relaxed);
            self.shared.completed_signal.notify_one();
        }
    }
}

/// Sends posts for the bare server over one websocket, or for Samling over the authors' own
/// websockets or HTTP.
enum Poster {
    Bare(futures::stream::SplitSink<Socket, Message>),
    /// The subscribers' outboxes, by subscriber slot.
    SamlingSockets(Vec<mpsc::UnboundedSender<Message>>),
    /// Posts through `POST /api/v1/threads/{id}/posts` (`--post-over http`).
    SamlingHttp {
        client: reqwest::Client,
        base: String,
    },
}

impl Poster {
    async fn new(args: &Args, outboxes: Vec<mpsc::UnboundedSender<Message>>) -> anyhow::Result<Self> {
        match args.target {
            Target::Samling if args.post_over == PostOver::Websocket => Ok(Poster::SamlingSockets(outboxes)),
            Target::Bare => {
                let (sink, mut source) = open_socket(&websocket_url(args), None).await?.split();
                // Nothing is expected back; reading keeps the connection's control frames flowing.
                tokio::spawn(async move { while source.next().await.is_some() {} });
                Ok(Poster::Bare(sink))
            }
            Target::Samling => Ok(Poster::SamlingHttp {
                client: reqwest::Client::builder()
                    .tcp_nodelay(true)
                    .timeout(Duration::from_secs(30))
                    .build()?,
                base: format!("http://{}", args.addr),
            }),
        }
    }

    /// Sends post k; Samling's answer is awaited in its own task so sends never wait.
    async fn send(&mut self, k: usize, cohorts: &[Cohort], shared: &Arc<Shared>, body: &str) -> anyhow::Result<()> {
        let cohort = &cohorts[k % cohorts.len()];
        let client_id = format!("{}-{k}", shared.prefix);
        shared.status[k].store(POST_SENT, Ordering::Relaxed);
        match self {
            Poster::Bare(sink) => {
                let message = json!({
                    "type": "post",
                    "cohort_id": cohort.id,
                    "thread_id": cohort.thread_id,
                    "body": body,
                    "client_id": client_id,
                })
                .to_string();
                shared.sent_at_ns[k].store(shared.now_ns(), Ordering::Relaxed);
                sink.send(Message::Text(Utf8Bytes::from(message)))
                    .await
                    .context("the publisher connection closed")?;
                shared.status[k].store(POST_ACCEPTED, Ordering::Relaxed);
            }
            Poster::SamlingSockets(outboxes) => {
                // Round-robin over the cohort's subscribed members, so each person posts rarely;
                // subscriber slot i follows cohort i % C as member i / C.
                let member = (k / cohorts.len()) % cohort.subscribers.max(1);
                let slot = member * cohorts.len() + k % cohorts.len();
                let message = json!({
                    "type": "post",
                    "thread_id": cohort.thread_id,
                    "body": body,
                    "client_id": client_id,
                })
                .to_string();
                shared.sent_at_ns[k].store(shared.now_ns(), Ordering::Relaxed);
                outboxes[slot]
                    .send(Message::Text(Utf8Bytes::from(message)))
                    .context("the posting member's connection closed")?;
            }
            Poster::SamlingHttp { client, base } => {
                // Round-robin over the cohort's members, so each person posts rarely.
                let token = &cohort.tokens[(k / cohorts.len()) % cohort.tokens.len()];
                let request = client
                    .post(format!("{base}/api/v1/threads/{}/posts", cohort.thread_id))
                    .bearer_auth(token)
                    .json(&json!({"body": body, "client_id": client_id}));
                let shared = shared.clone();
                shared.sent_at_ns[k].store(shared.now_ns(), Ordering::Relaxed);
                tokio::spawn(async move {
                    let outcome = match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            // Only needed while events carry no client id; cheap next to the request.
                            let post: serde_json::Value = response.json().await.unwrap_or_default();
                            if let Some(post_id) = post["id"].as_u64() {
                                shared
                                    .post_numbers
                                    .lock()
                                    .expect("post id lock poisoned")
                                    .insert(post_id, k);
                            }
                            Ok(())
                        }
                        Ok(response) => {
                            let status = response.status();
                            Err(format!(
                                "POST answered {status}: {}",
                                response.text().await.unwrap_or_default()
                            ))
                        }
                        Err(error) => Err(format!("POST failed: {error}")),
                    };
                    shared.answered(k, outcome);
                });
            }
        }
        Ok(())
    }
}

fn body_text(chars: usize) -> String {
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
        .chars()
        .cycle()
        .take(chars.max(1))
        .collect()
}

async fn post_open_loop(
    args: &Args,
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    poster: &mut Poster,
) -> anyhow::Result<PostReport> {
    let body = body_text(args.body_chars);
    let total = shared.status.len();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let start = tokio::time::Instant::now();
    let delivered_before = shared.delivered_total.load(Ordering::Relaxed);
    for k in 0..total {
        // A fixed timetable: a late send never pushes the later ones back.
        tokio::time::sleep_until(start + interval * k as u32).await;
        poster.send(k, cohorts, shared, &body).await?;
    }
    // The window is the timetable's length, so the last interval counts too.
    tokio::time::sleep_until(start + interval * total as u32).await;
    Ok(PostReport {
        sent: total as u64,
        posting_seconds: start.elapsed().as_secs_f64(),
        delivered_in_window: shared.delivered_total.load(Ordering::Relaxed) - delivered_before,
        ..PostReport::default()
    })
}

async fn post_burst(
    args: &Args,
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    poster: &mut Poster,
) -> anyhow::Result<PostReport> {
    let body = body_text(args.body_chars);
    let window = args.window.max(1);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.duration);
    let delivered_before = shared.delivered_total.load(Ordering::Relaxed);
    let mut sent = 0;
    while sent < shared.status.len() && Instant::now() < end {
        while sent - shared.completed.load(Ordering::Relaxed) >= window {
            let waited = tokio::time::timeout(Duration::from_secs(5), shared.completed_signal.notified()).await;
            if waited.is_err() && sent - shared.completed.load(Ordering::Relaxed) >= window {
                eprintln!("bench-load: no post completed for 5 s; deliveries are being lost");
                return Ok(PostReport {
                    sent: sent as u64,
                    posting_seconds: start.elapsed().as_secs_f64(),
                    delivered_in_window: shared.delivered_total.load(Ordering::Relaxed) - delivered_before,
                    ..PostReport::default()
                });
            }
        }
        poster.send(sent, cohorts, shared, &body).await?;
        sent += 1;
    }
    Ok(PostReport {
        sent: sent as u64,
        posting_seconds: start.elapsed().as_secs_f64(),
        delivered_in_window: shared.delivered_total.load(Ordering::Relaxed) - delivered_before,
        ..PostReport::default()
    })
}

async fn load(args: &Args, cohorts: Vec<Cohort>) -> anyhow::Result<()> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be above 0");
    let planned = match args.mode {
        Mode::Burst => args.max_posts,
        _ => (args.rate * args.duration).ceil().max(1.0) as usize,
    };
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        prefix: run_prefix(),
        cohort_sizes: cohorts.iter().map(|cohort| cohort.subscribers).collect(),
        sent_at_ns: (0..planned).map(|_| AtomicU64::new(0)).collect(),
        status: (0..planned).map(|_| AtomicU32::new(POST_UNSENT)).collect(),
        deliveries: (0..planned).map(|_| AtomicU32::new(0)).collect(),
        completed: AtomicUsize::new(0),
        completed_signal: Notify::new(),
        delivered_total: AtomicU64::new(0),
        ready: AtomicUsize::new(0),
        latency_us: Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3)?),
        answer_us: Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3)?),
        first_error: Mutex::new(None),
        post_numbers: Mutex::new(HashMap::new()),
        warned_missing_post: AtomicBool::new(false),
    });
    let (stop_sender, stop) = watch::channel(false);
    let connect_started = Instant::now();
    let (subscribers, outboxes) =
        start_subscribers(args, &cohorts, &shared, &stop, planned / cohorts.len() + 1).await?;
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    let mut poster = Poster::new(args, outboxes).await?;
    let cpu_before = args.server_pid.map(cpu_seconds).transpose()?;
    let mut report = match args.mode {
        Mode::Burst => post_burst(args, &cohorts, &shared, &mut poster).await?,
        _ => post_open_loop(args, &cohorts, &shared, &mut poster).await?,
    };
    // How busy the server's core was while posting: near 100 %, the tail follows whatever
    // else the machine runs.
    let server_cpu_percent = match (args.server_pid, cpu_before) {
        (Some(pid), Some(before)) => Some((cpu_seconds(pid)? - before) / report.posting_seconds.max(1e-9) * 100.0),
        _ => None,
    };
    // Grace: wait for answers and deliveries, stopping early once everything has arrived.
    let grace_end = Instant::now() + Duration::from_secs_f64(args.grace);
    while Instant::now() < grace_end {
        let pending = shared.status[..report.sent as usize]
            .iter()
            .any(|status| status.load(Ordering::Relaxed) == POST_SENT);
        if !pending && shared.completed.load(Ordering::Relaxed) as u64 >= report.sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_sender.send(true);
    let mut merged = SubscriberReport::default();
    let mut disconnected = 0u64;
    for task in subscribers {
        let one = task.await?;
        merged.delivered += one.delivered;
        merged.duplicate_client_ids += one.duplicate_client_ids;
        merged.duplicate_seqs += one.duplicate_seqs;
        merged.resyncs += one.resyncs;
        merged.errors += one.errors;
        merged.foreign += one.foreign;
        disconnected += u64::from(one.disconnected);
    }
    let mut expected = 0u64;
    let mut distinct_expected = 0u64;
    let mut unexpected = 0u64;
    for k in 0..report.sent as usize {
        let got = u64::from(shared.deliveries[k].load(Ordering::Relaxed));
        match shared.status[k].load(Ordering::Relaxed) {
            POST_ACCEPTED => {
                report.accepted += 1;
                expected += cohorts[k % cohorts.len()].subscribers as u64;
                distinct_expected += got;
            }
            POST_REJECTED => {
                report.rejected += 1;
                unexpected += got;
            }
            _ => unexpected += got,
        }
    }
    let histogram = shared.latency_us.lock().expect("histogram lock poisoned").clone();
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    let answers = shared.answer_us.lock().expect("histogram lock poisoned").clone();
    let answer_ms = |quantile: f64| answers.value_at_quantile(quantile) as f64 / 1000.0;
    let outcome = json!({
        "bench": "realtime",
        "label": args.label,
        "target": format!("{:?}", args.target).to_lowercase(),
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "clients": args.clients,
        "cohorts": cohorts.len(),
        "rate": args.rate,
        "connect_s": round2(connect_seconds),
        "posting_s": round2(report.posting_seconds),
        "posts_sent": report.sent,
        "posts_accepted": report.accepted,
        "posts_rejected": report.rejected,
        "posts_unanswered": report.sent - report.accepted - report.rejected,
        "posts_per_s": round2(report.sent as f64 / report.posting_seconds.max(1e-9)),
        "expected": expected,
        "delivered": merged.delivered,
        "lost": expected.saturating_sub(distinct_expected),
        "duplicated": merged.duplicate_client_ids + merged.duplicate_seqs,
        "unexpected": unexpected,
        "resyncs": merged.resyncs,
        "errors": merged.errors,
        "disconnected": disconnected,
        "ignored_events": merged.foreign,
        "p50_ms": round2(ms(0.50)),
        "p99_ms": round2(ms(0.99)),
        "max_ms": round2(histogram.max() as f64 / 1000.0),
        "post_answer_p50_ms": round2(answer_ms(0.50)),
        "post_answer_p99_ms": round2(answer_ms(0.99)),
        "delivered_per_s": (report.delivered_in_window as f64 / report.posting_seconds.max(1e-9)).round(),
        "server_cpu_pct": server_cpu_percent.map(|percent| percent.round()),
    });
    println!(
        "{} {} · {} clients in {} cohorts · {:?} mode{}\n\
         posts: {} sent, {} accepted, {} rejected, {} unanswered ({:.1}/s over {:.1} s)\n\
         deliveries: {} expected, {} delivered, {} lost, {} duplicated ({} by client id, {} by seq), {} unexpected\n\
         resyncs {}, server errors {}, disconnected {}, ignored events {}\n\
         latency post→delivery: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
         latency post→answer (Samling): p50 {:.2} ms, p99 {:.2} ms\n\
         delivered during posting: {} messages/s; server CPU while posting: {} %",
        args.label,
        outcome["target"].as_str().unwrap_or_default(),
        args.clients,
        cohorts.len(),
        args.mode,
        match args.mode {
            Mode::Burst => format!(", window {}", args.window),
            _ => format!(", {} posts/s", args.rate),
        },
        report.sent,
        report.accepted,
        report.rejected,
        outcome["posts_unanswered"],
        report.sent as f64 / report.posting_seconds.max(1e-9),
        report.posting_seconds,
        expected,
        merged.delivered,
        outcome["lost"],
        outcome["duplicated"],
        merged.duplicate_client_ids,
        merged.duplicate_seqs,
        unexpected,
        merged.resyncs,
        merged.errors,
        disconnected,
        merged.foreign,
        ms(0.50),
        ms(0.99),
        histogram.max() as f64 / 1000.0,
        answer_ms(0.50),
        answer_ms(0.99),
        outcome["delivered_per_s"],
        outcome["server_cpu_pct"],
    );
    if let Some(error) = shared.first_error.lock().expect("error lock poisoned").as_deref() {
        println!("first error: {error}");
    }
    println!("{outcome}");
    Ok(())
}

async fn idle(args: &Args, cohorts: &[Cohort]) -> anyhow::Result<()> {
    let pid = args.server_pid.context("--mode idle needs --server-pid")?;
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        prefix: run_prefix(),
        cohort_sizes: cohorts.iter().map(|cohort| cohort.subscribers).collect(),
        sent_at_ns: Vec::new(),
        status: Vec::new(),
        deliveries: Vec::new(),
        completed: AtomicUsize::new(0),
        completed_signal: Notify::new(),
        delivered_total: AtomicU64::new(0),
        ready: AtomicUsize::new(0),
        latency_us: Mutex::new(Histogram::new(3)?),
        answer_us: Mutex::new(Histogram::new(3)?),
        first_error: Mutex::new(None),
        post_numbers: Mutex::new(HashMap::new()),
        warned_missing_post: AtomicBool::new(false),
    });
    let before = vm_rss_kib(pid)?;
    let (stop_sender, stop) = watch::channel(false);
    let (subscribers, _outboxes) = start_subscribers(args, cohorts, &shared, &stop, 1).await?;
    // Let the server settle (lazy allocations, freed handshake buffers).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = vm_rss_kib(pid)?;
    let _ = stop_sender.send(true);
    for task in subscribers {
        task.await?;
    }
    let per_connection = after.saturating_sub(before) as f64 / args.clients as f64;
    println!(
        "{} {} · {} idle subscribed connections\nserver VmRSS {} KiB before, {} KiB after: {:.2} KiB per idle connection",
        args.label,
        format!("{:?}", args.target).to_lowercase(),
        args.clients,
        before,
        after,
        per_connection
    );
    println!(
        "{}",
        json!({
            "bench": "realtime",
            "label": args.label,
            "target": format!("{:?}", args.target).to_lowercase(),
            "mode": "idle",
            "clients": args.clients,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_connection": round2(per_connection),
        })
    );
    Ok(())
}

/// CPU time (user and system, all threads, finished ones included) the process has used.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("no process {pid}"))?;
    cpu_seconds_in(&stat)
}

/// The CPU time in the text of a `/proc/PID/stat` file.
fn cpu_seconds_in(stat: &str) -> anyhow::Result<f64> {
    // The command name (field 2) is in parentheses and may hold spaces; count from after it.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime), in clock ticks of 1/100 s (Linux's USER_HZ).
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields.get(index).context("short /proc/PID/stat")?.parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Unique per run, so a client id never repeats across runs against the same database.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("b{nanos:x}")
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_ticks_after_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (samling (a) b) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 566 0 0 20 0 9 0 1000 \
                    700000000 40000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        assert_eq!(cpu_seconds_in(stat).unwrap(), 18.0);
        assert!(cpu_seconds_in("4242 samling S 1").is_err());
        assert!(cpu_seconds_in("4242 (samling) S 1 2").is_err());
    }
}
