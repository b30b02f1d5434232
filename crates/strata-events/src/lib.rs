//! # strata-events
//!
//! StrataDB's event log: an append-only, tamper-evident sequence of typed events per
//! branch and space. Sequence numbers start at 0 and are dense; events are never
//! modified or deleted by any function here. Every function takes a
//! [`VersionedStore`] (`&dyn` to read, `&mut dyn` to write), so the same calls work in
//! an explicit transaction and inside [`Database::transact`] (auto-commit).
//!
//! ```
//! use strata_storage::{Database, Value};
//! let db = Database::open_temporary()?;
//! let scope = db.default_scope();
//!
//! let click = Value::from(serde_json::json!({"action": "click", "target": "button"}));
//! let (seq, _) = db.transact(|t| Ok(strata_events::append(t, &scope, "user_action", click.clone())?))?;
//! assert_eq!(seq, 0);
//! db.transact(|t| Ok(strata_events::append(t, &scope, "deploy", Value::from("v1.2"))?))?;
//!
//! let snap = db.read();
//! assert_eq!(strata_events::len(&snap, &scope)?, 2);
//! let clicks = strata_events::list(&snap, &scope, "user_action")?;
//! assert_eq!((clicks.len(), &clicks[0].payload), (1, &click));
//! assert!(strata_events::verify(&snap, &scope)?.is_intact());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## API at a glance
//!
//! | function | returns | cost |
//! |---|---|---|
//! | [`append`]`(store, scope, type, payload)` | `u64` sequence number | 1 lookup + 3 buffered writes, O(1) in the log length |
//! | [`get`]`(.., seq)` / [`get_as_of`]`(.., seq, ts)` | `Option<`[`Event`]`>` | one point lookup / short scan |
//! | [`len`] / [`len_as_of`] | `u64` | one point lookup / short scan |
//! | [`list`]`(.., type)` | `Vec<Event>` in sequence order | events of that type only (type index) |
//! | [`list_paginated`]`(.., type, limit, after)` | `Vec<Event>`, `after` exclusive | `limit` events |
//! | [`verify`] | [`VerifyReport`] `{ checked, first_broken, reason }` | every event once |
//!
//! Event types: non-empty, no NUL, at most [`MAX_EVENT_TYPE_LEN`] bytes
//! ([`validate_event_type`]). Payloads: any [`Value`] (the Python API uses dicts).
//!
//! ## Tamper evidence
//!
//! Each event stores `hash = BLAKE3(domain | previous hash | seq | type | payload)`
//! ([`chain_hash`], starting from [`GENESIS_HASH`]), and the log head stores the last
//! hash. Changing, removing or inserting any event through the raw store breaks the
//! chain at that event or the next, and [`verify`] reports the first broken link. The
//! commit timestamp is not covered: it is not known until commit. This is evidence of
//! tampering, not prevention: whoever can write the store can also rewrite the whole
//! chain; keep an external copy of [`VerifyReport`]-checked head hashes if that matters.
//!
//! ## Layout
//!
//! Tag [`tags::EVENTS`]; fixed, the search crate reads it:
//!
//! ```text
//! b'e' | seq u64 BE                  -> {"type": String, "payload": Value, "hash": Bytes(32)}
//! b't' | type UTF-8 | 0x00 | seq BE  -> Null          (type index)
//! b'h'                               -> {"len": Int, "last_hash": Bytes(32)}   (head)
//! ```
//!
//! Every append writes the head key, so the engine's write-write conflict detection
//! serialises concurrent appends to one scope: that is what keeps sequences dense.
//!
//! [`Value`]: strata_storage::Value
//! [`VersionedStore`]: strata_storage::VersionedStore
//! [`Database::transact`]: strata_storage::Database::transact
//! [`tags::EVENTS`]: strata_storage::tags::EVENTS

mod error;
mod layout;
mod log;
mod primitive;
mod verify;

pub use error::{EventError, Result};
pub use layout::{chain_hash, validate_event_type, GENESIS_HASH, MAX_EVENT_TYPE_LEN};
pub use log::{append, get, get_as_of, len, len_as_of, list, list_paginated, Event};
pub use primitive::{EventsPrimitive, PRIMITIVE_NAME};
pub use verify::{verify, VerifyReport};
