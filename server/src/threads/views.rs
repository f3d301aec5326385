//! What a thread and a post look like to members, built in bulk so a page or a batch of events
//! costs a fixed number of queries. A post's view is the same for every member of the cohort,
//! so one serialisation can be shared by all their sockets.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use crate::entities::{post, post_mention, post_reaction, thread};
use crate::error::AppResult;
use crate::markdown::to_safe_html;
use crate::users::names;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReactionView {
    /// One of the fixed reaction codes.
    pub reaction: String,
    pub count: usize,
    /// Who reacted, so a client can show the person's own reactions.
    pub user_ids: Vec<i32>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MentionView {
    pub user_id: i32,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: i32,
    pub thread_id: i32,
    pub cohort_id: i32,
    pub author_id: i32,
    /// The author's name; «Tidligere deltaker» where `author_erased` (in the reader's language
    /// in answers to a request, in Bokmål in socket events, for the client to show its own).
    pub author: String,
    /// The author's account was erased: their posts stay without their name.
    pub author_erased: bool,
    pub parent_post_id: Option<i32>,
    /// Sanitised HTML; empty for a hidden or deleted post.
    pub body_html: String,
    pub hidden: bool,
    pub deleted: bool,
    pub client_id: String,
    /// Raised by every change; moderators send it back to act on what they saw.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub reactions: Vec<ReactionView>,
    pub mentions: Vec<MentionView>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadView {
    pub id: i32,
    pub cohort_id: i32,
    pub session_id: Option<i32>,
    pub title: String,
    pub author_id: i32,
    pub author: String,
    pub locked: bool,
    pub pinned: bool,
    pub answered_post_id: Option<i32>,
    pub version: i32,
    /// Posts not deleted.
    pub post_count: usize,
    pub last_activity: DateTime<Utc>,
}

impl PostView {
    /// An erased author's name in the reader's language ([`post_views`] gives it in Bokmål).
    pub fn in_language(mut self, language: crate::i18n::Language) -> Self {
        if self.author_erased {
            self.author = crate::users::former_participant(language).to_string();
        }
        self
    }
}

/// Views of the posts, in the given order: three queries whatever their number.
pub async fn post_views(db: &impl ConnectionTrait, posts: Vec<post::Model>) -> AppResult<Vec<PostView>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let mut reactions: HashMap<i32, BTreeMap<String, Vec<i32>>> = HashMap::new();
    for reaction in post_reaction::Entity::find()
        .filter(post_reaction::Column::PostId.is_in(ids.clone()))
        .all(db)
        .await?
    {
        reactions
            .entry(reaction.post_id)
            .or_default()
            .entry(reaction.reaction)
            .or_default()
            .push(reaction.user_id);
    }
    let mut mentions: HashMap<i32, Vec<i32>> = HashMap::new();
    for mention in post_mention::Entity::find()
        .filter(post_mention::Column::PostId.is_in(ids))
        .all(db)
        .await?
    {
        mentions.entry(mention.post_id).or_default().push(mention.user_id);
    }
    let people = posts
        .iter()
        .map(|p| p.author_id)
        .chain(mentions.values().flatten().copied());
    let mut names = HashMap::new();
    let mut erased = HashSet::new();
    for (id, (name, was_erased)) in crate::users::names_marked(db, people.collect::<Vec<_>>()).await? {
        if was_erased {
            erased.insert(id);
        }
        names.insert(id, name);
    }
    Ok(posts
        .into_iter()
        .map(|found| {
            let reactions = reactions.remove(&found.id).unwrap_or_default();
            let mentioned = mentions.remove(&found.id).unwrap_or_default();
            let author_erased = erased.contains(&found.author_id);
            post_view(found, &names, author_erased, reactions, mentioned)
        })
        .collect())
}

fn post_view(
    found: post::Model,
    names: &HashMap<i32, String>,
    author_erased: bool,
    reactions: BTreeMap<String, Vec<i32>>,
    mut mentioned: Vec<i32>,
) -> PostView {
    let visible = !found.hidden && !found.deleted;
    mentioned.sort_unstable();
    PostView {
        id: found.id,
        thread_id: found.thread_id,
        cohort_id: found.cohort_id,
        author_id: found.author_id,
        author: names.get(&found.author_id).cloned().unwrap_or_default(),
        author_erased,
        parent_post_id: found.parent_post_id,
        body_html: if visible {
            to_safe_html(&found.body)
        } else {
            String::new()
        },
        hidden: found.hidden,
        deleted: found.deleted,
        client_id: found.client_id,
        version: found.version,
        created_at: found.created_at,
        edited_at: found.edited_at,
        reactions: if visible {
            reactions
                .into_iter()
                .map(|(reaction, user_ids)| ReactionView {
                    reaction,
                    count: user_ids.len(),
                    user_ids,
                })
                .collect()
        } else {
            Vec::new()
        },
        mentions: if visible {
            mentioned
                .into_iter()
                .map(|user_id| MentionView {
                    user_id,
                    name: names.get(&user_id).cloned().unwrap_or_default(),
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// The view of a post just written, without reading back what the caller already knows.
pub fn fresh_post_view(found: post::Model, author: String, mentioned: Vec<(i32, String)>) -> PostView {
    let mut names: HashMap<i32, String> = mentioned.iter().cloned().collect();
    names.insert(found.author_id, author);
    // The author has just written it: not erased.
    post_view(
        found,
        &names,
        false,
        BTreeMap::new(),
        mentioned.into_iter().map(|(id, _)| id).collect(),
    )
}

/// The activity figures a thread view needs about one post.
#[derive(Clone, Copy, Debug)]
pub struct PostActivity {
    pub thread_id: i32,
    pub created_at: DateTime<Utc>,
    pub deleted: bool,
}

impl From<&post::Model> for PostActivity {
    fn from(found: &post::Model) -> Self {
        Self {
            thread_id: found.thread_id,
            created_at: found.created_at,
            deleted: found.deleted,
        }
    }
}

pub fn thread_view(found: &thread::Model, activity: &[PostActivity], names: &HashMap<i32, String>) -> ThreadView {
    let of_thread = activity.iter().filter(|p| p.thread_id == found.id);
    ThreadView {
        id: found.id,
        cohort_id: found.cohort_id,
        session_id: found.session_id,
        title: found.title.clone(),
        author_id: found.author_id,
        author: names.get(&found.author_id).cloned().unwrap_or_default(),
        locked: found.locked,
        pinned: found.pinned,
        answered_post_id: found.answered_post_id,
        version: found.version,
        post_count: of_thread.clone().filter(|p| !p.deleted).count(),
        last_activity: of_thread.map(|p| p.created_at).max().unwrap_or(found.created_at),
    }
}

/// Views of the threads: two queries.
pub async fn thread_views(db: &impl ConnectionTrait, threads: &[thread::Model]) -> AppResult<Vec<ThreadView>> {
    if threads.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = threads.iter().map(|t| t.id).collect();
    let activity: Vec<PostActivity> = post::Entity::find()
        .filter(post::Column::ThreadId.is_in(ids))
        .all(db)
        .await?
        .iter()
        .map(PostActivity::from)
        .collect();
    let names = names(db, threads.iter().map(|t| t.author_id).collect::<Vec<_>>()).await?;
    Ok(threads.iter().map(|t| thread_view(t, &activity, &names)).collect())
}
