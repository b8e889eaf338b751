//! Tacker's request-body rules for `vim` (contract §2–§3), in Tacker's order and words.
//!
//! Tacker checks, in order: a body at all; no bulk; a `vim` object; the tenant; unknown
//! attributes; attributes not allowed in POST / read-only in PUT (and required ones); then each
//! attribute's type, in attribute-map order. Where Tacker answers 500 (string booleans,
//! unknown VIM types), this answers 400 with a message in the same style.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Attribute map order of `RESOURCE_ATTRIBUTE_MAP['vims']`: messages follow it.
const ATTRIBUTES: &[Attribute] = &[
    Attribute::new("id", false, false, false),
    Attribute::new("tenant_id", true, false, false),
    Attribute::new("type", true, false, true),
    Attribute::new("auth_url", true, false, true),
    Attribute::new("auth_cred", true, true, true),
    Attribute::new("vim_project", true, true, true),
    Attribute::new("name", true, true, true),
    Attribute::new("description", true, true, false),
    Attribute::new("status", false, false, false),
    Attribute::new("placement_attr", false, false, false),
    Attribute::new("shared", false, false, false),
    Attribute::new("is_default", true, true, false),
    Attribute::new("created_at", false, false, false),
    Attribute::new("updated_at", false, false, false),
    Attribute::new("extra", true, true, false),
];

struct Attribute {
    name: &'static str,
    allow_post: bool,
    allow_put: bool,
    required: bool,
}

impl Attribute {
    const fn new(name: &'static str, allow_post: bool, allow_put: bool, required: bool) -> Self {
        Self {
            name,
            allow_post,
            allow_put,
            required,
        }
    }
}

pub const NAME_MAX_LEN: usize = 255;
/// Column widths of Tacker's schema: longer values get a 400, not a database error.
const TENANT_ID_MAX_LEN: usize = 64;
const TYPE_MAX_LEN: usize = 64;
pub const AUTH_URL_MAX_LEN: usize = 255;

/// A validated `POST /v1.0/vims` body.
#[derive(Debug)]
pub struct NewVim {
    pub tenant_id: String,
    pub vim_type: String,
    pub auth_url: String,
    pub auth_cred: Map<String, Value>,
    pub vim_project: Map<String, Value>,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub extra: Map<String, Value>,
}

/// A validated `PUT /v1.0/vims/{id}` body: only what was sent.
#[derive(Debug, Default)]
pub struct VimChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_default: Option<bool>,
    pub auth_cred: Option<Map<String, Value>>,
    pub vim_project: Option<Map<String, Value>>,
    pub extra: Option<Map<String, Value>>,
}

impl VimChanges {
    /// Whether the credentials or their scope change, so the VIM must be validated again.
    pub fn touches_credentials(&self) -> bool {
        self.auth_cred.is_some() || self.vim_project.is_some()
    }
}

pub fn parse_create(body: Option<Value>) -> Result<NewVim> {
    let Some(body) = body else {
        return Err(Error::bad_request("Resource body required"));
    };
    let mut vim = unwrap_envelope(body)?;
    match vim.get("tenant_id") {
        None | Some(Value::Null) => {
            return Err(Error::bad_request(
                "Running without keystone AuthN requires that tenant_id is specified",
            ));
        }
        Some(Value::String(s)) if s.is_empty() => {
            return Err(Error::bad_request(
                "Running without keystone AuthN requires that tenant_id is specified",
            ));
        }
        Some(_) => {}
    }
    check_known(&vim)?;
    for attr in ATTRIBUTES {
        let present = vim.contains_key(attr.name);
        if present && !attr.allow_post {
            return Err(Error::bad_request(format!(
                "Attribute '{}' not allowed in POST",
                attr.name
            )));
        }
        if !present && attr.required {
            return Err(Error::bad_request(format!(
                "Failed to parse request. Required attribute '{}' not specified",
                attr.name
            )));
        }
    }
    let new = NewVim {
        tenant_id: string_attr("tenant_id", take(&mut vim, "tenant_id"), TENANT_ID_MAX_LEN)?,
        vim_type: not_empty_string("type", take(&mut vim, "type"), TYPE_MAX_LEN)?,
        auth_url: string_attr("auth_url", take(&mut vim, "auth_url"), AUTH_URL_MAX_LEN)?,
        auth_cred: dict_not_empty("auth_cred", take(&mut vim, "auth_cred"))?,
        vim_project: dict_not_empty("vim_project", take(&mut vim, "vim_project"))?,
        name: string_attr("name", take(&mut vim, "name"), NAME_MAX_LEN)?,
        description: match vim.remove("description") {
            None => String::new(),
            Some(v) => string_attr("description", v, usize::MAX)?,
        },
        is_default: match vim.remove("is_default") {
            None => false,
            Some(v) => boolean("is_default", &v)?,
        },
        extra: match vim.remove("extra") {
            None => Map::new(),
            Some(v) => dict_or_nodata("extra", v)?,
        },
    };
    Ok(new)
}

pub fn parse_update(body: Option<Value>) -> Result<VimChanges> {
    let Some(body) = body else {
        return Err(Error::BadBody(
            "Bad body request: Invalid format: b''".into(),
        ));
    };
    let mut vim = unwrap_envelope(body)?;
    check_known(&vim)?;
    for attr in ATTRIBUTES {
        if vim.contains_key(attr.name) && !attr.allow_put {
            return Err(Error::bad_request(format!(
                "Cannot update read-only attribute {}",
                attr.name
            )));
        }
    }
    Ok(VimChanges {
        auth_cred: vim
            .remove("auth_cred")
            .map(|v| dict_not_empty("auth_cred", v))
            .transpose()?,
        vim_project: vim
            .remove("vim_project")
            .map(|v| dict_not_empty("vim_project", v))
            .transpose()?,
        name: vim
            .remove("name")
            .map(|v| string_attr("name", v, NAME_MAX_LEN))
            .transpose()?,
        description: vim
            .remove("description")
            .map(|v| string_attr("description", v, usize::MAX))
            .transpose()?,
        is_default: vim
            .remove("is_default")
            .map(|v| boolean("is_default", &v))
            .transpose()?,
        extra: vim
            .remove("extra")
            .map(|v| dict_or_nodata("extra", v))
            .transpose()?,
    })
}

fn unwrap_envelope(body: Value) -> Result<Map<String, Value>> {
    let Value::Object(mut body) = body else {
        return Err(Error::bad_request("Unable to find 'vim' in request body"));
    };
    if body.contains_key("vims") {
        return Err(Error::bad_request("Bulk operation not supported"));
    }
    match body.remove("vim") {
        None => Err(Error::bad_request("Unable to find 'vim' in request body")),
        Some(Value::Object(vim)) => Ok(vim),
        Some(other) => Err(Error::invalid_input(
            "vim",
            format!("'{}' is not a dictionary", py_str(&other)),
        )),
    }
}

fn check_known(vim: &Map<String, Value>) -> Result<()> {
    let unknown: Vec<&str> = vim
        .keys()
        .map(String::as_str)
        // Tacker tolerates `project_id` (its own context adds it) and ignores it.
        .filter(|k| *k != "project_id" && !ATTRIBUTES.iter().any(|a| a.name == *k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        )))
    }
}

fn take(vim: &mut Map<String, Value>, key: &str) -> Value {
    vim.remove(key).unwrap_or(Value::Null)
}

fn string_attr(attr: &str, value: Value, max_len: usize) -> Result<String> {
    match value {
        Value::String(s) if s.contains('\0') => Err(nul_not_permitted(attr)),
        Value::String(s) if s.chars().count() > max_len => Err(Error::invalid_input(
            attr,
            format!("'{s}' exceeds maximum length of {max_len}"),
        )),
        Value::String(s) => Ok(s),
        other => Err(Error::invalid_input(
            attr,
            format!("'{}' is not a valid string", py_str(&other)),
        )),
    }
}

/// PostgreSQL cannot store U+0000 in text: a value one supported database cannot hold is
/// invalid input on all of them.
pub fn nul_not_permitted(attr: &str) -> Error {
    Error::invalid_input(attr, "NUL characters are not permitted")
}

fn not_empty_string(attr: &str, value: Value, max_len: usize) -> Result<String> {
    let s = string_attr(attr, value, max_len)?;
    if s.trim().is_empty() {
        return Err(Error::invalid_input(
            attr,
            format!("'{s}' Blank strings are not permitted"),
        ));
    }
    Ok(s)
}

fn dict_not_empty(attr: &str, value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) if !map.is_empty() => Ok(map),
        other => Err(Error::invalid_input(
            attr,
            format!(
                "'{}' is not a valid dictionary or it is an empty dictionary",
                py_str(&other)
            ),
        )),
    }
}

fn dict_or_nodata(attr: &str, value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        other => Err(Error::invalid_input(
            attr,
            format!("'{}' is not a dictionary", py_str(&other)),
        )),
    }
}

/// oslo's `convert_to_boolean` forms: JSON booleans, 0/1, and "true"/"false"/"1"/"0" in any
/// case. (Tacker validates the strings, then fails on them with a 500; we convert them.)
pub fn boolean(attr: &str, value: &Value) -> Result<bool> {
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => parse_bool_str(s),
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::invalid_input(
            attr,
            format!("'{}' is not a valid boolean value", py_str(value)),
        )
    })
}

pub fn parse_bool_str(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Python's `str()` of a decoded JSON value, as Tacker's messages show it.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_repr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => py_str(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create_err(body: Value) -> String {
        parse_create(Some(body)).unwrap_err().to_string()
    }

    fn valid() -> Value {
        json!({"vim": {"tenant_id": "t", "type": "openstack", "auth_url": "http://k/identity",
            "auth_cred": {"username": "u", "password": "p"}, "vim_project": {"name": "nfv"},
            "name": "VIM0"}})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = valid();
        body["vim"][key] = value;
        body
    }

    #[test]
    fn tacker_messages_in_tackers_order() {
        assert_eq!(
            parse_create(None).unwrap_err().to_string(),
            "Resource body required"
        );
        assert_eq!(
            create_err(json!({"vims": []})),
            "Bulk operation not supported"
        );
        assert_eq!(
            create_err(json!({"x": 1})),
            "Unable to find 'vim' in request body"
        );
        assert_eq!(
            create_err(json!([1])),
            "Unable to find 'vim' in request body"
        );
        assert_eq!(
            create_err(json!({"vim": {"name": "a"}})),
            "Running without keystone AuthN requires that tenant_id is specified"
        );
        assert_eq!(
            create_err(with("foo", json!(1))),
            "Unrecognized attribute(s) 'foo'"
        );
        assert_eq!(
            create_err(json!({"vim": {"tenant_id": "t"}})),
            "Failed to parse request. Required attribute 'type' not specified"
        );
        assert_eq!(
            create_err(with("status", json!("ACTIVE"))),
            "Attribute 'status' not allowed in POST"
        );
        assert_eq!(
            create_err(with("name", json!("x".repeat(256)))),
            format!(
                "Invalid input for name. Reason: '{}' exceeds maximum length of 255.",
                "x".repeat(256)
            )
        );
        assert_eq!(
            create_err(with("name", json!(5))),
            "Invalid input for name. Reason: '5' is not a valid string."
        );
        assert_eq!(
            create_err(with("description", Value::Null)),
            "Invalid input for description. Reason: 'None' is not a valid string."
        );
        assert_eq!(
            create_err(with("type", json!(" "))),
            "Invalid input for type. Reason: ' ' Blank strings are not permitted."
        );
        assert_eq!(
            create_err(with("auth_cred", json!({}))),
            "Invalid input for auth_cred. Reason: '{}' is not a valid dictionary or it is an empty dictionary."
        );
        assert_eq!(
            create_err(with("extra", json!("abc"))),
            "Invalid input for extra. Reason: 'abc' is not a dictionary."
        );
        assert_eq!(
            create_err(with("is_default", json!("ABC"))),
            "Invalid input for is_default. Reason: 'ABC' is not a valid boolean value."
        );
    }

    #[test]
    fn defaults_and_boolean_forms() {
        let new = parse_create(Some(valid())).unwrap();
        assert_eq!(new.description, "");
        assert!(!new.is_default);
        assert!(new.extra.is_empty());
        for (form, expected) in [
            (json!(true), true),
            (json!(1), true),
            (json!("TRUE"), true),
            (json!("0"), false),
            (json!(false), false),
        ] {
            let new = parse_create(Some(with("is_default", form))).unwrap();
            assert_eq!(new.is_default, expected);
        }
        let new = parse_create(Some(with("extra", Value::Null))).unwrap();
        assert!(new.extra.is_empty());
        let new = parse_create(Some(with("project_id", json!("p")))).unwrap();
        assert_eq!(new.tenant_id, "t");
    }

    #[test]
    fn update_rules() {
        assert_eq!(
            parse_update(None).unwrap_err().to_string(),
            "Bad body request: Invalid format: b''"
        );
        let err = parse_update(Some(json!({"vim": {"type": "kubernetes"}}))).unwrap_err();
        assert_eq!(err.to_string(), "Cannot update read-only attribute type");
        let err = parse_update(Some(json!({"vim": {"tenant_id": "x"}}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot update read-only attribute tenant_id"
        );
        let changes = parse_update(Some(json!({"vim": {}}))).unwrap();
        assert!(!changes.touches_credentials());
        let changes = parse_update(Some(
            json!({"vim": {"vim_project": {"name": "p"}, "extra": null}}),
        ))
        .unwrap();
        assert!(changes.touches_credentials());
        assert_eq!(changes.extra, Some(Map::new()));
    }

    #[test]
    fn python_str_of_values() {
        assert_eq!(
            py_str(&json!({"a": [1, "b", null]})),
            "{'a': [1, 'b', None]}"
        );
        assert_eq!(py_str(&json!(true)), "True");
    }
}
