//! # strata-json
//!
//! StrataDB's JSON document primitive: documents addressed by key, read and written
//! through JSONPath (a subset of RFC 9535), every change kept as a new version.
//!
//! Two layers:
//!
//! - **Paths on values**: [`JsonPath::parse`], then [`get`], [`set`], [`delete`] and
//!   [`JsonPath::select`] on an in-memory [`Value`]. Pure functions, no storage; also
//!   the fuzzing surface (parsing and evaluation never panic).
//! - **Documents in a store**: [`JsonStore`] reads and writes whole documents through
//!   the [`strata_storage::VersionedStore`] trait (it knows nothing of the engine
//!   below) under tag [`strata_storage::tags::JSON`], keyed by the document key's UTF-8
//!   bytes; the stored value is the whole document.
//!
//! ```
//! use strata_json::{delete, get, set, JsonPath};
//! use strata_storage::Value;
//!
//! let mut doc: Value = serde_json::json!({
//!     "name": "Alice",
//!     "tags": ["admin", "ops"],
//!     "orders": [{"id": 1, "total": 30}, {"id": 2, "total": 120}]
//! })
//! .into();
//! let path = |p: &str| JsonPath::parse(p).unwrap();
//!
//! assert_eq!(get(&doc, &path("$.name")), Some(Value::from("Alice")));
//! assert_eq!(get(&doc, &path("$.tags[-1]")), Some(Value::from("ops")));
//! assert_eq!(get(&doc, &path("$.missing")), None);
//!
//! // Wildcards and filters return an array of every match.
//! assert_eq!(
//!     get(&doc, &path("$.orders[?@.total > 100].id")),
//!     Some(Value::Array(vec![Value::Int(2)]))
//! );
//!
//! // Writes create missing object members; an index equal to the length appends.
//! set(&mut doc, &path("$.address.city"), Value::from("Paris"))?;
//! set(&mut doc, &path("$.tags[2]"), Value::from("dev"))?;
//! assert_eq!(get(&doc, &path("$.address.city")), Some(Value::from("Paris")));
//!
//! // Deletes remove every match and say how many.
//! assert_eq!(delete(&mut doc, &path("$.tags[*]"))?, 3);
//! # Ok::<(), strata_json::JsonError>(())
//! ```
//!
//! See `examples/json_basics.rs` for documents in a database, with history and time
//! travel.
//!
//! # JSONPath syntax
//!
//! | form | meaning |
//! |------|---------|
//! | `$` | the whole document |
//! | `.name`, `['name']`, `["name"]` | an object member (quoted names take JSON escapes) |
//! | `[3]`, `[-1]` | an array element; negative indexes count from the end |
//! | `.*`, `[*]` | every member of an object or element of an array |
//! | `[?filter]` | the members or elements for which the filter holds |
//!
//! Filters compare singular queries (`@.price`, `$.limits.max`) and literals
//! (`'text'`, `"text"`, numbers, `true`, `false`, `null`) with `==`, `!=`, `<`, `<=`,
//! `>`, `>=`, combine them with `&&`, `||`, `!` and parentheses, and test existence
//! with a query alone (`[?@.email]`). Limits: [`MAX_PATH_LEN`] bytes,
//! [`MAX_SEGMENTS`] segments per query, [`MAX_FILTER_NESTING`] levels of filters and
//! parentheses.
//!
//! It is not: a query language over many documents (one document per call), a patch
//! store (each change stores the whole document), or all of RFC 9535 (no `..`, selector
//! lists, slices or functions; using them gives a [`PathError`] that says so).

mod error;
mod eval;
mod path;
mod store;

pub use error::JsonError;
pub use eval::{delete, get, set};
pub use path::{JsonPath, PathError, MAX_FILTER_NESTING, MAX_PATH_LEN, MAX_SEGMENTS};
pub use store::{validate_key, JsonPrimitive, JsonStore, MAX_KEY_LEN};
pub use strata_storage::Value;
