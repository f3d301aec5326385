//! A programme's planning rules: session length, the hours a session may take, the gap between
//! sessions and the lead time before the first. The defaults are the planner's former constants.
//!
//! From here on the outbox also holds session notices (registration confirmations, waitlist
//! notices, facilitators' group messages), composed when they are stored; `outbox_mails.kind`
//! is free text, so only its documented values change:
// digest | sign_in | notice (composed session mails)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Programmes {
    Table,
    SessionMinutes,
    DayStartsHour,
    DayEndsHour,
    MinGapDays,
    LeadDays,
}

/// Each column with its default; SQLite adds one column per statement.
const COLUMNS: [(Programmes, i32); 5] = [
    (Programmes::SessionMinutes, 180),
    (Programmes::DayStartsHour, 8),
    (Programmes::DayEndsHour, 16),
    (Programmes::MinGapDays, 21),
    (Programmes::LeadDays, 21),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, default) in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Programmes::Table)
                        .add_column(ColumnDef::new(column).integer().not_null().default(default))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, _) in COLUMNS {
            manager
                .alter_table(Table::alter().table(Programmes::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
