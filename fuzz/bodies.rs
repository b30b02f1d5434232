//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/`,
//! libFuzzer) and the proptest runs that CI executes (`tests/fuzz_targets.rs`), which
//! include this file with `#[path]`.
//!
//! Each body takes arbitrary bytes and must return normally: an error result is
//! fine, a panic (or an abort from a huge allocation) is a bug. Each also asserts a
//! property that would catch silently wrong answers.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// How many bundles [`bundle_file`] imported (the proptest runs check that their
/// generators get past validation).
pub static IMPORTED: AtomicUsize = AtomicUsize::new(0);
use strata::{Session, Strata, Value};
use strata_json::JsonPath;
use strata_storage::MAX_NESTING;
use strata_vector::MetadataFilter;

/// `Value::decode` on any bytes: never panics; what decodes re-encodes to bytes that
/// decode to the same value, and is never nested deeper than `MAX_NESTING`.
pub fn value_decode(data: &[u8]) {
    if let Ok(v) = Value::decode(data) {
        assert!(v.depth() <= MAX_NESTING + 1, "decoded value too deep");
        let enc = v.encode();
        let back = Value::decode(&enc).expect("an encoded value decodes");
        // Compare encodings, not values: NaN != NaN.
        assert_eq!(
            back.encode(),
            enc,
            "decode/encode round trip changed the value"
        );
    }
}

/// A small document exercising objects, arrays, nesting and every scalar type.
pub fn sample_doc() -> Value {
    serde_json::json!({
        "a": [1, 2.5, "three", null, true, {"b": [[], {}]}],
        "name": "doc",
        "n": {"x": {"y": {"z": 1}}, "k": [10, 20, 30]},
        "e": "",
        "tags": ["red", "green"],
        "f": -0.0
    })
    .into()
}

/// Splits `data` at its first 0xFF byte: text before, the rest after.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// `JsonPath::parse` on any text, then get / set / delete on a small document (or on
/// a document decoded from the bytes after the first 0xFF). Never panics; a
/// successful `set` on a singular path makes `get` return the value set; no document
/// ever gets deeper than `MAX_NESTING`.
pub fn jsonpath(data: &[u8]) {
    let (text, rest) = split(data);
    let text = String::from_utf8_lossy(text);
    let Ok(path) = JsonPath::parse(&text) else {
        return;
    };
    let doc = match Value::decode(rest) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
        _ => sample_doc(),
    };
    let _ = strata_json::get(&doc, &path);
    let _ = path.select(&doc);
    let mut written = doc.clone();
    let value = Value::from("fuzz");
    if strata_json::set(&mut written, &path, value.clone()).is_ok() {
        assert!(
            written.depth() <= MAX_NESTING + 1,
            "set made the doc too deep"
        );
        if path.is_singular() {
            assert_eq!(
                strata_json::get(&written, &path),
                Some(value),
                "get after set on {:?}",
                path.as_str()
            );
        }
    }
    let mut deleted = doc;
    if let Ok(n) = strata_json::delete(&mut deleted, &path) {
        if n == 0 {
            // Nothing removed: the document is unchanged.
            let again = match Value::decode(rest) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                _ => sample_doc(),
            };
            assert_eq!(
                deleted.encode(),
                again.encode(),
                "delete of {:?} removed nothing but changed the document",
                path.as_str()
            );
        }
    }
}

/// `MetadataFilter::parse` on a decoded value. Never panics; a parsed filter can be
/// evaluated on any metadata, and `eq` / `ne` on the same field and value are exact
/// complements.
pub fn filter_parse(data: &[u8]) {
    let (filter_bytes, meta_bytes) = split(data);
    let Ok(v) = Value::decode(filter_bytes) else {
        return;
    };
    let meta = Value::decode(meta_bytes).ok();
    let Ok(filter) = MetadataFilter::parse(&v) else {
        return;
    };
    for m in [meta.as_ref(), Some(&v), Some(&sample_doc()), None] {
        let _ = filter.matches(m);
        for c in &filter.conditions {
            let mut eq = c.clone();
            eq.op = strata_vector::FilterOp::Eq;
            let mut ne = c.clone();
            ne.op = strata_vector::FilterOp::Ne;
            assert_ne!(
                eq.matches(m),
                ne.matches(m),
                "eq and ne agree on {:?} for {m:?}",
                c.field
            );
        }
    }
}

/// A cache database shared by every run of [`bundle_read`].
fn bundle_db() -> &'static Mutex<(Strata, tempfile::TempDir)> {
    static DB: OnceLock<Mutex<(Strata, tempfile::TempDir)>> = OnceLock::new();
    DB.get_or_init(|| {
        let db = Strata::cache().expect("cache database");
        let dir = tempfile::tempdir().expect("tempdir");
        let s = db.session();
        s.kv_put("k", Value::from("default branch data"))
            .expect("put");
        Mutex::new((db, dir))
    })
}

/// Frames `payloads` as a bundle with valid magic, checksums and trailer, so fuzzing
/// reaches the record decoders behind the checksums: payload 0 is the header.
pub fn frame_bundle(payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = b"STRATABN".to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    for p in payloads {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(&crc32fast::hash(p).to_le_bytes());
    }
    let body_crc = crc32fast::hash(&out);
    out.extend_from_slice(b"STRATAEN");
    out.extend_from_slice(&(payloads.len().saturating_sub(1) as u64).to_le_bytes());
    out.extend_from_slice(&body_crc.to_le_bytes());
    out
}

/// Splits `data` into payloads at each `0xFE 0xFE` pair.
fn payloads(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xFE && data[i + 1] == 0xFE {
            out.push(&data[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}

/// Bundle reading on any file: `validate_bundle`, then `import_branch`, then every
/// read of every primitive on the imported branch, then an export of it that must
/// validate again. With the first byte odd, the rest is split into payloads that are
/// framed with valid checksums ([`frame_bundle`]), so the decoders behind them are
/// reached; with it even, the bytes are the file as is. Never panics; a bundle that
/// validates imports (or is refused with an error) and leaves the default branch
/// untouched.
pub fn bundle_read(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = if mode & 1 == 1 {
        frame_bundle(&payloads(rest))
    } else {
        rest.to_vec()
    };
    bundle_file(&file);
}

/// [`bundle_read`] on a whole file's bytes.
pub fn bundle_file(file: &[u8]) {
    let guard = bundle_db().lock().unwrap_or_else(|e| e.into_inner());
    let (db, dir) = &*guard;
    let path = dir.path().join("in.bundle");
    std::fs::write(&path, file).expect("write bundle");
    let s = db.session();
    let valid = s.branch_validate_bundle(&path);
    let imported = s.branch_import(&path, Some("fz"));
    assert!(
        valid.is_ok() || imported.is_err(),
        "a bundle that does not validate was imported"
    );
    if imported.is_ok() {
        IMPORTED.fetch_add(1, Ordering::Relaxed);
        let f = db.session();
        f.set_branch("fz").expect("imported branch exists");
        read_everything(&f);
        let out = dir.path().join("out.bundle");
        f.branch_export("fz", &out)
            .expect("exporting an imported branch");
        f.branch_validate_bundle(&out)
            .expect("a re-exported bundle validates");
        let _ = s.diff_branches("default", "fz");
        s.delete_branch("fz").expect("delete imported branch");
    }
    assert_eq!(
        s.kv_get("k", None).expect("default branch readable"),
        Some(Value::from("default branch data")),
        "importing changed the default branch"
    );
}

/// Every read of every primitive in every space of the session's branch. Errors are
/// fine (the data may be garbage for its primitive); panics are not.
pub fn read_everything(s: &Session) {
    let spaces = s.list_spaces().unwrap_or_default();
    for space in spaces {
        if s.set_space(&space).is_err() {
            continue;
        }
        for k in s.kv_list(None).unwrap_or_default().iter().take(50) {
            let _ = s.kv_get(k, None);
            let _ = s.kv_history(k);
        }
        for c in s.state_list(None).unwrap_or_default().iter().take(50) {
            let _ = s.state_get_versioned(c);
        }
        if let Ok(n) = s.event_len() {
            for seq in 0..n.min(50) {
                let _ = s.event_get(seq, None);
            }
        }
        let _ = s.event_list("t", Some(10), None);
        let _ = s.event_verify();
        if let Ok((docs, _)) = s.json_list(50, None, None) {
            for d in docs {
                let _ = s.json_get(&d, "$", None);
                let _ = s.json_get(&d, "$.a[0]", None);
            }
        }
        if let Ok(cols) = s.vector_list_collections() {
            for c in cols.iter().take(5) {
                let _ = s.vector_collection_stats(&c.name);
                if c.dimension > 0 && c.dimension <= strata_vector::MAX_DIMENSION {
                    let q = vec![0.5f32; c.dimension];
                    let _ = s.vector_search(&c.name, &q, 5, None, None, None);
                }
            }
        }
        let _ = s.search(&strata::SearchRequest::new("a"));
    }
}
