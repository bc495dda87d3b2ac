//! Listing data files and discovering `key=value` partition folders.

use std::path::{Path, PathBuf};

use crate::catalog::hive::{is_hidden, parse_partition_folder};
use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};

/// A data file found by listing.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let rd = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => QuarryError::Data(format!(
            "[PATH_NOT_FOUND] Path does not exist: {}",
            dir.display()
        )),
        _ => QuarryError::Data(format!("cannot list {}: {e}", dir.display())),
    })?;
    let mut entries: Vec<_> = rd
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| QuarryError::Data(format!("cannot list {}: {e}", dir.display())))?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// All visible files under `root` (recursively; hidden files and folders skipped),
/// sorted by path. `root` may also be a single file. A missing path is an error.
pub fn list_files(root: &Path) -> Result<Vec<FileEntry>> {
    let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => QuarryError::Data(format!(
            "[PATH_NOT_FOUND] Path does not exist: {}",
            root.display()
        )),
        _ => QuarryError::Data(format!("cannot read {}: {e}", root.display())),
    })?;
    if meta.is_file() {
        return Ok(vec![FileEntry {
            path: root.to_path_buf(),
            size: meta.len(),
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
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push(FileEntry {
                    path: e.path(),
                    size,
                });
            }
        }
        subdirs.reverse();
        stack.extend(subdirs);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A partition found on disk: raw values per key (`None` = default partition) and its folder.
#[derive(Clone, Debug)]
pub struct DiscoveredPartition {
    pub values: Vec<Option<String>>,
    pub path: PathBuf,
}

/// Walk `root` for partition folders `k1=v/k2=v/...` of exactly `keys` (case-insensitive),
/// as MSCK REPAIR TABLE does. Folders that are hidden or not `key=value` of the expected key
/// at their level are skipped. Values are unescaped.
pub fn discover_partitions(root: &Path, keys: &[String]) -> Result<Vec<DiscoveredPartition>> {
    let mut out = vec![];
    let mut frontier = vec![(root.to_path_buf(), Vec::<Option<String>>::new())];
    for key in keys {
        let mut next = vec![];
        for (dir, vals) in frontier {
            for e in read_dir_sorted(&dir)? {
                let name = e.file_name().to_string_lossy().into_owned();
                if is_hidden(&name) || !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    continue;
                }
                if let Some((k, v)) = parse_partition_folder(&name) {
                    if k.eq_ignore_ascii_case(key) {
                        let mut vs = vals.clone();
                        vs.push(v);
                        next.push((e.path(), vs));
                    }
                }
            }
        }
        frontier = next;
    }
    for (path, values) in frontier {
        out.push(DiscoveredPartition { values, path });
    }
    Ok(out)
}

/// Infer partition columns from the first chain of `key=value` folders under `root`
/// (Spark's partition discovery for tables created without a schema). Types: int if every
/// value seen at that level parses as int, bigint, double, else string.
pub fn infer_partition_columns(root: &Path) -> Result<Vec<ColumnDef>> {
    let mut keys: Vec<String> = vec![];
    let mut dir = root.to_path_buf();
    loop {
        let mut found = None;
        for e in read_dir_sorted(&dir)? {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_hidden(&name) || !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if let Some((k, _)) = parse_partition_folder(&name) {
                found = Some((k.to_ascii_lowercase(), e.path()));
                break;
            }
        }
        match found {
            Some((k, p)) => {
                keys.push(k);
                dir = p;
            }
            None => break,
        }
    }
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let parts = discover_partitions(root, &keys)?;
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
        cols.push(ColumnDef {
            name: k.clone(),
            data_type: dt,
        });
    }
    Ok(cols)
}
