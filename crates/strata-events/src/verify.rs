//! Hash-chain verification.

use crate::error::Result;
use crate::layout::{
    chain_hash, decode_record, seq_of_event_key, type_key, EVENT_PREFIX, GENESIS_HASH,
};
use crate::log::read_head;
use strata_storage::{tags, Scope, VersionedStore};

/// Events read per storage scan page while verifying.
const PAGE: usize = 1024;

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events whose link was checked and found intact (equals the log length when the
    /// whole chain holds).
    pub checked: u64,
    /// The sequence number of the first event whose link does not hold, `None` if the
    /// log is intact. Verification stops there.
    pub first_broken: Option<u64>,
    /// Why that link is broken, for humans.
    pub reason: Option<String>,
}

impl VerifyReport {
    /// Whether the whole log verified.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }

    fn broken(checked: u64, seq: u64, reason: impl Into<String>) -> Self {
        VerifyReport {
            checked,
            first_broken: Some(seq),
            reason: Some(reason.into()),
        }
    }
}

/// Re-computes the hash chain of the scope's log from sequence 0 and reports the first
/// event that does not link to its predecessor. Detected: an edited type or payload, a
/// replaced hash, a missing, extra or out-of-order event record, an undecodable record,
/// a missing type-index entry, and a log head whose length or last hash disagrees with
/// the records. The commit timestamp is not covered (it is not known before commit).
///
/// A damaged log is reported, not returned as an error; errors are storage failures
/// only. Cost: reads every event once in pages of 1024, plus one index lookup per
/// event: O(n).
pub fn verify(store: &dyn VersionedStore, scope: &Scope) -> Result<VerifyReport> {
    let head = match read_head(store, scope) {
        Ok(h) => h,
        Err(e) => {
            return Ok(VerifyReport::broken(
                0,
                0,
                format!("unreadable log head: {e}"),
            ))
        }
    };
    let mut prev = GENESIS_HASH;
    let mut next: u64 = 0; // the sequence number expected next, = events checked
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(
            scope,
            tags::EVENTS,
            &[EVENT_PREFIX],
            after.as_deref(),
            Some(PAGE),
        )?;
        for (key, v) in page.entries {
            let Some(seq) = seq_of_event_key(&key) else {
                return Ok(VerifyReport::broken(next, next, "malformed event key"));
            };
            if seq != next {
                return Ok(VerifyReport::broken(
                    next,
                    next,
                    format!("event {next} is missing (next record is {seq})"),
                ));
            }
            if seq >= head.len {
                return Ok(VerifyReport::broken(
                    next,
                    seq,
                    format!("event {seq} lies beyond the log head's length {}", head.len),
                ));
            }
            let record = match decode_record(seq, v.value) {
                Ok(r) => r,
                Err(e) => return Ok(VerifyReport::broken(next, seq, e.to_string())),
            };
            if chain_hash(&prev, seq, &record.event_type, &record.payload) != record.hash {
                return Ok(VerifyReport::broken(
                    next,
                    seq,
                    "hash does not match the event's content and predecessor",
                ));
            }
            if store
                .get(scope, tags::EVENTS, &type_key(&record.event_type, seq))?
                .is_none()
            {
                return Ok(VerifyReport::broken(
                    next,
                    seq,
                    format!("type index entry for {:?} is missing", record.event_type),
                ));
            }
            prev = record.hash;
            next += 1;
        }
        match page.next_after {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    if next < head.len {
        return Ok(VerifyReport::broken(
            next,
            next,
            format!("log head says {} events but only {next} exist", head.len),
        ));
    }
    if head.last_hash != prev {
        let seq = next.saturating_sub(1);
        return Ok(VerifyReport::broken(
            seq,
            seq,
            "log head's last hash does not match the last event",
        ));
    }
    Ok(VerifyReport {
        checked: next,
        first_broken: None,
        reason: None,
    })
}
