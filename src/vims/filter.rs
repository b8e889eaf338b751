//! List filters (contract §4.2): equality on any `vims` column, repeated values as `IN`,
//! booleans and timestamps parsed, unknown parameters ignored as Tacker ignores them.

use chrono::NaiveDateTime;
use entity::vims;
use sea_orm::{ColumnTrait, Condition};

use super::request::{nul_not_permitted, parse_bool_str};
use crate::error::{Error, Result};

/// Parameters that are never filters (Tacker's sorting and paging, off by default, ignored).
const NOT_FILTERS: &[&str] = &[
    "fields",
    "sort_key",
    "sort_dir",
    "limit",
    "marker",
    "page_reverse",
];

/// A parsed `GET /v1.0/vims` query.
#[derive(Debug)]
pub struct ListQuery {
    pub condition: Condition,
    /// `fields=` values, in order; empty means every field.
    pub fields: Vec<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            condition: Condition::all(),
            fields: Vec::new(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Time,
}

fn column(name: &str) -> Option<(vims::Column, Kind)> {
    use vims::Column as C;
    Some(match name {
        "id" => (C::Id, Kind::Text),
        "type" => (C::Type, Kind::Text),
        "tenant_id" => (C::TenantId, Kind::Text),
        "name" => (C::Name, Kind::Text),
        "description" => (C::Description, Kind::Text),
        "placement_attr" => (C::PlacementAttr, Kind::Text),
        "extra" => (C::Extra, Kind::Text),
        "shared" => (C::Shared, Kind::Bool),
        "is_default" => (C::IsDefault, Kind::Bool),
        "created_at" => (C::CreatedAt, Kind::Time),
        "updated_at" => (C::UpdatedAt, Kind::Time),
        "deleted_at" => (C::DeletedAt, Kind::Time),
        _ => return None,
    })
}

/// Builds the query from the request's parameters, in order.
pub fn parse_list_query(params: &[(String, String)]) -> Result<ListQuery> {
    let mut query = ListQuery::default();
    // Column name -> values, in first-seen order.
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, value) in params {
        if value.is_empty() {
            continue;
        }
        if key == "fields" {
            query.fields.push(value.clone());
            continue;
        }
        if NOT_FILTERS.contains(&key.as_str()) || column(key).is_none() {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value),
            None => groups.push((key, vec![value])),
        }
    }
    for (name, values) in groups {
        let (col, kind) = column(name).expect("filtered above");
        let expr = match kind {
            Kind::Text => {
                if values.iter().any(|v| v.contains('\0')) {
                    return Err(nul_not_permitted(name));
                }
                col.is_in(values.iter().map(|v| v.to_string()))
            }
            Kind::Bool => col.is_in(
                values
                    .iter()
                    .map(|v| {
                        parse_bool_str(v).ok_or_else(|| {
                            Error::invalid_input(
                                name,
                                format!("'{v}' is not a valid boolean value"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            Kind::Time => col.is_in(
                values
                    .iter()
                    .map(|v| parse_time(name, v))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        query.condition = query.condition.add(expr);
    }
    Ok(query)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, as the API prints it (a `T` separator is accepted), in
/// the years every backend can store (1 to 9999).
fn parse_time(name: &str, value: &str) -> Result<NaiveDateTime> {
    use chrono::Datelike;
    let normalized = value.replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| {
            Error::invalid_input(
                name,
                format!("'{value}' is not a valid time (YYYY-MM-DD HH:MM:SS[.ffffff])"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fields_filters_and_ignored_parameters() {
        let q = parse_list_query(&params(&[
            ("name", "a"),
            ("fields", "id"),
            ("name", "b"),
            ("fields", "name"),
            ("foo", "bar"),
            ("auth_url", "x"),
            ("limit", "3"),
            ("type", ""),
        ]))
        .unwrap();
        assert_eq!(q.fields, ["id", "name"]);
        assert_eq!(q.condition.len(), 1);
    }

    #[test]
    fn bad_booleans_and_times_are_400s() {
        let err = parse_list_query(&params(&[("is_default", "maybe")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for is_default. Reason: 'maybe' is not a valid boolean value."
        );
        assert!(parse_list_query(&params(&[("created_at", "yesterday")])).is_err());
        let q = parse_list_query(&params(&[
            ("is_default", "True"),
            ("created_at", "2026-12-03 18:27:10.560104"),
        ]))
        .unwrap();
        assert_eq!(q.condition.len(), 2);
    }
}
