//! `/v1.0/vims`: thin handlers over [`VimService`], and the response bodies.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::JsonBody;
use crate::AppState;
use crate::error::{Error, Result};
use crate::vims::{Vim, VimPages, parse_list_query};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1.0/vims", get(list_vims).post(create_vim))
        .route("/v1.0/vims.json", get(list_vims).post(create_vim))
        .route(
            "/v1.0/vims/{vim_id}",
            get(show_vim).put(update_vim).delete(delete_vim),
        )
}

/// `{"vim": {...}}`
#[derive(Serialize)]
struct VimBody<T> {
    vim: T,
}

/// Tacker routes take an optional format suffix (`<id>.json`); ids never contain a dot.
fn strip_format(vim_id: &str) -> &str {
    vim_id.split('.').next().unwrap_or(vim_id)
}

fn query_pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn list_vims(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Response> {
    let query = parse_list_query(&query_pairs(query))?;
    let fields = query.fields.clone();
    let mut body = ListBody {
        pages: state.vims.list(query).await?,
        fields,
        opened: false,
        written: 0,
        finished: false,
    };
    let first = body.next_chunk().await?;
    let json = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    if body.finished {
        // The usual case: the whole list in one piece, with a Content-Length as Tacker sends.
        return Ok((json, first).into_response());
    }
    // A long list goes out as it is read, a page at a time, never whole in memory.
    let rest = futures_util::stream::unfold(body, |mut body| async move {
        if body.finished {
            return None;
        }
        let chunk = body.next_chunk().await;
        if let Err(err) = &chunk {
            // Headers are gone: all that is left is to cut the response short.
            tracing::error!(error = %err, "a list failed while streaming");
            body.finished = true;
        }
        Some((chunk, body))
    });
    let stream = futures_util::stream::once(async move { Ok(first) }).chain(rest);
    Ok((json, Body::from_stream(stream)).into_response())
}

/// `{"vims": [...]}` written a page at a time.
struct ListBody {
    pages: VimPages,
    fields: Vec<String>,
    opened: bool,
    written: usize,
    finished: bool,
}

impl ListBody {
    /// The next database page, rendered. A page's rows are dropped as they are written, so a
    /// response in flight holds its bytes, not its rows.
    async fn next_chunk(&mut self) -> Result<Bytes> {
        let mut out = Vec::new();
        if !self.opened {
            out.extend_from_slice(b"{\"vims\":[");
            self.opened = true;
        }
        for vim in self.pages.next_page().await? {
            if self.written > 0 {
                out.push(b',');
            }
            let item = select_fields(render(vim?), &self.fields);
            serde_json::to_writer(&mut out, &item)
                .map_err(|e| Error::internal("rendering a VIM", e))?;
            self.written += 1;
        }
        if self.pages.is_done() {
            out.extend_from_slice(b"]}");
            self.finished = true;
        }
        Ok(Bytes::from(out))
    }
}

async fn show_vim(
    State(state): State<AppState>,
    Path(vim_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let vim = state.vims.show(strip_format(&vim_id)).await?;
    let mut body = render(vim);
    // Tacker ignores `fields` on show, except that asking for fields without `tenant_id`
    // drops it (it was only added for the policy check).
    let fields: Vec<String> = query_pairs(query)
        .into_iter()
        .filter(|(k, v)| k == "fields" && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    if !fields.is_empty() && !fields.iter().any(|f| f == "tenant_id") {
        body.shift_remove("tenant_id");
    }
    Ok(Json(VimBody { vim: body }).into_response())
}

async fn create_vim(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Response> {
    let vim = state.vims.create(body).await?;
    Ok((StatusCode::CREATED, Json(VimBody { vim: render(vim) })).into_response())
}

async fn update_vim(
    State(state): State<AppState>,
    Path(vim_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let vim = state.vims.update(strip_format(&vim_id), body).await?;
    Ok(Json(VimBody { vim: render(vim) }).into_response())
}

async fn delete_vim(State(state): State<AppState>, Path(vim_id): Path<String>) -> Result<Response> {
    state.vims.delete(strip_format(&vim_id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Tacker's field order (`_make_vim_dict`), secrets masked.
fn render(vim: Vim) -> Map<String, Value> {
    let has_password = vim.has_password();
    let mut body = Map::with_capacity(14);
    body.insert("id".into(), vim.id.into());
    body.insert("type".into(), vim.vim_type.into());
    body.insert("tenant_id".into(), vim.tenant_id.into());
    body.insert("name".into(), vim.name.into());
    body.insert("description".into(), vim.description.into());
    body.insert("placement_attr".into(), vim.placement_attr);
    body.insert("is_default".into(), vim.is_default.into());
    body.insert("created_at".into(), timestamp(vim.created_at));
    body.insert("updated_at".into(), timestamp(vim.updated_at));
    body.insert("extra".into(), Value::Object(vim.extra));
    body.insert("auth_url".into(), vim.auth_url.into());
    body.insert("vim_project".into(), Value::Object(vim.vim_project));
    let mut auth_cred = vim.auth_cred;
    if has_password {
        auth_cred.insert("password".into(), Value::String(MASK.into()));
    }
    mask_secrets(&mut auth_cred);
    body.insert("auth_cred".into(), Value::Object(auth_cred));
    body.insert("status".into(), "ACTIVE".into());
    body
}

fn select_fields(mut body: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if fields.is_empty() {
        return body;
    }
    body.retain(|key, _| fields.iter().any(|f| f == key));
    body
}

/// Python's `str(datetime)`: microseconds only when there are some. Written by hand: chrono's
/// `format` parses its pattern on every call, a noticeable share of rendering a long list.
fn timestamp(value: Option<chrono::NaiveDateTime>) -> Value {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let Some(t) = value else {
        return Value::Null;
    };
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let micros = t.nanosecond() / 1_000;
    if micros != 0 {
        let _ = write!(text, ".{micros:06}");
    }
    text.into()
}

const MASK: &str = "***";

/// oslo.utils' `mask_dict_password` substrings: any key containing one is masked, at any
/// depth. `oidc_token_url` is an address, not a token: Tacker keeps it visible.
const SANITIZE_KEYS: &[&str] = &[
    "adminpass",
    "admin_pass",
    "password",
    "admin_password",
    "auth_token",
    "new_pass",
    "auth_password",
    "secret_uuid",
    "secret",
    "sys_pswd",
    "token",
    "configdrive",
    "chappassword",
    "encrypted_key",
    "private_key",
    "fernetkey",
    "sslkey",
    "passphrase",
    "cephxkey",
    "keyring",
];

fn mask_secrets(map: &mut Map<String, Value>) {
    for (key, value) in map.iter_mut() {
        if key.eq_ignore_ascii_case("oidc_token_url") {
            continue;
        }
        if let Value::Object(nested) = value {
            mask_secrets(nested);
        } else if is_sensitive(key) {
            *value = Value::String(MASK.into());
        }
    }
}

/// Whether `key` contains one of [`SANITIZE_KEYS`], ignoring case: one pass over the key for
/// all patterns (twenty substring searches per key were a fifth of a list's CPU time).
fn is_sensitive(key: &str) -> bool {
    static SENSITIVE: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SANITIZE_KEYS)
            .expect("the sanitize patterns are valid")
    });
    SENSITIVE.is_match(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_what_oslo_masks() {
        let mut cred = json!({"username": "u", "password": "p", "bearer_token": "t",
            "client_secret": "s", "oidc_token_url": "https://idp/token", "ssl_ca_cert": "gAAA",
            "nested": {"my_token": "x", "Admin_Password": "y", "name": "n"}})
        .as_object()
        .unwrap()
        .clone();
        mask_secrets(&mut cred);
        assert_eq!(
            Value::Object(cred),
            json!({"username": "u", "password": "***", "bearer_token": "***",
                "client_secret": "***", "oidc_token_url": "https://idp/token",
                "ssl_ca_cert": "gAAA", "nested": {"my_token": "***", "Admin_Password": "***",
                "name": "n"}})
        );
    }

    #[test]
    fn timestamps_print_like_python() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_micro_opt(18, 27, 10, 560_104)
            .unwrap();
        assert_eq!(timestamp(Some(t)), json!("2026-12-03 18:27:10.560104"));
        let t = t.with_nanosecond(0).unwrap();
        assert_eq!(timestamp(Some(t)), json!("2026-12-03 18:27:10"));
        let t = t.with_nanosecond(42_000).unwrap();
        assert_eq!(timestamp(Some(t)), json!("2026-12-03 18:27:10.000042"));
        let early = chrono::NaiveDate::from_ymd_opt(1, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(timestamp(Some(early)), json!("0001-01-01 00:00:00"));
        assert_eq!(timestamp(None), Value::Null);
    }

    use chrono::Timelike;
}
