//! openapi.yaml as a checked contract: every response the tests see must be one the spec
//! documents (status, and body schema).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde_json::{Value, json};

/// The spec as JSON, with OpenAPI 3.0's `nullable` turned into JSON Schema's type unions.
pub static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let mut spec: Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    nullable_to_type_union(&mut spec);
    spec
});

fn nullable_to_type_union(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        // `$ref`/`oneOf` + nullable: accept null besides the schema.
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            map.values_mut().for_each(nullable_to_type_union);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_type_union),
        _ => {}
    }
}

/// The spec path a request path matches, the most literal one first.
pub fn spec_path(path: &str) -> Option<String> {
    let paths = SPEC["paths"].as_object()?;
    let segments: Vec<&str> = path.split('/').collect();
    paths
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| segment_matches(t, s))
        })
        // Fewest variables first, then the longest literal text (`{vim_id}.json` over
        // `{vim_id}` for `<id>.json`).
        .max_by_key(|template| {
            let vars = template.matches('{').count() as i64;
            let literal = template.split('/').filter(|p| !p.starts_with('{')).count() as i64;
            (-vars, literal, template.len() as i64)
        })
        .cloned()
}

/// `{vim_id}` matches a segment, `{vim_id}.json` one ending in `.json`.
fn segment_matches(template: &str, segment: &str) -> bool {
    match template.split_once('}') {
        Some((var, suffix)) if var.starts_with('{') => {
            segment.len() > suffix.len() && segment.ends_with(suffix)
        }
        _ => template == segment,
    }
}

fn escape(pointer_part: &str) -> String {
    pointer_part.replace('~', "~0").replace('/', "~1")
}

static VALIDATORS: LazyLock<Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// Panics unless the spec documents `status` for the request and `body` fits its schema.
pub fn check_response(method: &str, uri: &str, status: u16, body: &Value, raw: &str) {
    let path = uri.split('?').next().unwrap_or(uri);
    let Some(template) = spec_path(path) else {
        // Paths the service does not serve: only their 404 envelope is promised.
        assert_eq!(
            status, 404,
            "{method} {uri} is not in openapi.yaml but answered {status}"
        );
        return;
    };
    let method = method.to_ascii_lowercase();
    let operation = &SPEC["paths"][&template][&method];
    if operation.is_null() {
        assert_eq!(
            status, 405,
            "{method} {template} is not in openapi.yaml but answered {status}"
        );
        return;
    }
    let code = status.to_string();
    let response_key = if operation["responses"].get(&code).is_some() {
        code
    } else {
        assert!(
            operation["responses"].get("default").is_some(),
            "openapi.yaml does not document {status} for {method} {template}: {raw}"
        );
        "default".to_owned()
    };
    let mut response = operation["responses"][&response_key].clone();
    let mut pointer = format!(
        "/paths/{}/{method}/responses/{response_key}",
        escape(&template)
    );
    if let Some(reference) = response["$ref"].as_str() {
        pointer = reference.trim_start_matches('#').to_owned();
        response = SPEC.pointer(&pointer).cloned().expect("a resolvable $ref");
    }
    let Some(_) = response.pointer("/content/application~1json/schema") else {
        assert!(
            raw.is_empty(),
            "{method} {template} {status} documents no body but got {raw}"
        );
        return;
    };
    let schema_pointer = format!("#{pointer}/content/application~1json/schema");
    let validator = {
        let mut cache = VALIDATORS.lock().unwrap();
        cache
            .entry(schema_pointer.clone())
            .or_insert_with(|| {
                let mut root = SPEC.clone();
                root["$ref"] = Value::String(schema_pointer.clone());
                std::sync::Arc::new(
                    jsonschema::draft202012::new(&root).expect("a valid response schema"),
                )
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {uri} {status}: body does not fit openapi.yaml ({schema_pointer}):\n{}\n{raw}",
        errors.join("\n")
    );
}
