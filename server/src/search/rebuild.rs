//! Writing the whole index from what is stored: at start, when the index is empty but there is
//! content (a database from before search existed, or an index emptied by hand); and finding
//! the posts stored but not yet indexed when the server last stopped (the post writer indexes
//! new posts after storing them).

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait,
};

use crate::entities::{lesson, post, resource, search_entry, thread};
use crate::error::AppResult;

/// Indexes everything when the index is empty and there is something to index; returns the
/// number of entries written.
pub async fn index_if_empty<C: TransactionTrait + ConnectionTrait>(db: &C) -> AppResult<u64> {
    if search_entry::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let txn = crate::db::write_transaction(db).await?;
    let threads = thread::Entity::find().all(&txn).await?;
    for found in &threads {
        super::put(&txn, crate::threads::thread_search_entry(found)).await?;
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
        super::put(&txn, crate::threads::post_search_entry(&found, title)).await?;
    }
    for found in resource::Entity::find().all(&txn).await? {
        super::put(&txn, crate::resources::search_entry(&found)).await?;
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

/// The shown posts (not hidden, not deleted) that have no search entry, oldest first.
pub async fn unindexed_posts(db: &impl ConnectionTrait) -> AppResult<Vec<i32>> {
    let indexed = Query::select()
        .expr(Expr::val(1))
        .from(search_entry::Entity)
        .and_where(Expr::col((search_entry::Entity, search_entry::Column::Kind)).eq(super::Kind::Post))
        .and_where(
            Expr::col((search_entry::Entity, search_entry::Column::SourceId)).equals((post::Entity, post::Column::Id)),
        )
        .to_owned();
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Hidden.eq(false))
        .filter(post::Column::Deleted.eq(false))
        .filter(Expr::exists(indexed).not())
        .order_by_asc(post::Column::Id)
        .into_tuple::<i32>()
        .all(db)
        .await?)
}
