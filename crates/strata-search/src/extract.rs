//! What text each primitive contributes to search, read from the primitives' fixed key
//! layouts (owned by their crates).
//!
//! | primitive | keys indexed | entity shown | text |
//! |---|---|---|---|
//! | kv | all (UTF-8 user key) | the key | strings and numbers in the value |
//! | state | all (UTF-8 cell name) | the name | strings and numbers in the value |
//! | json | all (UTF-8 doc key) | the key | `field: value` lines for string/number leaves |
//! | event | `b'e'` + u64 BE sequence | the sequence, decimal | `type`, then payload strings and numbers |
//! | vector | `b'v'` + collection + `0x00` + key | `collection/key` | `field: value` lines of the metadata |
//!
//! Other event keys (`b't'…`, `b'h'…`: indexes and the head) and vector-collection
//! configs (`b'c'…`) are internal and skipped. Vector embeddings themselves are not
//! text: hybrid search embeds the indexed text with its own model.
//!
//! Numbers are indexed in their decimal form (so `"build 42"` and the value `42` both
//! match the query `42`); booleans, nulls and bytes are not.

use crate::error::{Result, SearchError};
use std::fmt;
use strata_storage::{tags, PrimitiveTag, Value};

/// A primitive as seen by search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SearchPrimitive {
    /// Key-value pairs.
    Kv,
    /// State cells.
    State,
    /// Event log entries.
    Event,
    /// JSON documents.
    Json,
    /// Vectors of vector collections (their metadata).
    Vector,
}

impl SearchPrimitive {
    /// The primitives whose text is indexed.
    pub const INDEXED: [SearchPrimitive; 5] = [
        SearchPrimitive::Kv,
        SearchPrimitive::State,
        SearchPrimitive::Event,
        SearchPrimitive::Json,
        SearchPrimitive::Vector,
    ];

    /// The name reported in [`crate::SearchHit::primitive`]: `"kv"`, `"state"`,
    /// `"event"`, `"json"` or `"vector"`.
    pub fn name(self) -> &'static str {
        match self {
            SearchPrimitive::Kv => "kv",
            SearchPrimitive::State => "state",
            SearchPrimitive::Event => "event",
            SearchPrimitive::Json => "json",
            SearchPrimitive::Vector => "vector",
        }
    }

    /// Parses a user-given name, case-insensitively, accepting plural and long forms
    /// (`"events"`, `"kvs"`, `"state_cells"`, `"json_docs"`, `"vectors"`, ...).
    pub fn parse(name: &str) -> Result<SearchPrimitive> {
        let n = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Ok(match n.as_str() {
            "kv" | "kvs" | "key_value" | "keyvalue" => SearchPrimitive::Kv,
            "state" | "states" | "state_cell" | "state_cells" | "cell" | "cells" => {
                SearchPrimitive::State
            }
            "event" | "events" | "event_log" | "eventlog" => SearchPrimitive::Event,
            "json" | "jsons" | "json_doc" | "json_docs" | "json_document" | "json_documents"
            | "document" | "documents" | "doc" | "docs" => SearchPrimitive::Json,
            "vector" | "vectors" | "vector_collection" | "vector_collections" => {
                SearchPrimitive::Vector
            }
            _ => return Err(SearchError::UnknownPrimitive(name.to_owned())),
        })
    }

    /// The storage tag of the primitive.
    pub fn tag(self) -> PrimitiveTag {
        match self {
            SearchPrimitive::Kv => tags::KV,
            SearchPrimitive::State => tags::STATE,
            SearchPrimitive::Event => tags::EVENTS,
            SearchPrimitive::Json => tags::JSON,
            SearchPrimitive::Vector => tags::VECTOR,
        }
    }

    /// The indexed primitive owning `tag`, if any.
    pub(crate) fn indexed_from_tag(tag: PrimitiveTag) -> Option<SearchPrimitive> {
        SearchPrimitive::INDEXED
            .into_iter()
            .find(|p| p.tag() == tag)
    }

    /// The key prefix of the primitive's indexed keys.
    pub(crate) fn key_prefix(self) -> &'static [u8] {
        match self {
            SearchPrimitive::Event => b"e",
            SearchPrimitive::Vector => b"v",
            _ => b"",
        }
    }
}

impl fmt::Display for SearchPrimitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A searchable record: the entity users see and its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Extracted {
    pub entity: String,
    pub text: String,
}

/// The searchable form of `(key, value)` stored by `prim`, or `None` for keys that are
/// not documents (internal event keys, vectors). The text may be empty.
pub(crate) fn extract(prim: SearchPrimitive, key: &[u8], value: &Value) -> Option<Extracted> {
    let mut text = String::new();
    let entity = match prim {
        SearchPrimitive::Kv | SearchPrimitive::State => {
            value_text(value, &mut text);
            String::from_utf8_lossy(key).into_owned()
        }
        SearchPrimitive::Json => {
            json_text(None, value, &mut text);
            String::from_utf8_lossy(key).into_owned()
        }
        SearchPrimitive::Event => {
            let seq: [u8; 8] = key.strip_prefix(b"e")?.try_into().ok()?;
            if let Value::Object(fields) = value {
                if let Some(t) = fields.get("type") {
                    value_text(t, &mut text);
                }
                if let Some(p) = fields.get("payload") {
                    value_text(p, &mut text);
                }
            }
            u64::from_be_bytes(seq).to_string()
        }
        SearchPrimitive::Vector => {
            let rest = key.strip_prefix(b"v")?;
            let sep = rest.iter().position(|&b| b == 0)?;
            let (collection, vkey) = (&rest[..sep], &rest[sep + 1..]);
            if let Value::Object(fields) = value {
                if let Some(meta) = fields.get("metadata") {
                    json_text(None, meta, &mut text);
                }
            }
            format!(
                "{}/{}",
                String::from_utf8_lossy(collection),
                String::from_utf8_lossy(vkey)
            )
        }
    };
    Some(Extracted { entity, text })
}

fn push_piece(out: &mut String, piece: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(piece);
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) if f.is_finite() => Some(f.to_string()),
        _ => None,
    }
}

/// Strings and numbers of `v`, depth first, one per line.
fn value_text(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| value_text(i, out)),
        Value::Object(fields) => fields.values().for_each(|i| value_text(i, out)),
        other => {
            if let Some(s) = scalar_text(other) {
                push_piece(out, &s);
            }
        }
    }
}

/// `field: value` lines for the string and number leaves of a JSON document; array
/// elements use the array's field name.
fn json_text(field: Option<&str>, v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| json_text(field, i, out)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(name, i)| json_text(Some(name), i, out)),
        other => {
            if let Some(s) = scalar_text(other) {
                match field {
                    Some(f) => push_piece(out, &format!("{f}: {s}")),
                    None => push_piece(out, &s),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(fields: Vec<(&str, Value)>) -> Value {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[test]
    fn json_leaves_carry_their_field_names() {
        let doc = obj(vec![
            ("title", Value::from("Deploy failed")),
            ("retries", Value::from(3i64)),
            ("ok", Value::from(false)),
            (
                "meta",
                obj(vec![
                    ("owner", Value::from("bob")),
                    ("tags", Value::Array(vec!["ops".into(), "prod".into()])),
                ]),
            ),
        ]);
        let e = extract(SearchPrimitive::Json, b"incident-7", &doc).expect("doc");
        assert_eq!(e.entity, "incident-7");
        assert_eq!(
            e.text,
            "title: Deploy failed\nretries: 3\nowner: bob\ntags: ops\ntags: prod"
        );
    }

    #[test]
    fn kv_and_state_take_strings_and_numbers() {
        let v = Value::Array(vec![
            Value::from("disk full"),
            Value::from(2.5),
            Value::Null,
            Value::Bytes(vec![1, 2]),
            obj(vec![("x", Value::from(7i64))]),
        ]);
        for p in [SearchPrimitive::Kv, SearchPrimitive::State] {
            let e = extract(p, b"k1", &v).expect("doc");
            assert_eq!(e.entity, "k1");
            assert_eq!(e.text, "disk full\n2.5\n7");
        }
    }

    #[test]
    fn events_use_type_and_payload_and_skip_internal_keys() {
        let v = obj(vec![
            ("type", Value::from("deploy")),
            (
                "payload",
                obj(vec![("msg", Value::from("rollout stalled"))]),
            ),
            ("hash", Value::from("ignored")),
        ]);
        let mut key = b"e".to_vec();
        key.extend_from_slice(&42u64.to_be_bytes());
        let e = extract(SearchPrimitive::Event, &key, &v).expect("event");
        assert_eq!(e.entity, "42");
        assert_eq!(e.text, "deploy\nrollout stalled");
        assert!(extract(SearchPrimitive::Event, b"t-deploy", &v).is_none());
        assert!(extract(SearchPrimitive::Event, b"e123", &v).is_none());
    }

    #[test]
    fn vectors_index_their_metadata_and_skip_configs() {
        let v = obj(vec![
            ("embedding", Value::Bytes(vec![0; 8])),
            ("metadata", obj(vec![("title", Value::from("whale song"))])),
        ]);
        let e = extract(SearchPrimitive::Vector, b"vdocs\0doc-1", &v).expect("vector");
        assert_eq!(e.entity, "docs/doc-1");
        assert_eq!(e.text, "title: whale song");
        assert!(extract(SearchPrimitive::Vector, b"cdocs", &v).is_none());
        let bare = obj(vec![("embedding", Value::Bytes(vec![0; 8]))]);
        let e = extract(SearchPrimitive::Vector, b"vdocs\0doc-2", &bare).expect("vector");
        assert!(e.text.is_empty());
    }

    #[test]
    fn primitive_names_parse_with_variants() {
        assert_eq!(
            SearchPrimitive::parse("events").ok(),
            Some(SearchPrimitive::Event)
        );
        assert_eq!(
            SearchPrimitive::parse(" KV ").ok(),
            Some(SearchPrimitive::Kv)
        );
        assert_eq!(
            SearchPrimitive::parse("state-cells").ok(),
            Some(SearchPrimitive::State)
        );
        assert_eq!(
            SearchPrimitive::parse("JSON").ok(),
            Some(SearchPrimitive::Json)
        );
        let err = SearchPrimitive::parse("graph").expect_err("unknown");
        assert!(
            err.to_string().contains("unknown primitive \"graph\""),
            "{err}"
        );
        for p in SearchPrimitive::INDEXED {
            assert_eq!(SearchPrimitive::parse(p.name()).ok(), Some(p));
            assert_eq!(SearchPrimitive::indexed_from_tag(p.tag()), Some(p));
        }
    }
}
