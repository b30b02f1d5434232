//! The one value type every primitive stores, and its compact binary encoding.
//!
//! # Encoding (format version 1)
//!
//! An encoded value is one format-version byte ([`VALUE_FORMAT_VERSION`]) followed by
//! a tagged tree:
//!
//! | tag | type | payload |
//! |-----|------|---------|
//! | 0 | Null | — |
//! | 1 | Bool false | — |
//! | 2 | Bool true | — |
//! | 3 | Int | zig-zag LEB128 varint |
//! | 4 | Float | 8 bytes, IEEE-754 little endian (NaN and infinities round-trip) |
//! | 5 | String | varint byte length, UTF-8 bytes |
//! | 6 | Bytes | varint length, raw bytes |
//! | 7 | Array | varint count, then each element |
//! | 8 | Object | varint count, then (varint key length, UTF-8 key, value) in insertion order |
//!
//! Decoding never panics: truncated, over-long or malformed input gives
//! [`ValueDecodeError`]. Nesting deeper than [`MAX_NESTING`] is refused on both
//! encode-side validation and decode, so a hostile file cannot overflow the stack.

use indexmap::IndexMap;
use std::fmt;

/// Format byte written in front of every encoded value. Readers refuse unknown versions.
pub const VALUE_FORMAT_VERSION: u8 = 1;

/// Deepest nesting of arrays and objects accepted anywhere (encode, decode, Python).
pub const MAX_NESTING: usize = 256;

/// A dynamically typed value: the spec's type table (Null, Bool, Int, Float, String,
/// Bytes, Array, Object). Objects keep their insertion order.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// The absence of a value (Python `None`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float; NaN and infinities are kept as they are.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An ordered list of values.
    Array(Vec<Value>),
    /// A map from string keys to values, in insertion order.
    Object(IndexMap<String, Value>),
}

/// Why a byte string could not be decoded as a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueDecodeError {
    /// The input was empty.
    #[error("empty value encoding")]
    Empty,
    /// The leading format byte names a version this build cannot read.
    #[error("unsupported value format version {0}")]
    UnsupportedVersion(u8),
    /// The input ended inside a value.
    #[error("value encoding truncated")]
    Truncated,
    /// An unknown type tag.
    #[error("unknown value tag {0}")]
    UnknownTag(u8),
    /// A string or key was not valid UTF-8.
    #[error("invalid UTF-8 in encoded string")]
    InvalidUtf8,
    /// A varint was longer than 10 bytes or overflowed.
    #[error("malformed varint")]
    BadVarint,
    /// Arrays/objects nested deeper than [`MAX_NESTING`].
    #[error("value nested deeper than {MAX_NESTING} levels")]
    TooDeep,
    /// Bytes were left over after the value.
    #[error("trailing bytes after value")]
    TrailingBytes,
}

impl Value {
    /// Name of the value's type as used in error messages (`"int"`, `"object"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Depth of nesting: 0 for scalars, 1 for a flat array or object, and so on.
    /// Cost: walks the whole value.
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(a) => 1 + a.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Returns the string if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the integer if this is an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Numeric view of `Int` and `Float` values (used by filters and comparisons).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Encodes the value with its format byte. Cost: one allocation, linear in size.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding (format byte included) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(VALUE_FORMAT_VERSION);
        encode_tree(self, out);
    }

    /// Decodes a value written by [`Value::encode`]. Never panics on bad input.
    pub fn decode(bytes: &[u8]) -> Result<Value, ValueDecodeError> {
        Value::decode_with(bytes, &mut TreeBuilder)
    }

    /// Decodes a value written by [`Value::encode`] straight into the caller's own
    /// representation, built by `builder` bottom-up (strings and bytes are handed over
    /// borrowed from `bytes`), so no [`Value`] tree is made in between: the Python
    /// binding builds Python objects this way. Checks exactly what
    /// [`Value::decode`] checks. Cost: one pass over `bytes`.
    pub fn decode_with<B: ValueBuilder>(bytes: &[u8], builder: &mut B) -> Result<B::Out, B::Error> {
        let (&version, rest) = bytes.split_first().ok_or(ValueDecodeError::Empty)?;
        if version != VALUE_FORMAT_VERSION {
            return Err(ValueDecodeError::UnsupportedVersion(version).into());
        }
        let mut reader = Reader { buf: rest, pos: 0 };
        let value = reader.value(builder, 0)?;
        if reader.pos != rest.len() {
            return Err(ValueDecodeError::TrailingBytes.into());
        }
        Ok(value)
    }

    /// Feeds this value to `builder` the way [`Value::decode_with`] feeds an encoded
    /// one, so one builder turns both stored bytes and values in memory into the
    /// caller's representation. Cost: one walk over the value.
    pub fn build<B: ValueBuilder>(&self, builder: &mut B) -> Result<B::Out, B::Error> {
        match self {
            Value::Null => builder.null(),
            Value::Bool(b) => builder.bool(*b),
            Value::Int(i) => builder.int(*i),
            Value::Float(f) => builder.float(*f),
            Value::String(s) => builder.string(s),
            Value::Bytes(b) => builder.bytes(b),
            Value::Array(items) => {
                let built = items
                    .iter()
                    .map(|v| v.build(builder))
                    .collect::<Result<Vec<_>, _>>()?;
                builder.array(built)
            }
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (k, v) in map {
                    entries.push((k.as_str(), v.build(builder)?));
                }
                builder.object(entries)
            }
        }
    }

    /// Every string inside the value (object keys excluded), depth first. Used by text
    /// indexing. Cost: walks the whole value.
    pub fn collect_text<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| v.collect_text(out)),
            Value::Object(o) => o.values().for_each(|v| v.collect_text(out)),
            _ => {}
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn encode_tree(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Int(i) => {
            out.push(3);
            put_varint(out, ((*i << 1) ^ (*i >> 63)) as u64);
        }
        Value::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::String(s) => {
            out.push(5);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(6);
            put_varint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Array(a) => {
            out.push(7);
            put_varint(out, a.len() as u64);
            for item in a {
                encode_tree(item, out);
            }
        }
        Value::Object(o) => {
            out.push(8);
            put_varint(out, o.len() as u64);
            for (k, item) in o {
                put_varint(out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                encode_tree(item, out);
            }
        }
    }
}

/// Builds a decoded value from its parts; see [`Value::decode_with`]. Containers are
/// built after their elements.
pub trait ValueBuilder {
    /// What one (sub)value becomes.
    type Out;
    /// The builder's error; decode errors convert into it.
    type Error: From<ValueDecodeError>;
    /// A null.
    fn null(&mut self) -> Result<Self::Out, Self::Error>;
    /// A boolean.
    fn bool(&mut self, b: bool) -> Result<Self::Out, Self::Error>;
    /// An integer.
    fn int(&mut self, i: i64) -> Result<Self::Out, Self::Error>;
    /// A float.
    fn float(&mut self, f: f64) -> Result<Self::Out, Self::Error>;
    /// A string (valid UTF-8, checked).
    fn string(&mut self, s: &str) -> Result<Self::Out, Self::Error>;
    /// Raw bytes.
    fn bytes(&mut self, b: &[u8]) -> Result<Self::Out, Self::Error>;
    /// An array of already built elements.
    fn array(&mut self, items: Vec<Self::Out>) -> Result<Self::Out, Self::Error>;
    /// An object: already built values under their keys, in stored order (a key that
    /// repeats replaces the earlier entry, as in [`Value::decode`]).
    fn object(&mut self, entries: Vec<(&str, Self::Out)>) -> Result<Self::Out, Self::Error>;
}

/// The builder behind [`Value::decode`].
struct TreeBuilder;

impl ValueBuilder for TreeBuilder {
    type Out = Value;
    type Error = ValueDecodeError;
    fn null(&mut self) -> Result<Value, ValueDecodeError> {
        Ok(Value::Null)
    }
    fn bool(&mut self, b: bool) -> Result<Value, ValueDecodeError> {
        Ok(Value::Bool(b))
    }
    fn int(&mut self, i: i64) -> Result<Value, ValueDecodeError> {
        Ok(Value::Int(i))
    }
    fn float(&mut self, f: f64) -> Result<Value, ValueDecodeError> {
        Ok(Value::Float(f))
    }
    fn string(&mut self, s: &str) -> Result<Value, ValueDecodeError> {
        Ok(Value::String(s.to_owned()))
    }
    fn bytes(&mut self, b: &[u8]) -> Result<Value, ValueDecodeError> {
        Ok(Value::Bytes(b.to_vec()))
    }
    fn array(&mut self, items: Vec<Value>) -> Result<Value, ValueDecodeError> {
        Ok(Value::Array(items))
    }
    fn object(&mut self, entries: Vec<(&str, Value)>) -> Result<Value, ValueDecodeError> {
        let mut map = IndexMap::with_capacity(entries.len());
        for (k, v) in entries {
            map.insert(k.to_owned(), v);
        }
        Ok(Value::Object(map))
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, ValueDecodeError> {
        let b = *self.buf.get(self.pos).ok_or(ValueDecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueDecodeError> {
        let end = self.pos.checked_add(n).ok_or(ValueDecodeError::Truncated)?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(ValueDecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, ValueDecodeError> {
        let mut result: u64 = 0;
        for i in 0..10 {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if i == 9 && part > 1 {
                return Err(ValueDecodeError::BadVarint);
            }
            result |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        Err(ValueDecodeError::BadVarint)
    }

    /// A length that must fit in the remaining input (each item takes >= 1 byte).
    fn len(&mut self) -> Result<usize, ValueDecodeError> {
        let n = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            return Err(ValueDecodeError::Truncated);
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<&'a str, ValueDecodeError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| ValueDecodeError::InvalidUtf8)
    }

    fn value<B: ValueBuilder>(&mut self, b: &mut B, depth: usize) -> Result<B::Out, B::Error> {
        match self.byte()? {
            0 => b.null(),
            1 => b.bool(false),
            2 => b.bool(true),
            3 => {
                let z = self.varint()?;
                b.int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            4 => {
                let raw = self.take(8)?;
                let mut arr = [0u8; 8];
                arr.copy_from_slice(raw);
                b.float(f64::from_le_bytes(arr))
            }
            5 => {
                let s = self.string()?;
                b.string(s)
            }
            6 => {
                let n = self.len()?;
                let raw = self.take(n)?;
                b.bytes(raw)
            }
            7 => {
                if depth >= MAX_NESTING {
                    return Err(ValueDecodeError::TooDeep.into());
                }
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(b, depth + 1)?);
                }
                b.array(items)
            }
            8 => {
                if depth >= MAX_NESTING {
                    return Err(ValueDecodeError::TooDeep.into());
                }
                let n = self.len()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.string()?;
                    let v = self.value(b, depth + 1)?;
                    entries.push((k, v));
                }
                b.object(entries)
            }
            t => Err(ValueDecodeError::UnknownTag(t).into()),
        }
    }
}

impl fmt::Display for Value {
    /// JSON-like rendering (bytes as `b"..."` hex-free length marker). Used in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Value::Array(a) => {
                write!(f, "[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Object(o) => {
                write!(f, "{{")?;
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

macro_rules! from_impl {
    ($t:ty, $v:ident, $e:expr) => {
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        }
    };
}
from_impl!(bool, v, Value::Bool(v));
from_impl!(i64, v, Value::Int(v));
from_impl!(i32, v, Value::Int(i64::from(v)));
from_impl!(f64, v, Value::Float(v));
from_impl!(&str, v, Value::String(v.to_owned()));
from_impl!(String, v, Value::String(v));
from_impl!(Vec<u8>, v, Value::Bytes(v));
from_impl!(Vec<Value>, v, Value::Array(v));
from_impl!(IndexMap<String, Value>, v, Value::Object(v));

impl From<serde_json::Value> for Value {
    /// Converts JSON (numbers become Int when they fit in i64, else Float).
    fn from(j: serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            ".*".prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((".{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn same(a: &Value, b: &Value) -> bool {
        a.encode() == b.encode()
    }

    proptest! {
        #[test]
        fn round_trip(v in arb_value()) {
            let bytes = v.encode();
            let back = Value::decode(&bytes).expect("decodes");
            prop_assert!(same(&v, &back));
            // `build` feeds a builder the same parts decoding does.
            let built = v.build(&mut TreeBuilder).expect("builds");
            prop_assert!(same(&v, &built));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Value::decode(&bytes);
        }

        #[test]
        fn truncation_is_an_error(v in arb_value(), cut in 0usize..64) {
            let bytes = v.encode();
            if cut < bytes.len() {
                prop_assert!(Value::decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn nan_and_infinity_round_trip() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
            let back = Value::decode(&Value::Float(f).encode()).expect("decodes");
            match back {
                Value::Float(g) => assert_eq!(f.to_bits(), g.to_bits()),
                other => panic!("expected float, got {other:?}"),
            }
        }
    }

    #[test]
    fn too_deep_is_refused() {
        let mut v = Value::Null;
        for _ in 0..(MAX_NESTING + 1) {
            v = Value::Array(vec![v]);
        }
        assert_eq!(Value::decode(&v.encode()), Err(ValueDecodeError::TooDeep));
    }

    #[test]
    fn unknown_version_refused() {
        assert_eq!(
            Value::decode(&[9, 0]),
            Err(ValueDecodeError::UnsupportedVersion(9))
        );
    }
}
