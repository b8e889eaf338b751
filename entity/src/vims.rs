use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub r#type: String,
    pub tenant_id: String,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// JSON text, e.g. `{"regions": ["RegionOne"]}`.
    #[sea_orm(column_type = "Text", nullable)]
    pub placement_attr: Option<String>,
    pub shared: bool,
    pub is_default: bool,
    /// `Some(true)` exactly when this live VIM is its tenant's default, `None` otherwise.
    /// `UNIQUE (tenant_id, default_marker)` then allows one default per tenant on every backend
    /// (MySQL has no partial indexes; NULLs never collide).
    pub default_marker: Option<bool>,
    pub created_at: Option<DateTime>,
    pub updated_at: Option<DateTime>,
    /// `0001-01-01 00:00:00` while live (Tacker's `datetime.min`), the deletion time after.
    pub deleted_at: DateTime,
    /// JSON text object.
    #[sea_orm(column_type = "Text", nullable)]
    pub extra: Option<String>,
    #[sea_orm(has_one)]
    pub vimauth: HasOne<super::vimauths::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
