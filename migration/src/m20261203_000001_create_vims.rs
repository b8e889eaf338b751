//! Tacker's `vims` and `vimauths` tables (contract §7), plus the constraints Tacker only
//! checks in Python: unique live names per tenant and one default VIM per tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("vims")
                    .if_not_exists()
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("type", 64))
                    .col(string_len("tenant_id", 64))
                    .col(string_len("name", 255))
                    .col(text_null("description"))
                    .col(text_null("placement_attr"))
                    .col(boolean("shared").default(false))
                    .col(boolean("is_default").default(false))
                    .col(boolean_null("default_marker"))
                    .col(timestamp(manager, "created_at").null())
                    .col(timestamp(manager, "updated_at").null())
                    .col(timestamp(manager, "deleted_at").not_null())
                    .col(text_null("extra"))
                    .to_owned(),
            )
            .await?;
        // Soft-deleted rows carry their deletion time, live rows Tacker's `datetime.min`, so a
        // name is unique among live VIMs of a tenant and reusable after delete.
        manager
            .create_index(
                Index::create()
                    .name("uniq_vims0tenant_id0name0deleted_at")
                    .table("vims")
                    .col("tenant_id")
                    .col("name")
                    .col("deleted_at")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uniq_vims0tenant_id0default_marker")
                    .table("vims")
                    .col("tenant_id")
                    .col("default_marker")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The clients resolve names with `?name=<n>&fields=id` across tenants.
        manager
            .create_index(
                Index::create()
                    .name("ix_vims0name")
                    .table("vims")
                    .col("name")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("vimauths")
                    .if_not_exists()
                    .col(string_len("id", 36).primary_key())
                    .col(string_len_uniq("vim_id", 36))
                    .col(text_null("password"))
                    .col(string_len("auth_url", 255))
                    .col(text_null("vim_project"))
                    .col(text_null("auth_cred"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("vimauths_ibfk_1")
                            .from("vimauths", "vim_id")
                            .to("vims", "id"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("vimauths").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("vims").to_owned())
            .await
    }
}

/// A timestamp column with microseconds on every backend. MySQL's plain `DATETIME` keeps
/// whole seconds: two deletions of one name within a second would then collide on
/// `(tenant_id, name, deleted_at)`, and responses would lose their fraction.
fn timestamp(manager: &SchemaManager, name: &'static str) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::MySql => column.custom("datetime(6)"),
        _ => column.date_time(),
    };
    column
}
