//! The load generator: websocket subscribers spread over cohorts, posts on an open-loop
//! timetable (one rate, or a sweep of rising rates for the peak; or a closed window),
//! post-to-delivery latency per subscriber, loss and duplicate checks, and the CPU of the server
//! and of the generator itself. Also measures a server's memory per idle connection.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use samling_bench::body::{DEFAULT_BODY_SEED, plain_body, realistic_body, stand_in_names};
use samling_bench::sweep::{self, PEAK_P99_MS, Step};
use samling_bench::{Incoming, post_index, scan, vm_rss_kib};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// `bench-bare-server`, the protocol-level ceiling: posts go over a websocket publisher connection.
    Bare,
    /// `bench-bare-transport`, the transport-level ceiling: the generator writes each event frame
    /// itself, over a publisher connection per cohort, and the server rebroadcasts it unread.
    Transport,
    /// Samling: posts go as `--post-over` says.
    Samling,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Bare => "bare",
            Target::Transport => "transport",
            Target::Samling => "samling",
        }
    }
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
    /// Open-loop steps at each of `--rates`, `--duration` seconds each, until the server falls
    /// behind: the peak is the deliveries per second of the highest rate with p99 under 1 s
    /// and nothing lost.
    Sweep,
    /// Keeps `--window` posts not yet delivered to every subscriber, as fast as they complete.
    Burst,
    /// Opens `--clients` idle subscribed connections and reports the server's memory per connection.
    Idle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BodyKind {
    /// A deterministic mix like real posts: mentions, addresses, links, Markdown, æøå, a few long ones.
    Realistic,
    /// `--body-chars` characters of "Lorem ipsum", the same for every post.
    Plain,
}

#[derive(Parser)]
#[command(about = "Websocket fan-out load generator for Samling and the bare ceiling servers")]
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
    /// Sweep mode: the rates to step through, rising.
    #[arg(long, default_value = "100,250,500,750,1000,1250,1500,2000,3000,4000")]
    rates: String,
    /// Sweep mode: no higher rate is tried after a step whose p99 is above this.
    #[arg(long, default_value_t = 3000.0)]
    stop_p99_ms: f64,
    /// Seconds of posting (in sweep mode, per step).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait for deliveries after the last post (in sweep mode, after each step).
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
    /// What the posts say.
    #[arg(long, value_enum, default_value = "realistic")]
    body: BodyKind,
    /// Realistic bodies: the seed of their mix (the same seed, the same bodies).
    #[arg(long, default_value_t = DEFAULT_BODY_SEED)]
    body_seed: u64,
    /// Plain bodies: characters in each.
    #[arg(long, default_value_t = 100)]
    body_chars: usize,
    /// Copied into the JSON line, to tell runs apart.
    #[arg(long, default_value = "")]
    label: String,
    /// Copied into the JSON line: the database behind the server, if any.
    #[arg(long)]
    backend: Option<String>,
    /// Copied into the JSON line: the run's number in its series.
    #[arg(long)]
    run: Option<u32>,
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
    /// Missing in seeds from builds before names were seeded.
    #[serde(default)]
    name: Option<String>,
}

/// A cohort under test: who posts in it, whom its posts mention, and how many subscribe to it.
struct Cohort {
    id: i64,
    thread_id: i64,
    /// Samling: a token per member, posting round-robin; empty for the bare servers.
    tokens: Vec<String>,
    /// Full names of the cohort's members, for mentions.
    names: Vec<String>,
    subscribers: usize,
}

/// The post bodies of this run.
struct Bodies {
    kind: BodyKind,
    seed: u64,
    plain: String,
}

impl Bodies {
    fn new(args: &Args) -> Self {
        Self {
            kind: args.body,
            seed: args.body_seed,
            plain: plain_body(args.body_chars),
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            BodyKind::Realistic => "realistic",
            BodyKind::Plain => "plain",
        }
    }

    fn for_post(&self, k: usize, cohort: &Cohort) -> Cow<'_, str> {
        match self.kind {
            BodyKind::Plain => Cow::Borrowed(&self.plain),
            BodyKind::Realistic => Cow::Owned(realistic_body(self.seed, k as u64, &cohort.names)),
        }
    }
}

/// tokio's timer fires up to one tick (1 ms) after the time it was given.
const TIMER_TICK_NS: u64 = 1_000_000;

const POST_UNSENT: u32 = 0;
const POST_SENT: u32 = 1;
const POST_ACCEPTED: u32 = 2;
const POST_REJECTED: u32 = 3;

/// What subscribers and posters share; indexed by post number k (post k goes to cohort k % C).
struct Shared {
    epoch: Instant,
    prefix: String,
    cohort_sizes: Vec<usize>,
    /// The first post number of each step (one step outside sweep mode).
    step_starts: Vec<usize>,
    sent_at_ns: Vec<AtomicU64>,
    status: Vec<AtomicU32>,
    /// Distinct subscribers that got post k.
    deliveries: Vec<AtomicU32>,
    /// Posts every subscriber of their cohort has got (burst mode's window).
    completed: AtomicUsize,
    completed_signal: Notify,
    delivered_total: AtomicU64,
    /// Deliveries seen twice (by client id or by sequence number), all subscribers together.
    duplicates: AtomicU64,
    ready: AtomicUsize,
    /// Set before the subscribers are told to stop: a socket closing after it is no disconnection.
    stopping: AtomicBool,
    /// Subscribers that have handed in their latencies since the last flush request.
    flushed: AtomicUsize,
    /// Post-to-delivery latency, one histogram per step.
    latency_us: Mutex<Vec<Histogram<u64>>>,
    /// Samling: from sending a post to its answer (the server's own share of the latency), per step.
    answer_us: Mutex<Vec<Histogram<u64>>>,
    first_error: Mutex<Option<String>>,
    /// Post id → k from Samling's answers, for events that carry no client id.
    post_numbers: Mutex<HashMap<u64, usize>>,
    warned_missing_post: AtomicBool,
}

impl Shared {
    fn new(cohorts: &[Cohort], step_sizes: &[usize]) -> anyhow::Result<Self> {
        let planned: usize = step_sizes.iter().sum();
        let step_starts = step_sizes
            .iter()
            .scan(0, |start, size| {
                let this = *start;
                *start += size;
                Some(this)
            })
            .collect();
        let histograms = || -> anyhow::Result<Vec<Histogram<u64>>> {
            step_sizes
                .iter()
                .map(|_| Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?))
                .collect()
        };
        Ok(Self {
            epoch: Instant::now(),
            prefix: run_prefix(),
            cohort_sizes: cohorts.iter().map(|cohort| cohort.subscribers).collect(),
            step_starts,
            sent_at_ns: (0..planned).map(|_| AtomicU64::new(0)).collect(),
            status: (0..planned).map(|_| AtomicU32::new(POST_UNSENT)).collect(),
            deliveries: (0..planned).map(|_| AtomicU32::new(0)).collect(),
            completed: AtomicUsize::new(0),
            completed_signal: Notify::new(),
            delivered_total: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            ready: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            flushed: AtomicUsize::new(0),
            latency_us: Mutex::new(histograms()?),
            answer_us: Mutex::new(histograms()?),
            first_error: Mutex::new(None),
            post_numbers: Mutex::new(HashMap::new()),
            warned_missing_post: AtomicBool::new(false),
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Post k leaves now. On an open-loop timetable (`due_ns`), a send later than the timer's
    /// tick counts from when it was due: a backlog in the generator or in its socket to the server
    /// must show in the latency, not stretch the timetable unseen.
    fn mark_sent(&self, k: usize, due_ns: Option<u64>) {
        let now = self.now_ns();
        let at = due_ns.map_or(now, |due| now.min(due + TIMER_TICK_NS));
        self.sent_at_ns[k].store(at, Ordering::Relaxed);
    }

    fn step_of(&self, k: usize) -> usize {
        self.step_starts.partition_point(|start| *start <= k).saturating_sub(1)
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
        self.answer_us.lock().expect("histogram lock poisoned")[self.step_of(k)].saturating_record(answer_us.max(1));
        match outcome {
            Ok(()) => self.status[k].store(POST_ACCEPTED, Ordering::Relaxed),
            Err(error) => {
                self.status[k].store(POST_REJECTED, Ordering::Relaxed);
                self.note_error(error);
            }
        }
    }

    /// Records (post number, latency in µs) pairs in their steps' histograms.
    fn record_latencies(&self, batch: &mut Vec<(usize, u64)>) {
        if batch.is_empty() {
            return;
        }
        let mut histograms = self.latency_us.lock().expect("histogram lock poisoned");
        for (k, value) in batch.drain(..) {
            histograms[self.step_of(k)].saturating_record(value.max(1));
        }
    }

    /// Whether some post of `range` still waits for its answer or a delivery.
    fn unfinished(&self, range: Range<usize>) -> bool {
        range.into_iter().any(|k| match self.status[k].load(Ordering::Relaxed) {
            POST_SENT => true,
            POST_ACCEPTED => {
                (self.deliveries[k].load(Ordering::Relaxed) as usize) < self.cohort_sizes[k % self.cohort_sizes.len()]
            }
            _ => false,
        })
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
        Mode::Open | Mode::Burst | Mode::Sweep => load(&args, cohorts).await,
    }
}

fn plan_cohorts(args: &Args) -> anyhow::Result<Vec<Cohort>> {
    let subscribers = |index: usize| args.clients / args.cohorts + usize::from(index < args.clients % args.cohorts);
    match args.target {
        Target::Bare | Target::Transport => Ok((0..args.cohorts)
            .map(|index| Cohort {
                id: index as i64 + 1,
                thread_id: index as i64 + 1,
                tokens: Vec::new(),
                names: stand_in_names(subscribers(index)),
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
            let cohorts: Vec<Cohort> = seed
                .cohorts
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
                    let names = cohort.members.iter().filter_map(|member| member.name.clone()).collect();
                    Ok(Cohort {
                        id: cohort.cohort_id,
                        thread_id: cohort.thread_id,
                        tokens: cohort.members.into_iter().map(|member| member.token).collect(),
                        names,
                        subscribers: wanted,
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            if args.body == BodyKind::Realistic && cohorts.iter().any(|cohort| cohort.names.is_empty()) {
                eprintln!(
                    "bench-load: warning: the seed has no member names (an older samling build?); \
                     mentions will name people outside the cohort"
                );
            }
            Ok(cohorts)
        }
    }
}

fn websocket_url(args: &Args, cohort_id: i64) -> String {
    match args.target {
        Target::Bare => format!("ws://{}/", args.addr),
        Target::Transport => format!("ws://{}/ws/{cohort_id}", args.addr),
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

/// What the generator asks of a subscriber's task. One channel for all of it, so the task's
/// loop waits on its socket and one queue only: every other branch would cost a registration per
/// message received.
enum Command {
    /// Send this over the subscriber's socket (a post by its member).
    Send(Message),
    /// Hand in the latencies held back for batching.
    Flush,
    Stop,
}

/// The subscribers' tasks and their command queues (by slot).
struct Subscribers {
    tasks: Vec<tokio::task::JoinHandle<SubscriberReport>>,
    outboxes: Vec<mpsc::UnboundedSender<Command>>,
}

impl Subscribers {
    /// Has every live subscriber hand in the latencies it holds, so a step's histogram is whole.
    async fn flush(&self, shared: &Shared) {
        shared.flushed.store(0, Ordering::Relaxed);
        for outbox in &self.outboxes {
            // A closed queue is a finished subscriber, counted below.
            let _ = outbox.send(Command::Flush);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // A finished subscriber handed in its latencies as it ended.
            let finished = self.tasks.iter().filter(|task| task.is_finished()).count();
            if shared.flushed.load(Ordering::Relaxed) + finished >= self.tasks.len() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!("bench-load: some subscribers did not hand in their latencies within 5 s");
    }

    /// Stops every subscriber and merges their reports.
    async fn stop(self, shared: &Shared) -> anyhow::Result<(SubscriberReport, u64)> {
        shared.stopping.store(true, Ordering::Relaxed);
        for outbox in &self.outboxes {
            let _ = outbox.send(Command::Stop);
        }
        let mut merged = SubscriberReport::default();
        let mut disconnected = 0u64;
        for task in self.tasks {
            let one = task.await?;
            merged.delivered += one.delivered;
            merged.duplicate_client_ids += one.duplicate_client_ids;
            merged.duplicate_seqs += one.duplicate_seqs;
            merged.resyncs += one.resyncs;
            merged.errors += one.errors;
            merged.foreign += one.foreign;
            disconnected += u64::from(one.disconnected);
        }
        Ok((merged, disconnected))
    }
}

/// Opens, subscribes and runs every subscriber; returns once all are subscribed and caught up.
async fn start_subscribers(
    args: &Args,
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    posts_per_cohort: usize,
) -> anyhow::Result<Subscribers> {
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
            greeted_when_registered: args.target == Target::Transport,
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
            websocket_url(args, cohorts[index].id),
            token,
            to_send,
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
    Ok(Subscribers { tasks, outboxes })
}

struct Subscriber {
    cohort_index: usize,
    cohort_id: i64,
    cohort_count: usize,
    /// The transport-level server greets a socket once it is registered; the others answer a
    /// ping after the subscription's replay.
    greeted_when_registered: bool,
    last_seq: u64,
    /// Bit per post of this cohort (post k is bit k / C), to catch a client id twice.
    seen: Vec<u64>,
    /// (post number, latency in µs), handed in by batches.
    latencies: Vec<(usize, u64)>,
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
        mut commands: mpsc::UnboundedReceiver<Command>,
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
        if !self.greeted_when_registered {
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
        }
        loop {
            tokio::select! {
                incoming = socket.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            self.report.disconnected = !self.shared.stopping.load(Ordering::Relaxed);
                            break;
                        }
                        Some(Ok(_)) => continue,
                    };
                    match scan(text.as_str()) {
                        Incoming::PostCreated { seq, client_id, post_id } => self.on_post(seq, client_id, post_id),
                        Incoming::OtherEvent { seq } => self.on_seq(seq),
                        Incoming::Pong if !self.greeted_when_registered => self.on_ready(&mut permit),
                        Incoming::Subscribed if self.greeted_when_registered => self.on_ready(&mut permit),
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
                        Incoming::Pong | Incoming::Subscribed | Incoming::Other => {}
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Send(message)) => {
                        if socket.send(message).await.is_err() {
                            self.report.disconnected = true;
                            break;
                        }
                    }
                    Some(Command::Flush) => {
                        self.resolve_waiting();
                        self.shared.record_latencies(&mut self.latencies);
                        self.shared.flushed.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Command::Stop) | None => {
                        let _ = socket.close(None).await;
                        break;
                    }
                },
                // Otherwise a subscriber whose cohort goes quiet would hold its early events forever.
                _ = tokio::time::sleep(Duration::from_millis(20)), if !self.unresolved.is_empty() => {
                    self.resolve_waiting();
                }
            }
        }
        self.resolve_waiting();
        self.report.foreign += self.unresolved.len() as u64;
        self.shared.record_latencies(&mut self.latencies);
        self.report
    }

    fn on_ready(&mut self, permit: &mut Option<tokio::sync::OwnedSemaphorePermit>) {
        if permit.take().is_some() {
            self.shared.ready.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_seq(&mut self, seq: u64) {
        if seq <= self.last_seq {
            self.report.duplicate_seqs += 1;
            self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
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
            self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.seen[word] |= mask;
        self.report.delivered += 1;
        self.shared.delivered_total.fetch_add(1, Ordering::Relaxed);
        let sent_ns = self.shared.sent_at_ns[k].load(Ordering::Relaxed);
        self.latencies.push((k, received_ns.saturating_sub(sent_ns) / 1_000));
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

/// Sends posts: for the bare servers over publisher websockets, for Samling over the authors'
/// own websockets or HTTP.
enum Poster {
    Bare(futures::stream::SplitSink<Socket, Message>),
    /// One publisher connection per cohort, by cohort index.
    Transport(Vec<futures::stream::SplitSink<Socket, Message>>),
    /// The subscribers' command queues, by subscriber slot.
    SamlingSockets(Vec<mpsc::UnboundedSender<Command>>),
    /// Posts through `POST /api/v1/threads/{id}/posts` (`--post-over http`).
    SamlingHttp {
        client: reqwest::Client,
        base: String,
    },
}

/// A publisher connection: nothing is expected back, but reading keeps its control frames flowing.
async fn open_publisher(url: &str) -> anyhow::Result<futures::stream::SplitSink<Socket, Message>> {
    let (sink, mut source) = open_socket(url, None).await?.split();
    tokio::spawn(async move { while source.next().await.is_some() {} });
    Ok(sink)
}

impl Poster {
    async fn new(
        args: &Args,
        cohorts: &[Cohort],
        outboxes: Vec<mpsc::UnboundedSender<Command>>,
    ) -> anyhow::Result<Self> {
        match args.target {
            Target::Samling if args.post_over == PostOver::Websocket => Ok(Poster::SamlingSockets(outboxes)),
            Target::Bare => Ok(Poster::Bare(open_publisher(&websocket_url(args, 0)).await?)),
            Target::Transport => {
                let mut sinks = Vec::with_capacity(cohorts.len());
                for cohort in cohorts {
                    sinks.push(open_publisher(&format!("ws://{}/publish/{}", args.addr, cohort.id)).await?);
                }
                Ok(Poster::Transport(sinks))
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
    /// `due_ns`: when the timetable wanted it sent (open loop), as [`Shared::mark_sent`] takes it.
    async fn send(
        &mut self,
        k: usize,
        due_ns: Option<u64>,
        cohorts: &[Cohort],
        shared: &Arc<Shared>,
        body: &str,
    ) -> anyhow::Result<()> {
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
                shared.mark_sent(k, due_ns);
                sink.send(Message::Text(Utf8Bytes::from(message)))
                    .await
                    .context("the publisher connection closed")?;
                shared.status[k].store(POST_ACCEPTED, Ordering::Relaxed);
            }
            Poster::Transport(sinks) => {
                // The event as a server would deliver it, in the order Samling writes its fields;
                // the cohort's own sequence number lets subscribers check order and duplicates.
                let frame = format!(
                    r#"{{"type":"event","cohort_id":{},"seq":{},"kind":"post_created","thread_id":{},"post":{{"client_id":"{client_id}","body_html":{}}}}}"#,
                    cohort.id,
                    k / cohorts.len() + 1,
                    cohort.thread_id,
                    serde_json::to_string(body)?,
                );
                shared.mark_sent(k, due_ns);
                sinks[k % cohorts.len()]
                    .send(Message::Text(Utf8Bytes::from(frame)))
                    .await
                    .context("a publisher connection closed")?;
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
                shared.mark_sent(k, due_ns);
                outboxes[slot]
                    .send(Command::Send(Message::Text(Utf8Bytes::from(message))))
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
                shared.mark_sent(k, due_ns);
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

/// What one stretch of posting did, measured while it posted.
struct Posting {
    sent: usize,
    seconds: f64,
    delivered: u64,
    cpu: CpuUse,
}

/// Posts `range` on a fixed timetable at `rate`: a late send never pushes the later ones back.
async fn post_open_loop(
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    poster: &mut Poster,
    bodies: &Bodies,
    meter: &CpuMeter,
    range: Range<usize>,
    rate: f64,
) -> anyhow::Result<Posting> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let before = meter.sample()?;
    let start = tokio::time::Instant::now();
    let delivered_before = shared.delivered_total.load(Ordering::Relaxed);
    for (n, k) in range.clone().enumerate() {
        let due = start + interval * n as u32;
        tokio::time::sleep_until(due).await;
        let body = bodies.for_post(k, &cohorts[k % cohorts.len()]);
        let due_ns = due.into_std().saturating_duration_since(shared.epoch).as_nanos() as u64;
        poster.send(k, Some(due_ns), cohorts, shared, &body).await?;
    }
    // The window is the timetable's length, so the last interval counts too.
    tokio::time::sleep_until(start + interval * range.len() as u32).await;
    Ok(Posting {
        sent: range.len(),
        seconds: start.elapsed().as_secs_f64(),
        delivered: shared.delivered_total.load(Ordering::Relaxed) - delivered_before,
        cpu: meter.since(&before)?,
    })
}

async fn post_burst(
    args: &Args,
    cohorts: &[Cohort],
    shared: &Arc<Shared>,
    poster: &mut Poster,
    bodies: &Bodies,
    meter: &CpuMeter,
) -> anyhow::Result<Posting> {
    let window = args.window.max(1);
    let before = meter.sample()?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.duration);
    let delivered_before = shared.delivered_total.load(Ordering::Relaxed);
    let mut sent = 0;
    'posting: while sent < shared.status.len() && Instant::now() < end {
        while sent - shared.completed.load(Ordering::Relaxed) >= window {
            let waited = tokio::time::timeout(Duration::from_secs(5), shared.completed_signal.notified()).await;
            if waited.is_err() && sent - shared.completed.load(Ordering::Relaxed) >= window {
                eprintln!("bench-load: no post completed for 5 s; deliveries are being lost");
                break 'posting;
            }
        }
        let body = bodies.for_post(sent, &cohorts[sent % cohorts.len()]);
        poster.send(sent, None, cohorts, shared, &body).await?;
        sent += 1;
    }
    Ok(Posting {
        sent,
        seconds: start.elapsed().as_secs_f64(),
        delivered: shared.delivered_total.load(Ordering::Relaxed) - delivered_before,
        cpu: meter.since(&before)?,
    })
}

/// Waits up to `grace` for the answers and deliveries of `range`, stopping once all are in.
async fn settle(shared: &Shared, range: Range<usize>, grace: f64) {
    let end = Instant::now() + Duration::from_secs_f64(grace);
    while Instant::now() < end && shared.unfinished(range.clone()) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How the posts of a range fared.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    /// Deliveries owed to the subscribers of the accepted posts.
    expected: u64,
    /// Distinct deliveries of the accepted posts.
    distinct: u64,
    /// Deliveries of posts not accepted.
    unexpected: u64,
}

fn tally(shared: &Shared, range: Range<usize>) -> Tally {
    let mut tally = Tally::default();
    for k in range {
        let got = u64::from(shared.deliveries[k].load(Ordering::Relaxed));
        match shared.status[k].load(Ordering::Relaxed) {
            POST_ACCEPTED => {
                tally.accepted += 1;
                tally.expected += shared.cohort_sizes[k % shared.cohort_sizes.len()] as u64;
                tally.distinct += got;
            }
            POST_REJECTED => {
                tally.rejected += 1;
                tally.unexpected += got;
            }
            _ => tally.unexpected += got,
        }
    }
    tally
}

/// The figures of step `index` (posts `range`), once settled and flushed.
fn measure(shared: &Shared, index: usize, range: Range<usize>, rate: f64, posting: &Posting, duplicated: u64) -> Step {
    let counted = tally(shared, range);
    let histogram = shared.latency_us.lock().expect("histogram lock poisoned")[index].clone();
    let ms = |quantile: f64| round2(histogram.value_at_quantile(quantile) as f64 / 1000.0);
    Step {
        rate,
        posts_sent: posting.sent as u64,
        posts_accepted: counted.accepted,
        lost: counted.expected.saturating_sub(counted.distinct),
        duplicated,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        max_ms: round2(histogram.max() as f64 / 1000.0),
        delivered_per_s: (posting.delivered as f64 / posting.seconds.max(1e-9)).round(),
        posts_per_s: round2(posting.sent as f64 / posting.seconds.max(1e-9)),
        server_cpu_pct: posting.cpu.server_pct.map(f64::round),
        server_core_pct: posting.cpu.server_core_pct.map(f64::round),
        generator_cpu_pct: posting.cpu.generator_pct.round(),
    }
}

async fn load(args: &Args, cohorts: Vec<Cohort>) -> anyhow::Result<()> {
    let rates = match args.mode {
        Mode::Sweep => sweep::parse_rates(&args.rates)?,
        _ => {
            anyhow::ensure!(args.rate > 0.0, "--rate must be above 0");
            vec![args.rate]
        }
    };
    let step_sizes: Vec<usize> = match args.mode {
        Mode::Burst => vec![args.max_posts],
        _ => rates
            .iter()
            .map(|rate| (rate * args.duration).ceil().max(1.0) as usize)
            .collect(),
    };
    let planned: usize = step_sizes.iter().sum();
    let shared = Arc::new(Shared::new(&cohorts, &step_sizes)?);
    let bodies = Bodies::new(args);
    let meter = CpuMeter::new(args.server_pid)?;
    let connect_started = Instant::now();
    let subscribers = start_subscribers(args, &cohorts, &shared, planned / cohorts.len() + 1).await?;
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    let mut poster = Poster::new(args, &cohorts, subscribers.outboxes.clone()).await?;

    let mut steps: Vec<Step> = Vec::new();
    let mut postings: Vec<Posting> = Vec::new();
    for (index, rate) in rates.iter().copied().enumerate() {
        let start = shared.step_starts[index];
        let duplicates_before = shared.duplicates.load(Ordering::Relaxed);
        let posting = match args.mode {
            Mode::Burst => post_burst(args, &cohorts, &shared, &mut poster, &bodies, &meter).await?,
            _ => {
                let range = start..start + step_sizes[index];
                post_open_loop(&cohorts, &shared, &mut poster, &bodies, &meter, range, rate).await?
            }
        };
        let range = start..start + posting.sent;
        settle(&shared, range.clone(), args.grace).await;
        subscribers.flush(&shared).await;
        let duplicated = shared.duplicates.load(Ordering::Relaxed) - duplicates_before;
        let step = measure(&shared, index, range, rate, &posting, duplicated);
        if args.mode == Mode::Sweep {
            eprintln!(
                "bench-load: {} posts/s: {} of {} accepted, {} lost, p50 {:.2} ms, p99 {:.2} ms, \
                 {:.0} deliveries/s; CPU server {} %, its core {} %, generator {:.0} %",
                rate,
                step.posts_accepted,
                step.posts_sent,
                step.lost,
                step.p50_ms,
                step.p99_ms,
                step.delivered_per_s,
                percent(step.server_cpu_pct),
                percent(step.server_core_pct),
                step.generator_cpu_pct,
            );
        }
        let go_on = step.go_on(args.stop_p99_ms);
        steps.push(step);
        postings.push(posting);
        if !go_on {
            break;
        }
    }

    let (merged, disconnected) = subscribers.stop(&shared).await?;
    let sent: usize = postings.iter().map(|posting| posting.sent).sum();
    let posting_seconds: f64 = postings.iter().map(|posting| posting.seconds).sum();
    // Steps follow each other, so what was sent is the posts up to the last step's last one.
    let sent_end = postings
        .last()
        .map_or(0, |last| shared.step_starts[postings.len() - 1] + last.sent);
    let counted = tally(&shared, 0..sent_end);
    let answers = shared.answer_us.lock().expect("histogram lock poisoned").clone();
    let mut answers_all = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for histogram in &answers {
        answers_all.add(histogram)?;
    }
    let answer_ms = |quantile: f64| round2(answers_all.value_at_quantile(quantile) as f64 / 1000.0);
    let last = steps.last().cloned().unwrap_or_default();
    let mut outcome = json!({
        "bench": "realtime",
        "label": args.label,
        "target": args.target.name(),
        "backend": args.backend,
        "body": bodies.name(),
        "run": args.run,
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "clients": args.clients,
        "cohorts": cohorts.len(),
        "rate": args.rate,
        "connect_s": round2(connect_seconds),
        "posting_s": round2(posting_seconds),
        "posts_sent": sent,
        "posts_accepted": counted.accepted,
        "posts_rejected": counted.rejected,
        "posts_unanswered": sent as u64 - counted.accepted - counted.rejected,
        "posts_per_s": round2(sent as f64 / posting_seconds.max(1e-9)),
        "expected": counted.expected,
        "delivered": merged.delivered,
        "lost": counted.expected.saturating_sub(counted.distinct),
        "duplicated": merged.duplicate_client_ids + merged.duplicate_seqs,
        "unexpected": counted.unexpected,
        "resyncs": merged.resyncs,
        "errors": merged.errors,
        "disconnected": disconnected,
        "ignored_events": merged.foreign,
        "post_answer_p50_ms": answer_ms(0.50),
        "post_answer_p99_ms": answer_ms(0.99),
    });
    match args.mode {
        Mode::Sweep => {
            let peak = sweep::peak(&steps, PEAK_P99_MS);
            outcome["rate"] = json!(null);
            outcome["steps"] = serde_json::to_value(&steps)?;
            outcome["peak_rate"] = json!(peak.map(|step| step.rate));
            outcome["peak_delivered_per_s"] = json!(peak.map(|step| step.delivered_per_s));
            outcome["peak_p99_ms"] = json!(peak.map(|step| step.p99_ms));
            // The generator's busiest step: above 90 % it may have held a server back.
            let busiest = steps.iter().map(|step| step.generator_cpu_pct).fold(0.0, f64::max);
            outcome["generator_cpu_pct"] = json!(busiest);
            outcome["generator_busy"] = json!(busiest > sweep::GENERATOR_BUSY_PCT);
            outcome["peak_generator_busy"] = json!(peak.map(Step::generator_busy));
        }
        _ => {
            outcome["p50_ms"] = json!(last.p50_ms);
            outcome["p99_ms"] = json!(last.p99_ms);
            outcome["max_ms"] = json!(last.max_ms);
            outcome["delivered_per_s"] = json!(last.delivered_per_s);
            outcome["server_cpu_pct"] = json!(last.server_cpu_pct);
            outcome["server_core_pct"] = json!(last.server_core_pct);
            outcome["generator_cpu_pct"] = json!(last.generator_cpu_pct);
            outcome["generator_busy"] = json!(last.generator_busy());
        }
    }
    println!(
        "{} {} ({}, {} body) · {} clients in {} cohorts · {:?} mode{}\n\
         posts: {} sent, {} accepted, {} rejected, {} unanswered ({:.1}/s over {:.1} s)\n\
         deliveries: {} expected, {} delivered, {} lost, {} duplicated ({} by client id, {} by seq), {} unexpected\n\
         resyncs {}, server errors {}, disconnected {}, ignored events {}\n\
         latency post→answer (Samling): p50 {:.2} ms, p99 {:.2} ms",
        args.label,
        args.target.name(),
        args.backend.as_deref().unwrap_or("no database"),
        bodies.name(),
        args.clients,
        cohorts.len(),
        args.mode,
        match args.mode {
            Mode::Burst => format!(", window {}", args.window),
            Mode::Sweep => format!(", {} steps of {} s", steps.len(), args.duration),
            _ => format!(", {} posts/s", args.rate),
        },
        sent,
        counted.accepted,
        counted.rejected,
        outcome["posts_unanswered"],
        sent as f64 / posting_seconds.max(1e-9),
        posting_seconds,
        counted.expected,
        merged.delivered,
        outcome["lost"],
        outcome["duplicated"],
        merged.duplicate_client_ids,
        merged.duplicate_seqs,
        counted.unexpected,
        merged.resyncs,
        merged.errors,
        disconnected,
        merged.foreign,
        answer_ms(0.50),
        answer_ms(0.99),
    );
    match args.mode {
        Mode::Sweep => match sweep::peak(&steps, PEAK_P99_MS) {
            Some(peak) => println!(
                "peak: {:.0} deliveries/s at {} posts/s (p99 {:.2} ms){}",
                peak.delivered_per_s,
                peak.rate,
                peak.p99_ms,
                if peak.generator_busy() {
                    "; the generator's core was above 90 %: a lower bound"
                } else {
                    ""
                }
            ),
            None => println!("peak: no step kept p99 under 1 s with nothing lost"),
        },
        _ => println!(
            "latency post→delivery: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
             delivered during posting: {} messages/s; CPU while posting: server {} %, its core {} %, generator {:.0} %{}",
            last.p50_ms,
            last.p99_ms,
            last.max_ms,
            last.delivered_per_s,
            percent(last.server_cpu_pct),
            percent(last.server_core_pct),
            last.generator_cpu_pct,
            if last.generator_busy() {
                " (above 90 %: the generator may have held the server back)"
            } else {
                ""
            }
        ),
    }
    if let Some(error) = shared.first_error.lock().expect("error lock poisoned").as_deref() {
        println!("first error: {error}");
    }
    println!("{outcome}");
    Ok(())
}

async fn idle(args: &Args, cohorts: &[Cohort]) -> anyhow::Result<()> {
    let pid = args.server_pid.context("--mode idle needs --server-pid")?;
    let shared = Arc::new(Shared::new(cohorts, &[0])?);
    let before = vm_rss_kib(pid)?;
    let subscribers = start_subscribers(args, cohorts, &shared, 1).await?;
    // Let the server settle (lazy allocations, freed handshake buffers).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = vm_rss_kib(pid)?;
    subscribers.stop(&shared).await?;
    let per_connection = after.saturating_sub(before) as f64 / args.clients as f64;
    println!(
        "{} {} · {} idle subscribed connections\nserver VmRSS {} KiB before, {} KiB after: {:.2} KiB per idle connection",
        args.label,
        args.target.name(),
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
            "target": args.target.name(),
            "backend": args.backend,
            "body": Bodies::new(args).name(),
            "run": args.run,
            "mode": "idle",
            "clients": args.clients,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_connection": round2(per_connection),
        })
    );
    Ok(())
}

/// Reads the CPU time of the server, of this generator, and of the core the server is pinned to.
struct CpuMeter {
    server_pid: Option<u32>,
    /// The one core the server may run on, if it is pinned to one.
    server_core: Option<usize>,
}

struct CpuSample {
    at: Instant,
    server: Option<f64>,
    generator: f64,
    /// (busy, total) ticks of the server's core.
    core: Option<(u64, u64)>,
}

/// CPU over a stretch of time, in % of one core.
struct CpuUse {
    server_pct: Option<f64>,
    server_core_pct: Option<f64>,
    generator_pct: f64,
}

impl CpuMeter {
    fn new(server_pid: Option<u32>) -> anyhow::Result<Self> {
        let server_core = match server_pid {
            Some(pid) => {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .with_context(|| format!("no process {pid}"))?;
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                    .and_then(single_cpu)
            }
            None => None,
        };
        Ok(Self {
            server_pid,
            server_core,
        })
    }

    fn sample(&self) -> anyhow::Result<CpuSample> {
        let core = match self.server_core {
            Some(cpu) => core_ticks(&std::fs::read_to_string("/proc/stat")?, cpu),
            None => None,
        };
        Ok(CpuSample {
            at: Instant::now(),
            server: self.server_pid.map(cpu_seconds).transpose()?,
            generator: cpu_seconds_in(&std::fs::read_to_string("/proc/self/stat")?)?,
            core,
        })
    }

    fn since(&self, before: &CpuSample) -> anyhow::Result<CpuUse> {
        let now = self.sample()?;
        let wall = now.at.duration_since(before.at).as_secs_f64().max(1e-9);
        Ok(CpuUse {
            server_pct: match (now.server, before.server) {
                (Some(after), Some(before)) => Some((after - before) / wall * 100.0),
                _ => None,
            },
            server_core_pct: match (now.core, before.core) {
                (Some((busy, total)), Some((busy_before, total_before))) if total > total_before => {
                    Some(busy.saturating_sub(busy_before) as f64 / (total - total_before) as f64 * 100.0)
                }
                _ => None,
            },
            generator_pct: (now.generator - before.generator) / wall * 100.0,
        })
    }
}

/// `Cpus_allowed_list` → the CPU when it is exactly one ("0", "3"), None for "0-1" or "0,2".
fn single_cpu(list: &str) -> Option<usize> {
    list.trim().parse().ok()
}

/// (busy, total) ticks of `cpuN` in the text of `/proc/stat`; idle and iowait are not busy.
fn core_ticks(stat: &str, cpu: usize) -> Option<(u64, u64)> {
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name.as_str()))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8) // user nice system idle iowait irq softirq steal; guest time is inside user
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
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

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |value| format!("{value:.0}"))
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

    #[test]
    fn a_core_is_busy_for_all_but_its_idle_and_iowait_ticks() {
        let stat = "cpu  300 0 100 900 20 0 5 0 0 0\n\
                    cpu0 200 0 60 400 10 0 5 0 0 0\n\
                    cpu1 100 0 40 500 10 0 0 0 0 0\n\
                    intr 12345\n";
        assert_eq!(core_ticks(stat, 0), Some((265, 675)));
        assert_eq!(core_ticks(stat, 1), Some((140, 650)));
        assert_eq!(core_ticks(stat, 2), None);
    }

    #[test]
    fn only_a_single_allowed_cpu_counts_as_pinned() {
        assert_eq!(single_cpu("\t0"), Some(0));
        assert_eq!(single_cpu(" 3\n"), Some(3));
        assert_eq!(single_cpu("0-1"), None);
        assert_eq!(single_cpu("0,2"), None);
    }
}
