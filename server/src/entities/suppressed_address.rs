use sea_orm::entity::prelude::*;

/// An erased person's address as a fingerprint only (`privacy::suppression`): a grant import
/// leaves a contact with this address out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suppressed_addresses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// SHA-256 (hex) of the trimmed, lowercased address.
    #[sea_orm(unique)]
    pub fingerprint: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
