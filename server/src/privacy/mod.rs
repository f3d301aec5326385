//! A person's rights over their data (GDPR articles 15, 17 and 20) and how long Samling keeps
//! it: the export of everything held about a person ([`export`]), erasing a person on their
//! own request or an admin's ([`erase`]; what the admin is shown first: [`admin_erasure`]), the
//! suppression list that keeps an erased person out of later grant imports ([`suppression`]),
//! and the retention job that purges what has served its purpose ([`retention`]). The periods
//! are settings (`retention_*`, `export_link_hours`) and the privacy notice (`/personvern`)
//! states them.

pub mod admin_erasure;
pub mod erase;
pub mod export;
pub mod retention;
pub mod suppression;
