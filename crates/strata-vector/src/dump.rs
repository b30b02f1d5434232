//! On-disk HNSW dumps: hnsw_rs's two files plus our manifest, one directory per index.
//!
//! Layout of a dump directory:
//!
//! ```text
//! <dir>/graph.hnsw.graph   hnsw_rs graph (native endianness)
//! <dir>/graph.hnsw.data    hnsw_rs vectors
//! <dir>/manifest           ours, little-endian, written last:
//!     b"STRVHNSW" | format u32 = 1 | commit version u64 | metric u8 | dim u32
//!     | slot count u64 | crc32 graph u32 | crc32 data u32 | entry count u64
//!     | entries: point id u32, record version u64, key length u32, key bytes
//!     | crc32 of all preceding bytes u32
//! ```
//!
//! A dump is written into `<dir>.tmp` and renamed into place, so a crash leaves either
//! the old dump, no dump, or a stray `.tmp` that the next write replaces. A dump is a
//! cache: any mismatch (checksums, metric, dimension, per-key versions against the
//! store) makes the caller patch or rebuild the index from the stored vectors.

use crate::error::{Result, VectorError};
use crate::graph::{Graph, DUMP_BASENAME};
use crate::metric::Metric;
use std::fs;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"STRVHNSW";
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest";

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

fn io_err(what: &str, path: &Path, e: std::io::Error) -> VectorError {
    VectorError::Dump(format!("{what} {}: {e}", path.display()))
}

fn file_crc(path: &Path) -> Result<u32> {
    let bytes = fs::read(path).map_err(|e| io_err("reading", path, e))?;
    Ok(crc32fast::hash(&bytes))
}

fn graph_files(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{DUMP_BASENAME}.hnsw.graph")),
        dir.join(format!("{DUMP_BASENAME}.hnsw.data")),
    )
}

/// Writes `graph` and `manifest` as the dump at `dir`, replacing any previous one.
/// Cost: the graph's size in sequential writes, plus one read back for checksums.
pub(crate) fn write(dir: &Path, graph: &Graph, manifest: &Manifest) -> Result<()> {
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err("removing", &tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
    graph.dump(&tmp)?;
    let (g, d) = graph_files(&tmp);
    let bytes = encode(manifest, file_crc(&g)?, file_crc(&d)?);
    let mpath = tmp.join(MANIFEST);
    fs::write(&mpath, bytes).map_err(|e| io_err("writing", &mpath, e))?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io_err("removing", dir, e))?;
    }
    fs::rename(&tmp, dir).map_err(|e| io_err("renaming into", dir, e))?;
    Ok(())
}

/// Reads and verifies the dump at `dir` and loads its graph. `Ok(None)` if there is
/// no dump; an error if one exists but is damaged or was made for another
/// metric or dimension.
pub(crate) fn read(dir: &Path, metric: Metric, dim: usize) -> Result<Option<(Manifest, Graph)>> {
    let mpath = dir.join(MANIFEST);
    let bytes = match fs::read(&mpath) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("reading", &mpath, e)),
    };
    let (manifest, graph_crc, data_crc) = decode(&bytes)?;
    if manifest.metric != metric || manifest.dim != dim {
        return Err(VectorError::Dump(format!(
            "dump is for {} / dimension {}, collection is {} / dimension {}",
            manifest.metric, manifest.dim, metric, dim
        )));
    }
    let (g, d) = graph_files(dir);
    if file_crc(&g)? != graph_crc || file_crc(&d)? != data_crc {
        return Err(VectorError::Dump(format!(
            "checksum mismatch in {}",
            dir.display()
        )));
    }
    let graph = Graph::load(dir, metric)?;
    Ok(Some((manifest, graph)))
}

fn encode(m: &Manifest, graph_crc: u32, data_crc: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + m.entries.len() * 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&m.commit_version.to_le_bytes());
    out.push(m.metric.to_byte());
    out.extend_from_slice(&(m.dim as u32).to_le_bytes());
    out.extend_from_slice(&(m.slot_count as u64).to_le_bytes());
    out.extend_from_slice(&graph_crc.to_le_bytes());
    out.extend_from_slice(&data_crc.to_le_bytes());
    out.extend_from_slice(&(m.entries.len() as u64).to_le_bytes());
    for e in &m.entries {
        out.extend_from_slice(&e.pid.to_le_bytes());
        out.extend_from_slice(&e.version.to_le_bytes());
        out.extend_from_slice(&(e.key.len() as u32).to_le_bytes());
        out.extend_from_slice(e.key.as_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(VectorError::Dump("manifest truncated".into()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

fn decode(bytes: &[u8]) -> Result<(Manifest, u32, u32)> {
    let bad = |m: &str| VectorError::Dump(format!("manifest: {m}"));
    if bytes.len() < 4 {
        return Err(bad("truncated"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(crc_bytes) {
        return Err(bad("checksum mismatch"));
    }
    let mut r = Reader { buf: body };
    if r.take(8)? != MAGIC {
        return Err(bad("bad magic"));
    }
    let format = r.u32()?;
    if format != FORMAT {
        return Err(bad(&format!("unsupported format {format}")));
    }
    let commit_version = r.u64()?;
    let metric = Metric::from_byte(r.array::<1>()?[0]).ok_or_else(|| bad("unknown metric"))?;
    let dim = r.u32()? as usize;
    let slot_count = r.u64()? as usize;
    let graph_crc = r.u32()?;
    let data_crc = r.u32()?;
    let n = r.u64()? as usize;
    let mut entries = Vec::with_capacity(n.min(body.len() / 16));
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
    if !r.buf.is_empty() {
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
        graph_crc,
        data_crc,
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
        let bytes = encode(&m, 1, 2);
        let decoded = decode(&bytes).ok();
        assert_eq!(decoded, Some((m, 1, 2)));
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x40;
            assert!(decode(&broken).is_err(), "flip at {i} not detected");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
