//! On-disk HNSW dumps: hnsw_rs's two files, our flat graph and our manifest, one
//! directory per index.
//!
//! Layout of a dump directory:
//!
//! ```text
//! <dir>/graph.hnsw.graph   hnsw_rs graph (native endianness), for further inserts
//! <dir>/graph.hnsw.data    hnsw_rs vectors
//! <dir>/flat               the same graph as a FlatGraph (see `flat.rs`), for search
//! <dir>/manifest           ours, little-endian, written last:
//!     b"STRVHNSW" | format u32 = 2 | commit version u64 | metric u8 | dim u32
//!     | slot count u64 | crc32 graph u32 | crc32 data u32 | crc32 flat u32
//!     | entry count u64
//!     | entries: point id u32, record version u64, key length u32, key bytes
//!     | crc32 of all preceding bytes u32
//! ```
//!
//! Loading reads only the manifest and the flat graph (two whole-file reads);
//! hnsw_rs's files are checked and loaded later, when the graph must grow
//! ([`load_graph`]). A dump is written into `<dir>.tmp` and renamed into place, so
//! a crash leaves either the old dump, no dump, or a stray `.tmp` that the next
//! write replaces. A dump is a cache: any mismatch (checksums, metric, dimension,
//! per-key versions against the store) makes the caller patch or rebuild the index
//! from the stored vectors. Format 1 dumps (no flat graph) are rejected and rebuilt.

use crate::error::{Result, VectorError};
use crate::flat::FlatGraph;
use crate::framing;
use crate::graph::{Graph, DUMP_BASENAME};
use crate::metric::Metric;
use std::fs;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"STRVHNSW";
const FORMAT: u32 = 2;
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

/// Where the hnsw_rs graph behind a loaded flat graph lives on disk, with the
/// checksums its files must still have when it is loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphSource {
    pub(crate) dir: PathBuf,
    pub(crate) crcs: Crcs,
}

/// Checksums of a dump's three data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crcs {
    pub(crate) graph: u32,
    pub(crate) data: u32,
    pub(crate) flat: u32,
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

/// What to write the hnsw_rs part of a dump from.
pub(crate) enum GraphPart<'a> {
    /// The graph in memory.
    Loaded(&'a Graph),
    /// The graph's files in an existing dump (not loaded since).
    OnDisk(&'a GraphSource),
}

/// Writes a dump at `dir`, replacing any previous one: the hnsw_rs graph, `flat`
/// (which must be extracted from that same graph) and `manifest`. When the graph
/// is [`GraphPart::OnDisk`] in `dir` itself, only the manifest is replaced.
/// Cost: the graph's size in sequential writes plus one read back for checksums;
/// a manifest-only write is O(entries).
pub(crate) fn write(
    dir: &Path,
    graph: GraphPart<'_>,
    flat: &FlatGraph,
    manifest: &Manifest,
) -> Result<()> {
    if let GraphPart::OnDisk(src) = &graph {
        if src.dir == dir {
            let mpath = dir.join(MANIFEST);
            let tmp = dir.join("manifest.tmp");
            fs::write(&tmp, encode(manifest, src.crcs)).map_err(|e| io_err("writing", &tmp, e))?;
            return fs::rename(&tmp, &mpath).map_err(|e| io_err("renaming into", &mpath, e));
        }
    }
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err("removing", &tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
    let (g, d) = graph_files(&tmp);
    let mut crcs = match graph {
        GraphPart::Loaded(graph) => {
            graph.dump(&tmp)?;
            Crcs {
                graph: file_crc(&g)?,
                data: file_crc(&d)?,
                flat: 0,
            }
        }
        GraphPart::OnDisk(src) => {
            let (sg, sd) = graph_files(&src.dir);
            fs::copy(&sg, &g).map_err(|e| io_err("copying", &sg, e))?;
            fs::copy(&sd, &d).map_err(|e| io_err("copying", &sd, e))?;
            src.crcs
        }
    };
    let flat_bytes = flat.encode();
    crcs.flat = crc32fast::hash(&flat_bytes);
    let fpath = tmp.join(FLAT);
    fs::write(&fpath, flat_bytes).map_err(|e| io_err("writing", &fpath, e))?;
    let mpath = tmp.join(MANIFEST);
    fs::write(&mpath, encode(manifest, crcs)).map_err(|e| io_err("writing", &mpath, e))?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io_err("removing", dir, e))?;
    }
    fs::rename(&tmp, dir).map_err(|e| io_err("renaming into", dir, e))?;
    Ok(())
}

/// Reads and verifies the dump at `dir`: its manifest and its flat graph, not
/// hnsw_rs's files (see [`load_graph`]). `Ok(None)` if there is no dump; an error if
/// one exists but is damaged, of another format, or was made for another metric or
/// dimension. Cost: two whole-file reads and checksums (~15 MB for 100k points).
pub(crate) fn read(
    dir: &Path,
    metric: Metric,
    dim: usize,
) -> Result<Option<(Manifest, FlatGraph, GraphSource)>> {
    let mpath = dir.join(MANIFEST);
    let bytes = match fs::read(&mpath) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("reading", &mpath, e)),
    };
    let (manifest, crcs) = decode(&bytes)?;
    if manifest.metric != metric || manifest.dim != dim {
        return Err(VectorError::Dump(format!(
            "dump is for {} / dimension {}, collection is {} / dimension {}",
            manifest.metric, manifest.dim, metric, dim
        )));
    }
    let fpath = dir.join(FLAT);
    let flat_bytes = fs::read(&fpath).map_err(|e| io_err("reading", &fpath, e))?;
    if crc32fast::hash(&flat_bytes) != crcs.flat {
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
    let source = GraphSource {
        dir: dir.to_path_buf(),
        crcs,
    };
    Ok(Some((manifest, flat, source)))
}

/// Loads the hnsw_rs graph of a dump read by [`read`], after checking its files
/// still have the recorded checksums. Cost: reading and checksumming both files
/// plus hnsw_rs's loader (about 1 s for 100k x 384).
pub(crate) fn load_graph(source: &GraphSource, metric: Metric) -> Result<Graph> {
    let (g, d) = graph_files(&source.dir);
    if file_crc(&g)? != source.crcs.graph || file_crc(&d)? != source.crcs.data {
        return Err(VectorError::Dump(format!(
            "checksum mismatch in {}",
            source.dir.display()
        )));
    }
    Graph::load(&source.dir, metric)
}

fn encode(m: &Manifest, crcs: Crcs) -> Vec<u8> {
    let mut out = framing::begin(MAGIC, FORMAT, 52 + m.entries.len() * 32);
    out.extend_from_slice(&m.commit_version.to_le_bytes());
    out.push(m.metric.to_byte());
    out.extend_from_slice(&(m.dim as u32).to_le_bytes());
    out.extend_from_slice(&(m.slot_count as u64).to_le_bytes());
    out.extend_from_slice(&crcs.graph.to_le_bytes());
    out.extend_from_slice(&crcs.data.to_le_bytes());
    out.extend_from_slice(&crcs.flat.to_le_bytes());
    out.extend_from_slice(&(m.entries.len() as u64).to_le_bytes());
    for e in &m.entries {
        out.extend_from_slice(&e.pid.to_le_bytes());
        out.extend_from_slice(&e.version.to_le_bytes());
        out.extend_from_slice(&(e.key.len() as u32).to_le_bytes());
        out.extend_from_slice(e.key.as_bytes());
    }
    framing::finish(out)
}

fn decode(bytes: &[u8]) -> Result<(Manifest, Crcs)> {
    let bad = |m: &str| VectorError::Dump(format!("manifest: {m}"));
    let mut r = framing::open(bytes, MAGIC, FORMAT, "manifest")?;
    let commit_version = r.u64()?;
    let metric = Metric::from_byte(r.array::<1>()?[0]).ok_or_else(|| bad("unknown metric"))?;
    let dim = r.u32()? as usize;
    let slot_count = r.u64()? as usize;
    let crcs = Crcs {
        graph: r.u32()?,
        data: r.u32()?,
        flat: r.u32()?,
    };
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
        crcs,
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
        let crcs = Crcs {
            graph: 1,
            data: 2,
            flat: 3,
        };
        let bytes = encode(&m, crcs);
        let decoded = decode(&bytes).ok();
        assert_eq!(decoded, Some((m, crcs)));
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x40;
            assert!(decode(&broken).is_err(), "flip at {i} not detected");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
