//! Schema migrations, portable across SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! The service runs them at start-up under a database lock (see `tacker_vim::db`), so that
//! several instances starting at once on one empty database do not race.

pub use sea_orm_migration::prelude::*;

mod m20261203_000001_create_vims;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261203_000001_create_vims::Migration)]
    }
}
