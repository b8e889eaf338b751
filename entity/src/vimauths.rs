use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vimauths")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub vim_id: String,
    /// Fernet token of the password; `None` for a token-only Kubernetes VIM.
    #[sea_orm(column_type = "Text", nullable)]
    pub password: Option<String>,
    pub auth_url: String,
    /// JSON text object.
    #[sea_orm(column_type = "Text", nullable)]
    pub vim_project: Option<String>,
    /// JSON text object without `password`; other secrets are Fernet tokens inside it.
    #[sea_orm(column_type = "Text", nullable)]
    pub auth_cred: Option<String>,
    #[sea_orm(belongs_to, from = "vim_id", to = "id")]
    pub vim: BelongsTo<super::vims::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
