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

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    tr: Tr,
    name: &'a str,
    inviter: &'a str,
    theme: &'a str,
    role: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    tr: Tr,
    name: &'a str,
    inviter: &'a str,
    theme: &'a str,
    role: &'a str,
    link: &'a str,
}

pub fn invitation(
    tr: Tr,
    to: &str,
    name: &str,
    inviter: &str,
    theme: &str,
    role: Role,
    link: &str,
) -> AppResult<OutgoingMail> {
    let role = tr.t(&role.label_key()).to_string();
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: tr.f("mail.invitation.subject", &[("theme", theme)]),
        text: InvitationText {
            tr,
            name,
            inviter,
            theme,
            role: &role,
            link,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: InvitationHtml {
            tr,
            name,
            inviter,
            theme,
            role: &role,
            link,
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
