//! The one mailer: lettre over SMTP when a host is configured, otherwise `.eml` files in the
//! outbox folder (lettre's file transport).

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Settings, SmtpTls};

/// A mail ready to compose: plain text and HTML alternatives.
#[derive(Clone, Debug, Default)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A stable `Message-ID` (`<…@…>`), so a resend of the same mail is recognisable;
    /// otherwise lettre makes a new one.
    pub message_id: Option<String>,
    /// One-click unsubscribe (RFC 8058): `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub unsubscribe_url: Option<String>,
    /// An iCalendar invitation, attached as `invitation.ics`.
    pub calendar: Option<String>,
}

#[derive(Clone)]
enum Transport {
    Outbox(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .with_context(|| format!("mail_from {:?} is not a valid address", settings.mail_from))?;
        let transport = if settings.smtp_host.is_empty() {
            std::fs::create_dir_all(&settings.outbox_dir)
                .with_context(|| format!("cannot create the outbox folder {}", settings.outbox_dir.display()))?;
            Transport::Outbox(AsyncFileTransport::new(&settings.outbox_dir))
        } else {
            let host = settings.smtp_host.as_str();
            let builder = match settings.smtp_tls {
                SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                    .with_context(|| format!("cannot use SMTP host {host}"))?,
                SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                    .with_context(|| format!("cannot use SMTP host {host}"))?,
            };
            let mut builder = builder.port(settings.smtp_port);
            if !settings.smtp_username.is_empty() {
                builder = builder.credentials(Credentials::new(
                    settings.smtp_username.clone(),
                    settings.smtp_password.expose().to_string(),
                ));
            }
            Transport::Smtp(builder.build())
        };
        Ok(Self { from, transport })
    }

    pub async fn send(&self, mail: OutgoingMail) -> anyhow::Result<()> {
        let to: Mailbox = mail
            .to
            .parse()
            .with_context(|| format!("cannot send to {:?}", mail.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(mail.message_id);
        if let Some(url) = mail.unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        let body = MultiPart::alternative_plain_html(mail.text, mail.html);
        let message = match mail.calendar {
            None => builder.multipart(body),
            Some(calendar) => {
                let invitation = Attachment::new("invitation.ics".to_string()).body(
                    calendar,
                    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                        .context("calendar content type")?,
                );
                builder.multipart(MultiPart::mixed().multipart(body).singlepart(invitation))
            }
        }
        .context("cannot compose mail")?;
        match &self.transport {
            Transport::Outbox(outbox) => {
                outbox.send(message).await.context("cannot write mail to the outbox")?;
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("SMTP server refused the mail")?;
            }
        }
        Ok(())
    }
}
