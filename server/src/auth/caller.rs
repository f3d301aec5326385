//! Who asks an area to act: a signed-in person, held to the policy, or the command line.

use super::CurrentUser;
use crate::domain::policy::Action;
use crate::error::AppResult;

/// The one an area function acts for. The area asks [`Caller::require`] before it reads or
/// writes, and records [`Caller::user_id`] in the audit log.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// A signed-in person (a page or the API): the policy decides.
    Person(&'a CurrentUser),
    /// The operator at the command line (`samling import-grants`, `create-programme`, the demo
    /// loader of `serve --demo`): whoever runs the server may administer it; the audit log
    /// records no person.
    CommandLine,
}

impl Caller<'_> {
    /// Asks the policy for a person; the command line may do every administrative action.
    pub fn require(self, action: Action) -> AppResult<()> {
        match self {
            Caller::Person(person) => person.require(action),
            Caller::CommandLine => Ok(()),
        }
    }

    /// The person the audit log names, none for the command line.
    pub fn user_id(self) -> Option<i32> {
        match self {
            Caller::Person(person) => Some(person.user.id),
            Caller::CommandLine => None,
        }
    }
}

impl<'a> From<&'a CurrentUser> for Caller<'a> {
    fn from(person: &'a CurrentUser) -> Self {
        Caller::Person(person)
    }
}
