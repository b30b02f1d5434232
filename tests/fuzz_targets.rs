//! The cargo-fuzz targets (`fuzz/`) run as proptest property tests, so CI exercises
//! them on every run with the stable toolchain. The bodies are shared with the
//! libFuzzer binaries (`fuzz/bodies.rs`); here the inputs come from structured
//! strategies (valid encodings, then mutated; path grammar tokens; filter shapes;
//! bundles of crafted primitive records framed with valid checksums), which reach
//! deeper than random bytes in a few hundred cases.
//!
//! Crashes found by fuzzing are kept as named regression tests at the end.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use strata::Value;

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(1.0)
        ]
        .prop_map(Value::Float),
        "[a-z0-9 ._\\-]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,3}", inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().collect::<IndexMap<String, Value>>())
            }),
        ]
    })
}

/// Byte-level damage: flip, truncate, insert or overwrite.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Set(usize, u8),
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        ],
        0..4,
    )
}

fn mutate(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = bytes.len();
        match *m {
            Mutation::Flip(i, b) if n > 0 => bytes[i % n] ^= b,
            Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
            Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Mutation::Set(i, b) if n > 0 => bytes[i % n] = b,
            _ => {}
        }
    }
    bytes
}

const PATH_TOKENS: &[&str] = &[
    ".a",
    ".n",
    ".x",
    ".y",
    ".z",
    ".k",
    ".tags",
    ".name",
    ".*",
    "[0]",
    "[1]",
    "[-1]",
    "[5]",
    "[-7]",
    "[*]",
    "['a']",
    "[\"n\"]",
    "['first name']",
    "['\\u00e9']",
    "['\\ud800']",
    "[9007199254740991]",
    "[-9007199254740992]",
    "[?@.b]",
    "[?@ > 1]",
    "[?@ == 'red']",
    "[?(@.y || !@.z)]",
    "[?@.k[0] >= 10 && @.k[-1] < 31]",
    "[?$.name == 'doc']",
    "[?!(@)]",
    "[?@ != null]",
    "..",
    "[1:2]",
    "[0,1]",
    "[",
    "]",
    "'",
    " ",
    "$",
    "@",
    ".",
    "[?",
    "(",
    ")",
    "\u{0}",
    "é",
    "[00]",
    "[-0]",
    "[ 0 ]",
];

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(PATH_TOKENS), 0..8)
            .prop_map(|t| format!("${}", t.concat())),
        1 => any::<String>(),
        1 => "\\$[\\[\\]\\.\\?@a-z0-9'\" *!=<>()&|-]{0,24}",
    ]
}

fn arb_filter() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("lang".to_string()),
        Just("n".to_string()),
        Just("a.b".to_string()),
        Just("".to_string()),
        "[a-z.]{0,6}",
    ];
    let op = prop_oneof![
        proptest::sample::select(&["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"][..])
            .prop_map(str::to_string),
        "[a-z]{0,4}",
    ];
    let cond = (field, op, arb_value(), any::<bool>()).prop_map(|(f, o, v, extra)| {
        let mut m = IndexMap::new();
        m.insert("field".to_string(), Value::from(f));
        m.insert("op".to_string(), Value::from(o));
        m.insert("value".to_string(), v);
        if extra {
            m.insert("extra".to_string(), Value::Null);
        }
        Value::Object(m)
    });
    prop_oneof![
        4 => proptest::collection::vec(cond, 0..4).prop_map(Value::Array),
        1 => arb_value(),
    ]
}

fn arb_metadata() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_value(),
        (arb_scalar(), arb_scalar(), arb_scalar()).prop_map(|(lang, n, b)| {
            obj(vec![("lang", lang), ("n", n), ("a", obj(vec![("b", b)]))])
        }),
    ]
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A record key in one primitive's layout (see ARCHITECTURE.md), sometimes damaged.
fn arb_record_key() -> impl Strategy<Value = (i64, Vec<u8>, Value)> {
    let seq = any::<u64>().prop_map(|s| s % 8);
    prop_oneof![
        // kv / state / json
        (1..=4i64, "[a-z]{1,4}", arb_value()).prop_map(|(t, k, v)| (t, k.into_bytes(), v)),
        // events: entries, type index, head
        (seq.clone(), arb_value()).prop_map(|(s, v)| {
            let mut k = b"e".to_vec();
            k.extend_from_slice(&s.to_be_bytes());
            (3, k, v)
        }),
        (seq, "[a-z]{0,3}").prop_map(|(s, t)| {
            let mut k = b"t".to_vec();
            k.extend_from_slice(t.as_bytes());
            k.push(0);
            k.extend_from_slice(&s.to_be_bytes());
            (3, k, Value::Null)
        }),
        (
            any::<i64>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<bool>()
        )
            .prop_map(|(len, hash, honest)| {
                let len = if honest { len.rem_euclid(8) } else { len };
                (
                    3,
                    b"h".to_vec(),
                    obj(vec![
                        ("len", Value::Int(len)),
                        ("last_hash", Value::Bytes(hash)),
                    ]),
                )
            }),
        (
            any::<u64>(),
            arb_value(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(s, payload, hash)| {
                let mut k = b"e".to_vec();
                k.extend_from_slice(&(s % 8).to_be_bytes());
                (
                    3,
                    k,
                    obj(vec![
                        ("type", Value::from("t")),
                        ("payload", payload),
                        ("hash", Value::Bytes(hash)),
                    ]),
                )
            }),
        // vectors: collection config and vector records
        (
            prop_oneof![Just(3i64), Just(0), Just(-1), Just(1 << 40), any::<i64>()],
            prop_oneof![
                Just(Value::from("cosine")),
                Just(Value::from("euclidean")),
                Just(Value::from("dot_product")),
                arb_scalar()
            ],
            any::<i64>()
        )
            .prop_map(|(dim, metric, created)| {
                (
                    5,
                    b"cc".to_vec(),
                    obj(vec![
                        ("dimension", Value::Int(dim)),
                        ("metric", metric),
                        ("created", Value::Int(created)),
                    ]),
                )
            }),
        (
            "[a-z]{1,3}",
            proptest::collection::vec(any::<u8>(), 0..20),
            prop_oneof![arb_value(), Just(Value::Null)],
            any::<bool>()
        )
            .prop_map(|(key, emb, meta, floats)| {
                let emb = if floats {
                    [0.5f32, -1.0, 2.0]
                        .iter()
                        .flat_map(|f| f.to_le_bytes())
                        .collect()
                } else {
                    emb
                };
                let mut k = b"vc\0".to_vec();
                k.extend_from_slice(key.as_bytes());
                (
                    5,
                    k,
                    obj(vec![("embedding", Value::Bytes(emb)), ("metadata", meta)]),
                )
            }),
        // unknown tags
        (
            any::<i64>(),
            proptest::collection::vec(any::<u8>(), 0..8),
            arb_value()
        ),
    ]
}

fn arb_versions() -> impl Strategy<Value = Value> {
    let entries = proptest::collection::vec(
        (
            1..4u64,
            prop::bool::weighted(0.1),
            any::<u64>(),
            prop::bool::weighted(0.2),
        ),
        1..3,
    );
    prop_oneof![9 => entries, 1 => Just(Vec::new())].prop_map(|v| {
        let mut ver = 0i64;
        Value::Array(
            v.into_iter()
                .map(|(step, wild_ts, ts, tomb)| {
                    ver += step as i64;
                    let ts = if wild_ts {
                        ts as i64
                    } else {
                        1_700_000_000_000_000 + ver
                    };
                    Value::Array(vec![
                        Value::Int(ver),
                        Value::Int(ts),
                        Value::Null,
                        Value::Bool(tomb),
                    ])
                })
                .collect(),
        )
    })
}

fn arb_bundle() -> impl Strategy<Value = Vec<u8>> {
    let record = (
        prop_oneof![8 => Just("default".to_string()), 2 => "[a-z]{1,3}", 1 => any::<String>()],
        arb_record_key(),
        arb_versions(),
        any::<bool>(),
    )
        .prop_map(|(space, (tag, key, value), versions, honest)| {
            // Put the crafted value into every version that is not a tombstone.
            let versions = match versions {
                Value::Array(vs) if honest && vs.is_empty() => {
                    Value::Array(vec![Value::Array(vec![
                        Value::Int(1),
                        Value::Int(1_700_000_000_000_000),
                        value.clone(),
                        Value::Bool(false),
                    ])])
                }
                Value::Array(vs) => Value::Array(
                    vs.into_iter()
                        .map(|e| match e {
                            Value::Array(mut f) => {
                                f[2] = value.clone();
                                Value::Array(f)
                            }
                            other => other,
                        })
                        .collect(),
                ),
                other => other,
            };
            Value::Array(vec![
                Value::from(space),
                Value::Int(tag),
                Value::Bytes(key),
                versions,
            ])
            .encode()
        });
    let header = prop_oneof![
        9 => "[a-z]{1,8}".prop_map(|b| obj(vec![("branch", Value::from(b))])),
        1 => arb_value(),
    ]
    .prop_map(|h| h.encode());
    (header, proptest::collection::vec(record, 0..6)).prop_map(|(h, recs)| {
        let mut payloads: Vec<&[u8]> = vec![&h];
        payloads.extend(recs.iter().map(Vec::as_slice));
        bodies::frame_bundle(&payloads)
    })
}

/// A real bundle of a branch using every primitive.
fn real_bundle() -> Vec<u8> {
    let db = strata::Strata::cache().expect("cache");
    let s = db.session();
    s.kv_put("k", Value::from("v")).expect("put");
    s.state_set("c", Value::Int(1)).expect("state");
    s.event_append("t", Value::from("e")).expect("event");
    s.json_set("d", "$.a", Value::Int(1)).expect("json");
    s.vector_create_collection("c", 3, None)
        .expect("collection");
    s.vector_upsert(
        "c",
        "v",
        &[1.0, 0.0, 0.0],
        Some(obj(vec![("m", Value::Int(1))])),
    )
    .expect("upsert");
    s.set_space("other").expect("space");
    s.kv_put("k2", Value::Int(2)).expect("put");
    s.kv_delete("k2").expect("delete");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("b.bundle");
    s.branch_export("default", &path).expect("export");
    std::fs::read(&path).expect("read")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn value_decode_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        bodies::value_decode(&data);
    }

    #[test]
    fn value_decode_mutated_encodings(v in arb_value(), muts in arb_mutations()) {
        bodies::value_decode(&v.encode());
        bodies::value_decode(&mutate(v.encode(), &muts));
    }

    #[test]
    fn jsonpath_parse_and_eval(path in arb_path(), doc in prop_oneof![Just(None), arb_value().prop_map(Some)]) {
        let mut data = path.into_bytes();
        if let Some(doc) = doc {
            data.push(0xFF);
            data.extend_from_slice(&doc.encode());
        }
        bodies::jsonpath(&data);
    }

    #[test]
    fn filter_parse_and_match(filter in arb_filter(), meta in arb_metadata()) {
        let mut data = filter.encode();
        data.push(0xFF);
        data.extend_from_slice(&meta.encode());
        bodies::filter_parse(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn bundle_read_crafted_records(file in arb_bundle()) {
        bodies::bundle_file(&file);
    }

    #[test]
    fn bundle_read_damaged_real_bundle(muts in arb_mutations()) {
        static REAL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let real = REAL.get_or_init(real_bundle);
        bodies::bundle_file(&mutate(real.clone(), &muts));
    }

    #[test]
    fn bundle_read_raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..96)) {
        bodies::bundle_read(&data);
    }
}

#[test]
fn real_bundle_round_trips() {
    bodies::bundle_file(&real_bundle());
}

/// The crafted-record generator must get past validation often, or the decoders
/// behind it go untested.
#[test]
fn crafted_bundles_mostly_import() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let before = bodies::IMPORTED.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..64 {
        let file = arb_bundle()
            .new_tree(&mut runner)
            .expect("generate")
            .current();
        bodies::bundle_file(&file);
    }
    let imported = bodies::IMPORTED.load(std::sync::atomic::Ordering::Relaxed) - before;
    eprintln!("{imported} of 64 crafted bundles imported");
    assert!(
        imported >= 16,
        "only {imported} of 64 crafted bundles imported"
    );
}
