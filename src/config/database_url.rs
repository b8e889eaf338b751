//! `[database] connection`: the SQLAlchemy URLs operators copy from tacker.conf, and sqlx URLs.
//!
//! `sqlite:///relative` and `sqlite:////absolute` follow SQLAlchemy (three slashes then a
//! relative path); sqlx's own forms `sqlite://relative`, `sqlite:path` and `sqlite::memory:`
//! work too. Errors never echo the URL: it may hold a password.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A connection URL in sqlx form, its password kept out of `Debug` and logs.
#[derive(Debug, Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn sqlite_file(path: &Path) -> Self {
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()).into(),
            backend: Backend::Sqlite,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with any password replaced by `***`, fit for logs.
    pub fn redacted(&self) -> String {
        let url = self.url.expose_secret();
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                let masked = if userinfo.contains(':') { ":***" } else { "" };
                format!("{scheme}://{user}{masked}@{host}{tail}")
            }
            None => url.to_owned(),
        }
    }
}

pub fn normalize_database_url(url: &str) -> Result<DatabaseUrl, String> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        return Ok(DatabaseUrl {
            url: sqlite_url(rest).into(),
            backend: Backend::Sqlite,
        });
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("not a URL; expected e.g. postgresql://user@host/tacker".into());
    };
    // `postgresql+psycopg2`, `mysql+pymysql`: the driver after `+` is Python's business.
    let dialect = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    let (scheme, backend) = match dialect.as_str() {
        "postgresql" | "postgres" => ("postgres", Backend::Postgres),
        "mysql" | "mariadb" => ("mysql", Backend::MySql),
        other => {
            return Err(format!(
                "unsupported database '{other}'; use postgresql://, mysql:// or sqlite://"
            ));
        }
    };
    Ok(DatabaseUrl {
        url: format!("{scheme}://{rest}").into(),
        backend,
    })
}

/// `rest` is what follows `sqlite:`.
fn sqlite_url(rest: &str) -> String {
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() || path == "//" || path == ":memory:" {
        return "sqlite::memory:".into();
    }
    let path = if let Some(sqlalchemy) = path.strip_prefix("///") {
        // SQLAlchemy: `sqlite:///rel` is relative, `sqlite:////abs` absolute.
        sqlalchemy
    } else if let Some(sqlx) = path.strip_prefix("//") {
        sqlx
    } else {
        path
    };
    // Create the file on first use, unless the operator chose a mode.
    let query = match query {
        Some(q) if q.split('&').any(|kv| kv.starts_with("mode=")) => q.to_owned(),
        Some(q) if !q.is_empty() => format!("{q}&mode=rwc"),
        _ => "mode=rwc".to_owned(),
    };
    format!("sqlite://{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(url: &str) -> (String, Backend) {
        let u = normalize_database_url(url).unwrap();
        (u.expose().to_owned(), u.backend())
    }

    #[test]
    fn sqlalchemy_and_sqlx_forms() {
        assert_eq!(
            norm("postgresql+psycopg2://tacker:pw@db/tacker"),
            ("postgres://tacker:pw@db/tacker".into(), Backend::Postgres)
        );
        assert_eq!(
            norm("postgres://u@h:5432/t"),
            ("postgres://u@h:5432/t".into(), Backend::Postgres)
        );
        assert_eq!(
            norm("mysql+pymysql://root:pw@127.0.0.1/tacker?charset=utf8"),
            (
                "mysql://root:pw@127.0.0.1/tacker?charset=utf8".into(),
                Backend::MySql
            )
        );
        assert_eq!(norm("sqlite:///rel/t.db").0, "sqlite://rel/t.db?mode=rwc");
        assert_eq!(norm("sqlite:////abs/t.db").0, "sqlite:///abs/t.db?mode=rwc");
        assert_eq!(norm("sqlite://rel.db").0, "sqlite://rel.db?mode=rwc");
        assert_eq!(norm("sqlite://").0, "sqlite::memory:");
        assert_eq!(norm("sqlite::memory:").0, "sqlite::memory:");
        assert_eq!(norm("sqlite:////a.db?mode=ro").0, "sqlite:///a.db?mode=ro");
    }

    #[test]
    fn unsupported_scheme_is_an_error_without_the_url() {
        let err = normalize_database_url("oracle://scott:tiger@h/db").unwrap_err();
        assert!(err.contains("oracle"));
        assert!(!err.contains("tiger"));
        assert!(normalize_database_url("nonsense").is_err());
    }

    #[test]
    fn redacted_hides_the_password() {
        let u = normalize_database_url("postgresql://tacker:s3cret@db:5432/tacker").unwrap();
        assert_eq!(u.redacted(), "postgres://tacker:***@db:5432/tacker");
        let u = normalize_database_url("mysql://root@db/tacker").unwrap();
        assert_eq!(u.redacted(), "mysql://root@db/tacker");
        assert!(!format!("{u:?}").contains("root@db"));
    }
}
