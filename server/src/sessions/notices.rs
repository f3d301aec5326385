//! Mails about a session to one person: the registration confirmation (with the calendar
//! invitation), the waitlist notice, the seat after waiting, and the facilitator's message to a
//! group. Each is composed in the reader's language and put in the outbox in the same
//! transaction as the change that causes it, so a mail goes out exactly when the change holds.

use askama::Template;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use super::feeds::session_calendar;
use crate::entities::{cohort, outbox_mail, session, theme, user};
use crate::error::AppResult;
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::state::AppState;

/// Why a person gets a mail about a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A seat: the confirmation, with the calendar invitation.
    Registered,
    /// On the waitlist at this position (1 is next).
    Waitlisted { position: usize },
    /// Moved up from the waitlist to a seat, with the calendar invitation.
    Promoted,
    /// The facilitator's message to those registered.
    ToRegistered,
    /// The facilitator's message to those waiting.
    ToWaitlisted,
    /// The facilitator's reminder to answer the needs intake.
    ToNotPrepared,
}

impl Notice {
    fn key(self) -> &'static str {
        match self {
            Notice::Registered => "registered",
            Notice::Waitlisted { .. } => "waitlisted",
            Notice::Promoted => "promoted",
            Notice::ToRegistered => "to_registered",
            Notice::ToWaitlisted => "to_waitlisted",
            Notice::ToNotPrepared => "to_not_prepared",
        }
    }

    fn with_calendar(self) -> bool {
        matches!(self, Notice::Registered | Notice::Promoted)
    }
}

#[derive(Template)]
#[template(path = "mail/session_notice.txt")]
struct NoticeText<'a> {
    tr: Tr,
    name: &'a str,
    intro: &'a str,
    note: Option<&'a str>,
    sender: Option<&'a str>,
    link_label: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/session_notice.html")]
struct NoticeHtml<'a> {
    tr: Tr,
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    note: Option<&'a str>,
    sender: Option<&'a str>,
    link_label: &'a str,
    link: &'a str,
}

/// The mail about `found` for `to`, in their language. `note` and `sender` come with a facilitator's message.
pub async fn compose(
    state: &AppState,
    db: &impl ConnectionTrait,
    found: &session::Model,
    to: &user::Model,
    notice: Notice,
    note: Option<&str>,
    sender: Option<&str>,
) -> AppResult<OutgoingMail> {
    let tr = Tr::new(Language::parse(&to.language).unwrap_or_default());
    let theme_name = match cohort::Entity::find_by_id(found.cohort_id).one(db).await? {
        Some(found_cohort) => theme::Entity::find_by_id(found_cohort.theme_id)
            .one(db)
            .await?
            .map(|t| t.name(tr.language).to_string())
            .unwrap_or_default(),
        None => String::new(),
    };
    let key = notice.key();
    let position = match notice {
        Notice::Waitlisted { position } => position.to_string(),
        _ => String::new(),
    };
    let args = [
        ("title", found.title.clone()),
        ("theme", theme_name),
        ("time", tr.time_span(found.starts_at, found.ends_at)),
        ("position", position),
        ("sender", sender.unwrap_or_default().to_string()),
    ];
    let subject = tr.f(&format!("session_mail.{key}_subject"), &args);
    let intro = tr.f(&format!("session_mail.{key}_intro"), &args);
    let link = state.link(&format!("/sessions/{}", found.id));
    let link_label = tr.t(if notice == Notice::ToNotPrepared {
        "session_mail.open_intake"
    } else {
        "session_mail.open_session"
    });
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let text = NoticeText {
        tr,
        name: &to.name,
        intro: &intro,
        note,
        sender,
        link_label,
        link: &link,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let html = NoticeHtml {
        tr,
        subject: &subject,
        name: &to.name,
        intro: &intro,
        note,
        sender,
        link_label,
        link: &link,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject,
        text,
        html,
        calendar: notice.with_calendar().then(|| session_calendar(state, found)),
        ..Default::default()
    })
}

/// Puts a composed mail for `to` in the outbox; the worker sends it once the transaction holds.
/// Wake it with [`wake_outbox`] after the commit.
pub async fn enqueue(
    state: &AppState,
    db: &impl ConnectionTrait,
    to: &user::Model,
    mail: OutgoingMail,
) -> AppResult<()> {
    let now = state.now();
    outbox_mail::ActiveModel {
        kind: Set(outbox_mail::Kind::Notice),
        digest_id: Set(None),
        user_id: Set(Some(to.id)),
        message_id: Set(format!(
            "<session-{}@{}>",
            uuid::Uuid::new_v4().simple(),
            state.message_id_domain()
        )),
        recipient: Set(mail.to),
        subject: Set(mail.subject),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        calendar: Set(mail.calendar),
        unsubscribe_url: Set(String::new()),
        status: Set(outbox_mail::Status::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Composes and enqueues the mail about `found` for the person with id `user_id` (nobody, if they are gone).
pub async fn notify(
    state: &AppState,
    db: &impl ConnectionTrait,
    found: &session::Model,
    user_id: i32,
    notice: Notice,
) -> AppResult<()> {
    let Some(person) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(());
    };
    if !person.active {
        return Ok(());
    }
    let mail = compose(state, db, found, &person, notice, None, None).await?;
    enqueue(state, db, &person, mail).await
}

/// Wakes the outbox worker after a commit that enqueued mails.
pub fn wake_outbox(state: &AppState) {
    state.outbox.notify_one();
}
