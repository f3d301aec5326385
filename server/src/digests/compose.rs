//! What a digest says to one person, in their language: plain text and HTML from the templates
//! in web/templates/mail. Everything a digest needs is loaded once per digest
//! ([`DigestContent::load`]); each person's mail is then put together without further queries.
//!
//! Hidden and deleted posts are never included, and an activity digest holds only what the
//! reader has not read, and the resources others shared, from the time since the cohort's
//! previous digest.

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::digest_schedule::DigestKind;
use crate::domain::sessions::RegistrationStatus;
use crate::entities::{
    cohort, digest, post, preparation, registration, resource, session, theme, thread, thread_read, user,
};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::state::AppState;

/// One linked line in a section.
pub struct Item {
    pub text: String,
    pub link: String,
}

/// One part of a digest under its own heading.
pub struct Section {
    pub heading: String,
    /// Markdown as written (the plain-text part shows it as is).
    pub markdown: String,
    /// The same, rendered and sanitised (the HTML part).
    pub html: String,
    pub items: Vec<Item>,
}

impl Section {
    fn text(heading: String, markdown: &str) -> Self {
        Self {
            heading,
            markdown: markdown.to_string(),
            html: crate::markdown::to_safe_html(markdown),
            items: Vec::new(),
        }
    }

    fn list(heading: String, items: Vec<Item>) -> Self {
        Self {
            heading,
            markdown: String::new(),
            html: String::new(),
            items,
        }
    }
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    tr: Tr,
    name: &'a str,
    title: &'a str,
    intro: &'a str,
    sections: &'a [Section],
    link: &'a str,
    link_text: &'a str,
    preferences_link: &'a str,
    unsubscribe_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    tr: Tr,
    name: &'a str,
    title: &'a str,
    intro: &'a str,
    sections: &'a [Section],
    link: &'a str,
    link_text: &'a str,
    preferences_link: &'a str,
    unsubscribe_link: &'a str,
}

/// A cohort's threads and visible posts since a time, and who has read what.
struct Activity {
    since: DateTime<Utc>,
    threads: Vec<thread::Model>,
    /// Visible posts (not hidden, not deleted) by thread, oldest first: each reader's mail
    /// looks at one thread's posts at a time.
    posts: HashMap<i32, Vec<post::Model>>,
    /// (user, thread) → the last post read.
    read: HashMap<(i32, i32), i32>,
    /// Resources posted since, oldest first.
    resources: Vec<resource::Model>,
    names: HashMap<i32, String>,
}

/// Everything one digest needs, loaded once for all its readers.
pub struct DigestContent {
    found: digest::Model,
    kind: DigestKind,
    theme: theme::Model,
    session: session::Model,
    /// Recap: threads started in the session.
    session_threads: Vec<thread::Model>,
    /// Reminder: each member's registration status and preparation.
    registrations: HashMap<i32, RegistrationStatus>,
    preparations: HashMap<i32, preparation::Model>,
    activity: Option<Activity>,
    /// Recap: who may still answer the session's survey, and gets its link.
    survey_open_to: std::collections::HashSet<i32>,
}

impl DigestContent {
    pub async fn load(state: &AppState, found: &digest::Model) -> AppResult<Self> {
        let db = &state.db;
        let kind = found.kind;
        let cohort = cohort::Entity::find_by_id(found.cohort_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let theme = theme::Entity::find_by_id(cohort.theme_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let session = session::Entity::find_by_id(found.session_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let session_threads = if kind == DigestKind::Recap {
            thread::Entity::find()
                .filter(thread::Column::SessionId.eq(session.id))
                .order_by_asc(thread::Column::Id)
                .all(db)
                .await?
        } else {
            Vec::new()
        };
        let (registrations, preparations) = if kind == DigestKind::Reminder {
            let registrations = registration::Entity::find()
                .filter(registration::Column::SessionId.eq(session.id))
                .all(db)
                .await?
                .into_iter()
                .map(|found| (found.user_id, found.status))
                .collect();
            let preparations = preparation::Entity::find()
                .filter(preparation::Column::SessionId.eq(session.id))
                .all(db)
                .await?
                .into_iter()
                .map(|found| (found.user_id, found))
                .collect();
            (registrations, preparations)
        } else {
            (HashMap::new(), HashMap::new())
        };
        let survey_open_to = if kind == DigestKind::Recap {
            crate::surveys::open_to(db, &session).await?
        } else {
            Default::default()
        };
        let activity = if kind == DigestKind::Activity {
            Some(load_activity(state, found).await?)
        } else {
            None
        };
        Ok(Self {
            found: found.clone(),
            kind,
            theme,
            session,
            session_threads,
            registrations,
            preparations,
            activity,
            survey_open_to,
        })
    }

    /// A reminder after the session began would be no reminder.
    pub fn session_started(&self, now: DateTime<Utc>) -> bool {
        self.session.starts_at <= now
    }

    pub fn recap_published(&self) -> bool {
        self.session.recap_published_at.is_some()
    }

    /// The mail for `person`, or `None` when an activity digest has nothing for them.
    pub async fn mail_for(&self, state: &AppState, person: &user::Model) -> AppResult<Option<OutgoingMail>> {
        let tr = Tr::new(Language::parse(&person.language).unwrap_or(Language::Nb));
        let session_link = state.link(&format!("/sessions/{}", self.session.id));
        let cohort_link = state.link(&format!("/cohorts/{}", self.found.cohort_id));
        let theme_name = match tr.language {
            Language::Nb => &self.theme.name_nb,
            Language::Nn => &self.theme.name_nn,
            Language::En => &self.theme.name_en,
        };
        let (title, sections, link, link_text) = match self.kind {
            DigestKind::Recap => (
                tr.f("mail.digest.recap_subject", &[("session", self.session.title.as_str())]),
                self.recap_sections(state, tr, person),
                session_link,
                tr.t("mail.digest.open_session"),
            ),
            DigestKind::Reminder => (
                tr.f(
                    "mail.digest.reminder_subject",
                    &[
                        ("session", self.session.title.clone()),
                        ("when", tr.date_time(self.session.starts_at)),
                    ],
                ),
                self.reminder_sections(state, tr, person),
                session_link,
                tr.t("mail.digest.open_session"),
            ),
            DigestKind::Activity => {
                let sections = self.activity_sections(state, tr, person);
                if sections.is_empty() {
                    return Ok(None);
                }
                (
                    tr.f("mail.digest.activity_subject", &[("theme", theme_name.as_str())]),
                    sections,
                    cohort_link,
                    tr.t("mail.digest.open_cohort"),
                )
            }
        };
        let token = state
            .sessions
            .issue_unsubscribe(person.id, state.now())
            .map_err(AppError::Internal)?;
        // The page asks to confirm; mail programs post to the API link in the header.
        let unsubscribe_link = state.link(&format!("/unsubscribe?token={token}"));
        let one_click = state.link(&format!("/api/v1/unsubscribe?token={token}"));
        let preferences_link = state.link("/settings");
        let text = DigestText {
            tr,
            name: &person.name,
            title: &title,
            intro: &self.found.intro,
            sections: &sections,
            link: &link,
            link_text,
            preferences_link: &preferences_link,
            unsubscribe_link: &unsubscribe_link,
        }
        .render()
        .map_err(anyhow::Error::from)?;
        let html = DigestHtml {
            tr,
            name: &person.name,
            title: &title,
            intro: &self.found.intro,
            sections: &sections,
            link: &link,
            link_text,
            preferences_link: &preferences_link,
            unsubscribe_link: &unsubscribe_link,
        }
        .render()
        .map_err(anyhow::Error::from)?;
        let calendar =
            (self.kind == DigestKind::Reminder).then(|| crate::sessions::feeds::session_calendar(state, &self.session));
        Ok(Some(OutgoingMail {
            to: person.email.clone(),
            subject: title,
            text,
            html,
            message_id: None,
            unsubscribe_url: Some(one_click),
            calendar,
        }))
    }

    fn recap_sections(&self, state: &AppState, tr: Tr, person: &user::Model) -> Vec<Section> {
        let mut sections = Vec::new();
        for (key, markdown) in [
            ("mail.digest.recap_summary", &self.session.recap_summary),
            ("mail.digest.recap_decisions", &self.session.recap_decisions),
            ("mail.digest.recap_resources", &self.session.recap_resources),
        ] {
            if !markdown.trim().is_empty() {
                sections.push(Section::text(tr.t(key).to_string(), markdown));
            }
        }
        let threads: Vec<Item> = self
            .session_threads
            .iter()
            .map(|found| Item {
                text: found.title.clone(),
                link: state.link(&format!("/threads/{}", found.id)),
            })
            .collect();
        if !threads.is_empty() {
            sections.push(Section::list(tr.t("mail.digest.recap_threads").to_string(), threads));
        }
        if self.survey_open_to.contains(&person.id) {
            sections.push(Section::list(
                tr.t("survey.digest_heading").to_string(),
                vec![Item {
                    text: tr.t("survey.digest_link").to_string(),
                    link: state.link(&format!("/sessions/{}/survey", self.session.id)),
                }],
            ));
        }
        sections
    }

    fn reminder_sections(&self, state: &AppState, tr: Tr, person: &user::Model) -> Vec<Section> {
        let when = tr.time_span(self.session.starts_at, self.session.ends_at);
        let registration = match self.registrations.get(&person.id) {
            Some(RegistrationStatus::Registered) => tr.t("registration.registered"),
            Some(RegistrationStatus::Waitlisted) => tr.t("registration.waitlisted"),
            None => tr.t("mail.digest.not_registered"),
        };
        let mut sections = vec![Section::text(
            tr.t("mail.digest.reminder_when").to_string(),
            &format!("{when}\n\n{registration}"),
        )];
        if !self.session.agenda.trim().is_empty() {
            sections.push(Section::text(
                tr.t("mail.digest.reminder_agenda").to_string(),
                &self.session.agenda,
            ));
        }
        let preparation = match self.preparations.get(&person.id) {
            Some(found) if !(found.needs.trim().is_empty() && found.offers.trim().is_empty()) => tr.f(
                "mail.digest.reminder_prepared",
                &[("needs", found.needs.as_str()), ("offers", found.offers.as_str())],
            ),
            _ => tr.t("mail.digest.reminder_prepare").to_string(),
        };
        sections.push(Section::text(
            tr.t("mail.digest.reminder_preparation").to_string(),
            &preparation,
        ));
        let minutes = state.settings.meeting_link_minutes_before.to_string();
        let mut join = Section::text(
            tr.t("mail.digest.reminder_join").to_string(),
            &format!(
                "{}\n\n{}",
                tr.f("mail.digest.reminder_join_text", &[("minutes", minutes.as_str())]),
                tr.t("mail.digest.reminder_calendar")
            ),
        );
        join.items.push(Item {
            text: self.session.title.clone(),
            link: state.link(&format!("/sessions/{}", self.session.id)),
        });
        sections.push(join);
        sections
    }

    fn activity_sections(&self, state: &AppState, tr: Tr, person: &user::Model) -> Vec<Section> {
        let Some(activity) = &self.activity else {
            return Vec::new();
        };
        let me = person.id;
        let unread = |found: &post::Model| {
            found.author_id != me
                && found.created_at > activity.since
                && activity
                    .read
                    .get(&(me, found.thread_id))
                    .is_none_or(|last| found.id > *last)
        };
        let mut new_threads = Vec::new();
        let mut replies = Vec::new();
        let mut answers = Vec::new();
        for found in &activity.threads {
            let link = state.link(&format!("/threads/{}", found.id));
            let posts = activity.posts.get(&found.id).map(Vec::as_slice).unwrap_or_default();
            let opening = posts.first().map(|p| p.id);
            let took_part = found.author_id == me || posts.iter().any(|p| p.author_id == me);
            let unread_posts: Vec<&post::Model> = posts.iter().filter(|p| unread(p)).collect();
            if found.author_id != me
                && found.created_at > activity.since
                && opening.is_some_and(|id| unread_posts.iter().any(|p| p.id == id))
            {
                let mut author = activity.names.get(&found.author_id).cloned().unwrap_or_default();
                crate::users::in_language(&mut author, tr.language);
                new_threads.push(Item {
                    text: tr.f(
                        "mail.digest.new_thread",
                        &[("title", found.title.as_str()), ("author", author.as_str())],
                    ),
                    link,
                });
                continue;
            }
            if found.author_id == me
                && let Some(answer) = found.answered_post_id
                && unread_posts.iter().any(|p| p.id == answer)
            {
                answers.push(Item {
                    text: found.title.clone(),
                    link: format!("{link}#post-{answer}"),
                });
            }
            if took_part {
                let count = unread_posts.iter().filter(|p| Some(p.id) != opening).count();
                if count > 0 {
                    replies.push(Item {
                        text: tr.plural_f("counted.new_replies", count, &[("title", found.title.clone())]),
                        link,
                    });
                }
            }
        }
        // Resources someone else shared since the last digest.
        let new_resources = activity
            .resources
            .iter()
            .filter(|shared| shared.posted_by != me)
            .map(|shared| {
                let poster = activity.names.get(&shared.posted_by).cloned().unwrap_or_default();
                Item {
                    text: tr.f(
                        "mail.digest.new_resource",
                        &[("title", shared.title.as_str()), ("author", poster.as_str())],
                    ),
                    link: state.link(&format!(
                        "/cohorts/{}/resources#resource-{}",
                        shared.cohort_id, shared.id
                    )),
                }
            })
            .collect();
        let mut sections = Vec::new();
        for (key, items) in [
            ("mail.digest.activity_answers", answers),
            ("mail.digest.activity_replies", replies),
            ("mail.digest.activity_new_threads", new_threads),
            ("mail.digest.activity_new_resources", new_resources),
        ] {
            if !items.is_empty() {
                sections.push(Section::list(tr.t(key).to_string(), items));
            }
        }
        sections
    }
}

/// The cohort's activity since its previous recap or activity digest (at most four weeks back).
async fn load_activity(state: &AppState, found: &digest::Model) -> AppResult<Activity> {
    let db = &state.db;
    let previous = digest::Entity::find()
        .filter(digest::Column::CohortId.eq(found.cohort_id))
        .filter(digest::Column::Status.eq(digest::Status::Decided))
        .filter(digest::Column::Kind.is_in([DigestKind::Recap, DigestKind::Activity]))
        .filter(digest::Column::Id.ne(found.id))
        .order_by_desc(digest::Column::DecidedAt)
        .one(db)
        .await?;
    let floor = found.due_at - Duration::weeks(4);
    let since = previous
        .and_then(|previous| previous.decided_at)
        .map_or(floor, |at| at.max(floor));
    let threads = thread::Entity::find()
        .filter(thread::Column::CohortId.eq(found.cohort_id))
        .order_by_asc(thread::Column::Id)
        .all(db)
        .await?;
    let mut posts: HashMap<i32, Vec<post::Model>> = HashMap::new();
    for visible in post::Entity::find()
        .filter(post::Column::CohortId.eq(found.cohort_id))
        .filter(post::Column::Hidden.eq(false))
        .filter(post::Column::Deleted.eq(false))
        .order_by_asc(post::Column::Id)
        .all(db)
        .await?
    {
        posts.entry(visible.thread_id).or_default().push(visible);
    }
    let thread_ids: Vec<i32> = threads.iter().map(|t| t.id).collect();
    let read = thread_read::Entity::find()
        .filter(thread_read::Column::ThreadId.is_in(thread_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|found| ((found.user_id, found.thread_id), found.last_read_post_id))
        .collect();
    let resources = resource::Entity::find()
        .filter(resource::Column::CohortId.eq(found.cohort_id))
        .filter(resource::Column::CreatedAt.gt(since))
        .order_by_asc(resource::Column::Id)
        .all(db)
        .await?;
    let people = threads
        .iter()
        .map(|t| t.author_id)
        .chain(resources.iter().map(|r| r.posted_by));
    let names = crate::users::names(db, people).await?;
    Ok(Activity {
        since,
        threads,
        posts,
        read,
        resources,
        names,
    })
}
