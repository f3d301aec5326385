//! A raw statement with placeholders in the backend's own style (`?` or `$1`), for the
//! report's grouped queries.

use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement, Value};

use crate::error::AppResult;

pub(super) struct Sql {
    backend: DatabaseBackend,
    values: Vec<Value>,
}

impl Sql {
    pub(super) fn new(db: &impl ConnectionTrait) -> Self {
        Self {
            backend: db.get_database_backend(),
            values: Vec::new(),
        }
    }

    pub(super) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DatabaseBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    /// Placeholders for an `IN (…)` list; an empty list becomes one id no row has, so the
    /// statement stays valid and matches nothing.
    pub(super) fn bind_list(&mut self, values: impl IntoIterator<Item = i32>) -> String {
        let mut placeholders: Vec<String> = values.into_iter().map(|value| self.bind(value)).collect();
        if placeholders.is_empty() {
            placeholders.push(self.bind(-1));
        }
        placeholders.join(", ")
    }

    pub(super) async fn all<T: FromQueryResult>(self, db: &impl ConnectionTrait, text: String) -> AppResult<Vec<T>> {
        Ok(
            T::find_by_statement(Statement::from_sql_and_values(self.backend, text, self.values))
                .all(db)
                .await?,
        )
    }
}
