//! Listing data files and discovering `key=value` partition folders, on local disk and
//! S3 (through [`Storage`]): partition discovery lists one folder level at a time, all
//! folders of a level concurrently on S3.

use std::path::{Path, PathBuf};

use super::location::Location;
use super::store::{FileEntry, IoStats, Storage};
use crate::catalog::hive::{is_hidden, parse_partition_folder};
use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};

fn read_dir_sorted(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let rd = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => QuarryError::path_not_found(dir.display()),
        _ => QuarryError::Data(format!("cannot list {}: {e}", dir.display())),
    })?;
    let mut entries: Vec<_> = rd
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| QuarryError::Data(format!("cannot list {}: {e}", dir.display())))?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// All visible files under the local folder `root` (recursively; hidden files and
/// folders skipped), sorted by path. `root` may also be a single file. A missing path is an error.
pub fn list_local_files(root: &Path) -> Result<Vec<FileEntry>> {
    let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => QuarryError::path_not_found(root.display()),
        _ => QuarryError::Data(format!("cannot read {}: {e}", root.display())),
    })?;
    if meta.is_file() {
        return Ok(vec![FileEntry {
            location: Location::Local(root.to_path_buf()),
            size: meta.len(),
            modified: modified_ms(&meta),
        }]);
    }
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut subdirs = vec![];
        for e in read_dir_sorted(&dir)? {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_hidden(&name) {
                continue;
            }
            let ft = e.file_type().map_err(|err| {
                QuarryError::Data(format!("cannot stat {}: {err}", e.path().display()))
            })?;
            if ft.is_dir() {
                subdirs.push(e.path());
            } else {
                let (size, modified) = e
                    .metadata()
                    .map(|m| (m.len(), modified_ms(&m)))
                    .unwrap_or((0, 0));
                out.push(FileEntry {
                    location: Location::Local(e.path()),
                    size,
                    modified,
                });
            }
        }
        subdirs.reverse();
        stack.extend(subdirs);
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

fn modified_ms(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The visible subfolders of a local folder (name, path), sorted; none when it is missing.
pub fn list_local_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(vec![]);
    }
    let mut out = vec![];
    for e in read_dir_sorted(dir)? {
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_hidden(&name) && e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push((name, e.path()));
        }
    }
    Ok(out)
}

/// A partition found by listing: raw values per key (`None` = default partition) and its folder.
#[derive(Clone, Debug)]
pub struct DiscoveredPartition {
    pub values: Vec<Option<String>>,
    pub location: Location,
}

/// Walk `root` for partition folders `k1=v/k2=v/...` of exactly `keys` (case-insensitive),
/// as MSCK REPAIR TABLE does: one listing per folder, level by level (concurrent on S3).
/// Folders that are hidden or not `key=value` of the expected key at their level are
/// skipped. Values are unescaped (Hive's FileUtils.unescapePathName).
pub fn discover_partitions(
    storage: &Storage,
    root: &Location,
    keys: &[String],
    stats: &IoStats,
) -> Result<Vec<DiscoveredPartition>> {
    let mut frontier = vec![(root.clone(), Vec::<Option<String>>::new())];
    for key in keys {
        let dirs: Vec<Location> = frontier.iter().map(|(d, _)| d.clone()).collect();
        let listed = storage.list_dirs_many(&dirs, stats)?;
        let mut next = vec![];
        for ((_, vals), subs) in frontier.into_iter().zip(listed) {
            for (name, loc) in subs {
                if let Some((k, v)) = parse_partition_folder(&name) {
                    if k.eq_ignore_ascii_case(key) {
                        let mut vs = vals.clone();
                        vs.push(v);
                        next.push((loc, vs));
                    }
                }
            }
        }
        frontier = next;
    }
    Ok(frontier
        .into_iter()
        .map(|(location, values)| DiscoveredPartition { values, location })
        .collect())
}

/// Partition columns named `keys`, typed from the partitions' values: int if every
/// value parses as int, bigint, double, else string (Spark's partition type inference).
fn typed_partition_columns(keys: &[String], parts: &[DiscoveredPartition]) -> Vec<ColumnDef> {
    let mut cols = vec![];
    for (i, k) in keys.iter().enumerate() {
        let vals: Vec<&str> = parts
            .iter()
            .filter_map(|p| p.values[i].as_deref())
            .collect();
        let dt = if !vals.is_empty() && vals.iter().all(|v| v.parse::<i32>().is_ok()) {
            arrow::datatypes::DataType::Int32
        } else if !vals.is_empty() && vals.iter().all(|v| v.parse::<i64>().is_ok()) {
            arrow::datatypes::DataType::Int64
        } else if !vals.is_empty() && vals.iter().all(|v| v.parse::<f64>().is_ok()) {
            arrow::datatypes::DataType::Float64
        } else {
            arrow::datatypes::DataType::Utf8
        };
        cols.push(ColumnDef::new(k.clone(), dt));
    }
    cols
}

/// The partition columns and partitions of files read without a declared schema (a path
/// read, or `CREATE TABLE ... LOCATION` without columns), found in the files already
/// listed under `root`, as Spark infers them from its file index: the keys are the first
/// chain of `key=value` folders (at each level the first such folder in name order),
/// typed int if every value parses as int, bigint, double, else string; the partitions
/// every folder chain of exactly those keys (case-insensitive) that holds a listed file;
/// values unescaped (Hive's FileUtils.unescapePathName). No request is made: reading
/// `parquet.`s3://bucket/t/`` lists the tree once instead of once per level again.
pub fn partitions_of_files(
    root: &Location,
    files: &[super::FileEntry],
) -> (Vec<ColumnDef>, Vec<DiscoveredPartition>) {
    // each file's folders below the root (files sorted by location: folders in name order)
    let relative: Vec<String> = files
        .iter()
        .filter_map(|f| relative_path(root, &f.location))
        .collect();
    let folders: Vec<Vec<&str>> = relative
        .iter()
        .map(|rel| {
            let mut parts: Vec<&str> = rel.split('/').collect();
            parts.pop();
            parts
        })
        .collect();
    let mut keys: Vec<String> = vec![];
    let mut chain: Vec<&str> = vec![];
    loop {
        let level = chain.len();
        let next = folders.iter().find_map(|f| {
            (f.len() > level && f[..level] == chain[..])
                .then(|| parse_partition_folder(f[level]).map(|(k, _)| (k, f[level])))
                .flatten()
        });
        match next {
            Some((k, name)) => {
                keys.push(k);
                chain.push(name);
            }
            None => break,
        }
    }
    if keys.is_empty() {
        return (vec![], vec![]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut parts = vec![];
    for f in &folders {
        if f.len() < keys.len() || !seen.insert(&f[..keys.len()]) {
            continue;
        }
        let values: Option<Vec<Option<String>>> = f[..keys.len()]
            .iter()
            .zip(&keys)
            .map(|(name, key)| {
                parse_partition_folder(name)
                    .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .collect();
        if let Some(values) = values {
            parts.push(DiscoveredPartition {
                values,
                location: root.join(&f[..keys.len()].join("/")),
            });
        }
    }
    (typed_partition_columns(&keys, &parts), parts)
}

/// `loc`'s path below `root` (`/`-separated), when it lies under it.
fn relative_path(root: &Location, loc: &Location) -> Option<String> {
    match (root, loc) {
        (Location::Local(r), Location::Local(p)) => {
            let rel = p.strip_prefix(r).ok()?;
            let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
            Some(parts?.join("/"))
        }
        (
            Location::S3 {
                bucket: rb,
                key: rk,
            },
            Location::S3 { bucket: b, key: k },
        ) if rb == b => {
            if rk.is_empty() {
                Some(k.clone())
            } else {
                k.strip_prefix(rk.as_str())?
                    .strip_prefix('/')
                    .map(str::to_string)
            }
        }
        _ => None,
    }
}
