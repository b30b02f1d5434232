//! Bundles: one file holding a branch's visible data with full history.
//!
//! # Format (version 1)
//!
//! ```text
//! magic "STRATABN" | format u16 LE | header len u32 LE | header | crc32(header) u32 LE
//! record*:  len u32 LE | payload | crc32(payload) u32 LE
//! trailer:  "STRATAEN" | record count u64 LE | crc32(every byte before the trailer) u32 LE
//! ```
//!
//! The header is an encoded [`Value`] object `{branch, exported_at, source_version,
//! record_count, entry_count}`. Each record payload is an encoded array `[space, tag,
//! key (bytes), versions]`, with `versions` oldest first as `[version, timestamp,
//! value, tombstone]`. Import re-numbers versions into the target database's version
//! sequence (keeping their order) and keeps every timestamp, so `as_of` reads on the
//! imported branch answer as they did on the source.

use crate::catalog::{self, BranchInfo, BranchStats, DEFAULT_SPACE};
use crate::engine::{now_micros, Database};
use crate::error::{Result, StorageError};
use crate::journal::KeyspaceKind;
use crate::keys;
use crate::primitive::CatalogEvent;
use crate::record;
use crate::store::{BranchId, CommitVersion, PrimitiveTag, Scope, Timestamp};
use crate::value::Value;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

const MAGIC: &[u8; 8] = b"STRATABN";
const TRAILER: &[u8; 8] = b"STRATAEN";
/// Current bundle format version.
pub const BUNDLE_FORMAT_VERSION: u16 = 1;

/// Summary of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The exported branch.
    pub branch: String,
    /// Keys exported.
    pub key_count: u64,
    /// Versions exported (all history entries, tombstones included).
    pub entry_count: u64,
    /// File size in bytes.
    pub bytes: u64,
}

/// What [`Database::validate_bundle`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// Format version of the file.
    pub format_version: u16,
    /// Branch name recorded in the bundle.
    pub branch: String,
    /// Keys in the bundle.
    pub key_count: u64,
    /// Versions in the bundle.
    pub entry_count: u64,
    /// When it was exported (µs since epoch).
    pub exported_at: Timestamp,
}

/// Summary of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The branch created.
    pub branch: String,
    /// Keys imported.
    pub key_count: u64,
    /// Versions imported.
    pub entry_count: u64,
}

struct BundleRecord {
    space: String,
    tag: PrimitiveTag,
    key: Vec<u8>,
    versions: Vec<(u64, Timestamp, Option<Value>)>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> StorageError {
    StorageError::corrupt(format!("bundle {}", path.display()), why)
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<IndexMap<_, _>>(),
    )
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(name),
        _ => None,
    }
}

impl Database {
    /// Writes branch `branch` (all visible keys of every space and primitive, with
    /// their full history) to a bundle file at `path` (overwritten). The file is written
    /// to a temporary name and renamed, so a crash never leaves a half bundle under
    /// `path`. Cost: reads every version of every visible key.
    pub fn export_branch(&self, branch: &str, path: impl AsRef<Path>) -> Result<ExportSummary> {
        let path = path.as_ref();
        let id = self.branch_id(branch)?;
        let version = self.committed_version();
        let mut records = Vec::new();
        let mut entry_count = 0u64;
        for space in self.list_spaces(id) {
            let scope = Scope::new(id, space.clone());
            for (tag, keys) in self.visible_space_state(&scope, version)? {
                for key in keys.into_keys() {
                    let mut hist = self.read_history(&scope, tag, &key, version)?;
                    hist.reverse();
                    entry_count += hist.len() as u64;
                    let versions = hist
                        .into_iter()
                        .map(|r| {
                            Value::Array(vec![
                                Value::Int(r.version.0 as i64),
                                Value::Int(r.timestamp as i64),
                                r.value.clone().unwrap_or(Value::Null),
                                Value::Bool(r.value.is_none()),
                            ])
                        })
                        .collect();
                    records.push(
                        Value::Array(vec![
                            Value::String(space.clone()),
                            Value::Int(i64::from(tag.0)),
                            Value::Bytes(key),
                            Value::Array(versions),
                        ])
                        .encode(),
                    );
                }
            }
        }
        let header = obj(vec![
            ("branch", Value::String(branch.to_string())),
            ("exported_at", Value::Int(now_micros() as i64)),
            ("source_version", Value::Int(version.0 as i64)),
            ("record_count", Value::Int(records.len() as i64)),
            ("entry_count", Value::Int(entry_count as i64)),
        ])
        .encode();
        let mut buf = Vec::new();
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&BUNDLE_FORMAT_VERSION.to_le_bytes());
        buf.extend_from_slice(&(header.len() as u32).to_le_bytes());
        buf.extend_from_slice(&header);
        buf.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
        for r in &records {
            buf.extend_from_slice(&(r.len() as u32).to_le_bytes());
            buf.extend_from_slice(r);
            buf.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
        }
        let body_crc = crc32fast::hash(&buf);
        buf.extend_from_slice(TRAILER);
        buf.extend_from_slice(&(records.len() as u64).to_le_bytes());
        buf.extend_from_slice(&body_crc.to_le_bytes());
        let tmp = path.with_extension("bundle-tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(ExportSummary {
            branch: branch.to_string(),
            key_count: records.len() as u64,
            entry_count,
            bytes: buf.len() as u64,
        })
    }

    /// Checks a bundle file (magic, format version, every checksum, record structure)
    /// without importing it. Errors name the file and what is wrong.
    pub fn validate_bundle(&self, path: impl AsRef<Path>) -> Result<BundleInfo> {
        let (info, _) = read_bundle(path.as_ref())?;
        Ok(info)
    }

    /// Imports a bundle as a new branch named `name` (or the name recorded in the
    /// bundle). Refuses if the branch exists. The whole bundle is validated first and
    /// written in one atomic batch: a bad file leaves the database untouched.
    pub fn import_branch(
        &self,
        path: impl AsRef<Path>,
        name: Option<&str>,
    ) -> Result<ImportSummary> {
        let path = path.as_ref();
        let (info, records) = read_bundle(path)?;
        let name = name.map_or(info.branch.clone(), str::to_string);
        catalog::validate_name("branch", &name)?;
        let inner = &self.inner;
        let mut state = inner.commit.lock();
        // Every key of the new branch is new: the absent-key filter must learn them.
        let filter = inner.key_filter.for_commit();
        let mut created: Vec<Vec<u8>> = Vec::new();
        let mut cat = inner.catalog.write();
        if cat.branches.contains_key(&name) {
            return Err(StorageError::AlreadyExists(format!(
                "branch {name:?} already exists; import under another name"
            )));
        }
        let id = BranchId(cat.next_branch_id);
        let originals: BTreeSet<u64> = records
            .iter()
            .flat_map(|r| r.versions.iter().map(|v| v.0))
            .collect();
        let base = state.head_version.0;
        let remap: BTreeMap<u64, u64> = originals
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, base + 1 + i as u64))
            .collect();
        let mut batch = inner.write_set();
        let mut stats = BranchStats::default();
        let mut spaces: BTreeSet<String> = BTreeSet::new();
        spaces.insert(DEFAULT_SPACE.to_string());
        let mut max_ts = state.head_ts;
        let mut oldest = u64::MAX;
        for r in &records {
            spaces.insert(r.space.clone());
            let lk = keys::latest_key(id, &r.space, r.tag, &r.key);
            let mut last = None;
            for (i, (ver, ts, val)) in r.versions.iter().enumerate() {
                let nv = CommitVersion(remap.get(ver).copied().unwrap_or(base + 1));
                // The newest version is stored only as the latest record.
                if i + 1 < r.versions.len() {
                    batch.insert(
                        KeyspaceKind::Data,
                        keys::history_key(&lk, nv),
                        record::encode_history(*ts, val.as_ref()),
                    );
                }
                max_ts = max_ts.max(*ts);
                oldest = oldest.min(*ts);
                stats.latest_ts = stats.latest_ts.max(*ts);
                last = Some((nv, *ts, val));
            }
            if let Some((nv, ts, val)) = last {
                created.push(lk.clone());
                batch.insert(
                    KeyspaceKind::Latest,
                    lk,
                    record::encode_latest(nv, ts, val.as_ref(), false),
                );
                if val.is_some() {
                    stats.live_keys += 1;
                }
            }
        }
        if oldest != u64::MAX {
            stats.oldest_ts = oldest;
        }
        // Imported timestamps keep their values, but the database clock only moves
        // forward to "now": a bundle stamped in the future must not drag every later
        // commit's timestamp into the future.
        max_ts = max_ts.min(now_micros().max(state.head_ts));
        let head = CommitVersion(base + originals.len() as u64);
        stats.version = head;
        let binfo = BranchInfo {
            name: name.clone(),
            id,
            parent: None,
            fork_version: CommitVersion(0),
            created_at: now_micros(),
        };
        batch.insert(
            KeyspaceKind::Meta,
            catalog::branch_key(&name),
            catalog::encode_branch(&binfo),
        );
        batch.insert(
            KeyspaceKind::Meta,
            catalog::BSEQ_KEY,
            Value::Int((id.0 + 1) as i64).encode(),
        );
        batch.insert(
            KeyspaceKind::Meta,
            catalog::stat_key(id),
            catalog::encode_stats(&stats),
        );
        for s in &spaces {
            batch.insert(
                KeyspaceKind::Meta,
                catalog::space_key(id, s),
                Value::Int(now_micros() as i64).encode(),
            );
        }
        batch.insert(
            KeyspaceKind::Meta,
            catalog::HEAD_KEY,
            catalog::encode_head(head, max_ts),
        );
        self.inner.write(batch)?;
        filter.inserted(created.iter().map(|k| &k[..]), || inner.drain().is_ok());
        state.head_version = head;
        state.head_ts = max_ts;
        inner.committed.store(head.0, Ordering::Release);
        cat.next_branch_id = id.0 + 1;
        for s in spaces {
            cat.spaces.insert((id, s));
        }
        cat.stats.insert(id, stats);
        cat.insert(binfo);
        drop(cat);
        drop(state);
        self.notify_catalog(&CatalogEvent::BranchImported(id));
        Ok(ImportSummary {
            branch: name,
            key_count: records.len() as u64,
            entry_count: info.entry_count,
        })
    }
}

fn read_bundle(path: &Path) -> Result<(BundleInfo, Vec<BundleRecord>)> {
    let buf = std::fs::read(path).map_err(|e| {
        StorageError::NotFound(format!("cannot read bundle {}: {e}", path.display()))
    })?;
    if buf.len() < 8 + 2 + 4 + 4 + 20 || buf.get(..8) != Some(MAGIC.as_slice()) {
        return Err(bad(path, "not a StrataDB bundle (bad magic or too short)"));
    }
    let format = u16::from_le_bytes([buf[8], buf[9]]);
    if format != BUNDLE_FORMAT_VERSION {
        return Err(bad(
            path,
            format!("unsupported bundle format version {format}"),
        ));
    }
    let trailer_at = buf.len() - 20;
    if buf.get(trailer_at..trailer_at + 8) != Some(TRAILER.as_slice()) {
        return Err(bad(path, "missing trailer (file truncated?)"));
    }
    let count = u64::from_le_bytes(
        buf[trailer_at + 8..trailer_at + 16]
            .try_into()
            .map_err(|_| bad(path, "trailer"))?,
    );
    let crc = u32::from_le_bytes(
        buf[trailer_at + 16..]
            .try_into()
            .map_err(|_| bad(path, "trailer"))?,
    );
    if crc32fast::hash(&buf[..trailer_at]) != crc {
        return Err(bad(path, "checksum mismatch over the file body"));
    }
    let mut pos: usize = 10;
    let mut take = |n: usize, what: &str| -> Result<&[u8]> {
        let end = pos
            .checked_add(n)
            .filter(|e| *e <= trailer_at)
            .ok_or_else(|| bad(path, format!("truncated {what}")))?;
        let s = &buf[pos..end];
        pos = end;
        Ok(s)
    };
    let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let hlen = u32_at(take(4, "header length")?) as usize;
    let header = take(hlen, "header")?.to_vec();
    let hcrc = u32_at(take(4, "header checksum")?);
    if crc32fast::hash(&header) != hcrc {
        return Err(bad(path, "header checksum mismatch"));
    }
    let header = Value::decode(&header).map_err(|e| bad(path, format!("header: {e}")))?;
    let int = |v: Option<&Value>| v.and_then(Value::as_int).map(|i| i as u64);
    let branch = field(&header, "branch")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, "header has no branch name"))?
        .to_string();
    let mut records = Vec::new();
    let mut entry_count = 0u64;
    for i in 0..count {
        let len = u32_at(take(4, "record length")?) as usize;
        let payload = take(len, "record")?.to_vec();
        let rcrc = u32_at(take(4, "record checksum")?);
        if crc32fast::hash(&payload) != rcrc {
            return Err(bad(path, format!("record {i} checksum mismatch")));
        }
        let v = Value::decode(&payload).map_err(|e| bad(path, format!("record {i}: {e}")))?;
        let rec = parse_record(&v).ok_or_else(|| bad(path, format!("record {i} is malformed")))?;
        entry_count += rec.versions.len() as u64;
        records.push(rec);
    }
    if pos != trailer_at {
        return Err(bad(path, "unexpected bytes after the last record"));
    }
    Ok((
        BundleInfo {
            format_version: format,
            branch,
            key_count: records.len() as u64,
            entry_count,
            exported_at: int(field(&header, "exported_at")).unwrap_or(0),
        },
        records,
    ))
}

fn parse_record(v: &Value) -> Option<BundleRecord> {
    let Value::Array(parts) = v else { return None };
    let [Value::String(space), Value::Int(tag), Value::Bytes(key), Value::Array(vers)] =
        parts.as_slice()
    else {
        return None;
    };
    catalog::validate_name("space", space).ok()?;
    let tag = u8::try_from(*tag).ok()?;
    let mut versions = Vec::with_capacity(vers.len());
    let mut prev = 0u64;
    for e in vers {
        let Value::Array(f) = e else { return None };
        let [Value::Int(ver), Value::Int(ts), val, Value::Bool(tomb)] = f.as_slice() else {
            return None;
        };
        let ver = u64::try_from(*ver).ok()?;
        if ver <= prev {
            return None; // versions must be strictly increasing, oldest first
        }
        prev = ver;
        versions.push((ver, u64::try_from(*ts).ok()?, (!*tomb).then(|| val.clone())));
    }
    if versions.is_empty() {
        return None;
    }
    Some(BundleRecord {
        space: space.clone(),
        tag: PrimitiveTag(tag),
        key: key.clone(),
        versions,
    })
}
