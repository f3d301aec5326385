//! Invitations: an admin or a facilitator invites an address to a cohort with a role; the
//! e-mailed link (single use, valid 14 days) signs the person in as a member. The project
//! contacts of the cohort's grants are invited in one go; several addresses can be invited at
//! once; an invitation is resent (a new link) or withdrawn; one the mail server refused is kept
//! as bounced. An expert may be booked for a session before they answer: the booking waits in
//! `session_invitations` and becomes theirs when they accept. Retention and erasure anonymise
//! an invitation rather than delete it ([`anonymise`]): the programme report counts invited
//! projects from these rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use super::{CohortSetting, cohort_setting, find_or_create_user, set_membership};
use crate::audit;
use crate::auth::CurrentUser;
use crate::auth::tokens::{hash_secret, new_secret};
use crate::domain::email::normalize_email;
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::entities::{cohort, invitation, membership, session, session_expert, session_invitation, theme, user};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mail::messages::{self, SessionLine};
use crate::state::AppState;

pub const INVITATION_LIFETIME: Duration = Duration::days(14);
/// At most this many people in one list of addresses.
pub const MAX_BATCH_LINES: usize = 200;

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    #[schema(
        max_length = 254,
        pattern = r#"^[^@\s<>",\x00-\x1f\x7f-\x9f]+@[^@\s<>",.\x00-\x1f\x7f-\x9f]+(\.[^@\s<>",.\x00-\x1f\x7f-\x9f]+)+$"#
    )]
    pub email: String,
    /// The person's name, shown to the cohort once they accept.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    pub role: Role,
    /// For an expert: a session of the cohort they are booked for at once (named in the mail).
    #[serde(default)]
    pub session_id: Option<i32>,
    /// What the expert speaks about in that session.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub topic: Option<String>,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Mailed, not answered yet.
    Invited,
    /// The mail server refused the mail; it can be resent.
    Bounced,
    /// Not answered within 14 days; it can be resent.
    Expired,
    Accepted,
}

impl InvitationState {
    pub fn code(self) -> &'static str {
        match self {
            InvitationState::Invited => "invited",
            InvitationState::Bounced => "bounced",
            InvitationState::Expired => "expired",
            InvitationState::Accepted => "accepted",
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: i32,
    pub cohort_id: i32,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub state: InvitationState,
    /// The grant whose project contact was invited.
    pub grant_id: Option<i32>,
    /// When the mail last went out.
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn state_of(invitation: &invitation::Model, now: DateTime<Utc>) -> InvitationState {
    if invitation.accepted_at.is_some() {
        InvitationState::Accepted
    } else if invitation.bounced_at.is_some() {
        InvitationState::Bounced
    } else if invitation.expires_at <= now {
        InvitationState::Expired
    } else {
        InvitationState::Invited
    }
}

fn view(invitation: invitation::Model, now: DateTime<Utc>) -> InvitationView {
    InvitationView {
        id: invitation.id,
        cohort_id: invitation.cohort_id,
        state: state_of(&invitation, now),
        role: invitation.role,
        grant_id: invitation.grant_id,
        sent_at: invitation.sent_at.unwrap_or(invitation.created_at),
        email: invitation.email,
        name: invitation.name,
        expires_at: invitation.expires_at,
    }
}

pub fn accept_path(secret: &str) -> String {
    format!("/invitations/accept?token={secret}")
}

/// One person to invite, checked.
struct Invitee {
    email: String,
    name: String,
    role: Role,
    grant_id: Option<i32>,
}

/// A session booking that goes with an invitation.
struct Booking {
    session_id: i32,
    topic: String,
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("invalid_name", "name"));
    }
    Ok(name)
}

fn checked_topic(topic: Option<&str>) -> AppResult<String> {
    let topic = topic.unwrap_or_default().trim().to_string();
    if topic.chars().count() > 200 {
        return Err(AppError::invalid("invalid_topic", "topic"));
    }
    Ok(topic)
}

/// The session a facilitator books an invited expert for: the cohort's, and only for experts.
async fn checked_booking(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    role: Role,
    session_id: Option<i32>,
    topic: Option<&str>,
) -> AppResult<Option<Booking>> {
    let Some(session_id) = session_id else {
        return Ok(None);
    };
    if role != Role::Expert {
        return Err(AppError::invalid("invite_session_only_experts", "session_id"));
    }
    let found = session::Entity::find_by_id(session_id).one(db).await?;
    if found.is_none_or(|found| found.cohort_id != cohort_id) {
        return Err(AppError::invalid("invite_unknown_session", "session_id"));
    }
    Ok(Some(Booking {
        session_id,
        topic: checked_topic(topic)?,
    }))
}

async fn is_member(db: &impl ConnectionTrait, cohort_id: i32, email: &str) -> AppResult<bool> {
    let Some(person) = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(person.id))
        .filter(membership::Column::CohortId.eq(cohort_id))
        .one(db)
        .await?
        .is_some())
}

/// An invitation of the cohort to this address that has not been answered and still counts
/// (not expired).
async fn open_invitation(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    email: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::CohortId.eq(cohort_id))
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(db)
        .await?)
}

/// Stores an invitation (inside the caller's transaction, the cohort's row locked) and returns
/// it with the secret its link carries.
async fn store(
    txn: &DatabaseTransaction,
    inviter: &CurrentUser,
    cohort_id: i32,
    invitee: &Invitee,
    booking: Option<&Booking>,
    now: DateTime<Utc>,
) -> AppResult<(invitation::Model, String)> {
    let secret = new_secret();
    let created = invitation::ActiveModel {
        cohort_id: Set(cohort_id),
        email: Set(invitee.email.clone()),
        name: Set(invitee.name.clone()),
        role: Set(invitee.role),
        grant_id: Set(invitee.grant_id),
        invited_by: Set(inviter.user.id),
        token_hash: Set(hash_secret(&secret)),
        expires_at: Set(now + INVITATION_LIFETIME),
        accepted_at: Set(None),
        created_at: Set(now),
        sent_at: Set(Some(now)),
        bounced_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if let Some(booking) = booking {
        session_invitation::ActiveModel {
            session_id: Set(booking.session_id),
            invitation_id: Set(created.id),
            topic: Set(booking.topic.clone()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    audit::record(
        txn,
        Some(inviter.user.id),
        "invitations.create",
        "cohort",
        cohort_id,
        serde_json::json!({ "invitation_id": created.id, "role": invitee.role.code(), "grant_id": invitee.grant_id }),
        now,
    )
    .await?;
    Ok((created, secret))
}

/// A session as a mail names it.
pub fn session_line(tr: Tr, found: &session::Model, topic: &str) -> SessionLine {
    let topic = if topic.trim().is_empty() {
        // Without a topic of their own, the first line of the agenda says what it is about.
        found
            .agenda
            .lines()
            .map(|line| line.trim_start_matches(['#', '-', '*', ' ']).trim())
            .find(|line| !line.is_empty())
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect()
    } else {
        topic.trim().to_string()
    };
    SessionLine {
        title: found.title.clone(),
        when: tr.time_span(found.starts_at, found.ends_at),
        topic,
    }
}

/// Mails the invitation. A refusal by the mail server marks it bounced (kept, shown, resendable).
/// `setting` is the invitation's cohort's, loaded once for a whole batch.
async fn deliver(
    state: &AppState,
    setting: &CohortSetting,
    inviter_name: &str,
    invitation: invitation::Model,
    secret: &str,
) -> AppResult<invitation::Model> {
    let CohortSetting { theme, programme } = setting;
    let tr = Tr::new(Language::Nb);
    let mut sessions = Vec::new();
    for booked in session_invitation::Entity::find()
        .filter(session_invitation::Column::InvitationId.eq(invitation.id))
        .all(&state.db)
        .await?
    {
        if let Some(found) = session::Entity::find_by_id(booked.session_id).one(&state.db).await? {
            sessions.push((found.starts_at, session_line(tr, &found, &booked.topic)));
        }
    }
    sessions.sort_by_key(|(starts_at, _)| *starts_at);
    let sessions: Vec<SessionLine> = sessions.into_iter().map(|(_, line)| line).collect();
    let link = state.link(&accept_path(secret));
    let mail = messages::invitation(
        tr,
        messages::InvitationMail {
            to: &invitation.email,
            name: &invitation.name,
            inviter: inviter_name,
            theme: theme.name(tr.language),
            programme: &programme.name,
            role: invitation.role,
            link: &link,
            sessions: &sessions,
        },
    )?;
    let bounced_at = match state.mailer.send(mail).await {
        Ok(()) => None,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), invitation = invitation.id, "invitation mail refused; kept as bounced");
            Some(state.now())
        }
    };
    invitation::Entity::update_many()
        .col_expr(invitation::Column::BouncedAt, Expr::value(bounced_at))
        .filter(invitation::Column::Id.eq(invitation.id))
        .exec(&state.db)
        .await?;
    Ok(invitation::Model {
        bounced_at,
        ..invitation
    })
}

/// Invites an address and sends the mail. If the mail server refuses the mail, the invitation
/// is kept as bounced (its `state` says so) and can be resent. 409 `already_member` or
/// `already_invited` when the address is in the cohort or has an open invitation to it.
pub async fn invite(
    state: &AppState,
    inviter: &CurrentUser,
    cohort_id: i32,
    new: NewInvitation,
) -> AppResult<InvitationView> {
    inviter.require(Action::InviteToCohort {
        cohort_id,
        role: new.role,
    })?;
    let email = normalize_email(&new.email).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    let name = checked_name(&new.name)?;
    let booking = checked_booking(&state.db, cohort_id, new.role, new.session_id, new.topic.as_deref()).await?;
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    if is_member(&txn, cohort_id, &email).await? {
        return Err(AppError::Conflict { code: "already_member" });
    }
    if open_invitation(&txn, cohort_id, &email, now).await?.is_some() {
        return Err(AppError::Conflict {
            code: "already_invited",
        });
    }
    let invitee = Invitee {
        email,
        name,
        role: new.role,
        grant_id: None,
    };
    let (created, secret) = store(&txn, inviter, cohort_id, &invitee, booking.as_ref(), now).await?;
    txn.commit().await?;
    let setting = cohort_setting(&state.db, cohort_id).await?;
    let delivered = deliver(state, &setting, &inviter.user.name, created, &secret).await?;
    Ok(view(delivered, now))
}

/// What inviting several people at once did.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct BulkInvitationResult {
    /// Invitations whose mail went out.
    pub sent: Vec<InvitationView>,
    /// Invitations the mail server refused (kept as bounced; they can be resent).
    pub bounced: Vec<InvitationView>,
    /// Addresses already in the cohort: nobody invited.
    pub already_members: Vec<String>,
    /// Addresses with an open invitation already: nobody invited again.
    pub already_invited: Vec<String>,
}

impl BulkInvitationResult {
    fn add(&mut self, invitation: InvitationView) {
        if invitation.state == InvitationState::Bounced {
            self.bounced.push(invitation);
        } else {
            self.sent.push(invitation);
        }
    }
}

/// Stores every invitee in one transaction with the cohort's row locked, so that two people
/// inviting at once never invite the same address twice; then mails them.
async fn invite_many(
    state: &AppState,
    inviter: &CurrentUser,
    cohort_id: i32,
    invitees: Vec<Invitee>,
    booking: Option<&Booking>,
) -> AppResult<BulkInvitationResult> {
    let now = state.now();
    let mut result = BulkInvitationResult::default();
    let txn = crate::db::write_transaction(&state.db).await?;
    crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    let mut stored = Vec::new();
    let mut seen = HashSet::new();
    for invitee in invitees {
        if !seen.insert(invitee.email.clone()) {
            continue;
        }
        if is_member(&txn, cohort_id, &invitee.email).await? {
            result.already_members.push(invitee.email);
        } else if open_invitation(&txn, cohort_id, &invitee.email, now).await?.is_some() {
            result.already_invited.push(invitee.email);
        } else {
            stored.push(store(&txn, inviter, cohort_id, &invitee, booking, now).await?);
        }
    }
    txn.commit().await?;
    let setting = cohort_setting(&state.db, cohort_id).await?;
    for (created, secret) in stored {
        let delivered = deliver(state, &setting, &inviter.user.name, created, &secret).await?;
        result.add(view(delivered, now));
    }
    Ok(result)
}

/// A funded project of the cohort, its contact from the grant record and where their
/// invitation stands.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub grant_id: i32,
    pub project_title: String,
    pub municipality: String,
    pub contact_name: String,
    /// None when the grant record holds no address.
    pub contact_email: Option<String>,
    pub state: ContactState,
    /// The invitation, once there is one.
    pub invitation: Option<InvitationView>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    /// The grant record has no address: nobody can be invited.
    NoAddress,
    NotInvited,
    Invited,
    Bounced,
    Expired,
    /// The contact accepted, or is in the cohort already.
    Accepted,
}

impl ContactState {
    pub fn code(self) -> &'static str {
        match self {
            ContactState::NoAddress => "no_address",
            ContactState::NotInvited => "not_invited",
            ContactState::Invited => "invited",
            ContactState::Bounced => "bounced",
            ContactState::Expired => "expired",
            ContactState::Accepted => "accepted",
        }
    }
}

async fn contacts_in(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    cohort_id: i32,
    now: DateTime<Utc>,
) -> AppResult<Vec<ContactView>> {
    let cohort = super::cohort_view(db, viewer, cohort_id).await?;
    // An anonymised invitation leads nowhere: its project is "not invited", as if it never was.
    let invitations = invitation::Entity::find()
        .filter(invitation::Column::CohortId.eq(cohort_id))
        .filter(invitation::Column::AnonymisedAt.is_null())
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?;
    let member_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let member_emails: HashSet<String> = user::Entity::find()
        .filter(user::Column::Id.is_in(member_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect();
    // The latest invitation per grant and per address.
    let mut by_grant: HashMap<i32, &invitation::Model> = HashMap::new();
    let mut by_email: HashMap<&str, &invitation::Model> = HashMap::new();
    for found in &invitations {
        if let Some(grant_id) = found.grant_id {
            by_grant.insert(grant_id, found);
        }
        by_email.insert(found.email.as_str(), found);
    }
    let mut out = Vec::new();
    for project in cohort.projects {
        let email = project.contact_email.as_deref().and_then(normalize_email);
        let found = by_grant
            .get(&project.grant_id)
            .or_else(|| email.as_deref().and_then(|email| by_email.get(email)))
            .map(|found| view((*found).clone(), now));
        let state = match (&email, &found) {
            (None, _) => ContactState::NoAddress,
            (Some(email), _) if member_emails.contains(email) => ContactState::Accepted,
            (_, None) => ContactState::NotInvited,
            (_, Some(found)) => match found.state {
                InvitationState::Invited => ContactState::Invited,
                InvitationState::Bounced => ContactState::Bounced,
                InvitationState::Expired => ContactState::Expired,
                InvitationState::Accepted => ContactState::Accepted,
            },
        };
        out.push(ContactView {
            grant_id: project.grant_id,
            project_title: project.title,
            municipality: project.organisation.name,
            contact_name: project.contact_name,
            contact_email: email,
            state,
            invitation: found,
        });
    }
    out.sort_by(|a, b| (&a.municipality, &a.project_title).cmp(&(&b.municipality, &b.project_title)));
    Ok(out)
}

/// The cohort's project contacts with their invitation state, for those who may invite.
pub async fn contacts(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<ContactView>> {
    viewer.require(Action::InviteToCohort {
        cohort_id,
        role: Role::ProjectLead,
    })?;
    contacts_in(&state.db, viewer, cohort_id, state.now()).await
}

/// Whom "invite every project contact not yet invited" would invite: each address once.
pub fn to_invite(contacts: &[ContactView]) -> Vec<&ContactView> {
    let mut seen = HashSet::new();
    contacts
        .iter()
        .filter(|contact| contact.state == ContactState::NotInvited)
        .filter(|contact| {
            contact
                .contact_email
                .as_ref()
                .is_some_and(|email| seen.insert(email.clone()))
        })
        .collect()
}

/// Invites every project contact of the cohort not yet invited, as project lead, in one go.
/// A second call invites nobody.
pub async fn invite_contacts(
    state: &AppState,
    inviter: &CurrentUser,
    cohort_id: i32,
) -> AppResult<BulkInvitationResult> {
    inviter.require(Action::InviteToCohort {
        cohort_id,
        role: Role::ProjectLead,
    })?;
    let now = state.now();
    let mut result = BulkInvitationResult::default();
    let txn = crate::db::write_transaction(&state.db).await?;
    // Taken before the contacts are read: a second "invite all" at the same moment waits here
    // and then sees the first one's invitations.
    crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    let contacts = contacts_in(&txn, inviter, cohort_id, now).await?;
    let mut stored = Vec::new();
    for contact in to_invite(&contacts) {
        let (Some(email), Ok(name)) = (contact.contact_email.clone(), checked_name(&contact.contact_name)) else {
            continue;
        };
        // An open invitation to the address made by hand counts as invited.
        if open_invitation(&txn, cohort_id, &email, now).await?.is_some() {
            result.already_invited.push(email);
            continue;
        }
        let invitee = Invitee {
            email,
            name,
            role: Role::ProjectLead,
            grant_id: Some(contact.grant_id),
        };
        stored.push(store(&txn, inviter, cohort_id, &invitee, None, now).await?);
    }
    txn.commit().await?;
    let setting = cohort_setting(&state.db, cohort_id).await?;
    for (created, secret) in stored {
        let delivered = deliver(state, &setting, &inviter.user.name, created, &secret).await?;
        result.add(view(delivered, now));
    }
    Ok(result)
}

/// Several people at once: one a line, `Name <address>` or `address, name`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchInvitation {
    #[schema(max_length = 40000)]
    pub people: String,
    pub role: Role,
    /// For experts: a session of the cohort they are all booked for.
    #[serde(default)]
    pub session_id: Option<i32>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub topic: Option<String>,
}

/// Reads one person a line; empty lines are skipped. Any line that cannot be read is an error
/// naming its number, and then nobody is invited.
pub fn parse_people(text: &str) -> AppResult<Vec<(String, String)>> {
    let bad = |number: usize, line: &str| AppError::Invalid {
        code: "invalid_person_line",
        field: Some("people".into()),
        args: vec![("line", number.to_string()), ("text", line.chars().take(100).collect())],
    };
    let mut people = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let (name, address) = if let Some(open) = line.find('<') {
            let Some(rest) = line[open + 1..].strip_suffix('>') else {
                return Err(bad(number, line));
            };
            (line[..open].trim().trim_matches('"').trim(), rest.trim())
        } else if let Some((address, name)) = line.split_once(',') {
            (name.trim(), address.trim())
        } else {
            return Err(bad(number, line));
        };
        let email = normalize_email(address).ok_or_else(|| bad(number, line))?;
        if name.is_empty() || name.chars().count() > 200 || name.contains(['<', '>']) {
            return Err(bad(number, line));
        }
        people.push((name.to_string(), email));
    }
    if people.is_empty() {
        return Err(AppError::invalid("no_people", "people"));
    }
    if people.len() > MAX_BATCH_LINES {
        return Err(AppError::Invalid {
            code: "too_many_people",
            field: Some("people".into()),
            args: vec![("max", MAX_BATCH_LINES.to_string())],
        });
    }
    Ok(people)
}

/// Invites several people with one role. Every line is checked before anyone is invited.
pub async fn invite_batch(
    state: &AppState,
    inviter: &CurrentUser,
    cohort_id: i32,
    batch: BatchInvitation,
) -> AppResult<BulkInvitationResult> {
    inviter.require(Action::InviteToCohort {
        cohort_id,
        role: batch.role,
    })?;
    let people = parse_people(&batch.people)?;
    let booking = checked_booking(
        &state.db,
        cohort_id,
        batch.role,
        batch.session_id,
        batch.topic.as_deref(),
    )
    .await?;
    let invitees = people
        .into_iter()
        .map(|(name, email)| Invitee {
            email,
            name,
            role: batch.role,
            grant_id: None,
        })
        .collect();
    invite_many(state, inviter, cohort_id, invitees, booking.as_ref()).await
}

/// An invitation not yet accepted, which `viewer` may handle (as they may invite its role). An
/// anonymised one is not found: it has no address to send to.
async fn handled_invitation(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    invitation_id: i32,
) -> AppResult<invitation::Model> {
    let found = invitation::Entity::find_by_id(invitation_id)
        .one(db)
        .await?
        .filter(|found| found.anonymised_at.is_none())
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::InviteToCohort {
        cohort_id: found.cohort_id,
        role: found.role,
    })?;
    if found.accepted_at.is_some() {
        return Err(AppError::Conflict {
            code: "invitation_accepted",
        });
    }
    Ok(found)
}

/// Sends an invitation again with a new link and a new expiry; the old link stops working.
pub async fn resend(state: &AppState, viewer: &CurrentUser, invitation_id: i32) -> AppResult<InvitationView> {
    handled_invitation(&state.db, viewer, invitation_id).await?;
    let now = state.now();
    let secret = new_secret();
    let txn = crate::db::write_transaction(&state.db).await?;
    let updated = invitation::Entity::update_many()
        .col_expr(invitation::Column::TokenHash, Expr::value(hash_secret(&secret)))
        .col_expr(invitation::Column::ExpiresAt, Expr::value(now + INVITATION_LIFETIME))
        .col_expr(invitation::Column::SentAt, Expr::value(Some(now)))
        .col_expr(
            invitation::Column::BouncedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(invitation::Column::Id.eq(invitation_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::AnonymisedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict {
            code: "invitation_accepted",
        });
    }
    let found = invitation::Entity::find_by_id(invitation_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "invitations.resend",
        "cohort",
        found.cohort_id,
        serde_json::json!({ "invitation_id": invitation_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    let setting = cohort_setting(&state.db, found.cohort_id).await?;
    let delivered = deliver(state, &setting, &viewer.user.name, found, &secret).await?;
    Ok(view(delivered, now))
}

/// Withdraws an invitation not yet accepted: its link stops working; a project contact is
/// "not invited" again.
pub async fn withdraw(state: &AppState, viewer: &CurrentUser, invitation_id: i32) -> AppResult<InvitationView> {
    let found = handled_invitation(&state.db, viewer, invitation_id).await?;
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    let deleted = invitation::Entity::delete_many()
        .filter(invitation::Column::Id.eq(invitation_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::AnonymisedAt.is_null())
        .exec(&txn)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &txn,
        Some(viewer.user.id),
        "invitations.withdraw",
        "cohort",
        found.cohort_id,
        serde_json::json!({ "invitation_id": invitation_id, "grant_id": found.grant_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(view(found, now))
}

/// Takes the person out of invitations (the retention job, an erasure) without deleting them:
/// the programme report counts invited projects from these rows, so cohort, grant, role and
/// the dates stay. The address becomes a unique, never deliverable one (`.invalid`, RFC 2606),
/// the name goes, and the token hash is no SHA-256 hex, so no secret opens it. Returns how many
/// were anonymised now (ones anonymised before are left as they are).
pub async fn anonymise(txn: &DatabaseTransaction, ids: &[i32], now: DateTime<Utc>) -> AppResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    // Bookings waiting for an acceptance that can no longer come: they would only show a
    // nameless expert on the session, and the report does not read them.
    session_invitation::Entity::delete_many()
        .filter(session_invitation::Column::InvitationId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    let mut anonymised = 0;
    for id in ids {
        anonymised += invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Email,
                Expr::value(format!("erased-invitation-{id}@invalid")),
            )
            .col_expr(invitation::Column::Name, Expr::value(""))
            .col_expr(
                invitation::Column::TokenHash,
                Expr::value(format!("erased-invitation-{id}")),
            )
            .col_expr(invitation::Column::AnonymisedAt, Expr::value(Some(now)))
            .filter(invitation::Column::Id.eq(*id))
            .filter(invitation::Column::AnonymisedAt.is_null())
            .exec(txn)
            .await?
            .rows_affected;
    }
    Ok(anonymised)
}

/// Accepts an invitation once: creates the person if new, makes them a member, books them for
/// the sessions they were booked for while invited, returns them.
pub async fn accept(state: &AppState, secret: &str) -> AppResult<(user::Model, i32)> {
    let now = state.now();
    let hash = hash_secret(secret.trim());
    let txn = crate::db::write_transaction(&state.db).await?;
    let used = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .filter(invitation::Column::TokenHash.eq(&hash))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::AnonymisedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(AppError::invalid("invitation_invalid", "token"));
    }
    let invitation = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(&hash))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = invitation.role;
    let person = find_or_create_user(&txn, &invitation.email, &invitation.name, now).await?;
    if !person.active {
        return Err(AppError::invalid("invitation_invalid", "token"));
    }
    let already = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person.id))
        .filter(membership::Column::CohortId.eq(invitation.cohort_id))
        .one(&txn)
        .await?;
    if already.is_none() {
        set_membership(&txn, person.id, invitation.cohort_id, role, invitation.grant_id, now).await?;
    }
    move_bookings(&txn, &invitation, person.id, now).await?;
    crate::auth::sign_in::record_sign_in(&txn, person.id, now).await?;
    audit::record(
        &txn,
        Some(person.id),
        "invitations.accept",
        "cohort",
        invitation.cohort_id,
        serde_json::json!({ "invitation_id": invitation.id }),
        now,
    )
    .await?;
    txn.commit().await?;
    let person = user::Entity::find_by_id(person.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((person, invitation.cohort_id))
}

/// The sessions an invited expert was booked for become theirs.
async fn move_bookings(
    txn: &DatabaseTransaction,
    invitation: &invitation::Model,
    user_id: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let waiting = session_invitation::Entity::find()
        .filter(session_invitation::Column::InvitationId.eq(invitation.id))
        .all(txn)
        .await?;
    for booked in waiting {
        let locked = crate::db::lock_row::<session::Entity>(txn, booked.session_id).await?;
        let existing = session_expert::Entity::find()
            .filter(session_expert::Column::SessionId.eq(booked.session_id))
            .filter(session_expert::Column::UserId.eq(user_id))
            .one(txn)
            .await?;
        if existing.is_none() {
            session_expert::ActiveModel {
                session_id: Set(booked.session_id),
                user_id: Set(user_id),
                topic: Set(booked.topic.clone()),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            let sequence = locked.sequence + 1;
            let mut changed: session::ActiveModel = locked.into();
            changed.sequence = Set(sequence);
            changed.updated_at = Set(now);
            changed.update(txn).await?;
        }
        session_invitation::Entity::delete_by_id(booked.id).exec(txn).await?;
    }
    Ok(())
}

/// Invitations of a cohort not yet accepted (open, bounced or expired), for those who may invite.
pub async fn pending(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<InvitationView>> {
    viewer.require(Action::InviteToCohort {
        cohort_id,
        role: Role::ProjectLead,
    })?;
    let now = state.now();
    Ok(invitation::Entity::find()
        .filter(invitation::Column::CohortId.eq(cohort_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::AnonymisedAt.is_null())
        .order_by_desc(invitation::Column::CreatedAt)
        .order_by_desc(invitation::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|found| view(found, now))
        .collect())
}

/// An expert invited to the cohort who has not answered yet, bookable for a session.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvitedExpert {
    pub invitation_id: i32,
    pub name: String,
}

/// Open expert invitations of a cohort (not accepted, not expired).
pub async fn invited_experts(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    now: DateTime<Utc>,
) -> AppResult<Vec<InvitedExpert>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::CohortId.eq(cohort_id))
        .filter(invitation::Column::Role.eq(Role::Expert))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::AnonymisedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .order_by_asc(invitation::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|found| InvitedExpert {
            invitation_id: found.id,
            name: found.name,
        })
        .collect())
}

/// Books an invited expert (not answered yet) for a session and mails them about it. On
/// acceptance the booking becomes theirs. The caller checked that `viewer` manages the session.
pub async fn book_invited_expert(state: &AppState, session_id: i32, invitation_id: i32, topic: &str) -> AppResult<()> {
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    let locked = crate::db::lock_row::<session::Entity>(&txn, session_id).await?;
    let found = invitation::Entity::find_by_id(invitation_id).one(&txn).await?;
    let Some(found) = found.filter(|found| {
        found.cohort_id == locked.cohort_id
            && found.role == Role::Expert
            && found.accepted_at.is_none()
            && found.anonymised_at.is_none()
            && found.expires_at > now
    }) else {
        return Err(AppError::invalid("not_an_expert_of_cohort", "invitation_id"));
    };
    let existing = session_invitation::Entity::find()
        .filter(session_invitation::Column::SessionId.eq(session_id))
        .filter(session_invitation::Column::InvitationId.eq(invitation_id))
        .one(&txn)
        .await?;
    match existing {
        Some(existing) => {
            let mut active: session_invitation::ActiveModel = existing.into();
            active.topic = Set(topic.to_string());
            active.update(&txn).await?;
        }
        None => {
            session_invitation::ActiveModel {
                session_id: Set(session_id),
                invitation_id: Set(invitation_id),
                topic: Set(topic.to_string()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    let cohort = cohort::Entity::find_by_id(locked.cohort_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let theme = theme::Entity::find_by_id(cohort.theme_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tr = Tr::new(Language::Nb);
    let mail = messages::expert_booked(
        tr,
        &found.email,
        &found.name,
        theme.name(tr.language),
        &session_line(tr, &locked, topic),
    )?;
    if let Err(error) = state.mailer.send(mail).await {
        // The booking stands; the invitation mail already reached them or is marked bounced.
        tracing::warn!(error = %format!("{error:#}"), invitation = invitation_id, "booking mail not sent");
    }
    Ok(())
}

/// Bookings of invited experts for the given sessions: (session id, invitation's name, topic).
pub async fn waiting_bookings(db: &impl ConnectionTrait, session_ids: &[i32]) -> AppResult<Vec<(i32, String, String)>> {
    let waiting = session_invitation::Entity::find()
        .filter(session_invitation::Column::SessionId.is_in(session_ids.to_vec()))
        .all(db)
        .await?;
    let ids: Vec<i32> = waiting.iter().map(|w| w.invitation_id).collect();
    let names: HashMap<i32, String> = invitation::Entity::find()
        .filter(invitation::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|found| (found.id, found.name))
        .collect();
    Ok(waiting
        .into_iter()
        .filter_map(|w| Some((w.session_id, names.get(&w.invitation_id)?.clone(), w.topic)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_read_in_both_forms() {
        let people = parse_people("Kari Nordmann <Kari@Example.no>\n\n  ola@example.no, Ola Nordmann \n").unwrap();
        assert_eq!(
            people,
            vec![
                ("Kari Nordmann".to_string(), "kari@example.no".to_string()),
                ("Ola Nordmann".to_string(), "ola@example.no".to_string()),
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        for text in [
            "Kari <kari@example.no>\nbare tekst",
            "Kari <kari@example.no>\nola@, Ola",
            "Kari <kari@example.no>\n<ola@example.no>",
            "Kari <kari@example.no>\nOla <ola@example.no",
        ] {
            match parse_people(text) {
                Err(AppError::Invalid { code, args, .. }) => {
                    assert_eq!(code, "invalid_person_line");
                    assert_eq!(args[0], ("line", "2".to_string()), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_people(" \n"),
            Err(AppError::Invalid { code: "no_people", .. })
        ));
    }
}
