//! The roles a person holds in a cohort.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Facilitator,
    ProjectLead,
    Expert,
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Facilitator, Role::ProjectLead, Role::Expert, Role::Observer];

    pub fn code(self) -> &'static str {
        match self {
            Role::Facilitator => "facilitator",
            Role::ProjectLead => "project_lead",
            Role::Expert => "expert",
            Role::Observer => "observer",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// Translation key of the role's name.
    pub fn label_key(self) -> String {
        format!("role.{}", self.code())
    }
}
