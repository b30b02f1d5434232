//! Appending and reading events, written against [`VersionedStore`] only. See
//! [`crate::layout`] for the keys and values written.

use crate::error::{EventError, Result};
use crate::layout::{
    chain_hash, decode_record, encode_record, event_key, seq_of_type_key, type_key, type_prefix,
    validate_event_type, Head, HEAD_KEY,
};
use strata_storage::{tags, CommitVersion, Scope, Timestamp, Value, Versioned, VersionedStore};

/// One event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the scope's log: 0, 1, 2, ... with no gaps.
    pub seq: u64,
    /// The type given at append.
    pub event_type: String,
    /// The payload given at append (any [`Value`]; the Python API uses dicts).
    pub payload: Value,
    /// This event's chain hash (see [`crate::chain_hash`]).
    pub hash: [u8; 32],
    /// The commit that appended it (`0` if appended earlier in the same uncommitted
    /// transaction).
    pub version: CommitVersion,
    /// That commit's timestamp in µs (`0` while uncommitted).
    pub timestamp: Timestamp,
}

pub(crate) fn event_from(seq: u64, v: Versioned) -> Result<Event> {
    let r = decode_record(seq, v.value)?;
    Ok(Event {
        seq,
        event_type: r.event_type,
        payload: r.payload,
        hash: r.hash,
        version: v.version,
        timestamp: v.timestamp,
    })
}

/// The log head as this view sees it. The head is written without history (see
/// [`append`]; forks still see theirs), so a view older than its newest version (a
/// transaction that began before another append) does not see it and rebuilds it from
/// the event records with [`derive_len`]. Cost: one point lookup; about `2 log2(len)`
/// more when rebuilt (and one for a log never appended to).
pub(crate) fn read_head(store: &dyn VersionedStore, scope: &Scope) -> Result<Head> {
    if let Some(v) = store.get(scope, tags::EVENTS, HEAD_KEY)? {
        return Head::decode(&v.value);
    }
    let len = derive_len(|seq| Ok(store.get(scope, tags::EVENTS, &event_key(seq))?.is_some()))?;
    if len == 0 {
        return Ok(Head::EMPTY);
    }
    let last = get(store, scope, len - 1)?
        .ok_or_else(|| EventError::corrupt(Some(len - 1), "event vanished while reading"))?;
    Ok(Head {
        len,
        last_hash: last.hash,
    })
}

/// The length of a dense log from a predicate that says whether event `seq` exists
/// (true for every seq below the length, false from it on): an exponential then a
/// binary search, at most about `2 log2(len) + 2` calls.
pub(crate) fn derive_len(mut exists: impl FnMut(u64) -> Result<bool>) -> Result<u64> {
    if !exists(0)? {
        return Ok(0);
    }
    // Invariant: `lo` exists, `hi` does not (or is past every possible sequence).
    let mut lo = 0u64;
    let mut hi = 1u64;
    while exists(hi)? {
        lo = hi;
        match hi.checked_mul(2) {
            Some(h) => hi = h,
            None => {
                hi = u64::MAX;
                break;
            }
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo + 1)
}

/// Appends an event and returns its sequence number: the scope's current length, so
/// the first event is 0. Writes the event record, its type-index entry and the log
/// head; two concurrent appends to one scope therefore conflict and the loser retries
/// (in [`Database::transact`](strata_storage::Database::transact)), which keeps
/// sequence numbers dense. Several appends in one transaction get consecutive numbers.
/// The head is a summary of the records (length and last hash), so it is written
/// without history ([`VersionedStore::put_without_history`]): an append costs no
/// history insert, and older views rebuild the head (see [`read_head`]).
/// Cost: one point lookup (the head), one hash, three buffered writes; independent of
/// the log's length.
pub fn append(
    store: &mut dyn VersionedStore,
    scope: &Scope,
    event_type: &str,
    payload: Value,
) -> Result<u64> {
    validate_event_type(event_type)?;
    let head = read_head(store, scope)?;
    let seq = head.len;
    let hash = chain_hash(&head.last_hash, seq, event_type, &payload);
    let new_head = Head {
        len: seq
            .checked_add(1)
            .ok_or_else(|| EventError::corrupt(Some(seq), "sequence numbers exhausted"))?,
        last_hash: hash,
    };
    // The event and its type-index entry are new by construction: `seq` is the head's
    // length, and the head is rewritten below, so two appends racing for `seq`
    // conflict on the head. `put_new` lets the commit skip their existence reads,
    // which grow with the store (see `VersionedStore::put_new`).
    store.put_new(
        scope,
        tags::EVENTS,
        &event_key(seq),
        encode_record(event_type, payload, hash),
    )?;
    store.put_new(scope, tags::EVENTS, &type_key(event_type, seq), Value::Null)?;
    store.put_without_history(scope, tags::EVENTS, HEAD_KEY, new_head.encode()?)?;
    Ok(seq)
}

/// The event with sequence number `seq`, or `None` if the log is shorter. Cost: one
/// point lookup.
pub fn get(store: &dyn VersionedStore, scope: &Scope, seq: u64) -> Result<Option<Event>> {
    store
        .get(scope, tags::EVENTS, &event_key(seq))?
        .map(|v| event_from(seq, v))
        .transpose()
}

/// The event `seq` if it had been appended by commit timestamp `ts` (µs since the
/// epoch), else `None`. Ignores uncommitted appends. Cost: a short range scan.
pub fn get_as_of(
    store: &dyn VersionedStore,
    scope: &Scope,
    seq: u64,
    ts: Timestamp,
) -> Result<Option<Event>> {
    store
        .get_as_of(scope, tags::EVENTS, &event_key(seq), ts)?
        .map(|v| event_from(seq, v))
        .transpose()
}

/// How many events the scope's log holds (all types), including this store's own
/// uncommitted appends. Cost: one point lookup.
pub fn len(store: &dyn VersionedStore, scope: &Scope) -> Result<u64> {
    Ok(read_head(store, scope)?.len)
}

/// How many events the log held at commit timestamp `ts` (the head keeps no history,
/// so this probes the event records). Cost: about `2 log2(len)` short range scans.
pub fn len_as_of(store: &dyn VersionedStore, scope: &Scope, ts: Timestamp) -> Result<u64> {
    derive_len(|seq| {
        Ok(store
            .get_as_of(scope, tags::EVENTS, &event_key(seq), ts)?
            .is_some())
    })
}

/// All events of type `event_type`, in sequence order. Reads the type index, so events
/// of other types are never touched. Cost: one index entry plus one point lookup per
/// matching event; use [`list_paginated`] for long logs.
pub fn list(store: &dyn VersionedStore, scope: &Scope, event_type: &str) -> Result<Vec<Event>> {
    list_paginated(store, scope, event_type, None, None)
}

/// Up to `limit` events of type `event_type` (all if `None`), in sequence order,
/// starting strictly after sequence number `after` (from the start if `None`). Cost:
/// `limit` index entries and point lookups.
pub fn list_paginated(
    store: &dyn VersionedStore,
    scope: &Scope,
    event_type: &str,
    limit: Option<usize>,
    after: Option<u64>,
) -> Result<Vec<Event>> {
    validate_event_type(event_type)?;
    if limit == Some(0) {
        return Ok(Vec::new());
    }
    let prefix = type_prefix(event_type);
    let after_key = after.map(|a| type_key(event_type, a));
    let page = store.scan(scope, tags::EVENTS, &prefix, after_key.as_deref(), limit)?;
    let mut out = Vec::with_capacity(page.entries.len());
    for (key, _) in page.entries {
        let seq = seq_of_type_key(&prefix, &key)
            .ok_or_else(|| EventError::corrupt(None, "malformed type-index key"))?;
        let event = get(store, scope, seq)?.ok_or_else(|| {
            EventError::corrupt(Some(seq), "type index points to a missing event")
        })?;
        if event.event_type != event_type {
            return Err(EventError::corrupt(
                Some(seq),
                format!(
                    "type index lists the event under {event_type:?} but it has type {:?}",
                    event.event_type
                ),
            ));
        }
        out.push(event);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::derive_len;

    #[test]
    fn derive_len_finds_every_length_in_logarithmic_probes() {
        let lens = (0..300u64).chain([1 << 20, (1 << 40) + 3, u64::MAX - 1, u64::MAX]);
        for len in lens {
            let mut probes = 0u32;
            let got = derive_len(|seq| {
                probes += 1;
                Ok(seq < len)
            })
            .expect("derive");
            assert_eq!(got, len);
            let bits = 64 - len.leading_zeros();
            assert!(probes <= 2 * bits + 2, "{probes} probes for {len}");
        }
    }
}
