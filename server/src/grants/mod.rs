//! Grant records: the import of the agency's export, the theme mapping and the review list.

pub mod import;
pub mod placement;
pub mod review;

use crate::auth::Caller;
use crate::domain::policy::Action;
use crate::error::AppResult;

/// Whether the caller may manage grants: import them, settle the review list, edit the theme
/// mapping. Every function of this area that does so asks it first; a page asks it too before
/// it reads an upload or a form it would refuse anyway.
pub fn authorize(caller: Caller<'_>) -> AppResult<()> {
    caller.require(Action::ManageGrants)
}
