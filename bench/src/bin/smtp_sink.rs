//! A local SMTP server for the digest benchmark (one thread per connection, so more threads
//! than the worker has connections): accepts every mail, keeps nothing but a count
//! of mails and recipients, and writes the count to `--count-file` every 100 ms.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mailin_embedded::response::{OK, Response};
use mailin_embedded::{Handler, Server};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Where the number of mails received so far is written.
    #[arg(long)]
    count_file: PathBuf,
}

#[derive(Clone)]
struct Counter {
    mails: Arc<AtomicUsize>,
}

impl Handler for Counter {
    fn data(&mut self, _buf: &[u8]) -> std::io::Result<()> {
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.mails.fetch_add(1, Ordering::Relaxed);
        OK
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(&args.bind).with_context(|| format!("cannot listen on {}", args.bind))?;
    println!("listening {}", listener.local_addr()?);
    let mails = Arc::new(AtomicUsize::new(0));
    let counted = mails.clone();
    let count_file = args.count_file.clone();
    std::thread::spawn(move || {
        loop {
            let _ = std::fs::write(&count_file, counted.load(Ordering::Relaxed).to_string());
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut server = Server::new(Counter { mails });
    server
        .with_name("bench-sink")
        .with_num_threads(32)
        .with_tcp_listener(listener);
    server
        .serve()
        .map_err(|error| anyhow::anyhow!("SMTP sink stopped: {error}"))
}
