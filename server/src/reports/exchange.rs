//! Exchange: threads and posts, questions and how soon someone else answered, experts'
//! posts, resources shared and downloaded, and match suggestions followed; per cohort, or for
//! a session's report, the session's own.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::context::Context;
use super::sql::Sql;
use super::{Cell, ReportTable, rounded};
use crate::domain::roles::Role;
use crate::error::AppResult;

#[derive(FromQueryResult)]
struct ThreadCounts {
    group_id: i32,
    threads: i64,
    questions: i64,
    answered: i64,
}

#[derive(FromQueryResult)]
struct PostCounts {
    group_id: i32,
    posts: i64,
    expert_posts: i64,
}

#[derive(FromQueryResult)]
struct FirstAnswer {
    group_id: i32,
    asked_at: DateTime<Utc>,
    /// None for a question nobody else has posted in yet.
    first_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct ResourceCounts {
    group_id: i32,
    resources: i64,
    downloads: i64,
}

#[derive(FromQueryResult)]
struct FollowCounts {
    group_id: i32,
    follows: i64,
}

#[derive(Default, Clone)]
struct Figures {
    threads: i64,
    posts: i64,
    questions: i64,
    answered: i64,
    /// Hours from each question to its first post by someone other than the asker.
    waits: Vec<f64>,
    expert_posts: i64,
    resources: i64,
    downloads: i64,
    follows: i64,
}

pub(super) struct Exchange {
    /// Cohort id (session id in a session's report) → its figures.
    by_key: HashMap<i32, Figures>,
    /// A session's report: follows are not counted (they belong to projects, not sessions).
    by_session: bool,
}

/// The median of the waits, in hours with one decimal; none without any.
fn median(waits: &[f64]) -> Option<f64> {
    if waits.is_empty() {
        return None;
    }
    let mut sorted = waits.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let value = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    Some(rounded(value))
}

impl Exchange {
    pub(super) async fn load(db: &impl ConnectionTrait, context: &Context) -> AppResult<Self> {
        let by_session = context.is_session();
        // Which threads count, and what their figures are grouped by.
        let scope = |sql: &mut Sql, alias: &str| -> (String, String) {
            if by_session {
                let ids = sql.bind_list(context.session_ids());
                (format!("{alias}.session_id"), format!("{alias}.session_id IN ({ids})"))
            } else {
                let ids = sql.bind_list(context.cohort_ids());
                (format!("{alias}.cohort_id"), format!("{alias}.cohort_id IN ({ids})"))
            }
        };
        let mut by_key: HashMap<i32, Figures> = HashMap::new();

        let mut sql = Sql::new(db);
        let question = sql.bind("%?");
        let (key, within) = scope(&mut sql, "t");
        let text = format!(
            "SELECT {key} AS group_id, COUNT(*) AS threads, \
               CAST(SUM(CASE WHEN t.title LIKE {question} OR t.answered_post_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS questions, \
               CAST(SUM(CASE WHEN t.answered_post_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered \
             FROM threads t WHERE {within} GROUP BY {key}"
        );
        for row in sql.all::<ThreadCounts>(db, text).await? {
            let figures = by_key.entry(row.group_id).or_default();
            figures.threads = row.threads;
            figures.questions = row.questions;
            figures.answered = row.answered;
        }

        // Posts are counted per author first, so each author's role is looked up once rather
        // than once per post; a cohort's posts are found by their own cohort column.
        // Bound in the order they appear: SQLite's placeholders are positional.
        let mut sql = Sql::new(db);
        let expert = sql.bind(Role::Expert.code());
        let no = sql.bind(false);
        let no_too = sql.bind(false);
        let (key, within) = scope(&mut sql, if by_session { "t" } else { "p" });
        // A session's posts are found from its threads: SQLite takes `CROSS JOIN` as the order
        // to join in, where it would otherwise walk every post of the cohort index.
        let (posts, in_thread) = if by_session {
            ("threads t CROSS JOIN posts p", "p.thread_id = t.id AND")
        } else {
            ("posts p", "")
        };
        let text = format!(
            "SELECT g.group_id, CAST(SUM(g.posts) AS BIGINT) AS posts, \
               CAST(SUM(CASE WHEN m.role = {expert} THEN g.posts ELSE 0 END) AS BIGINT) AS expert_posts \
             FROM (SELECT {key} AS group_id, p.cohort_id, p.author_id, COUNT(*) AS posts \
                   FROM {posts} WHERE {in_thread} p.deleted = {no} AND p.hidden = {no_too} AND {within} \
                   GROUP BY {key}, p.cohort_id, p.author_id) g \
             LEFT JOIN memberships m ON m.user_id = g.author_id AND m.cohort_id = g.cohort_id \
             GROUP BY g.group_id"
        );
        for row in sql.all::<PostCounts>(db, text).await? {
            let figures = by_key.entry(row.group_id).or_default();
            figures.posts = row.posts;
            figures.expert_posts = row.expert_posts;
        }

        // One query for every question's first answer by someone else: per question, the
        // thread's posts in time order (index `posts_by_thread_time`) until the first one.
        let mut sql = Sql::new(db);
        let no = sql.bind(false);
        let no_too = sql.bind(false);
        let question = sql.bind("%?");
        let (key, within) = scope(&mut sql, "t");
        let text = format!(
            "SELECT {key} AS group_id, t.created_at AS asked_at, \
               (SELECT p.created_at FROM posts p WHERE p.thread_id = t.id AND p.author_id <> t.author_id \
                  AND p.deleted = {no} AND p.hidden = {no_too} ORDER BY p.created_at LIMIT 1) AS first_at \
             FROM threads t WHERE (t.title LIKE {question} OR t.answered_post_id IS NOT NULL) AND {within}"
        );
        for row in sql.all::<FirstAnswer>(db, text).await? {
            let Some(first_at) = row.first_at else { continue };
            let hours = (first_at - row.asked_at).num_seconds().max(0) as f64 / 3600.0;
            by_key.entry(row.group_id).or_default().waits.push(hours);
        }

        let mut sql = Sql::new(db);
        let (key, within) = scope(&mut sql, "r");
        let text = format!(
            "SELECT {key} AS group_id, COUNT(*) AS resources, CAST(COALESCE(SUM(r.downloads), 0) AS BIGINT) AS downloads \
             FROM resources r WHERE {within} GROUP BY {key}"
        );
        for row in sql.all::<ResourceCounts>(db, text).await? {
            let figures = by_key.entry(row.group_id).or_default();
            figures.resources = row.resources;
            figures.downloads = row.downloads;
        }

        // A follow counts in the cohort where the follower holds the suggestion's project.
        if !by_session {
            let mut sql = Sql::new(db);
            let cohorts = sql.bind_list(context.cohort_ids());
            let text = format!(
                "SELECT m.cohort_id AS group_id, COUNT(*) AS follows FROM suggestion_follows f \
                 JOIN memberships m ON m.user_id = f.user_id AND m.grant_id = f.grant_id \
                 WHERE m.cohort_id IN ({cohorts}) GROUP BY m.cohort_id"
            );
            for row in sql.all::<FollowCounts>(db, text).await? {
                by_key.entry(row.group_id).or_default().follows = row.follows;
            }
        }
        Ok(Self { by_key, by_session })
    }

    fn total(&self) -> Figures {
        let mut total = Figures::default();
        for figures in self.by_key.values() {
            total.threads += figures.threads;
            total.posts += figures.posts;
            total.questions += figures.questions;
            total.answered += figures.answered;
            total.waits.extend(&figures.waits);
            total.expert_posts += figures.expert_posts;
            total.resources += figures.resources;
            total.downloads += figures.downloads;
            total.follows += figures.follows;
        }
        total
    }

    pub(super) fn summary(&self) -> Vec<(&'static str, Cell)> {
        let total = self.total();
        vec![
            ("threads", total.threads.into()),
            ("posts", total.posts.into()),
            ("questions_asked", total.questions.into()),
            ("questions_answered", total.answered.into()),
            ("median_hours_to_first_answer", median(&total.waits).into()),
            ("expert_posts", total.expert_posts.into()),
            ("resources_shared", total.resources.into()),
            ("downloads", total.downloads.into()),
            (
                "suggestions_followed",
                if self.by_session {
                    Cell::Empty
                } else {
                    total.follows.into()
                },
            ),
        ]
    }

    pub(super) fn tables(&self, context: &Context) -> Vec<ReportTable> {
        let columns = [
            "group",
            "threads",
            "posts",
            "questions_asked",
            "questions_answered",
            "median_hours_to_first_answer",
            "expert_posts",
            "resources_shared",
            "downloads",
            "suggestions_followed",
        ];
        let (key, rows): (&str, Vec<(i32, String)>) = if context.is_session() {
            (
                "exchange_by_session",
                context
                    .sessions
                    .iter()
                    .map(|found| (found.id, Context::session_label(found)))
                    .collect(),
            )
        } else {
            (
                "exchange_by_cohort",
                context
                    .cohorts
                    .iter()
                    .map(|found| (found.id, context.cohort_label(found)))
                    .collect(),
            )
        };
        let mut columns = columns.to_vec();
        columns[0] = if context.is_session() { "session" } else { "cohort" };
        let mut table = ReportTable::new(key, &columns).with_chart(0, &[2]);
        for (id, label) in rows {
            let figures = self.by_key.get(&id).cloned().unwrap_or_default();
            table.push(vec![
                label.into(),
                figures.threads.into(),
                figures.posts.into(),
                figures.questions.into(),
                figures.answered.into(),
                median(&figures.waits).into(),
                figures.expert_posts.into(),
                figures.resources.into(),
                figures.downloads.into(),
                // Follows belong to projects, not to sessions.
                if context.is_session() {
                    Cell::Empty
                } else {
                    figures.follows.into()
                },
            ]);
        }
        vec![table]
    }
}
