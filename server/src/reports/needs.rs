//! Needs: what project leads wrote they need before a session, and which the facilitator
//! marked as taken up in a session.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};

use super::context::Context;
use super::sql::Sql;
use super::{Cell, ReportTable};
use crate::domain::roles::Role;
use crate::entities::session;
use crate::error::AppResult;

#[derive(FromQueryResult)]
struct Need {
    id: i32,
    session_id: i32,
    cohort_id: i32,
    grant_id: i32,
    needs: String,
    addressed_session_id: Option<i32>,
    person: String,
}

pub(super) struct Needs {
    /// In the order of the sessions, then municipality, project and need.
    needs: Vec<Need>,
    /// Session id → label, for every session a need was taken up in.
    labels: HashMap<i32, String>,
}

impl Needs {
    pub(super) async fn load(db: &impl ConnectionTrait, context: &Context) -> AppResult<Self> {
        let mut sql = Sql::new(db);
        let lead = sql.bind(Role::ProjectLead.code());
        let empty = sql.bind("");
        let sessions = sql.bind_list(context.session_ids());
        let text = format!(
            "SELECT p.id, p.session_id, s.cohort_id, m.grant_id, p.needs, p.addressed_session_id, u.name AS person \
             FROM preparations p JOIN sessions s ON s.id = p.session_id \
             JOIN memberships m ON m.user_id = p.user_id AND m.cohort_id = s.cohort_id \
             JOIN users u ON u.id = p.user_id \
             WHERE m.role = {lead} AND m.grant_id IS NOT NULL AND TRIM(p.needs) <> {empty} \
               AND p.session_id IN ({sessions})"
        );
        let order: HashMap<i32, usize> = context
            .session_ids()
            .enumerate()
            .map(|(index, id)| (id, index))
            .collect();
        let mut needs: Vec<Need> = sql
            .all::<Need>(db, text)
            .await?
            .into_iter()
            .filter(|need| context.counts(need.cohort_id, need.grant_id))
            .collect();
        needs.sort_by_key(|need| {
            let municipality = context.municipality(need.grant_id).map(|found| found.name.clone());
            let reference = context.grants.get(&need.grant_id).map(|found| found.reference.clone());
            (order.get(&need.session_id).copied(), municipality, reference, need.id)
        });
        let mut labels: HashMap<i32, String> = context
            .sessions
            .iter()
            .map(|found| (found.id, Context::session_label(found)))
            .collect();
        let elsewhere: Vec<i32> = needs
            .iter()
            .filter_map(|need| need.addressed_session_id)
            .filter(|id| !labels.contains_key(id))
            .collect();
        if !elsewhere.is_empty() {
            for found in session::Entity::find()
                .filter(session::Column::Id.is_in(elsewhere))
                .all(db)
                .await?
            {
                labels.insert(found.id, Context::session_label(&found));
            }
        }
        Ok(Self { needs, labels })
    }

    fn addressed(&self) -> usize {
        self.needs
            .iter()
            .filter(|need| need.addressed_session_id.is_some())
            .count()
    }

    pub(super) fn summary(&self) -> Vec<(&'static str, Cell)> {
        let stated = self.needs.len() as i64;
        let addressed = self.addressed() as i64;
        vec![
            ("needs_stated", stated.into()),
            ("needs_addressed", addressed.into()),
            ("needs_open", (stated - addressed).into()),
        ]
    }

    pub(super) fn tables(&self, context: &Context) -> Vec<ReportTable> {
        let mut by_session = ReportTable::new(
            "needs_by_session",
            &["cohort", "session", "stated", "addressed", "open"],
        )
        .with_chart(1, &[3, 4]);
        for found in &context.sessions {
            let stated = self.needs.iter().filter(|need| need.session_id == found.id).count() as i64;
            let addressed = self
                .needs
                .iter()
                .filter(|need| need.session_id == found.id && need.addressed_session_id.is_some())
                .count() as i64;
            by_session.push(vec![
                context.cohort_label_of(found.cohort_id).into(),
                Context::session_label(found).into(),
                stated.into(),
                addressed.into(),
                (stated - addressed).into(),
            ]);
        }

        let mut columns = vec!["session", "municipality", "project", "state", "addressed_in", "need"];
        if context.names {
            columns.push("person");
        }
        let mut list = ReportTable::new("needs", &columns);
        let labels = &self.labels;
        for need in &self.needs {
            let addressed_in = need.addressed_session_id.and_then(|id| labels.get(&id).cloned());
            let mut row: Vec<Cell> = vec![
                labels.get(&need.session_id).cloned().into(),
                context
                    .municipality(need.grant_id)
                    .map(|found| found.name.clone())
                    .into(),
                context
                    .grants
                    .get(&need.grant_id)
                    .map(|found| found.reference.clone())
                    .into(),
                if need.addressed_session_id.is_some() {
                    "addressed"
                } else {
                    "open"
                }
                .into(),
                addressed_in.into(),
                need.needs.trim().into(),
            ];
            if context.names {
                row.push(need.person.clone().into());
            }
            list.push(row);
        }
        vec![by_session, list]
    }
}
