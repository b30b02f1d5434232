//! Metadata filters: AND-combined conditions on fields of a vector's metadata object.
//!
//! # Wire shape
//!
//! A filter is a [`Value::Array`] of objects `{"field": str, "op": str, "value": any}`,
//! exactly as the Python SDK's `vector_search_filtered(filter=[...])` passes it.
//! `Value::Null` or an empty list means "no filter".
//!
//! # Semantics
//!
//! - `field` names a key of the metadata object. If no key has that exact name and it
//!   contains dots, it is followed as a path into nested objects (`"author.name"`).
//! - `eq` / `ne`: equality; `Int` and `Float` compare numerically (`1 == 1.0`).
//! - `gt`, `gte`, `lt`, `lte`: numbers compare numerically, strings by byte order;
//!   any other combination (or NaN) does not match.
//! - `in`: `value` must be a list; matches if the field equals one of its elements.
//! - `contains`: a string field matches if it contains `value` (a string) as a
//!   substring; a list field matches if one of its elements equals `value`.
//! - A **missing field** (or no metadata at all) fails every condition except `ne`,
//!   which it satisfies.

use crate::error::{Result, VectorError};
use std::cmp::Ordering;
use strata_storage::Value;

/// A comparison operator of a filter condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// Field equals value.
    Eq,
    /// Field differs from value, or is missing.
    Ne,
    /// Field is greater than value.
    Gt,
    /// Field is greater than or equal to value.
    Gte,
    /// Field is less than value.
    Lt,
    /// Field is less than or equal to value.
    Lte,
    /// Field equals one element of the value list.
    In,
    /// String field contains the value as a substring, or list field contains it.
    Contains,
}

const OP_NAMES: &str = "eq, ne, gt, gte, lt, lte, in, contains";

impl FilterOp {
    /// Parses an operator name (`"eq"`, `"gte"`, ...).
    pub fn parse(name: &str) -> Result<FilterOp> {
        Ok(match name {
            "eq" => FilterOp::Eq,
            "ne" => FilterOp::Ne,
            "gt" => FilterOp::Gt,
            "gte" => FilterOp::Gte,
            "lt" => FilterOp::Lt,
            "lte" => FilterOp::Lte,
            "in" => FilterOp::In,
            "contains" => FilterOp::Contains,
            other => {
                return Err(VectorError::InvalidFilter(format!(
                    "unknown op {other:?}: expected one of {OP_NAMES}"
                )))
            }
        })
    }

    /// The operator's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Ne => "ne",
            FilterOp::Gt => "gt",
            FilterOp::Gte => "gte",
            FilterOp::Lt => "lt",
            FilterOp::Lte => "lte",
            FilterOp::In => "in",
            FilterOp::Contains => "contains",
        }
    }
}

/// One condition: `field op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterCondition {
    /// Metadata field name (or dotted path).
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
    /// The operand.
    pub value: Value,
}

/// An AND of [`FilterCondition`]s. The empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataFilter {
    /// The conditions, all of which must hold.
    pub conditions: Vec<FilterCondition>,
}

impl MetadataFilter {
    /// Parses the wire shape described in the module docs. Never panics, on any input;
    /// errors name the offending condition and what was wrong. Cost: linear in the
    /// size of `value`.
    pub fn parse(value: &Value) -> Result<MetadataFilter> {
        let items = match value {
            Value::Null => return Ok(MetadataFilter::default()),
            Value::Array(items) => items,
            other => {
                return Err(VectorError::InvalidFilter(format!(
                    "a filter must be a list of {{\"field\", \"op\", \"value\"}} objects, got {}",
                    other.type_name()
                )))
            }
        };
        let mut conditions = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let bad = |msg: String| VectorError::InvalidFilter(format!("condition {i}: {msg}"));
            let Value::Object(obj) = item else {
                return Err(bad(format!(
                    "expected an object with \"field\", \"op\" and \"value\", got {}",
                    item.type_name()
                )));
            };
            if let Some(extra) = obj
                .keys()
                .find(|k| !matches!(k.as_str(), "field" | "op" | "value"))
            {
                return Err(bad(format!(
                    "unexpected key {extra:?} (allowed: \"field\", \"op\", \"value\")"
                )));
            }
            let field = match obj.get("field") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::String(_)) => return Err(bad("\"field\" is empty".into())),
                Some(v) => {
                    return Err(bad(format!(
                        "\"field\" must be a string, got {}",
                        v.type_name()
                    )))
                }
                None => return Err(bad("missing \"field\"".into())),
            };
            let op = match obj.get("op") {
                Some(Value::String(s)) => FilterOp::parse(s).map_err(|e| bad(e.to_string()))?,
                Some(v) => {
                    return Err(bad(format!(
                        "\"op\" must be a string, got {}",
                        v.type_name()
                    )))
                }
                None => return Err(bad("missing \"op\"".into())),
            };
            let Some(value) = obj.get("value").cloned() else {
                return Err(bad("missing \"value\"".into()));
            };
            match (op, &value) {
                (FilterOp::In, Value::Array(_)) => {}
                (FilterOp::In, v) => {
                    return Err(bad(format!(
                        "op \"in\" needs a list value, got {}",
                        v.type_name()
                    )))
                }
                (_, Value::Array(_) | Value::Object(_))
                    if op != FilterOp::Eq && op != FilterOp::Ne && op != FilterOp::Contains =>
                {
                    return Err(bad(format!(
                        "op {:?} needs a scalar value, got {}",
                        op.as_str(),
                        value.type_name()
                    )))
                }
                _ => {}
            }
            conditions.push(FilterCondition { field, op, value });
        }
        Ok(MetadataFilter { conditions })
    }

    /// True if there are no conditions.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Whether `metadata` satisfies every condition. Cost: one field lookup and one
    /// comparison per condition.
    pub fn matches(&self, metadata: Option<&Value>) -> bool {
        self.conditions.iter().all(|c| c.matches(metadata))
    }
}

impl FilterCondition {
    /// Whether `metadata` satisfies this condition (see the module docs).
    pub fn matches(&self, metadata: Option<&Value>) -> bool {
        let Some(field) = metadata.and_then(|m| lookup(m, &self.field)) else {
            return self.op == FilterOp::Ne;
        };
        match self.op {
            FilterOp::Eq => values_equal(field, &self.value),
            FilterOp::Ne => !values_equal(field, &self.value),
            FilterOp::Gt => compare(field, &self.value) == Some(Ordering::Greater),
            FilterOp::Gte => matches!(
                compare(field, &self.value),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            FilterOp::Lt => compare(field, &self.value) == Some(Ordering::Less),
            FilterOp::Lte => matches!(
                compare(field, &self.value),
                Some(Ordering::Less | Ordering::Equal)
            ),
            FilterOp::In => match &self.value {
                Value::Array(options) => options.iter().any(|o| values_equal(field, o)),
                _ => false,
            },
            FilterOp::Contains => match (field, &self.value) {
                (Value::String(s), Value::String(needle)) => s.contains(needle.as_str()),
                (Value::Array(items), v) => items.iter().any(|i| values_equal(i, v)),
                _ => false,
            },
        }
    }
}

fn lookup<'a>(metadata: &'a Value, field: &str) -> Option<&'a Value> {
    let Value::Object(obj) = metadata else {
        return None;
    };
    if let Some(v) = obj.get(field) {
        return Some(v);
    }
    if !field.contains('.') {
        return None;
    }
    let mut cur = metadata;
    for part in field.split('.') {
        match cur {
            Value::Object(o) => cur = o.get(part)?,
            _ => return None,
        }
    }
    Some(cur)
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            compare(a, b) == Some(Ordering::Equal)
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

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            a.as_f64()?.partial_cmp(&b.as_f64()?)
        }
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<IndexMap<_, _>>(),
        )
    }

    fn cond(field: &str, op: &str, value: Value) -> Value {
        obj(vec![
            ("field", field.into()),
            ("op", op.into()),
            ("value", value),
        ])
    }

    fn filter(conds: Vec<Value>) -> MetadataFilter {
        match MetadataFilter::parse(&Value::Array(conds)) {
            Ok(f) => f,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    fn doc() -> Value {
        obj(vec![
            ("category", "science".into()),
            ("year", Value::Int(2021)),
            ("score", Value::Float(0.5)),
            ("tags", Value::Array(vec!["ai".into(), "db".into()])),
            ("author", obj(vec![("name", "Ada".into())])),
        ])
    }

    #[test]
    fn each_operator() {
        let d = doc();
        let m = Some(&d);
        let check = |c: Value| filter(vec![c]).matches(m);
        assert!(check(cond("category", "eq", "science".into())));
        assert!(!check(cond("category", "eq", "art".into())));
        assert!(check(cond("category", "ne", "art".into())));
        assert!(check(cond("missing", "ne", "art".into())));
        assert!(!check(cond("missing", "eq", Value::Null)));
        assert!(check(cond("year", "eq", Value::Float(2021.0))));
        assert!(check(cond("year", "gt", Value::Int(2020))));
        assert!(!check(cond("year", "gt", Value::Int(2021))));
        assert!(check(cond("year", "gte", Value::Int(2021))));
        assert!(check(cond("score", "lt", Value::Int(1))));
        assert!(check(cond("score", "lte", Value::Float(0.5))));
        assert!(!check(cond("category", "gt", Value::Int(3))));
        assert!(check(cond("category", "gt", "art".into())));
        assert!(check(cond(
            "category",
            "in",
            Value::Array(vec!["art".into(), "science".into()])
        )));
        assert!(!check(cond(
            "year",
            "in",
            Value::Array(vec![Value::Int(1)])
        )));
        assert!(check(cond("tags", "contains", "db".into())));
        assert!(check(cond("category", "contains", "cien".into())));
        assert!(!check(cond("year", "contains", Value::Int(2))));
        assert!(check(cond("author.name", "eq", "Ada".into())));
        assert!(!filter(vec![cond("year", "eq", Value::Int(1))]).matches(None));
    }

    #[test]
    fn conditions_are_anded() {
        let d = doc();
        let both = filter(vec![
            cond("category", "eq", "science".into()),
            cond("year", "gte", Value::Int(2020)),
        ]);
        assert!(both.matches(Some(&d)));
        let one_fails = filter(vec![
            cond("category", "eq", "science".into()),
            cond("year", "gte", Value::Int(2030)),
        ]);
        assert!(!one_fails.matches(Some(&d)));
        assert!(MetadataFilter::default().matches(None));
    }

    #[test]
    fn parse_errors_are_clear() {
        let err = |v: Value| match MetadataFilter::parse(&v) {
            Ok(f) => panic!("expected an error, parsed {f:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err(Value::Int(3)).contains("must be a list"));
        assert!(err(Value::Array(vec![Value::Int(1)])).contains("condition 0"));
        let e = err(Value::Array(vec![cond("a", "like", Value::Int(1))]));
        assert!(e.contains("like") && e.contains("contains"), "{e}");
        assert!(err(Value::Array(vec![obj(vec![("op", "eq".into())])])).contains("field"));
        assert!(err(Value::Array(vec![obj(vec![
            ("field", "a".into()),
            ("op", "eq".into())
        ])]))
        .contains("value"));
        assert!(err(Value::Array(vec![cond("a", "in", Value::Int(1))])).contains("list"));
        assert!(err(Value::Array(vec![cond("a", "gt", Value::Array(vec![]))])).contains("scalar"));
        let mut extra = doc();
        if let Value::Object(o) = &mut extra {
            o.clear();
            o.insert("field".into(), "a".into());
            o.insert("op".into(), "eq".into());
            o.insert("value".into(), Value::Int(1));
            o.insert("oops".into(), Value::Int(1));
        }
        assert!(err(Value::Array(vec![extra])).contains("oops"));
        assert!(MetadataFilter::parse(&Value::Null).is_ok_and(|f| f.is_empty()));
    }
}
