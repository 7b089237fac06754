//! `proto/openapi.json` as one self-contained document, for serving.
//!
//! The committed document points at its bodies as `./schemas/X.json`. Served
//! as is, those references resolve only while a tool keeps the document's
//! URL: a saved copy, a pasted one or a generator fed a file loses them. So
//! the served document carries each referenced schema in
//! `components.schemas` under its file stem, and points there instead.
//!
//! Both halves are compiled in: the document by `include_str!`, the schemas
//! from the Rust types that `proto/schemas/` is generated from (a test in
//! `schemas.rs` keeps the files byte-equal to them). Nothing is read from disk
//! at run time.

use serde_json::Value;

use crate::schemas;

/// The OpenAPI document as written, compiled in.
pub const OPENAPI_SOURCE: &str = include_str!("../../../proto/openapi.json");

const SCHEMA_FILE_PREFIX: &str = "./schemas/";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("proto/openapi.json is not valid JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("proto/openapi.json refers to {0}, which is not one of proto/schemas")]
    UnknownSchema(String),
    #[error("components.schemas already has a {0}, the name a schema file would take")]
    NameTaken(String),
    #[error("proto/openapi.json has no components.schemas")]
    NoComponentSchemas,
}

/// `proto/openapi.json` with every `./schemas/X.json` reference replaced by
/// `#/components/schemas/X` and that schema placed there.
pub fn bundled_openapi() -> Result<Value, BundleError> {
    let mut doc: Value = serde_json::from_str(OPENAPI_SOURCE)?;
    let mut used = Vec::new();
    point_schema_files_at_components(&mut doc, &mut used)?;
    let published = schemas::all();
    let Some(Value::Object(components)) = doc.pointer_mut("/components/schemas") else {
        return Err(BundleError::NoComponentSchemas);
    };
    for stem in used {
        if components.contains_key(&stem) {
            return Err(BundleError::NameTaken(stem));
        }
        let (_, schema) = published
            .iter()
            .find(|(name, _)| *name == stem)
            .ok_or_else(|| {
                BundleError::UnknownSchema(format!("{SCHEMA_FILE_PREFIX}{stem}.json"))
            })?;
        let mut schema = schema.clone().to_value();
        // Its own `#/$defs/…` pointed at the root of the file; now it sits
        // under components.schemas.
        rebase_local_refs(&mut schema, &format!("#/components/schemas/{stem}"));
        components.insert(stem, schema);
    }
    Ok(doc)
}

/// Rewrites `./schemas/X.json` references in place, collecting each `X` once.
fn point_schema_files_at_components(
    value: &mut Value,
    used: &mut Vec<String>,
) -> Result<(), BundleError> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(file) = target.strip_prefix(SCHEMA_FILE_PREFIX)
            {
                let stem = file
                    .strip_suffix(".json")
                    .filter(|s| !s.is_empty() && !s.contains(['/', '#']))
                    .ok_or_else(|| BundleError::UnknownSchema(target.clone()))?
                    .to_owned();
                *target = format!("#/components/schemas/{stem}");
                if !used.contains(&stem) {
                    used.push(stem);
                }
            }
            for child in map.values_mut() {
                point_schema_files_at_components(child, used)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                point_schema_files_at_components(child, used)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn rebase_local_refs(value: &mut Value, base: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(pointer) = target.strip_prefix('#')
            {
                *target = format!("{base}{pointer}");
            }
            for child in map.values_mut() {
                rebase_local_refs(child, base);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_local_refs(v, base)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_file_references_point_into_components_with_their_defs_rebased() {
        let doc = bundled_openapi().unwrap();
        let problem = &doc["components"]["schemas"]["problem"];
        assert_eq!(problem["title"], "Problem");
        assert_eq!(
            problem["properties"]["errors"]["items"]["$ref"],
            "#/components/schemas/problem/$defs/FieldError"
        );
        assert!(
            doc.pointer("/components/schemas/problem/$defs/FieldError")
                .is_some()
        );
    }
}
