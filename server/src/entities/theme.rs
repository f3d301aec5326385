use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "themes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub slug: String,
    pub name_nb: String,
    pub name_nn: String,
    pub name_en: String,
    pub keywords: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The theme's name in the reader's language (Bokmål when the language is unknown).
    pub fn name(&self, language: crate::i18n::Language) -> &str {
        match language {
            crate::i18n::Language::Nb => &self.name_nb,
            crate::i18n::Language::Nn => &self.name_nn,
            crate::i18n::Language::En => &self.name_en,
        }
    }

    pub fn keyword_list(&self) -> Vec<String> {
        self.keywords
            .split(',')
            .map(|keyword| keyword.trim().to_lowercase())
            .filter(|keyword| !keyword.is_empty())
            .collect()
    }
}
