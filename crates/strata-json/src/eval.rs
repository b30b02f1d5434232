//! Evaluating a [`JsonPath`] against an in-memory [`Value`]: read, write, delete.
//!
//! Evaluation walks segment by segment over the current list of matched nodes (no
//! recursion per segment), so stack use depends only on filter nesting, which the
//! parser bounds. Results come in document order: array elements by index, object
//! members in insertion order.
//!
//! Filter semantics follow RFC 9535: a comparison with a missing operand is false
//! except `==` between two missing operands; `<`-style comparisons hold only between
//! two numbers or two strings (strings by code point); `==` is deep equality where an
//! int and a float with the same value are equal.

use crate::error::{a_type, JsonError};
use crate::path::{render, CmpOp, Filter, JsonPath, Operand, Query, QueryRoot, Segment};
use indexmap::IndexMap;
use std::cmp::Ordering;
use std::collections::HashSet;
use strata_storage::{Value, MAX_NESTING};

/// One step of a normalized location: an object member or an array position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Loc {
    Index(usize),
    Key(String),
}

/// Reads `path` from `doc`.
///
/// - A **singular** path (names and indexes only) returns the value, or `None` when
///   any step is missing or of the wrong type.
/// - A path with a **wildcard or filter** returns `Some(Value::Array)` of every match
///   in document order (an empty array when nothing matches).
///
/// Cost: a singular path touches one node per segment; otherwise proportional to the
/// nodes visited. The result is cloned.
///
/// ```
/// use strata_json::{get, JsonPath};
/// use strata_storage::Value;
/// let doc: Value = serde_json::json!({"a": [1, 2, 3]}).into();
/// let path = JsonPath::parse("$.a[-1]").unwrap();
/// assert_eq!(get(&doc, &path), Some(Value::Int(3)));
/// ```
pub fn get(doc: &Value, path: &JsonPath) -> Option<Value> {
    if path.is_singular() {
        singular(doc, path.segments()).cloned()
    } else {
        Some(Value::Array(
            path.select(doc).into_iter().cloned().collect(),
        ))
    }
}

impl JsonPath {
    /// Every node `self` selects in `doc`, in document order, borrowed (no cloning).
    /// A missing singular path gives an empty list. Cost: proportional to the nodes
    /// visited.
    pub fn select<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        select(doc, doc, self.segments(), false)
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }
}

/// Writes `value` at `path` in `doc`.
///
/// Rules:
/// - `path` must be singular (no wildcard, no filter), else [`JsonError::NotSingular`].
/// - `$` replaces the whole value.
/// - A missing object member is created. When further segments follow, the missing
///   intermediate containers are created too: an object for a name, an array for
///   index `0` (any other index into a new, empty array is out of range).
/// - Array indexes: an existing index (negative counts from the end) replaces; an
///   index equal to the length appends; anything else is
///   [`JsonError::IndexOutOfRange`].
/// - A name on a non-object or an index on a non-array is
///   [`JsonError::TypeMismatch`], naming the offending node.
/// - The result may not nest deeper than [`MAX_NESTING`] ([`JsonError::TooDeep`]).
///
/// On error `doc` is unchanged. Cost: one node per segment, plus moving `value` in.
pub fn set(doc: &mut Value, path: &JsonPath, value: Value) -> Result<(), JsonError> {
    let segments = path.segments();
    if !path.is_singular() {
        return Err(JsonError::NotSingular {
            path: path.to_string(),
        });
    }
    if segments.len() + value.depth() > MAX_NESTING {
        return Err(JsonError::TooDeep {
            path: path.to_string(),
        });
    }
    let mut node = doc;
    for (i, seg) in segments.iter().enumerate() {
        let rest = segments.get(i + 1..).unwrap_or(&[]);
        node = match (seg, node) {
            (Segment::Name(name), Value::Object(map)) => match map.entry(name.clone()) {
                indexmap::map::Entry::Occupied(entry) => entry.into_mut(),
                indexmap::map::Entry::Vacant(entry) => {
                    entry.insert(build(path, i + 1, rest, value)?);
                    return Ok(());
                }
            },
            (Segment::Index(index), Value::Array(items)) => {
                let len = items.len();
                let out_of_range = || JsonError::IndexOutOfRange {
                    path: path.to_string(),
                    at: render(segments.get(..i).unwrap_or(&[])),
                    index: *index,
                    len,
                };
                let pos = resolve_index(*index, len).ok_or_else(out_of_range)?;
                if pos == len {
                    items.push(build(path, i + 1, rest, value)?);
                    return Ok(());
                }
                items.get_mut(pos).ok_or_else(out_of_range)?
            }
            (seg, other) => {
                return Err(JsonError::TypeMismatch {
                    path: path.to_string(),
                    at: render(segments.get(..i).unwrap_or(&[])),
                    expected: match seg {
                        Segment::Index(_) => "an array",
                        _ => "an object",
                    },
                    found: a_type(other),
                })
            }
        };
    }
    *node = value;
    Ok(())
}

/// Removes every node `path` selects from `doc` and returns how many were removed
/// (0 when nothing matches). Array elements after a removed one shift down.
///
/// Deleting `$` replaces `doc` with `Null` and returns 1; [`crate::JsonStore::delete`]
/// turns that case into deleting the whole document instead.
///
/// Cost: the cost of selecting, plus one pass over each container that loses children.
pub fn delete(doc: &mut Value, path: &JsonPath) -> Result<usize, JsonError> {
    let segments = path.segments();
    if segments.is_empty() {
        *doc = Value::Null;
        return Ok(1);
    }
    let mut locations: Vec<Vec<Loc>> = select(doc, doc, segments, true)
        .into_iter()
        .map(|(loc, _)| loc)
        .collect();
    // Every location has one step per segment, so none is a prefix of another, and
    // after sorting the children of one parent are adjacent: each parent is rebuilt
    // once, keeping deletes linear in its size however many children go.
    locations.sort_unstable();
    locations.dedup();
    let mut removed = 0;
    for group in locations.chunk_by(|a, b| parent_loc(a) == parent_loc(b)) {
        let Some(first) = group.first() else {
            continue;
        };
        let Some(parent) = locate_mut(doc, parent_loc(first)) else {
            continue;
        };
        match parent {
            Value::Object(map) => {
                let keys: HashSet<&str> = group
                    .iter()
                    .filter_map(|l| match l.last() {
                        Some(Loc::Key(k)) => Some(k.as_str()),
                        _ => None,
                    })
                    .collect();
                let before = map.len();
                map.retain(|k, _| !keys.contains(k.as_str()));
                removed += before - map.len();
            }
            Value::Array(items) => {
                let doomed: HashSet<usize> = group
                    .iter()
                    .filter_map(|l| match l.last() {
                        Some(Loc::Index(i)) => Some(*i),
                        _ => None,
                    })
                    .collect();
                let before = items.len();
                let mut position = 0;
                items.retain(|_| {
                    let keep = !doomed.contains(&position);
                    position += 1;
                    keep
                });
                removed += before - items.len();
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// Builds the value to insert when the path leaves the existing document at segment
/// `first` (`rest` are the segments below the new member or element).
fn build(
    path: &JsonPath,
    first: usize,
    rest: &[Segment],
    value: Value,
) -> Result<Value, JsonError> {
    if let Some(bad) = rest
        .iter()
        .position(|s| matches!(s, Segment::Index(i) if *i != 0))
    {
        let index = match rest.get(bad) {
            Some(Segment::Index(i)) => *i,
            _ => 0,
        };
        return Err(JsonError::IndexOutOfRange {
            path: path.to_string(),
            at: render(path.segments().get(..first + bad).unwrap_or(&[])),
            index,
            len: 0,
        });
    }
    let mut out = value;
    for seg in rest.iter().rev() {
        out = match seg {
            Segment::Name(n) => {
                let mut map = IndexMap::with_capacity(1);
                map.insert(n.clone(), out);
                Value::Object(map)
            }
            _ => Value::Array(vec![out]),
        };
    }
    Ok(out)
}

/// Maps an index (negative from the end) to a position in `0..=len`, or `None` when
/// it is before the start or more than one past the end. Only a non-negative index
/// can produce `len` (the append position).
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|p| *p <= len)
    } else {
        usize::try_from(index.unsigned_abs())
            .ok()
            .and_then(|back| len.checked_sub(back))
    }
}

fn singular<'a>(start: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let mut node = start;
    for seg in segments {
        node = match (seg, node) {
            (Segment::Name(n), Value::Object(map)) => map.get(n)?,
            (Segment::Index(i), Value::Array(items)) => {
                let pos = resolve_index(*i, items.len())?;
                items.get(pos)?
            }
            _ => return None,
        };
    }
    Some(node)
}

/// All but the last step of a location.
fn parent_loc(loc: &[Loc]) -> &[Loc] {
    loc.split_last().map_or(&[], |(_, parent)| parent)
}

fn locate_mut<'a>(doc: &'a mut Value, loc: &[Loc]) -> Option<&'a mut Value> {
    let mut node = doc;
    for step in loc {
        node = match (step, node) {
            (Loc::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Loc::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

type Match<'a> = (Vec<Loc>, &'a Value);

/// Applies `segments` to `start`; `root` is what `$` means inside filters. With
/// `track`, each match carries its normalized location (object keys are cloned).
fn select<'a>(
    root: &'a Value,
    start: &'a Value,
    segments: &[Segment],
    track: bool,
) -> Vec<Match<'a>> {
    let mut current: Vec<Match<'a>> = vec![(Vec::new(), start)];
    for seg in segments {
        let mut next = Vec::new();
        for (loc, node) in current {
            let extend = |step: Loc| -> Vec<Loc> {
                if track {
                    let mut l = loc.clone();
                    l.push(step);
                    l
                } else {
                    Vec::new()
                }
            };
            match seg {
                Segment::Name(n) => {
                    if let Value::Object(map) = node {
                        if let Some(child) = map.get(n) {
                            next.push((extend(Loc::Key(n.clone())), child));
                        }
                    }
                }
                Segment::Index(i) => {
                    if let Value::Array(items) = node {
                        if let Some(pos) = resolve_index(*i, items.len()) {
                            if let Some(child) = items.get(pos) {
                                next.push((extend(Loc::Index(pos)), child));
                            }
                        }
                    }
                }
                Segment::Wildcard | Segment::Filter(_) => {
                    let filter = match seg {
                        Segment::Filter(f) => Some(f.as_ref()),
                        _ => None,
                    };
                    let keep = |child: &Value| filter.is_none_or(|f| test(root, child, f));
                    match node {
                        Value::Object(map) => {
                            for (k, child) in map {
                                if keep(child) {
                                    next.push((extend(Loc::Key(k.clone())), child));
                                }
                            }
                        }
                        Value::Array(items) => {
                            for (pos, child) in items.iter().enumerate() {
                                if keep(child) {
                                    next.push((extend(Loc::Index(pos)), child));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current
}

/// Whether `filter` holds for `node`.
fn test(root: &Value, node: &Value, filter: &Filter) -> bool {
    match filter {
        Filter::Or(items) => items.iter().any(|f| test(root, node, f)),
        Filter::And(items) => items.iter().all(|f| test(root, node, f)),
        Filter::Not(inner) => !test(root, node, inner),
        Filter::Exists(q) => {
            !select(root, query_start(root, node, q), &q.segments, false).is_empty()
        }
        Filter::Compare(left, op, right) => {
            compare(operand(root, node, left), *op, operand(root, node, right))
        }
    }
}

fn query_start<'a>(root: &'a Value, node: &'a Value, q: &Query) -> &'a Value {
    match q.root {
        QueryRoot::Root => root,
        QueryRoot::Current => node,
    }
}

fn operand<'a>(root: &'a Value, node: &'a Value, op: &'a Operand) -> Option<&'a Value> {
    match op {
        Operand::Literal(v) => Some(v),
        Operand::Query(q) => singular(query_start(root, node, q), &q.segments),
    }
}

fn compare(left: Option<&Value>, op: CmpOp, right: Option<&Value>) -> bool {
    let eq = || match (left, right) {
        (None, None) => true,
        (Some(a), Some(b)) => values_equal(a, b),
        _ => false,
    };
    let lt = |a: Option<&Value>, b: Option<&Value>| match (a, b) {
        (Some(a), Some(b)) => order(a, b) == Some(Ordering::Less),
        _ => false,
    };
    match op {
        CmpOp::Eq => eq(),
        CmpOp::Ne => !eq(),
        CmpOp::Lt => lt(left, right),
        CmpOp::Gt => lt(right, left),
        CmpOp::Le => lt(left, right) || eq(),
        CmpOp::Ge => lt(right, left) || eq(),
    }
}

/// Order between two numbers or two strings; `None` for anything else (and NaN).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Deep equality; numbers compare by value across int and float; object member order
/// does not matter.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            a.as_f64() == b.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn doc(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    fn path(p: &str) -> JsonPath {
        match JsonPath::parse(p) {
            Ok(path) => path,
            Err(e) => panic!("{p:?} should parse: {e}"),
        }
    }

    fn sample() -> Value {
        doc(json!({
            "store": {
                "book": [
                    {"title": "A", "price": 8, "tags": ["x"], "isbn": "1"},
                    {"title": "B", "price": 12.5, "tags": []},
                    {"title": "C", "price": 30, "tags": ["x", "y"], "isbn": "3"},
                    {"title": "D", "price": 8.0}
                ],
                "bicycle": {"color": "red", "price": 20}
            },
            "limit": 10,
            "odd key's": {"ok": true}
        }))
    }

    fn get_json(d: &Value, p: &str) -> Option<Value> {
        get(d, &path(p))
    }

    #[test]
    fn singular_reads() {
        let d = sample();
        assert_eq!(get_json(&d, "$.limit"), Some(Value::Int(10)));
        assert_eq!(
            get_json(&d, "$.store.book[0].title"),
            Some(Value::from("A"))
        );
        assert_eq!(
            get_json(&d, "$.store.book[-1].title"),
            Some(Value::from("D"))
        );
        assert_eq!(get_json(&d, "$['odd key\\'s'].ok"), Some(Value::Bool(true)));
        assert_eq!(get_json(&d, "$.store.book[4]"), None);
        assert_eq!(get_json(&d, "$.store.book[-5]"), None);
        assert_eq!(get_json(&d, "$.missing.deeper"), None);
        assert_eq!(get_json(&d, "$.limit.x"), None);
        assert_eq!(get_json(&d, "$.store[0]"), None);
        assert_eq!(get_json(&d, "$"), Some(d.clone()));
    }

    #[test]
    fn wildcard_reads_in_document_order() {
        let d = sample();
        assert_eq!(
            get_json(&d, "$.store.book[*].title"),
            Some(doc(json!(["A", "B", "C", "D"])))
        );
        assert_eq!(get_json(&d, "$.store.*.price"), Some(doc(json!([20]))));
        assert_eq!(
            get_json(&d, "$.store.bicycle.*"),
            Some(doc(json!(["red", 20])))
        );
        assert_eq!(get_json(&d, "$.limit[*]"), Some(doc(json!([]))));
        assert_eq!(get_json(&d, "$.nothing[*]"), Some(doc(json!([]))));
    }

    #[test]
    fn filters() {
        let d = sample();
        let titles = |p: &str| get_json(&d, p);
        assert_eq!(
            titles("$.store.book[?@.price < 10].title"),
            Some(doc(json!(["A", "D"])))
        );
        assert_eq!(
            titles("$.store.book[?@.price == 8].title"),
            Some(doc(json!(["A", "D"])))
        );
        assert_eq!(
            titles("$.store.book[?@.price >= 12.5 && @.isbn].title"),
            Some(doc(json!(["C"])))
        );
        assert_eq!(
            titles("$.store.book[?@.price > 20 || @.title == 'B'].title"),
            Some(doc(json!(["B", "C"])))
        );
        assert_eq!(
            titles("$.store.book[?!@.isbn].title"),
            Some(doc(json!(["B", "D"])))
        );
        assert_eq!(
            titles("$.store.book[?!(@.price <= 8)].title"),
            Some(doc(json!(["B", "C"])))
        );
        assert_eq!(
            titles("$.store.book[?@.price < $.limit].title"),
            Some(doc(json!(["A", "D"])))
        );
        assert_eq!(
            titles("$.store.book[?@.tags[?@ == 'y']].title"),
            Some(doc(json!(["C"])))
        );
        assert_eq!(
            titles("$.store.book[?@.tags[0] == @.tags[-1]].title"),
            // B has no tags and D no `tags` member: two missing operands are equal.
            Some(doc(json!(["A", "B", "D"])))
        );
    }

    #[test]
    fn comparison_semantics() {
        let one = Value::Int(1);
        let s = Value::from("a");
        // Missing operands.
        assert!(compare(None, CmpOp::Eq, None));
        assert!(!compare(None, CmpOp::Eq, Some(&one)));
        assert!(compare(None, CmpOp::Ne, Some(&one)));
        assert!(!compare(None, CmpOp::Lt, Some(&one)));
        assert!(compare(None, CmpOp::Le, None));
        // Mixed types never order.
        assert!(!compare(Some(&one), CmpOp::Lt, Some(&s)));
        assert!(!compare(Some(&s), CmpOp::Ge, Some(&one)));
        // Numbers across int and float.
        assert!(compare(Some(&one), CmpOp::Eq, Some(&Value::Float(1.0))));
        assert!(compare(Some(&one), CmpOp::Lt, Some(&Value::Float(1.5))));
        assert!(compare(
            Some(&Value::Int(i64::MAX)),
            CmpOp::Gt,
            Some(&Value::Int(i64::MAX - 1))
        ));
        // Strings by code point.
        assert!(compare(Some(&s), CmpOp::Lt, Some(&Value::from("b"))));
        assert!(compare(Some(&Value::from("Z")), CmpOp::Lt, Some(&s)));
        // NaN is equal to nothing, ordered with nothing.
        let nan = Value::Float(f64::NAN);
        assert!(!compare(Some(&nan), CmpOp::Eq, Some(&nan)));
        assert!(!compare(Some(&nan), CmpOp::Le, Some(&one)));
        // Deep equality ignores member order.
        let a = doc(json!({"x": 1, "y": [1, 2.0]}));
        let b = doc(json!({"y": [1.0, 2], "x": 1.0}));
        assert!(compare(Some(&a), CmpOp::Eq, Some(&b)));
        assert!(!compare(Some(&a), CmpOp::Lt, Some(&b)));
        assert!(compare(Some(&Value::Null), CmpOp::Eq, Some(&Value::Null)));
        assert!(!compare(Some(&Value::Null), CmpOp::Eq, None));
    }

    #[test]
    fn set_replaces_creates_and_appends() {
        let mut d = doc(json!({"a": {"b": 1}, "list": [1, 2]}));
        set(&mut d, &path("$.a.b"), Value::Int(2)).ok();
        set(&mut d, &path("$.a.c.d"), Value::from("deep")).ok();
        set(&mut d, &path("$.list[2]"), Value::Int(3)).ok();
        set(&mut d, &path("$.list[-3]"), Value::Int(10)).ok();
        set(&mut d, &path("$.new[0].x"), Value::Bool(true)).ok();
        assert_eq!(
            d,
            doc(json!({
                "a": {"b": 2, "c": {"d": "deep"}},
                "list": [10, 2, 3],
                "new": [{"x": true}]
            }))
        );
        set(&mut d, &path("$"), Value::Int(5)).ok();
        assert_eq!(d, Value::Int(5));
    }

    #[test]
    fn set_keeps_member_order() {
        let mut d = doc(json!({"a": 1, "b": 2, "c": 3}));
        set(&mut d, &path("$.b"), Value::Int(20)).ok();
        let keys: Vec<String> = match &d {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn set_errors_name_the_path_and_leave_doc_unchanged() {
        let original = doc(json!({"a": 1, "list": [1, 2], "o": {}}));
        let cases = [
            ("$.a.b", "type_mismatch", "$.a is an int, not an object"),
            (
                "$.list.x",
                "type_mismatch",
                "$.list is an array, not an object",
            ),
            ("$.o[0]", "type_mismatch", "$.o is an object, not an array"),
            ("$[0]", "type_mismatch", "$ is an object, not an array"),
            (
                "$.list[3]",
                "index_out_of_range",
                "index 3 is out of range for $.list (length 2)",
            ),
            ("$.list[-3]", "index_out_of_range", "index -3"),
            (
                "$.o.x[1]",
                "index_out_of_range",
                "index 1 is out of range for $.o.x (length 0)",
            ),
            (
                "$.o.x.y[0][2]",
                "index_out_of_range",
                "for $.o.x.y[0] (length 0)",
            ),
            ("$.list[*]", "not_singular", "wildcard or filter"),
            ("$[?@ == 1]", "not_singular", "wildcard or filter"),
        ];
        for (p, code, msg) in cases {
            let mut d = original.clone();
            match set(&mut d, &path(p), Value::Int(0)) {
                Ok(()) => panic!("{p} should fail"),
                Err(e) => {
                    assert_eq!(e.code(), code, "{p}: {e}");
                    let text = e.to_string();
                    assert!(text.contains(msg), "{p}: {text:?} should contain {msg:?}");
                    assert!(text.contains(p), "{p}: {text:?} should name the path");
                }
            }
            assert_eq!(d, original, "{p} must not modify the document");
        }
    }

    #[test]
    fn set_refuses_too_deep() {
        let mut d = doc(json!({}));
        let mut nested = Value::Null;
        for _ in 0..MAX_NESTING {
            nested = Value::Array(vec![nested]);
        }
        let e = set(&mut d, &path("$.a"), nested.clone());
        assert_eq!(e.map_err(|e| e.code()), Err("too_deep"));
        assert!(set(&mut d, &path("$"), nested).is_ok());
    }

    #[test]
    fn delete_counts_matches() {
        let mut d = sample();
        assert_eq!(
            delete(&mut d, &path("$.store.book[?@.price == 8]")).ok(),
            Some(2)
        );
        assert_eq!(
            get_json(&d, "$.store.book[*].title"),
            Some(doc(json!(["B", "C"])))
        );
        assert_eq!(
            delete(&mut d, &path("$.store.book[-1].tags[*]")).ok(),
            Some(2)
        );
        assert_eq!(get_json(&d, "$.store.book[1].tags"), Some(doc(json!([]))));
        assert_eq!(delete(&mut d, &path("$.store.bicycle.color")).ok(), Some(1));
        assert_eq!(delete(&mut d, &path("$.store.bicycle.color")).ok(), Some(0));
        assert_eq!(delete(&mut d, &path("$.nothing.here")).ok(), Some(0));
        assert_eq!(delete(&mut d, &path("$.limit[0]")).ok(), Some(0));
        assert_eq!(delete(&mut d, &path("$.store.*")).ok(), Some(2));
        assert_eq!(get_json(&d, "$.store"), Some(doc(json!({}))));
        assert_eq!(delete(&mut d, &path("$")).ok(), Some(1));
        assert_eq!(d, Value::Null);
    }

    #[test]
    fn delete_negative_index_and_order() {
        let mut d = doc(json!({"a": [0, 1, 2, 3, 4], "o": {"x": 1, "y": 2, "z": 3}}));
        assert_eq!(delete(&mut d, &path("$.a[-1]")).ok(), Some(1));
        assert_eq!(
            delete(&mut d, &path("$.a[?@ == 1 || @ == 3]")).ok(),
            Some(2)
        );
        assert_eq!(delete(&mut d, &path("$.o.y")).ok(), Some(1));
        assert_eq!(d, doc(json!({"a": [0, 2], "o": {"x": 1, "z": 3}})));
        let keys: Vec<String> = match get_json(&d, "$.o") {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["x", "z"]);
    }

    #[test]
    fn delete_across_several_parents() {
        let mut d = doc(json!([
            {"l": [1, 5, 2, 7], "o": {"a": 1, "b": 9}},
            {"l": [9], "o": {"c": 3}},
            {"l": [], "o": {}},
            {"l": [3, 4, 0]}
        ]));
        assert_eq!(delete(&mut d, &path("$[*].l[?@ > 2]")).ok(), Some(5));
        assert_eq!(delete(&mut d, &path("$[*].o[?@ < 5]")).ok(), Some(2));
        assert_eq!(
            d,
            doc(json!([
                {"l": [1, 2], "o": {"b": 9}},
                {"l": [], "o": {}},
                {"l": [], "o": {}},
                {"l": [0]}
            ]))
        );
        let mut big = Value::Array((0..10_000).map(Value::Int).collect());
        assert_eq!(delete(&mut big, &path("$[?@ >= 10]")).ok(), Some(9_990));
        assert_eq!(big, Value::Array((0..10).map(Value::Int).collect()));
    }

    #[test]
    fn select_borrows_matches() {
        let d = sample();
        let hits = path("$.store.book[?@.price > 10]").select(&d);
        assert_eq!(hits.len(), 2);
        assert!(path("$.missing").select(&d).is_empty());
        assert_eq!(path("$").select(&d), vec![&d]);
    }

    #[test]
    fn resolve_index_bounds() {
        assert_eq!(resolve_index(0, 0), Some(0));
        assert_eq!(resolve_index(1, 0), None);
        assert_eq!(resolve_index(-1, 0), None);
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-3, 3), Some(0));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), Some(3));
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_index(i64::MAX, 3), None);
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            "[a-z]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-c]{1,2}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A singular path of names and small indexes (quoted names may need escapes).
    fn arb_path() -> impl Strategy<Value = String> {
        let seg = prop_oneof![
            "[a-c]{1,2}".prop_map(|n| format!(".{n}")),
            "[a-c' \\\\]{1,3}"
                .prop_map(|n| { format!("['{}']", n.replace('\\', "\\\\").replace('\'', "\\'")) }),
            (-3i64..4).prop_map(|i| format!("[{i}]")),
        ];
        proptest::collection::vec(seg, 0..4).prop_map(|s| format!("${}", s.concat()))
    }

    proptest! {
        #[test]
        fn set_then_get_returns_the_value(d in arb_value(), p in arb_path(), v in arb_value()) {
            let path = path(&p);
            let mut d = d;
            let before = d.clone();
            match set(&mut d, &path, v.clone()) {
                Ok(()) => prop_assert_eq!(get(&d, &path), Some(v)),
                Err(_) => prop_assert_eq!(d, before),
            }
        }

        #[test]
        fn delete_then_get_is_none(d in arb_value(), p in arb_path()) {
            let path = path(&p);
            prop_assume!(!path.is_root());
            let mut d = d;
            let existed = get(&d, &path).is_some();
            let n = delete(&mut d, &path).map_err(|e| e.to_string());
            prop_assert_eq!(n, Ok(usize::from(existed)));
            // Negative or shifted indexes may now address another element; names do not.
            if !p.contains('[') {
                prop_assert_eq!(get(&d, &path), None);
            }
        }

        #[test]
        fn wildcard_delete_empties_containers(d in arb_value()) {
            let mut d = d;
            let count = match &d {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                _ => 0,
            };
            let n = delete(&mut d, &path("$[*]")).map_err(|e| e.to_string());
            prop_assert_eq!(n, Ok(count));
            prop_assert_eq!(get(&d, &path("$[*]")), Some(Value::Array(Vec::new())));
        }

        #[test]
        fn eval_never_panics(d in arb_value(), p in "\\$[\\[\\]?@$.*'a-c0-2 =!<>&|()-]{0,32}") {
            if let Ok(path) = JsonPath::parse(&p) {
                let _ = get(&d, &path);
                let mut d2 = d.clone();
                let _ = set(&mut d2, &path, Value::Null);
                let mut d3 = d;
                let _ = delete(&mut d3, &path);
            }
        }
    }
}
