//! The mails Samling sends, composed from templates in web/templates/mail in the reader's language.

use askama::Template;

use super::transport::OutgoingMail;
use crate::domain::roles::Role;
use crate::entities::user;
use crate::error::AppResult;
use crate::i18n::Tr;

#[derive(Template)]
#[template(path = "mail/sign_in.txt")]
struct SignInText<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/sign_in.html")]
struct SignInHtml<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
}

pub fn sign_in(tr: Tr, to: &user::Model, link: &str) -> AppResult<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject: tr.t("mail.sign_in.subject").to_string(),
        text: SignInText {
            tr,
            name: &to.name,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: SignInHtml {
            tr,
            name: &to.name,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}

/// A session named in a mail: its title, its time in Oslo and what it is about.
#[derive(Clone, Debug)]
pub struct SessionLine {
    pub title: String,
    pub when: String,
    pub topic: String,
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    tr: Tr,
    name: &'a str,
    inviter: &'a str,
    theme: &'a str,
    programme: &'a str,
    role: &'a str,
    link: &'a str,
    sessions: &'a [SessionLine],
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    tr: Tr,
    name: &'a str,
    inviter: &'a str,
    theme: &'a str,
    programme: &'a str,
    role: &'a str,
    link: &'a str,
    sessions: &'a [SessionLine],
}

/// What an invitation mail says: who invites whom to which cohort, with which role, and the
/// sessions the person is already booked for.
pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub name: &'a str,
    pub inviter: &'a str,
    pub theme: &'a str,
    pub programme: &'a str,
    pub role: Role,
    pub link: &'a str,
    pub sessions: &'a [SessionLine],
}

pub fn invitation(tr: Tr, mail: InvitationMail<'_>) -> AppResult<OutgoingMail> {
    let role = tr.t(&mail.role.label_key()).to_string();
    Ok(OutgoingMail {
        to: mail.to.to_string(),
        subject: tr.f("mail.invitation.subject", &[("theme", mail.theme)]),
        text: InvitationText {
            tr,
            name: mail.name,
            inviter: mail.inviter,
            theme: mail.theme,
            programme: mail.programme,
            role: &role,
            link: mail.link,
            sessions: mail.sessions,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: InvitationHtml {
            tr,
            name: mail.name,
            inviter: mail.inviter,
            theme: mail.theme,
            programme: mail.programme,
            role: &role,
            link: mail.link,
            sessions: mail.sessions,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}

#[derive(Template)]
#[template(path = "mail/moderation.txt")]
struct ModerationText<'a> {
    tr: Tr,
    name: &'a str,
    intro: &'a str,
    reason: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/moderation.html")]
struct ModerationHtml<'a> {
    tr: Tr,
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    reason: &'a str,
    link: &'a str,
}

/// Tells an author that a moderator hid (or restored) their post, and why.
pub fn moderation_notice(
    tr: Tr,
    to: &user::Model,
    thread_title: &str,
    hidden: bool,
    reason: &str,
    link: &str,
) -> AppResult<OutgoingMail> {
    let (subject_key, intro_key) = if hidden {
        ("mail.moderation.hidden_subject", "mail.moderation.hidden_intro")
    } else {
        ("mail.moderation.restored_subject", "mail.moderation.restored_intro")
    };
    let subject = tr.t(subject_key).to_string();
    let intro = tr.f(intro_key, &[("thread", thread_title)]);
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject: subject.clone(),
        text: ModerationText {
            tr,
            name: &to.name,
            intro: &intro,
            reason,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: ModerationHtml {
            tr,
            subject: &subject,
            name: &to.name,
            intro: &intro,
            reason,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}

#[derive(Template)]
#[template(path = "mail/appointment.txt")]
struct AppointmentText<'a> {
    tr: Tr,
    name: &'a str,
    theme: &'a str,
    programme: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/appointment.html")]
struct AppointmentHtml<'a> {
    tr: Tr,
    name: &'a str,
    theme: &'a str,
    programme: &'a str,
    link: &'a str,
}

/// Tells a new facilitator which cohort they now run, with a one-time sign-in link.
pub fn appointment(tr: Tr, to: &user::Model, theme: &str, programme: &str, link: &str) -> AppResult<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject: tr.f("mail.appointment.subject", &[("theme", theme)]),
        text: AppointmentText {
            tr,
            name: &to.name,
            theme,
            programme,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: AppointmentHtml {
            tr,
            name: &to.name,
            theme,
            programme,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}

#[derive(Template)]
#[template(path = "mail/expert_booked.txt")]
struct ExpertBookedText<'a> {
    tr: Tr,
    name: &'a str,
    theme: &'a str,
    session: &'a SessionLine,
}

#[derive(Template)]
#[template(path = "mail/expert_booked.html")]
struct ExpertBookedHtml<'a> {
    tr: Tr,
    name: &'a str,
    theme: &'a str,
    session: &'a SessionLine,
}

/// Tells an invited expert (who has not answered yet) that they are booked for a session.
pub fn expert_booked(tr: Tr, to: &str, name: &str, theme: &str, session: &SessionLine) -> AppResult<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: tr.f("mail.expert_booked.subject", &[("session", session.title.as_str())]),
        text: ExpertBookedText {
            tr,
            name,
            theme,
            session,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: ExpertBookedHtml {
            tr,
            name,
            theme,
            session,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}
