//! Key layout and record codecs of the vector primitive (tag [`tags::VECTOR`]).
//!
//! Inside each scope (branch + space):
//!
//! ```text
//! b'c' ++ collection                  -> {"dimension": int, "metric": str, "created": int µs}
//! b'v' ++ collection ++ 0x00 ++ key   -> {"embedding": bytes (dim x f32 little-endian),
//!                                         "metadata": object}   ("metadata" only if given)
//! ```
//!
//! Collection names are validated like branch and space names (no control characters,
//! so no 0x00, which makes the `v` prefix of one collection never a prefix of another's).
//! Vector keys are any non-empty string.
//!
//! [`tags::VECTOR`]: strata_storage::tags::VECTOR

use crate::error::{Result, VectorError};
use crate::metric::Metric;
use indexmap::IndexMap;
use strata_storage::Value;

const CONFIG: u8 = b'c';
const VECTOR: u8 = b'v';

/// Largest accepted collection dimension.
pub const MAX_DIMENSION: usize = 65_536;

pub(crate) fn config_key(collection: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + collection.len());
    k.push(CONFIG);
    k.extend_from_slice(collection.as_bytes());
    k
}

/// Prefix of all config records (for listing collections).
pub(crate) fn config_prefix() -> &'static [u8] {
    &[CONFIG]
}

/// Prefix of all vectors of `collection`.
pub(crate) fn vector_prefix(collection: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + collection.len());
    k.push(VECTOR);
    k.extend_from_slice(collection.as_bytes());
    k.push(0);
    k
}

pub(crate) fn vector_key(collection: &str, key: &str) -> Vec<u8> {
    let mut k = vector_prefix(collection);
    k.extend_from_slice(key.as_bytes());
    k
}

/// A raw key of this primitive, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParsedKey<'a> {
    Config(&'a str),
    Vector { collection: &'a str, key: &'a str },
}

pub(crate) fn parse_key(raw: &[u8]) -> Option<ParsedKey<'_>> {
    let (&kind, rest) = raw.split_first()?;
    match kind {
        CONFIG => std::str::from_utf8(rest).ok().map(ParsedKey::Config),
        VECTOR => {
            let nul = rest.iter().position(|&b| b == 0)?;
            let collection = std::str::from_utf8(&rest[..nul]).ok()?;
            let key = std::str::from_utf8(&rest[nul + 1..]).ok()?;
            Some(ParsedKey::Vector { collection, key })
        }
        _ => None,
    }
}

/// A collection's configuration record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CollectionConfig {
    pub(crate) dimension: usize,
    pub(crate) metric: Metric,
    pub(crate) created: u64,
}

impl CollectionConfig {
    pub(crate) fn encode(&self) -> Value {
        let mut o = IndexMap::new();
        o.insert("dimension".to_owned(), Value::Int(self.dimension as i64));
        o.insert(
            "metric".to_owned(),
            Value::String(self.metric.as_str().to_owned()),
        );
        o.insert("created".to_owned(), Value::Int(self.created as i64));
        Value::Object(o)
    }

    pub(crate) fn decode(collection: &str, v: &Value) -> Result<CollectionConfig> {
        let bad = || VectorError::Corrupt(format!("config record of collection {collection:?}"));
        let Value::Object(o) = v else {
            return Err(bad());
        };
        let dimension = o
            .get("dimension")
            .and_then(Value::as_int)
            .filter(|d| *d > 0 && *d as usize <= MAX_DIMENSION)
            .ok_or_else(bad)? as usize;
        let metric = o
            .get("metric")
            .and_then(Value::as_str)
            .and_then(|m| m.parse().ok())
            .ok_or_else(bad)?;
        let created = o.get("created").and_then(Value::as_int).unwrap_or(0).max(0) as u64;
        Ok(CollectionConfig {
            dimension,
            metric,
            created,
        })
    }
}

/// Encodes a vector record. `metadata` must already be validated (object or none).
pub(crate) fn encode_record(vector: &[f32], metadata: Option<Value>) -> Value {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for x in vector {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let mut o = IndexMap::new();
    o.insert("embedding".to_owned(), Value::Bytes(bytes));
    if let Some(m) = metadata {
        o.insert("metadata".to_owned(), m);
    }
    Value::Object(o)
}

/// Decodes a vector record into its embedding and metadata.
pub(crate) fn decode_record(key: &str, v: &Value) -> Result<(Vec<f32>, Option<Value>)> {
    let bad = |why: &str| VectorError::Corrupt(format!("vector record {key:?}: {why}"));
    let Value::Object(o) = v else {
        return Err(bad("not an object"));
    };
    let Some(Value::Bytes(bytes)) = o.get("embedding") else {
        return Err(bad("missing embedding bytes"));
    };
    if bytes.len() % 4 != 0 {
        return Err(bad("embedding length is not a multiple of 4"));
    }
    let vector = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((vector, o.get("metadata").cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        assert_eq!(
            parse_key(&config_key("docs")),
            Some(ParsedKey::Config("docs"))
        );
        assert_eq!(
            parse_key(&vector_key("docs", "a\0b")),
            Some(ParsedKey::Vector {
                collection: "docs",
                key: "a\0b"
            })
        );
        assert!(vector_key("doc", "x").starts_with(&vector_prefix("doc")));
        assert!(!vector_key("docs", "x").starts_with(&vector_prefix("doc")));
        assert_eq!(parse_key(b"zzz"), None);
    }

    #[test]
    fn records_round_trip() {
        let v = vec![1.5f32, -0.0, f32::MIN_POSITIVE];
        let mut m = IndexMap::new();
        m.insert("t".to_owned(), Value::Int(1));
        let rec = encode_record(&v, Some(Value::Object(m.clone())));
        let (back, meta) = decode_record("k", &rec).unwrap_or_default();
        assert_eq!(back, v);
        assert_eq!(meta, Some(Value::Object(m)));
        let cfg = CollectionConfig {
            dimension: 3,
            metric: Metric::DotProduct,
            created: 7,
        };
        assert_eq!(CollectionConfig::decode("c", &cfg.encode()).ok(), Some(cfg));
        assert!(decode_record("k", &Value::Int(1)).is_err());
    }
}
