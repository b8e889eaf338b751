//! The VIM tables: every statement the flows run, and the translation of constraint
//! violations into Tacker's errors where each statement runs.

use chrono::NaiveDateTime;
use entity::{vimauths, vims};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, LoaderTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, TransactionTrait,
};

use crate::error::{Error, Result};

/// `deleted_at` of live rows: Tacker's `datetime.min`.
pub fn live() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("0001-01-01 00:00:00 is a valid time")
}

/// Now, to the microsecond: what every backend stores and what Tacker prints.
pub fn now() -> NaiveDateTime {
    use chrono::Timelike;
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

pub type Row = (vims::Model, vimauths::Model);

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn live_vim(id: &str) -> Condition {
    Condition::all()
        .add(vims::Column::Id.eq(id))
        .add(vims::Column::DeletedAt.eq(live()))
}

fn pair(found: Option<(vims::Model, Option<vimauths::Model>)>) -> Result<Option<Row>> {
    match found {
        None => Ok(None),
        Some((vim, Some(auth))) => Ok(Some((vim, auth))),
        Some((vim, None)) => Err(Error::internal(
            "vims",
            anyhow::anyhow!("VIM {} has no vimauths row", vim.id),
        )),
    }
}

pub async fn find_live(db: &impl ConnectionTrait, id: &str) -> Result<Option<Row>> {
    let found = vims::Entity::find()
        .filter(live_vim(id))
        .find_also_related(vimauths::Entity)
        .one(db)
        .await?;
    pair(found)
}

/// Up to `limit` live VIMs matching `filters`, in id order, after the id `after`: a list is
/// read a page at a time (keyset), so a long one is never held in memory whole.
///
/// The first page joins `vimauths` (one statement: the clients' look-ups by id and name are
/// one page). Later pages load their `vimauths` by a second query on their ids: joined and
/// ordered by id from the middle, PostgreSQL merge-scanned `vimauths` from its first row for
/// every page, quadratic in the list's length.
pub async fn list_live_page(
    db: &DatabaseConnection,
    filters: Condition,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Row>> {
    let query = vims::Entity::find()
        .filter(vims::Column::DeletedAt.eq(live()))
        .filter(filters)
        .order_by_asc(vims::Column::Id)
        .limit(limit);
    let rows = match after {
        None => query.find_also_related(vimauths::Entity).all(db).await?,
        Some(id) => {
            let page = query.filter(vims::Column::Id.gt(id)).all(db).await?;
            let auths = page.load_one(vimauths::Entity, db).await?;
            page.into_iter().zip(auths).collect()
        }
    };
    rows.into_iter()
        .map(|row| pair(Some(row)).map(|r| r.expect("a row")))
        .collect()
}

/// The live VIM of `tenant_id` named `name`, other than `except`.
pub async fn find_by_name(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<Option<String>> {
    let mut query = vims::Entity::find()
        .filter(vims::Column::TenantId.eq(tenant_id))
        .filter(vims::Column::Name.eq(name))
        .filter(vims::Column::DeletedAt.eq(live()));
    if let Some(id) = except {
        query = query.filter(vims::Column::Id.ne(id));
    }
    Ok(query.one(db).await?.map(|vim| vim.id))
}

/// Which of `ids` belong to VIMs that were deleted.
pub async fn deleted_among(db: &DatabaseConnection, ids: Vec<String>) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(ids);
    }
    Ok(vims::Entity::find()
        .filter(vims::Column::Id.is_in(ids))
        .filter(vims::Column::DeletedAt.ne(live()))
        .all(db)
        .await?
        .into_iter()
        .map(|vim| vim.id)
        .collect())
}

/// The id of `tenant_id`'s default VIM, other than `except`.
pub async fn find_default(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    except: Option<&str>,
) -> Result<Option<String>> {
    let mut query = vims::Entity::find()
        .filter(vims::Column::TenantId.eq(tenant_id))
        .filter(vims::Column::DefaultMarker.eq(true));
    if let Some(id) = except {
        query = query.filter(vims::Column::Id.ne(id));
    }
    Ok(query.one(db).await?.map(|vim| vim.id))
}

fn marker(is_default: bool) -> Option<bool> {
    is_default.then_some(true)
}

/// Marks `id` as its tenant's default (or not). The unique `(tenant_id, default_marker)`
/// index makes a second default fail here, also when instances race.
async fn set_default_marker(
    db: &impl ConnectionTrait,
    id: &str,
    tenant_id: &str,
    is_default: bool,
) -> Result<(), StoreError> {
    vims::Entity::update_many()
        .col_expr(vims::Column::DefaultMarker, Expr::value(marker(is_default)))
        .filter(vims::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::DefaultTaken {
                    tenant_id: tenant_id.to_owned(),
                }
            } else {
                StoreError::Db(err)
            }
        })?;
    Ok(())
}

/// Errors whose meaning depends on the statement that failed; the caller turns them into
/// [`Error`]s once the transaction is rolled back (looking up the existing default needs a
/// working connection, which an aborted PostgreSQL transaction is not).
pub enum StoreError {
    NameTaken,
    DefaultTaken { tenant_id: String },
    NotFound,
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        StoreError::Db(err)
    }
}

impl StoreError {
    pub async fn into_error(self, db: &DatabaseConnection, id: &str) -> Error {
        match self {
            StoreError::NameTaken => Error::DuplicateName,
            StoreError::NotFound => Error::VimNotFound { id: id.to_owned() },
            StoreError::Db(err) => err.into(),
            StoreError::DefaultTaken { tenant_id } => {
                match find_default(db, &tenant_id, Some(id)).await {
                    Ok(Some(existing_id)) => Error::DefaultDuplicate { existing_id },
                    // It went away in the meantime; the request still lost the race.
                    Ok(None) => Error::DefaultDuplicate {
                        existing_id: "(since removed)".into(),
                    },
                    Err(err) => err,
                }
            }
        }
    }
}

pub async fn insert(
    db: &DatabaseConnection,
    vim: vims::ActiveModel,
    auth: vimauths::ActiveModel,
    id: &str,
    tenant_id: &str,
    is_default: bool,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    vims::Entity::insert(vim)
        .exec_without_returning(&txn)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::NameTaken
            } else {
                StoreError::Db(err)
            }
        })?;
    vimauths::Entity::insert(auth)
        .exec_without_returning(&txn)
        .await?;
    if is_default {
        set_default_marker(&txn, id, tenant_id, true).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Column values an update writes; `None` leaves a column as it is.
#[derive(Default)]
pub struct VimUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_default: Option<bool>,
    pub placement_attr: Option<String>,
    pub extra: Option<String>,
    pub updated_at: NaiveDateTime,
    pub auth: Option<AuthUpdate>,
}

pub struct AuthUpdate {
    pub auth_cred: String,
    pub password: Option<String>,
    pub vim_project: String,
}

pub async fn update(
    db: &DatabaseConnection,
    id: &str,
    tenant_id: &str,
    changes: VimUpdate,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    let mut statement = vims::Entity::update_many()
        .col_expr(vims::Column::UpdatedAt, Expr::value(changes.updated_at))
        .filter(live_vim(id));
    if let Some(name) = changes.name {
        statement = statement.col_expr(vims::Column::Name, Expr::value(name));
    }
    if let Some(description) = changes.description {
        statement = statement.col_expr(vims::Column::Description, Expr::value(description));
    }
    if let Some(is_default) = changes.is_default {
        statement = statement.col_expr(vims::Column::IsDefault, Expr::value(is_default));
    }
    if let Some(placement) = changes.placement_attr {
        statement = statement.col_expr(vims::Column::PlacementAttr, Expr::value(placement));
    }
    if let Some(extra) = changes.extra {
        statement = statement.col_expr(vims::Column::Extra, Expr::value(extra));
    }
    let result = statement.exec(&txn).await.map_err(|err| {
        if is_unique_violation(&err) {
            StoreError::NameTaken
        } else {
            StoreError::Db(err)
        }
    })?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    if let Some(is_default) = changes.is_default {
        set_default_marker(&txn, id, tenant_id, is_default).await?;
    }
    if let Some(auth) = changes.auth {
        vimauths::Entity::update_many()
            .col_expr(vimauths::Column::AuthCred, Expr::value(auth.auth_cred))
            .col_expr(vimauths::Column::Password, Expr::value(auth.password))
            .col_expr(vimauths::Column::VimProject, Expr::value(auth.vim_project))
            .filter(vimauths::Column::VimId.eq(id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Soft delete: the row stays with its deletion time, which frees the name and the default.
pub async fn soft_delete(db: &DatabaseConnection, id: &str) -> Result<bool> {
    let mut deleted_at = now();
    // Two VIMs of one name deleted in the same microsecond would collide on the unique key;
    // a later instant is as true.
    for _ in 0..3 {
        let result = vims::Entity::update_many()
            .col_expr(vims::Column::DeletedAt, Expr::value(deleted_at))
            .col_expr(vims::Column::DefaultMarker, Expr::value(None::<bool>))
            .filter(live_vim(id))
            .exec(db)
            .await;
        match result {
            Ok(result) => return Ok(result.rows_affected > 0),
            Err(err) if is_unique_violation(&err) => {
                deleted_at += chrono::Duration::milliseconds(1);
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::internal(
        "soft delete",
        anyhow::anyhow!("deletion time kept colliding"),
    ))
}
