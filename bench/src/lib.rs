//! Shared by the benchmark binaries: cheap scanning of server messages, since the load
//! generator runs on one core and reads hundreds of thousands of messages a second, and the
//! server's memory as Linux reports it.

/// Post bodies: the realistic mix and the plain one.
pub mod body;
/// The realtime benchmark's Markdown report.
pub mod report;
/// The open-loop rate sweep and its peak.
pub mod sweep;

/// What the generator needs from one server message, found by substring, not a JSON parse.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    Subscribed,
    /// A `post_created` event; `client_id` is absent when the server does not send the post,
    /// and `post_id` when it sends only the post.
    PostCreated {
        seq: u64,
        client_id: Option<&'a str>,
        post_id: Option<u64>,
    },
    /// Another kind of event: only its number matters.
    OtherEvent {
        seq: u64,
    },
    Resync {
        cohort_id: i64,
        after: u64,
    },
    /// The answer to a post sent over the websocket.
    Posted {
        client_id: &'a str,
    },
    Pong,
    Error {
        code: &'a str,
        /// Set when the error answers a post.
        client_id: Option<&'a str>,
    },
    Other,
}

/// The text right after `"key":` (the first occurrence).
fn after_key<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let start = from + found;
        let end = start + key.len();
        // The key must be quoted and followed by a colon, not part of a longer key or a value.
        if start > 0 && text.as_bytes()[start - 1] == b'"' && text[end..].starts_with("\":") {
            return Some(&text[end + 2..]);
        }
        from = end;
    }
    None
}

/// The string value of `"key":"…"` (no unescaping: the values scanned are plain ids).
pub fn string_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = after_key(text, key)?.strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

/// The unsigned integer value of `"key":N`.
pub fn number_field(text: &str, key: &str) -> Option<u64> {
    let rest = after_key(text, key)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

pub fn scan(text: &str) -> Incoming<'_> {
    match string_field(text, "type") {
        Some("event") => {
            let Some(seq) = number_field(text, "seq") else {
                return Incoming::Other;
            };
            if string_field(text, "kind") == Some("post_created") {
                Incoming::PostCreated {
                    seq,
                    client_id: string_field(text, "client_id"),
                    post_id: number_field(text, "post_id"),
                }
            } else {
                Incoming::OtherEvent { seq }
            }
        }
        Some("subscribed") => Incoming::Subscribed,
        Some("pong") => Incoming::Pong,
        Some("resync") => Incoming::Resync {
            cohort_id: number_field(text, "cohort_id").map_or(0, |id| id as i64),
            after: number_field(text, "after").unwrap_or(0),
        },
        Some("posted") => Incoming::Posted {
            client_id: string_field(text, "client_id").unwrap_or(""),
        },
        Some("error") => Incoming::Error {
            code: string_field(text, "code").unwrap_or(""),
            client_id: string_field(text, "client_id"),
        },
        _ => Incoming::Other,
    }
}

/// `<prefix>-<k>` → k, for client ids this run made.
pub fn post_index(client_id: &str, prefix: &str) -> Option<usize> {
    client_id.strip_prefix(prefix)?.strip_prefix('-')?.parse().ok()
}

/// A process's resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
pub fn vm_rss_kib(pid: u32) -> anyhow::Result<u64> {
    use anyhow::Context;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("no process {pid}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS missing from /proc/PID/status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samling_post_events_yield_seq_and_client_id() {
        let text = r#"{"type":"event","cohort_id":3,"seq":42,"kind":"post_created","thread_id":7,"post_id":9,"created_at":"2026-01-01T00:00:00Z","post":{"id":9,"client_id":"r1a-17","body_html":"<p>\"seq\":1 and \"type\":\"x\"</p>"}}"#;
        assert_eq!(
            scan(text),
            Incoming::PostCreated {
                seq: 42,
                client_id: Some("r1a-17"),
                post_id: Some(9)
            }
        );
        assert_eq!(post_index("r1a-17", "r1a"), Some(17));
        assert_eq!(post_index("r1ab-17", "r1a"), None);
    }

    #[test]
    fn events_without_the_post_still_count_by_number() {
        let text = r#"{"type":"event","cohort_id":3,"seq":5,"kind":"post_created","thread_id":7,"post_id":9}"#;
        assert_eq!(
            scan(text),
            Incoming::PostCreated {
                seq: 5,
                client_id: None,
                post_id: Some(9)
            }
        );
        let thread = r#"{"type":"event","cohort_id":3,"seq":1,"kind":"thread_created","thread_id":7}"#;
        assert_eq!(scan(thread), Incoming::OtherEvent { seq: 1 });
    }

    #[test]
    fn control_messages_are_told_apart() {
        assert_eq!(
            scan(r#"{"type":"subscribed","cohort_id":1,"after":0}"#),
            Incoming::Subscribed
        );
        assert_eq!(scan(r#"{"type":"pong"}"#), Incoming::Pong);
        assert_eq!(
            scan(r#"{"type":"resync","cohort_id":4,"after":120}"#),
            Incoming::Resync {
                cohort_id: 4,
                after: 120
            }
        );
        assert_eq!(
            scan(r#"{"type":"error","code":"not_found"}"#),
            Incoming::Error {
                code: "not_found",
                client_id: None
            }
        );
        assert_eq!(
            scan(r#"{"type":"error","code":"thread_locked","message":"…","client_id":"r1a-3"}"#),
            Incoming::Error {
                code: "thread_locked",
                client_id: Some("r1a-3")
            }
        );
        assert_eq!(
            scan(r#"{"type":"posted","client_id":"r1a-3","post_id":9,"created":true}"#),
            Incoming::Posted { client_id: "r1a-3" }
        );
        assert_eq!(scan(r#"{"type":"presence","cohort_id":1}"#), Incoming::Other);
    }
}
