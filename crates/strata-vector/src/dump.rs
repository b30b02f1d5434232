//! On-disk HNSW dumps: our flat graph and our manifest, one directory per index.
//!
//! Layout of a dump directory:
//!
//! ```text
//! <dir>/flat               the graph as a FlatGraph (see `flat.rs`)
//! <dir>/manifest           little-endian, written last:
//!     b"STRVHNSW" | format u32 = 3 | commit version u64 | metric u8 | dim u32
//!     | slot count u64 | crc32 flat u32
//!     | entry count u64
//!     | entries: point id u32, record version u64, key length u32, key bytes
//!     | crc32 of all preceding bytes u32
//! ```
//!
//! Loading reads the manifest and the flat graph (two whole-file reads); the graph
//! builder is rebuilt from the flat graph when the collection next grows. A dump is
//! written into `<dir>.tmp` and renamed into place, so a crash leaves either the old
//! dump, no dump, or a stray `.tmp` that the next write replaces. A dump is a cache:
//! any mismatch (checksums, metric, dimension, per-key versions against the store)
//! makes the caller patch or rebuild the index from the stored vectors.
//!
//! Format 2 dumps (written while hnsw_rs built the graph) are read too: their
//! manifest also holds checksums of hnsw_rs's two files, which are ignored, since
//! their `flat` file is the whole graph; the next write replaces the directory.
//! Format 1 dumps (no flat graph) are rejected and rebuilt.

use crate::error::{Result, VectorError};
use crate::flat::FlatGraph;
use crate::framing;
use crate::metric::Metric;
use std::fs;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"STRVHNSW";
const FORMAT: u32 = 3;
/// The format of dumps written while hnsw_rs built the graph (see the module docs).
const FORMAT_HNSW_RS: u32 = 2;
const MANIFEST: &str = "manifest";
const FLAT: &str = "flat";

/// One live point recorded in a dump.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ManifestEntry {
    pub(crate) pid: u32,
    pub(crate) version: u64,
    pub(crate) key: String,
}

/// What a dump says about itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Manifest {
    pub(crate) commit_version: u64,
    pub(crate) metric: Metric,
    pub(crate) dim: usize,
    pub(crate) slot_count: usize,
    pub(crate) entries: Vec<ManifestEntry>,
}

/// The dump a loaded flat graph came from, with its checksum: while the flat graph
/// is unchanged, a new dump into the same directory rewrites only the manifest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlatSource {
    pub(crate) dir: PathBuf,
    pub(crate) crc: u32,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> VectorError {
    VectorError::Dump(format!("{what} {}: {e}", path.display()))
}

/// Writes a dump at `dir`, replacing any previous one: `flat` and `manifest`. When
/// `unchanged` names `dir` itself (the flat graph was loaded from there and has not
/// changed since), only the manifest is replaced. Cost: the flat graph's size in
/// sequential writes (~15 MB for 100k points at M=16); a manifest-only write is
/// O(entries).
pub(crate) fn write(
    dir: &Path,
    unchanged: Option<&FlatSource>,
    flat: &FlatGraph,
    manifest: &Manifest,
) -> Result<()> {
    if let Some(src) = unchanged.filter(|s| s.dir == dir) {
        let mpath = dir.join(MANIFEST);
        let tmp = dir.join("manifest.tmp");
        fs::write(&tmp, encode(manifest, src.crc)).map_err(|e| io_err("writing", &tmp, e))?;
        return fs::rename(&tmp, &mpath).map_err(|e| io_err("renaming into", &mpath, e));
    }
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err("removing", &tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
    let flat_bytes = flat.encode();
    let crc = crc32fast::hash(&flat_bytes);
    let fpath = tmp.join(FLAT);
    fs::write(&fpath, flat_bytes).map_err(|e| io_err("writing", &fpath, e))?;
    let mpath = tmp.join(MANIFEST);
    fs::write(&mpath, encode(manifest, crc)).map_err(|e| io_err("writing", &mpath, e))?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io_err("removing", dir, e))?;
    }
    fs::rename(&tmp, dir).map_err(|e| io_err("renaming into", dir, e))?;
    Ok(())
}

/// Reads and verifies the dump at `dir`: its manifest and its flat graph. `Ok(None)` if there is no dump; an error if
/// one exists but is damaged, of another format, or was made for another metric or
/// dimension. Cost: two whole-file reads and checksums (~15 MB for 100k points).
pub(crate) fn read(
    dir: &Path,
    metric: Metric,
    dim: usize,
) -> Result<Option<(Manifest, FlatGraph, FlatSource)>> {
    let mpath = dir.join(MANIFEST);
    let bytes = match fs::read(&mpath) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("reading", &mpath, e)),
    };
    let (manifest, crc) = decode(&bytes)?;
    if manifest.metric != metric || manifest.dim != dim {
        return Err(VectorError::Dump(format!(
            "dump is for {} / dimension {}, collection is {} / dimension {}",
            manifest.metric, manifest.dim, metric, dim
        )));
    }
    let fpath = dir.join(FLAT);
    let flat_bytes = fs::read(&fpath).map_err(|e| io_err("reading", &fpath, e))?;
    if crc32fast::hash(&flat_bytes) != crc {
        return Err(VectorError::Dump(format!(
            "checksum mismatch in {}",
            fpath.display()
        )));
    }
    let flat = FlatGraph::decode(&flat_bytes)?;
    if flat.slot_count() != manifest.slot_count {
        return Err(VectorError::Dump(format!(
            "flat graph in {} covers {} points, manifest {}",
            dir.display(),
            flat.slot_count(),
            manifest.slot_count
        )));
    }
    let source = FlatSource {
        dir: dir.to_path_buf(),
        crc,
    };
    Ok(Some((manifest, flat, source)))
}

fn encode(m: &Manifest, flat_crc: u32) -> Vec<u8> {
    let mut out = framing::begin(MAGIC, FORMAT, 44 + m.entries.len() * 32);
    out.extend_from_slice(&m.commit_version.to_le_bytes());
    out.push(m.metric.to_byte());
    out.extend_from_slice(&(m.dim as u32).to_le_bytes());
    out.extend_from_slice(&(m.slot_count as u64).to_le_bytes());
    out.extend_from_slice(&flat_crc.to_le_bytes());
    out.extend_from_slice(&(m.entries.len() as u64).to_le_bytes());
    for e in &m.entries {
        out.extend_from_slice(&e.pid.to_le_bytes());
        out.extend_from_slice(&e.version.to_le_bytes());
        out.extend_from_slice(&(e.key.len() as u32).to_le_bytes());
        out.extend_from_slice(e.key.as_bytes());
    }
    framing::finish(out)
}

/// Decodes a manifest of either readable format; returns it with the flat graph's
/// checksum.
fn decode(bytes: &[u8]) -> Result<(Manifest, u32)> {
    let bad = |m: &str| VectorError::Dump(format!("manifest: {m}"));
    let (mut r, format) = framing::open_any(bytes, MAGIC, &[FORMAT, FORMAT_HNSW_RS], "manifest")?;
    let commit_version = r.u64()?;
    let metric = Metric::from_byte(r.array::<1>()?[0]).ok_or_else(|| bad("unknown metric"))?;
    let dim = r.u32()? as usize;
    let slot_count = r.u64()? as usize;
    if format == FORMAT_HNSW_RS {
        r.u32()?; // hnsw_rs's graph file
        r.u32()?; // hnsw_rs's data file
    }
    let flat_crc = r.u32()?;
    let n = r.u64()? as usize;
    let mut entries = Vec::with_capacity(n.min(r.remaining() / 16));
    for _ in 0..n {
        let pid = r.u32()?;
        let version = r.u64()?;
        let len = r.u32()? as usize;
        let key = std::str::from_utf8(r.take(len)?)
            .map_err(|_| bad("key is not UTF-8"))?
            .to_owned();
        if pid as usize >= slot_count {
            return Err(bad("point id out of range"));
        }
        entries.push(ManifestEntry { pid, version, key });
    }
    if r.remaining() != 0 {
        return Err(bad("trailing bytes"));
    }
    Ok((
        Manifest {
            commit_version,
            metric,
            dim,
            slot_count,
            entries,
        },
        flat_crc,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_detects_damage() {
        let m = Manifest {
            commit_version: 42,
            metric: Metric::Euclidean,
            dim: 3,
            slot_count: 5,
            entries: vec![
                ManifestEntry {
                    pid: 0,
                    version: 7,
                    key: "a".into(),
                },
                ManifestEntry {
                    pid: 4,
                    version: 9,
                    key: "ünï".into(),
                },
            ],
        };
        let bytes = encode(&m, 3);
        let decoded = decode(&bytes).ok();
        assert_eq!(decoded, Some((m.clone(), 3)));
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x40;
            assert!(decode(&broken).is_err(), "flip at {i} not detected");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());

        // A format 2 manifest (hnsw_rs's two checksums before the flat one) reads.
        let mut old = framing::begin(MAGIC, FORMAT_HNSW_RS, 64);
        old.extend_from_slice(&bytes[12..12 + 21]);
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(&bytes[12 + 21..bytes.len() - 4]);
        assert_eq!(decode(&framing::finish(old)).ok(), Some((m, 3)));
    }
}
