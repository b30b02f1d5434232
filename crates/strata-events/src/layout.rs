//! The event log's storage layout and hash chain. Fixed: the search crate reads it.
//!
//! All keys live under tag [`tags::EVENTS`](strata_storage::tags::EVENTS) in one scope:
//!
//! ```text
//! event record  b'e' | seq (u64 BE)                    -> Object {"type": String, "payload": Value, "hash": Bytes(32)}
//! type index    b't' | type (UTF-8) | 0x00 | seq (u64 BE) -> Null
//! head          b'h'                                    -> Object {"len": Int, "last_hash": Bytes(32)}
//! ```
//!
//! Every append writes the head, so two concurrent appends to one scope always
//! conflict in the engine and one of them retries: that keeps sequences dense. The
//! head is written without history (`VersionedStore::put_without_history`): it is a
//! summary of the records, and a view older than its newest version rebuilds it from
//! them (the records are dense from 0, so a binary search finds the length).
//!
//! `hash(n) = BLAKE3("strata-event-v1" | hash(n-1) | n (u64 BE) | len(type) (u32 BE) |
//! type | encode(payload))`, with `hash(-1)` = [`GENESIS_HASH`]. The commit timestamp
//! is not known before commit, so it is not covered.

use crate::error::{EventError, Result};
use indexmap::IndexMap;
use strata_storage::Value;

/// The `prev_hash` of the first event (sequence 0): 32 zero bytes.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Longest event type accepted, in UTF-8 bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 256;

pub(crate) const EVENT_PREFIX: u8 = b'e';
pub(crate) const TYPE_PREFIX: u8 = b't';
pub(crate) const HEAD_KEY: &[u8] = b"h";

const DOMAIN: &[u8] = b"strata-event-v1";

/// Checks that `event_type` is non-empty, at most [`MAX_EVENT_TYPE_LEN`] bytes and free
/// of NUL bytes (NUL separates the type from the sequence in index keys). Cost: one
/// pass over the string.
pub fn validate_event_type(event_type: &str) -> Result<()> {
    if event_type.is_empty() {
        return Err(EventError::InvalidEventType(
            "event type must not be empty".into(),
        ));
    }
    if event_type.len() > MAX_EVENT_TYPE_LEN {
        return Err(EventError::InvalidEventType(format!(
            "event type is {} bytes, longer than the maximum of {MAX_EVENT_TYPE_LEN} bytes",
            event_type.len()
        )));
    }
    if event_type.as_bytes().contains(&0) {
        return Err(EventError::InvalidEventType(
            "event type must not contain a NUL byte".into(),
        ));
    }
    Ok(())
}

/// The chain hash of event `seq` given the previous event's hash. Exposed so that
/// auditors can re-check an exported log without this crate's reader. Cost: one BLAKE3
/// pass over the encoded payload.
pub fn chain_hash(prev_hash: &[u8; 32], seq: u64, event_type: &str, payload: &Value) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(DOMAIN);
    h.update(prev_hash);
    h.update(&seq.to_be_bytes());
    // Types are at most MAX_EVENT_TYPE_LEN bytes, so the length always fits.
    h.update(&(event_type.len() as u32).to_be_bytes());
    h.update(event_type.as_bytes());
    h.update(&payload.encode());
    *h.finalize().as_bytes()
}

pub(crate) fn event_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = EVENT_PREFIX;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn seq_of_event_key(key: &[u8]) -> Option<u64> {
    match key {
        [EVENT_PREFIX, rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

/// `b't' | type | 0x00`: the prefix of all index entries of one type.
pub(crate) fn type_prefix(event_type: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(event_type.len() + 10);
    k.push(TYPE_PREFIX);
    k.extend_from_slice(event_type.as_bytes());
    k.push(0);
    k
}

pub(crate) fn type_key(event_type: &str, seq: u64) -> Vec<u8> {
    let mut k = type_prefix(event_type);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The sequence number at the end of an index key under `prefix`.
pub(crate) fn seq_of_type_key(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The decoded content of an event record.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) event_type: String,
    pub(crate) payload: Value,
    pub(crate) hash: [u8; 32],
}

pub(crate) fn encode_record(event_type: &str, payload: Value, hash: [u8; 32]) -> Value {
    let mut m = IndexMap::with_capacity(3);
    m.insert("type".to_string(), Value::String(event_type.to_string()));
    m.insert("payload".to_string(), payload);
    m.insert("hash".to_string(), Value::Bytes(hash.to_vec()));
    Value::Object(m)
}

fn hash_field(v: Option<&Value>) -> Option<[u8; 32]> {
    match v {
        Some(Value::Bytes(b)) => b.as_slice().try_into().ok(),
        _ => None,
    }
}

pub(crate) fn decode_record(seq: u64, value: Value) -> Result<Record> {
    let bad = |what: &str| EventError::corrupt(Some(seq), format!("event record {what}"));
    let Value::Object(mut m) = value else {
        return Err(bad("is not an object"));
    };
    let hash = hash_field(m.get("hash")).ok_or_else(|| bad("has no 32-byte hash"))?;
    let event_type = match m.swap_remove("type") {
        Some(Value::String(s)) => s,
        _ => return Err(bad("has no string type")),
    };
    let payload = m
        .swap_remove("payload")
        .ok_or_else(|| bad("has no payload"))?;
    Ok(Record {
        event_type,
        payload,
        hash,
    })
}

/// The log head: how many events the scope holds and the last event's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) len: u64,
    pub(crate) last_hash: [u8; 32],
}

impl Head {
    pub(crate) const EMPTY: Head = Head {
        len: 0,
        last_hash: GENESIS_HASH,
    };

    pub(crate) fn encode(&self) -> Result<Value> {
        let len = i64::try_from(self.len)
            .map_err(|_| EventError::corrupt(None, "event log length overflows i64"))?;
        let mut m = IndexMap::with_capacity(2);
        m.insert("len".to_string(), Value::Int(len));
        m.insert(
            "last_hash".to_string(),
            Value::Bytes(self.last_hash.to_vec()),
        );
        Ok(Value::Object(m))
    }

    pub(crate) fn decode(value: &Value) -> Result<Head> {
        let bad = |what: &str| EventError::corrupt(None, format!("log head {what}"));
        let Value::Object(m) = value else {
            return Err(bad("is not an object"));
        };
        let len = match m.get("len") {
            Some(Value::Int(n)) => u64::try_from(*n).map_err(|_| bad("has a negative len"))?,
            _ => return Err(bad("has no integer len")),
        };
        let last_hash =
            hash_field(m.get("last_hash")).ok_or_else(|| bad("has no 32-byte last_hash"))?;
        Ok(Head { len, last_hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_rules() {
        assert!(validate_event_type("user_action").is_ok());
        assert!(validate_event_type("déploiement ✓").is_ok());
        assert!(validate_event_type(&"t".repeat(MAX_EVENT_TYPE_LEN)).is_ok());
        for bad in [
            String::new(),
            "a\0b".into(),
            "t".repeat(MAX_EVENT_TYPE_LEN + 1),
        ] {
            let e = validate_event_type(&bad).expect_err("refused");
            assert_eq!(e.code(), "invalid_event_type");
        }
    }

    #[test]
    fn keys_round_trip_and_sort_by_sequence() {
        for seq in [0, 1, 255, 256, u64::MAX] {
            assert_eq!(seq_of_event_key(&event_key(seq)), Some(seq));
            assert_eq!(
                seq_of_type_key(&type_prefix("a"), &type_key("a", seq)),
                Some(seq)
            );
        }
        assert!(event_key(255) < event_key(256));
        assert!(type_key("a", 255) < type_key("a", 256));
        // One type's entries never fall inside another type's prefix.
        assert!(!type_key("ab", 0).starts_with(&type_prefix("a")));
        assert_eq!(seq_of_event_key(b"e123"), None);
        assert_eq!(seq_of_event_key(HEAD_KEY), None);
    }

    #[test]
    fn chain_hash_covers_every_input() {
        let base = chain_hash(&GENESIS_HASH, 0, "t", &Value::Int(1));
        assert_eq!(base, chain_hash(&GENESIS_HASH, 0, "t", &Value::Int(1)));
        assert_ne!(base, chain_hash(&[1; 32], 0, "t", &Value::Int(1)));
        assert_ne!(base, chain_hash(&GENESIS_HASH, 1, "t", &Value::Int(1)));
        assert_ne!(base, chain_hash(&GENESIS_HASH, 0, "u", &Value::Int(1)));
        assert_ne!(base, chain_hash(&GENESIS_HASH, 0, "t", &Value::Int(2)));
        // The type length is hashed, so type/payload boundaries cannot be shifted.
        assert_ne!(
            chain_hash(&GENESIS_HASH, 0, "ab", &Value::from("c")),
            chain_hash(&GENESIS_HASH, 0, "a", &Value::from("bc"))
        );
    }

    #[test]
    fn record_and_head_round_trip_and_refuse_bad_shapes() {
        let v = encode_record("t", Value::from("p"), [7; 32]);
        let r = decode_record(3, v).expect("decode");
        assert_eq!(
            (r.event_type.as_str(), r.payload, r.hash),
            ("t", Value::from("p"), [7; 32])
        );
        assert_eq!(
            decode_record(3, Value::Int(1)).expect_err("shape").code(),
            "corrupt"
        );

        let head = Head {
            len: 42,
            last_hash: [9; 32],
        };
        assert_eq!(
            Head::decode(&head.encode().expect("encode")).expect("decode"),
            head
        );
        assert!(Head::decode(&Value::Null).is_err());
    }
}
