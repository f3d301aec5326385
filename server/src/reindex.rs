//! Writing the whole search index from what is stored, at start, when the index is empty but
//! there is content (a database from before search existed, or an index emptied by hand). It
//! reads every area that indexes something, so it sits above them, beside `startup`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionSession, TransactionTrait,
};

use crate::entities::{lesson, post, resource, search_entry, thread};
use crate::error::AppResult;
use crate::search;

/// Indexes everything when the index is empty and there is something to index; returns the
/// number of entries written.
pub async fn index_if_empty<C: TransactionTrait + ConnectionTrait>(db: &C) -> AppResult<u64> {
    if search_entry::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let txn = crate::db::write_transaction(db).await?;
    let threads = thread::Entity::find().all(&txn).await?;
    for found in &threads {
        search::put(&txn, crate::threads::thread_search_entry(found)).await?;
    }
    let titles: std::collections::HashMap<i32, &str> =
        threads.iter().map(|found| (found.id, found.title.as_str())).collect();
    for found in post::Entity::find()
        .filter(post::Column::Hidden.eq(false))
        .filter(post::Column::Deleted.eq(false))
        .all(&txn)
        .await?
    {
        let title = titles.get(&found.thread_id).copied().unwrap_or_default();
        search::put(&txn, crate::threads::post_search_entry(&found, title)).await?;
    }
    for found in resource::Entity::find().all(&txn).await? {
        search::put(&txn, crate::resources::search_entry(&found)).await?;
    }
    for found in lesson::Entity::find().all(&txn).await? {
        crate::projects::index_lesson(&txn, &found).await?;
    }
    crate::projects::index_all_profiles(&txn).await?;
    let written = search_entry::Entity::find().count(&txn).await?;
    txn.commit().await?;
    if written > 0 {
        tracing::info!(entries = written, "search index written from the stored content");
    }
    Ok(written)
}
