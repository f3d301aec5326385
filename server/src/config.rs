//! Typed settings: built-in defaults, then an optional TOML file, then `SAMLING_*` variables.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::email::normalize_email;

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"[redacted]\"" })
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection; only sensible towards a relay on the same host.
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileStorage {
    /// Resource files under `files_dir`.
    Local,
    /// Resource files in an S3-compatible bucket (`s3_*`); uploads are staged in `files_dir`.
    S3,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// `development` allows the built-in signing secret and cookies without `Secure`.
    pub environment: Environment,
    /// `sqlite://…` (embedded default) or `postgres://…`.
    pub database_url: String,
    pub bind: String,
    /// The address people reach Samling at; links in e-mails start with it.
    pub public_url: String,
    /// Secret for signing session tokens (at least 32 bytes in production).
    pub signing_secret: Secret,
    /// When empty, mail is written as `.eml` files to `outbox_dir`.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: Secret,
    pub mail_from: String,
    pub outbox_dir: PathBuf,
    pub log_format: LogFormat,
    /// Hours a signed-in session lasts.
    pub session_hours: i64,
    /// Sign-in links asked for one address per 15 minutes.
    pub sign_in_limit_per_address: u32,
    /// Sign-in requests from one client IP per 15 minutes.
    pub sign_in_limit_per_ip: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Minutes before a session starts from which members see its video-meeting link.
    pub meeting_link_minutes_before: i64,
    /// Posts one person may make per minute (threads and replies, HTTP and websocket together).
    pub posts_per_minute: u32,
    /// Messages one websocket may send per second; a flood closes it.
    pub socket_messages_per_second: u32,
    /// Seconds between the server's digest runs (deciding what is due, sending the outbox);
    /// 0 turns the server's own digest worker off (`samling digests run` still works).
    pub digest_interval_seconds: u64,
    /// Attempts at sending one digest mail before giving up (keeping the last error).
    pub digest_max_attempts: u32,
    /// Folder for uploaded resource files (and, with S3, for uploads while they are checked).
    pub files_dir: PathBuf,
    /// `local` (files_dir) or `s3`.
    pub file_storage: FileStorage,
    pub s3_bucket: String,
    pub s3_region: String,
    /// An S3-compatible service's address; empty for Amazon S3.
    pub s3_endpoint: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: Secret,
    /// The largest resource file accepted, in bytes; checked while the upload streams in.
    pub resource_max_bytes: u64,
    /// File types accepted as resources, as detected from their content (MIME types).
    pub resource_types: Vec<String>,
    /// The organisation responsible for the personal data (the data controller), named in the
    /// privacy notice and the accessibility statement.
    pub controller_name: String,
    /// The controller's short postal address; empty: not shown.
    pub controller_address: String,
    /// Where people send questions and requests about their personal data.
    pub privacy_contact_email: String,
    /// Where people report an accessibility barrier.
    pub accessibility_contact_email: String,
    /// Years after the end of a person's last programme after which their personal data is
    /// anonymised, unless they take part in a newer programme.
    pub retention_programme_years: u32,
    /// Days sign-in records and used or expired sign-in links are kept.
    pub retention_sign_in_days: u32,
    /// Days an expired invitation is kept after it expired.
    pub retention_invitation_days: u32,
    /// Days a sent mail is kept in the outbox.
    pub retention_outbox_days: u32,
    /// Hours a data export's download link works (once).
    pub export_link_hours: u32,
    /// Hours between the server's retention runs (`privacy::retention`), the first at start;
    /// 0 turns the server's own run off (`samling retention run` still works).
    pub retention_interval_hours: u64,
}

/// PDF, Office documents (Microsoft and OpenDocument) and common images.
pub const DEFAULT_RESOURCE_TYPES: [&str; 13] = [
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "image/png",
    "image/jpeg",
    "image/webp",
];

/// The development signing secret; a production start refuses it.
const DEVELOPMENT_SECRET: &str = "development-only-secret-change-me-0123456789";

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            database_url: "sqlite://data/samling.sqlite?mode=rwc".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            signing_secret: Secret::new(DEVELOPMENT_SECRET),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            mail_from: "Samling <samling@example.no>".into(),
            outbox_dir: PathBuf::from("data/outbox"),
            log_format: LogFormat::Text,
            session_hours: 12,
            sign_in_limit_per_address: 5,
            sign_in_limit_per_ip: 30,
            trust_forwarded_for: false,
            meeting_link_minutes_before: 60,
            posts_per_minute: 30,
            socket_messages_per_second: 20,
            digest_interval_seconds: 60,
            digest_max_attempts: 5,
            files_dir: PathBuf::from("data/files"),
            file_storage: FileStorage::Local,
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_endpoint: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: Secret::default(),
            resource_max_bytes: 25 * 1024 * 1024,
            resource_types: DEFAULT_RESOURCE_TYPES.iter().map(|kind| kind.to_string()).collect(),
            controller_name: "Miljødirektoratet".into(),
            controller_address: String::new(),
            privacy_contact_email: "personvern@example.no".into(),
            accessibility_contact_email: "tilgjengelighet@example.no".into(),
            retention_programme_years: 3,
            retention_sign_in_days: 90,
            retention_invitation_days: 30,
            retention_outbox_days: 90,
            export_link_hours: 72,
            retention_interval_hours: 24,
        }
    }
}

impl Settings {
    /// Loads defaults, then `file` (if given; it must exist), then `SAMLING_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(format!("configuration file {} does not exist", path.display()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("SAMLING_"));
        let settings: Settings = figment
            .extract()
            .map_err(|error| format!("configuration is invalid: {}", error.to_string().replace('\n', " ")))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses settings that would be unsafe or cannot work, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err("public_url must start with http:// or https://".into());
        }
        if self.session_hours <= 0 {
            return Err("session_hours must be at least 1".into());
        }
        if self.digest_max_attempts == 0 {
            return Err("digest_max_attempts must be at least 1".into());
        }
        for (name, value) in [
            ("retention_programme_years", self.retention_programme_years),
            ("retention_sign_in_days", self.retention_sign_in_days),
            ("retention_invitation_days", self.retention_invitation_days),
            ("retention_outbox_days", self.retention_outbox_days),
            ("export_link_hours", self.export_link_hours),
        ] {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.controller_name.trim().is_empty() {
            return Err("controller_name must name the organisation responsible for the personal data".into());
        }
        for (name, address) in [
            ("privacy_contact_email", self.privacy_contact_email.as_str()),
            ("accessibility_contact_email", self.accessibility_contact_email.as_str()),
        ] {
            if normalize_email(address).is_none() {
                return Err(format!(
                    "{name} must be an e-mail address: set SAMLING_{}",
                    name.to_ascii_uppercase()
                ));
            }
        }
        if self.file_storage == FileStorage::S3 && self.s3_bucket.is_empty() {
            return Err("file_storage s3 needs a bucket: set SAMLING_S3_BUCKET".into());
        }
        if self.environment == Environment::Production {
            if self.file_storage == FileStorage::S3
                && self.s3_endpoint.starts_with("http://")
                && !self.s3_endpoint["http://".len()..]
                    .split(['/', ':'])
                    .next()
                    .is_some_and(is_loopback_host)
            {
                return Err("production refuses an S3 endpoint without TLS on a remote host: use https://".into());
            }
            if self.signing_secret.is_empty() {
                return Err("production needs a signing secret: set SAMLING_SIGNING_SECRET".into());
            }
            if self.signing_secret.expose() == DEVELOPMENT_SECRET {
                return Err(
                    "production must not use the development signing secret: set SAMLING_SIGNING_SECRET".into(),
                );
            }
            if self.signing_secret.expose().len() < 32 {
                return Err("the signing secret must be at least 32 characters in production".into());
            }
            if !self.public_url.starts_with("https://") {
                return Err("production needs an https:// public_url (session cookies are Secure)".into());
            }
            if !self.smtp_host.is_empty() && self.smtp_tls == SmtpTls::None && !is_loopback_host(&self.smtp_host) {
                return Err(
                    "production refuses SMTP without TLS to a remote host: set SAMLING_SMTP_TLS to starttls or tls"
                        .into(),
                );
            }
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn uses_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        Settings {
            environment: Environment::Production,
            public_url: "https://samling.example.no".into(),
            signing_secret: Secret::new("x".repeat(40)),
            ..Settings::default()
        }
    }

    #[test]
    fn development_defaults_are_valid() {
        assert_eq!(Settings::default().validate(), Ok(()));
    }

    #[test]
    fn s3_storage_needs_a_bucket_and_tls_to_a_remote_endpoint_in_production() {
        let s3 = |endpoint: &str| Settings {
            file_storage: FileStorage::S3,
            s3_bucket: "samling".into(),
            s3_endpoint: endpoint.into(),
            ..production()
        };
        assert_eq!(s3("").validate(), Ok(()));
        assert_eq!(s3("https://s3.example.no").validate(), Ok(()));
        assert_eq!(s3("http://127.0.0.1:9000").validate(), Ok(()));
        assert!(s3("http://s3.example.no").validate().unwrap_err().contains("https://"));
        let no_bucket = Settings {
            s3_bucket: String::new(),
            ..s3("")
        };
        assert!(no_bucket.validate().unwrap_err().contains("SAMLING_S3_BUCKET"));
    }

    #[test]
    fn retention_periods_and_the_export_link_refuse_zero() {
        let cases = [
            (
                "retention_programme_years",
                Settings {
                    retention_programme_years: 0,
                    ..Settings::default()
                },
            ),
            (
                "retention_sign_in_days",
                Settings {
                    retention_sign_in_days: 0,
                    ..Settings::default()
                },
            ),
            (
                "retention_invitation_days",
                Settings {
                    retention_invitation_days: 0,
                    ..Settings::default()
                },
            ),
            (
                "retention_outbox_days",
                Settings {
                    retention_outbox_days: 0,
                    ..Settings::default()
                },
            ),
            (
                "export_link_hours",
                Settings {
                    export_link_hours: 0,
                    ..Settings::default()
                },
            ),
        ];
        for (name, settings) in cases {
            assert_eq!(settings.validate(), Err(format!("{name} must be at least 1")));
        }
    }

    #[test]
    fn the_privacy_contacts_must_be_addresses_and_the_controller_named() {
        let no_address = Settings {
            privacy_contact_email: "personvern".into(),
            ..Settings::default()
        };
        assert!(no_address.validate().unwrap_err().starts_with("privacy_contact_email"));
        let empty = Settings {
            accessibility_contact_email: String::new(),
            ..Settings::default()
        };
        assert!(empty.validate().unwrap_err().starts_with("accessibility_contact_email"));
        let unnamed = Settings {
            controller_name: "  ".into(),
            ..Settings::default()
        };
        assert!(unnamed.validate().unwrap_err().starts_with("controller_name"));
    }

    #[test]
    fn production_with_a_strong_secret_and_https_is_valid() {
        assert_eq!(production().validate(), Ok(()));
    }

    #[test]
    fn production_refuses_missing_or_default_or_short_secret() {
        for secret in ["", DEVELOPMENT_SECRET, "short"] {
            let settings = Settings {
                signing_secret: Secret::new(secret),
                ..production()
            };
            let reason = settings.validate().unwrap_err();
            assert!(reason.contains("secret"), "{reason}");
        }
    }

    #[test]
    fn production_refuses_plain_http_and_plain_remote_smtp() {
        let http = Settings {
            public_url: "http://samling.example.no".into(),
            ..production()
        };
        assert!(http.validate().unwrap_err().contains("https"));
        let smtp = Settings {
            smtp_host: "smtp.example.no".into(),
            smtp_tls: SmtpTls::None,
            ..production()
        };
        assert!(smtp.validate().unwrap_err().contains("TLS"));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let printed = format!("{:?}", production());
        assert!(!printed.contains(&"x".repeat(40)));
        assert!(printed.contains("[redacted]"));
    }
}
