//! Lessons learned: which funded projects wrote one, and how often it was read, by later
//! programmes' people and in all.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};

use super::context::Context;
use super::sql::Sql;
use super::{Cell, ReportTable};
use crate::entities::lesson;
use crate::error::AppResult;

#[derive(FromQueryResult)]
struct Reads {
    lesson_id: i32,
    later: i64,
    total: i64,
}

pub(super) struct Lessons {
    /// Project id → its lesson written in one of the report's cohorts (the newest, if several).
    by_grant: HashMap<i32, lesson::Model>,
    /// Lesson id → (reads by later programmes, reads in all).
    reads: HashMap<i32, (i64, i64)>,
}

impl Lessons {
    pub(super) async fn load(db: &impl ConnectionTrait, context: &Context) -> AppResult<Self> {
        let mut by_grant: HashMap<i32, lesson::Model> = HashMap::new();
        for found in lesson::Entity::find()
            .filter(lesson::Column::CohortId.is_in(context.cohort_ids()))
            .all(db)
            .await?
        {
            if !context.counts(found.cohort_id, found.grant_id) {
                continue;
            }
            match by_grant.get(&found.grant_id) {
                Some(kept) if (kept.updated_at, kept.id) >= (found.updated_at, found.id) => {}
                _ => {
                    by_grant.insert(found.grant_id, found);
                }
            }
        }
        let mut sql = Sql::new(db);
        let lessons = sql.bind_list(by_grant.values().map(|found| found.id));
        // A read is by a later programme when the reader's programme started after the
        // programme of the cohort the lesson was written in.
        let text = format!(
            "SELECT r.lesson_id, \
               CAST(SUM(CASE WHEN rp.starts_on > lp.starts_on THEN 1 ELSE 0 END) AS BIGINT) AS later, \
               COUNT(*) AS total \
             FROM lesson_reads r JOIN lessons l ON l.id = r.lesson_id \
             JOIN cohorts c ON c.id = l.cohort_id JOIN programmes lp ON lp.id = c.programme_id \
             LEFT JOIN programmes rp ON rp.id = r.programme_id \
             WHERE r.lesson_id IN ({lessons}) GROUP BY r.lesson_id"
        );
        let reads = sql
            .all::<Reads>(db, text)
            .await?
            .into_iter()
            .map(|row| (row.lesson_id, (row.later, row.total)))
            .collect();
        Ok(Self { by_grant, reads })
    }

    pub(super) fn summary(&self) -> Vec<(&'static str, Cell)> {
        let later: i64 = self.reads.values().map(|(later, _)| later).sum();
        vec![
            ("lessons", (self.by_grant.len() as i64).into()),
            ("lesson_reads_by_later_programmes", later.into()),
        ]
    }

    pub(super) fn tables(&self, context: &Context) -> Vec<ReportTable> {
        let mut columns = vec!["project", "municipality", "theme", "written"];
        if context.names {
            columns.push("contact_person");
        }
        columns.extend(["reads_by_later_programmes", "reads"]);
        let mut table = ReportTable::new("lessons", &columns);
        let mut projects: Vec<_> = context.grants.values().collect();
        projects.sort_by(|a, b| (&a.reference, a.id).cmp(&(&b.reference, b.id)));
        for found in projects {
            let written = self.by_grant.get(&found.id);
            let (later, total) = written
                .and_then(|lesson| self.reads.get(&lesson.id).copied())
                .unwrap_or((0, 0));
            let theme = found
                .theme_id
                .and_then(|id| context.themes.get(&id))
                .map(|theme| theme.name(context.language).to_owned());
            let mut row: Vec<Cell> = vec![
                found.reference.clone().into(),
                context.municipality(found.id).map(|found| found.name.clone()).into(),
                theme.into(),
                if written.is_some() { "yes" } else { "no" }.into(),
            ];
            if context.names {
                row.push(written.map(|lesson| lesson.contact_name.clone()).into());
            }
            row.push(later.into());
            row.push(total.into());
            table.push(row);
        }
        vec![table]
    }
}
