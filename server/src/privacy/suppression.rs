//! The suppression list: the address of every erased person, kept only as a one-way fingerprint
//! (SHA-256 of the trimmed, lowercased address), so that importing the grant file again does not
//! bring them back as a project's contact. Nothing else of the person is kept with it.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};

use crate::entities::suppressed_address;
use crate::error::AppResult;

/// The fingerprint of an address: SHA-256, hex, of the address trimmed and lowercased.
pub fn fingerprint(address: &str) -> String {
    crate::auth::tokens::hash_secret(&address.trim().to_lowercase())
}

/// Puts an address on the list (once: an address erased again, after a new account, stays one
/// entry).
pub async fn suppress(db: &impl ConnectionTrait, address: &str) -> AppResult<()> {
    suppressed_address::Entity::insert(suppressed_address::ActiveModel {
        fingerprint: Set(fingerprint(address)),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([suppressed_address::Column::Fingerprint])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Every fingerprint on the list.
pub async fn fingerprints(db: &impl ConnectionTrait) -> AppResult<HashSet<String>> {
    Ok(suppressed_address::Entity::find()
        .select_only()
        .column(suppressed_address::Column::Fingerprint)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_fingerprinted_trimmed_and_lowercased() {
        // sha256("kari@x.no")
        let expected = "d4cfdb7f110928ec98bbf6c2e7d9a6db824907a6a7c017a101801143167cd6d9";
        assert_eq!(fingerprint("kari@x.no"), expected);
        assert_eq!(fingerprint("  Kari@X.no\n"), expected);
        assert_ne!(fingerprint("kari@x.no.example"), expected);
    }
}
