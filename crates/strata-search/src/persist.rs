//! Keyword-index dumps: one file per (branch, space), written when the database is
//! flushed or closed and read back at the scope's first query after a reopen, so a
//! large database is not re-read and re-analysed in full.
//!
//! # Layout
//!
//! `<dir>/b<branch id>/<hex(space name)>.kwix` (long names: see [`scope_file`]),
//! little-endian:
//!
//! ```text
//! b"STRSKWIX" | format u32 = 1 | covered commit version u64
//! | branch id u64 | branch created_at µs u64 | space (u32 length, UTF-8)
//! | space created_at µs u64
//! | analyzer id (u32 length, UTF-8)
//! | terms: count u32, then each: text (u32 length, UTF-8) | documents containing it
//!     u32; a term's id is its position
//! | documents: count u32, then each:
//!     primitive tag u8 | key (u32 length, bytes) | entity (u32 length, UTF-8)
//!     | commit timestamp µs u64 | length in terms u32 | text (u32 length, UTF-8)
//!     | distinct terms u32, then (term id u32, term frequency u32) by increasing id
//! | embeddings: dimension u32 (0 = none), count u32, then each:
//!     document position u32 | dimension × f32 (unit length)
//! | crc32 of every preceding byte u32
//! ```
//!
//! Postings are not stored: they are the documents' term lists turned around, rebuilt
//! at load in one pass without analysing any text.
//!
//! # Validity
//!
//! The file is written to `<file>.tmp`, synced and renamed into place: a crash leaves
//! the old dump, the new one, or a stray `.tmp` that is ignored. A dump is a cache.
//! It is used only if the checksum, magic, format, analyzer id, branch identity (id
//! and creation time: a branch deleted and recreated under the same name gets a new id
//! and time) and space identity (name and creation time in the catalog) all match and
//! its covered version is not beyond the store's; anything else makes the caller
//! rebuild from the store.

use crate::analyzer::Analyzer;
use crate::codec::{put_bytes, put_len, put_u32, put_u64, Reader};
use crate::extract::SearchPrimitive;
use crate::keyword::{Bm25Config, KeywordIndex};
use crate::service::{DocKey, DocMeta};
use crate::vectors::Vectors;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use strata_storage::{BranchId, CommitVersion, PrimitiveTag, Timestamp};

const MAGIC: &[u8; 8] = b"STRSKWIX";

/// The dump format version; bump it whenever the layout or the meaning of a field
/// changes (older dumps are then rebuilt, never misread).
pub(crate) const FORMAT: u32 = 1;

/// Names the text analysis the stored terms came from. Change it whenever the
/// analyzer's output can change (tokenizer, stemmer or stop words, including a `bm25`
/// crate upgrade that changes them): stored terms would no longer match query terms.
pub(crate) const ANALYZER_ID: &str =
    "bm25 2.3 DefaultTokenizer: english, normalization, stemming, stop words";

/// File name extension of dumps.
const EXT: &str = "kwix";

/// What a dump belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) branch: BranchId,
    /// The branch's creation time: a recreated branch never matches.
    pub(crate) branch_created: Timestamp,
    pub(crate) space: String,
    /// The space's creation time: a space deleted and created again never matches.
    pub(crate) space_created: Timestamp,
}

/// Saved embeddings: dimension and unit vectors.
pub(crate) type SavedVectors = (usize, Vectors<DocKey>);

/// A decoded dump.
pub(crate) struct Dump {
    /// Every commit up to this version is reflected, none after.
    pub(crate) covered: CommitVersion,
    pub(crate) identity: Identity,
    pub(crate) keyword: KeywordIndex<DocKey>,
    pub(crate) meta: HashMap<DocKey, DocMeta>,
    pub(crate) vectors: Option<SavedVectors>,
}

/// The directory holding `branch`'s dumps.
pub(crate) fn branch_dir(dir: &Path, branch: BranchId) -> PathBuf {
    dir.join(format!("b{}", branch.0))
}

/// Longest hex-encoded space name used as is in a file name (file names are limited
/// to 255 bytes; space names to 255 bytes, i.e. 510 hex digits).
const MAX_HEX_NAME: usize = 128;

/// The dump file of (`branch`, `space`): the space name in hex, or for long names its
/// first bytes in hex plus a crc32 of the whole name. Two long names may then share a
/// file; the space name stored in the header tells them apart (the other one's load
/// rejects the file and scans).
pub(crate) fn scope_file(dir: &Path, branch: BranchId, space: &str) -> PathBuf {
    let mut name = String::with_capacity(space.len() * 2 + 16);
    for b in space.bytes() {
        name.push_str(&format!("{b:02x}"));
    }
    if name.len() > MAX_HEX_NAME {
        name.truncate(MAX_HEX_NAME - 16);
        name.push_str(&format!("-{:08x}", crc32fast::hash(space.as_bytes())));
    }
    branch_dir(dir, branch).join(format!("{name}.{EXT}"))
}

/// Encodes a scope's index. Cost: O(postings + text + vectors) in memory.
pub(crate) fn encode(
    covered: CommitVersion,
    identity: &Identity,
    keyword: &KeywordIndex<DocKey>,
    meta: &HashMap<DocKey, DocMeta>,
    vectors: Option<(usize, &Vectors<DocKey>)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + keyword.len() * 96);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT);
    put_u64(&mut out, covered.0);
    put_u64(&mut out, identity.branch.0);
    put_u64(&mut out, identity.branch_created);
    put_bytes(&mut out, identity.space.as_bytes());
    put_u64(&mut out, identity.space_created);
    put_bytes(&mut out, ANALYZER_ID.as_bytes());
    // Document positions, needed only to refer to documents from their embeddings.
    let want_positions = vectors.is_some_and(|(d, v)| d > 0 && !v.is_empty());
    let mut positions: HashMap<DocKey, u32> = HashMap::new();
    let mut next = 0u32;
    keyword.encode(&mut out, |doc, out| {
        let m = meta.get(doc);
        out.push(doc.prim.tag().0);
        put_bytes(out, &doc.key);
        put_bytes(out, m.map_or("", |m| m.entity.as_str()).as_bytes());
        put_u64(out, m.map_or(0, |m| m.timestamp));
        if want_positions {
            positions.insert(doc.clone(), next);
        }
        next += 1;
    });
    match vectors {
        Some((dim, vecs)) if dim > 0 => {
            let kept: Vec<(u32, &[f32])> = vecs
                .iter()
                .filter(|(_, v)| v.len() == dim)
                .filter_map(|(k, v)| positions.get(k).map(|&p| (p, &**v)))
                .collect();
            put_len(&mut out, dim);
            put_len(&mut out, kept.len());
            for (p, v) in kept {
                put_u32(&mut out, p);
                for x in v {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        _ => {
            put_u32(&mut out, 0);
            put_u32(&mut out, 0);
        }
    }
    let crc = crc32fast::hash(&out);
    put_u32(&mut out, crc);
    out
}

/// Writes `bytes` as the file at `path`, replacing it atomically (temporary file,
/// sync, rename). Cost: the bytes' size in sequential I/O plus one fsync.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("{EXT}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Reads and decodes the dump at `path`: `Ok(None)` if there is none, `Err(reason)`
/// if it exists but is damaged, truncated, or from another format or analyzer.
/// Cost: reading the file, one checksum pass, and O(postings) to rebuild the index.
pub(crate) fn read_file(
    path: &Path,
    config: Bm25Config,
    analyzer: &Analyzer,
) -> Result<Option<Dump>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    decode(&bytes, config, analyzer).map(Some)
}

/// Decodes a dump; see [`read_file`].
pub(crate) fn decode(
    bytes: &[u8],
    config: Bm25Config,
    analyzer: &Analyzer,
) -> Result<Dump, String> {
    if bytes.len() < MAGIC.len() + 8 {
        return Err("truncated".into());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    let mut r = Reader::new(body);
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a keyword index dump (bad magic)".into());
    }
    let format = r.u32()?;
    if format != FORMAT {
        return Err(format!("format {format}, this build reads {FORMAT}"));
    }
    let covered = CommitVersion(r.u64()?);
    let branch = BranchId(r.u64()?);
    let branch_created = r.u64()?;
    let space = r.str()?.to_owned();
    let space_created = r.u64()?;
    let analyzer_id = r.str()?;
    if analyzer_id != ANALYZER_ID {
        return Err(format!("made by analyzer {analyzer_id:?}"));
    }
    let mut meta = HashMap::new();
    let keyword = KeywordIndex::decode(config, analyzer.clone(), &mut r, |r| {
        let tag = PrimitiveTag(r.u8()?);
        let prim = SearchPrimitive::indexed_from_tag(tag)
            .ok_or_else(|| format!("unknown primitive tag {}", tag.0))?;
        let doc = DocKey {
            prim,
            key: r.bytes()?.to_vec(),
        };
        let entity = r.str()?.to_owned();
        let timestamp = r.u64()?;
        meta.insert(doc.clone(), DocMeta { entity, timestamp });
        Ok(doc)
    })?;
    let dim = r.u32()? as usize;
    let n = r.count(4 + 4 * dim)?;
    let vectors = if dim == 0 {
        if n != 0 {
            return Err("embeddings without a dimension".into());
        }
        None
    } else {
        let mut vecs = HashMap::with_capacity(n);
        for _ in 0..n {
            let p = r.u32()? as usize;
            let doc = keyword
                .decoded_key(p)
                .ok_or_else(|| format!("embedding of document {p} out of range"))?;
            let mut v = Vec::with_capacity(dim);
            for _ in 0..dim {
                let x = r.f32()?;
                if !x.is_finite() {
                    return Err("non-finite embedding component".into());
                }
                v.push(x);
            }
            vecs.insert(doc.clone(), v.into_boxed_slice());
        }
        Some((dim, vecs))
    };
    if r.remaining() != 0 {
        return Err("trailing bytes".into());
    }
    Ok(Dump {
        covered,
        identity: Identity {
            branch,
            branch_created,
            space,
            space_created,
        },
        keyword,
        meta,
        vectors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Identity, KeywordIndex<DocKey>, HashMap<DocKey, DocMeta>) {
        let mut kw = KeywordIndex::new();
        let mut meta = HashMap::new();
        for (i, text) in ["red fox", "lazy dog jumps", "ünïcode wörds"]
            .iter()
            .enumerate()
        {
            let doc = DocKey {
                prim: SearchPrimitive::Kv,
                key: format!("k{i}").into_bytes(),
            };
            kw.upsert(doc.clone(), text);
            meta.insert(
                doc,
                DocMeta {
                    entity: format!("k{i}"),
                    timestamp: 100 + i as u64,
                },
            );
        }
        let id = Identity {
            branch: BranchId(3),
            branch_created: 77,
            space: "ops".into(),
            space_created: 78,
        };
        (id, kw, meta)
    }

    #[test]
    fn dumps_round_trip_with_embeddings() {
        let (id, kw, meta) = sample();
        let doc = DocKey {
            prim: SearchPrimitive::Kv,
            key: b"k1".to_vec(),
        };
        let vecs: HashMap<DocKey, Box<[f32]>> =
            [(doc.clone(), vec![0.6f32, 0.8].into_boxed_slice())]
                .into_iter()
                .collect();
        let bytes = encode(CommitVersion(9), &id, &kw, &meta, Some((2, &vecs)));
        let d = decode(&bytes, Bm25Config::default(), &Analyzer::english()).expect("decodes");
        assert_eq!((d.covered, &d.identity), (CommitVersion(9), &id));
        assert_eq!(d.keyword.search("dogs", 5), kw.search("dogs", 5));
        assert_eq!(d.meta.get(&doc).map(|m| m.timestamp), Some(101));
        let (dim, got) = d.vectors.expect("embeddings");
        assert_eq!(
            (dim, got.get(&doc).map(|v| v.to_vec())),
            (2, Some(vec![0.6, 0.8]))
        );
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let (id, kw, meta) = sample();
        let bytes = encode(CommitVersion(9), &id, &kw, &meta, None);
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x04;
            assert!(
                decode(&broken, Bm25Config::default(), &Analyzer::english()).is_err(),
                "flip at {i} not detected"
            );
        }
        assert!(decode(
            &bytes[..bytes.len() - 1],
            Bm25Config::default(),
            &Analyzer::english()
        )
        .is_err());
    }
}
