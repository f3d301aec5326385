//! Usefulness: the anonymous surveys after each session and at the programme's close. Results
//! of fewer than [`MIN_ANSWERS`] answers are held back, everywhere (summary included).

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::context::Context;
use super::sql::Sql;
use super::{Cell, MIN_ANSWERS, ReportTable, rounded};
use crate::error::AppResult;

#[derive(FromQueryResult)]
struct Scores {
    session_id: i32,
    usefulness: Option<i32>,
    answers: i64,
}

#[derive(FromQueryResult)]
struct Texts {
    session_id: i32,
    helped: String,
    change: String,
}

#[derive(FromQueryResult)]
struct Closing {
    changed_project: Option<String>,
    recommend: Option<String>,
    answers: i64,
}

#[derive(Default)]
struct SessionScores {
    answers: i64,
    /// Score 1–5 → answers giving it.
    scores: BTreeMap<i32, i64>,
}

impl SessionScores {
    fn shown(&self) -> bool {
        self.answers >= MIN_ANSWERS
    }

    fn mean(&self) -> Option<f64> {
        let given: i64 = self.scores.values().sum();
        let sum: i64 = self
            .scores
            .iter()
            .map(|(score, answers)| i64::from(*score) * answers)
            .sum();
        (given > 0).then(|| rounded(sum as f64 / given as f64))
    }
}

pub(super) struct Usefulness {
    by_session: HashMap<i32, SessionScores>,
    /// (session, what helped or what to change, text), of sessions shown.
    texts: Vec<(i32, &'static str, String)>,
    /// None in a session's report (the closing survey belongs to the cohort).
    closing: Option<ClosingAnswers>,
}

#[derive(Default)]
struct ClosingAnswers {
    answers: i64,
    changed_project: BTreeMap<String, i64>,
    recommend: BTreeMap<String, i64>,
}

impl Usefulness {
    pub(super) async fn load(db: &impl ConnectionTrait, context: &Context) -> AppResult<Self> {
        let mut sql = Sql::new(db);
        let kind = sql.bind("session");
        let sessions = sql.bind_list(context.session_ids());
        let text = format!(
            "SELECT session_id, usefulness, COUNT(*) AS answers FROM survey_answers \
             WHERE kind = {kind} AND session_id IN ({sessions}) GROUP BY session_id, usefulness"
        );
        let mut by_session: HashMap<i32, SessionScores> = HashMap::new();
        for row in sql.all::<Scores>(db, text).await? {
            let scores = by_session.entry(row.session_id).or_default();
            scores.answers += row.answers;
            if let Some(score) = row.usefulness.filter(|score| (1..=5).contains(score)) {
                *scores.scores.entry(score).or_default() += row.answers;
            }
        }

        let shown: Vec<i32> = context
            .session_ids()
            .filter(|id| by_session.get(id).is_some_and(SessionScores::shown))
            .collect();
        let mut texts = Vec::new();
        if !shown.is_empty() {
            let mut sql = Sql::new(db);
            let kind = sql.bind("session");
            let sessions = sql.bind_list(shown.iter().copied());
            let text = format!(
                "SELECT session_id, helped, change FROM survey_answers WHERE kind = {kind} AND session_id IN ({sessions})"
            );
            for row in sql.all::<Texts>(db, text).await? {
                for (question, said) in [("helped", row.helped), ("change", row.change)] {
                    if !said.trim().is_empty() {
                        texts.push((row.session_id, question, said.trim().to_owned()));
                    }
                }
            }
            // In the sessions' order, then alphabetically: never in the order people answered.
            let order: HashMap<i32, usize> = context.session_ids().enumerate().map(|(i, id)| (id, i)).collect();
            texts.sort_by(|a, b| {
                (order.get(&a.0), a.1 != "helped", &a.2).cmp(&(order.get(&b.0), b.1 != "helped", &b.2))
            });
        }

        let closing = if context.is_session() {
            None
        } else {
            let mut sql = Sql::new(db);
            let kind = sql.bind("programme");
            let cohorts = sql.bind_list(context.cohort_ids());
            let text = format!(
                "SELECT changed_project, recommend, COUNT(*) AS answers FROM survey_answers \
                 WHERE kind = {kind} AND cohort_id IN ({cohorts}) GROUP BY changed_project, recommend"
            );
            let mut closing = ClosingAnswers::default();
            for row in sql.all::<Closing>(db, text).await? {
                closing.answers += row.answers;
                if let Some(answer) = row.changed_project {
                    *closing.changed_project.entry(answer).or_default() += row.answers;
                }
                if let Some(answer) = row.recommend {
                    *closing.recommend.entry(answer).or_default() += row.answers;
                }
            }
            Some(closing)
        };
        Ok(Self {
            by_session,
            texts,
            closing,
        })
    }

    /// The scores of the sessions whose results are shown, added up.
    fn shown_total(&self) -> SessionScores {
        let mut total = SessionScores::default();
        for scores in self.by_session.values().filter(|scores| scores.shown()) {
            total.answers += scores.answers;
            for (score, answers) in &scores.scores {
                *total.scores.entry(*score).or_default() += answers;
            }
        }
        total
    }

    pub(super) fn summary(&self) -> Vec<(&'static str, Cell)> {
        let total = self.shown_total();
        let mut figures = vec![
            ("survey_answers", total.answers.into()),
            ("mean_usefulness", total.mean().into()),
        ];
        if let Some(closing) = &self.closing {
            figures.push((
                "closing_survey_answers",
                (closing.answers >= MIN_ANSWERS).then_some(closing.answers).into(),
            ));
        }
        figures
    }

    pub(super) fn tables(&self, context: &Context) -> Vec<ReportTable> {
        let mut tables = Vec::new();
        let mut by_session = ReportTable::new(
            "usefulness_by_session",
            &[
                "cohort",
                "session",
                "answers",
                "mean_usefulness",
                "score_1",
                "score_2",
                "score_3",
                "score_4",
                "score_5",
            ],
        );
        let mut held_back = false;
        for found in &context.sessions {
            let scores = self.by_session.get(&found.id);
            let mut row: Vec<Cell> = vec![
                context.cohort_label_of(found.cohort_id).into(),
                Context::session_label(found).into(),
            ];
            match scores.filter(|scores| scores.shown()) {
                Some(scores) => {
                    row.push(scores.answers.into());
                    row.push(scores.mean().into());
                    for score in 1..=5 {
                        row.push(scores.scores.get(&score).copied().unwrap_or(0).into());
                    }
                }
                None => {
                    held_back |= scores.is_some_and(|scores| scores.answers > 0);
                    row.extend(std::iter::repeat_n(Cell::Empty, 7));
                }
            }
            by_session.push(row);
        }
        if held_back {
            by_session.note = Some("too_few_answers".to_owned());
        }
        tables.push(by_session);

        let total = self.shown_total();
        let mut distribution = ReportTable::new("usefulness_distribution", &["score", "answers"]).with_chart(0, &[1]);
        for score in 1..=5 {
            distribution.push(vec![
                i64::from(score).into(),
                total.scores.get(&score).copied().unwrap_or(0).into(),
            ]);
        }
        if held_back {
            distribution.note = Some("too_few_answers".to_owned());
        }
        tables.push(distribution);

        if let Some(closing) = &self.closing {
            let shown = closing.answers >= MIN_ANSWERS;
            let mut table = ReportTable::new("closing_survey", &["question", "answer", "answers"]).with_chart(1, &[2]);
            for (question, answers, counted) in [
                (
                    "changed_project",
                    &["yes", "partly", "no"][..],
                    &closing.changed_project,
                ),
                ("recommend", &["yes", "no", "unsure"][..], &closing.recommend),
            ] {
                for answer in answers {
                    let count = shown.then(|| counted.get(*answer).copied().unwrap_or(0));
                    table.push(vec![question.into(), (*answer).into(), count.into()]);
                }
            }
            if !shown && closing.answers > 0 {
                table.note = Some("too_few_answers".to_owned());
            }
            tables.push(table);
        }

        let labels: HashMap<i32, String> = context
            .sessions
            .iter()
            .map(|found| (found.id, Context::session_label(found)))
            .collect();
        let shown: HashSet<i32> = self.texts.iter().map(|(id, _, _)| *id).collect();
        let mut texts = ReportTable::new("survey_texts", &["session", "question", "text"]);
        for (session_id, question, said) in &self.texts {
            texts.push(vec![
                labels.get(session_id).cloned().into(),
                (*question).into(),
                said.clone().into(),
            ]);
        }
        if held_back && shown.is_empty() {
            texts.note = Some("too_few_answers".to_owned());
        }
        tables.push(texts);
        tables
    }
}
