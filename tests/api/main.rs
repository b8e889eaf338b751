//! Integration tests: one binary, one module per area. Every test gets its own database
//! (SQLite file, or a fresh PostgreSQL / MariaDB database when `TEST_POSTGRES_URL` /
//! `TEST_MYSQL_URL` are set) and its own key directories; Keystone and the Kubernetes API are
//! small HTTP stubs on 127.0.0.1.

mod support;

mod cli;
mod contract;
mod keys;
mod multinode;
mod races;
mod regressions;
mod statements;
mod vims;
