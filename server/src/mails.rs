//! The mails Samling sends, composed from templates in web/templates/mail in the reader's language.

use askama::Template;

use crate::domain::roles::Role;
use crate::entities::user;
use crate::error::AppResult;
use crate::i18n::Tr;
use crate::mail::OutgoingMail;

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
    })
}
