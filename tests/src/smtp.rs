//! A real SMTP server for tests (mailin-embedded on a free port) that keeps what it receives.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::MimeHeaders;
use mailin_embedded::response::{NO_MAILBOX, OK, Response};
use mailin_embedded::{Handler, Server};

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parseable mail")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|html| html.into_owned())
            .unwrap_or_default()
    }

    /// A header's raw value, trimmed (empty when missing).
    pub fn header(&self, name: &str) -> String {
        self.parsed()
            .header_raw(name)
            .map(|value| value.trim().to_string())
            .unwrap_or_default()
    }

    /// The first attachment's content type and text, if there is one.
    pub fn attachment(&self) -> Option<(String, String)> {
        let parsed = self.parsed();
        let part = parsed.attachment(0)?;
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
            .unwrap_or_default();
        Some((content_type, String::from_utf8_lossy(part.contents()).into_owned()))
    }

    /// The links in the plain-text part.
    pub fn links(&self) -> Vec<String> {
        self.text()
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(str::to_string)
            .collect()
    }

    /// The `token` query parameter of the first link to `path`.
    pub fn link_token(&self, path: &str) -> String {
        let link = self
            .links()
            .into_iter()
            .find(|link| link.contains(&format!("{path}?token=")))
            .unwrap_or_else(|| panic!("no link to {path} in: {}", self.text()));
        let query = link.split("token=").nth(1).expect("a token");
        query.split('&').next().unwrap_or(query).to_string()
    }

    /// The value of `name` in the query of the first link to `path`.
    pub fn link_parameter(&self, path: &str, name: &str) -> Option<String> {
        let link = self
            .links()
            .into_iter()
            .find(|link| link.contains(&format!("{path}?")))?;
        reqwest::Url::parse(&link)
            .ok()?
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

#[derive(Clone)]
struct Collector {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    recipients: Vec<String>,
    data: Vec<u8>,
}

/// Addresses the test server refuses (550 at `RCPT TO`), as a mail server refuses an unknown
/// mailbox: any whose local part starts with `refused`.
pub fn is_refused(address: &str) -> bool {
    address
        .trim_matches(['<', '>'])
        .to_ascii_lowercase()
        .starts_with("refused")
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if is_refused(to) { NO_MAILBOX } else { OK }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.recipients = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            recipients: std::mem::take(&mut self.recipients),
            raw: std::mem::take(&mut self.data),
        };
        self.mails
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(mail);
        OK
    }
}

pub struct TestSmtp {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl TestSmtp {
    /// Starts the server on a free port, in its own thread, for the rest of the test process.
    /// mailin serves one connection per thread, and every digest worker keeps several open.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port for SMTP");
        let port = listener.local_addr().expect("a bound port").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Collector {
            mails: mails.clone(),
            recipients: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("smtp.test")
            .with_num_threads(64)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            // The server runs until the test process ends; an error here would show as missing mail.
            let _ = server.serve();
        });
        Self { port, mails }
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.mails
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.all()
            .into_iter()
            .filter(|mail| mail.recipients.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .collect()
    }

    pub async fn wait_for_mail_to(&self, address: &str) -> ReceivedMail {
        self.wait_for_nth_mail_to(address, 1).await
    }

    /// Waits (up to 10 s) until `count` mails to `address` have arrived; returns the last.
    pub async fn wait_for_nth_mail_to(&self, address: &str, count: usize) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no mail number {count} to {address} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
