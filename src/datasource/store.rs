//! Storage: file operations over local disk and S3, for listing, reading and writing.
//!
//! Local locations use `std::fs` directly. S3 locations go through `object_store`
//! (one client per bucket, built on first use from [`super::s3::S3Config`]), driven by a
//! small tokio runtime that starts only when S3 is first used; callers stay synchronous
//! (rayon workers block on it). S3 listings are cached for the session (keyed by
//! folder) and footers by (file, size, modification time): `REFRESH TABLE t` or
//! `REFRESH 'path'` drops the listings under a location, as Spark's REFRESH does; MSCK,
//! INSERT and CTAS drop the ones they change. Local listings are never cached.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use futures::stream::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::location::Location;
use super::s3::{build_client, s3_error, S3Client, S3Config, S3Layer};
use crate::catalog::hive::is_hidden;
use crate::error::{QuarryError, Result};

/// A data file found by listing.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub location: Location,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, milliseconds since the epoch (0 when unknown).
    pub modified: i64,
}

/// Object-store request counts of one operator (shown by EXPLAIN ANALYZE).
#[derive(Default, Debug)]
pub struct IoStats {
    pub list_requests: AtomicU64,
    pub get_requests: AtomicU64,
    pub bytes: AtomicU64,
}

impl IoStats {
    pub fn add_get(&self, n: u64, bytes: u64) {
        self.get_requests.fetch_add(n, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    /// Add another counter's requests to these.
    pub fn merge(&self, other: &IoStats) {
        self.list_requests.fetch_add(
            other.list_requests.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.add_get(
            other.get_requests.load(Ordering::Relaxed),
            other.bytes.load(Ordering::Relaxed),
        );
    }
    /// `"S3 requests: 3 (1 list, 2 get), 1.2 MiB"`, or `None` when nothing went to S3.
    pub fn summary(&self) -> Option<String> {
        let (l, g, b) = (
            self.list_requests.load(Ordering::Relaxed),
            self.get_requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        );
        (l + g > 0).then(|| {
            format!(
                "S3 requests: {} ({l} list, {g} get), {:.1} MiB",
                l + g,
                b as f64 / (1024.0 * 1024.0)
            )
        })
    }
}

/// How many S3 requests run at once (listing many folders, fetching pieces of ranges).
pub const LIST_CONCURRENCY: usize = 32;

/// Ranged reads larger than this are fetched as concurrent pieces of this size (bytes).
pub const RANGE_PART: u64 = 2 * 1024 * 1024;

/// The session's storage: S3 settings and clients, listing and footer caches.
pub struct Storage {
    base: Vec<S3Layer>,
    /// Per-bucket settings (a lake catalog's `[s3]` for its bucket), over `base`.
    buckets: RwLock<HashMap<String, S3Layer>>,
    session: RwLock<S3Layer>,
    runtime: OnceLock<std::result::Result<tokio::runtime::Runtime, String>>,
    clients: Mutex<HashMap<String, S3Client>>,
    listings: Mutex<HashMap<Location, Arc<Vec<FileEntry>>>>,
    footers: Mutex<HashMap<(Location, u64, i64), super::parquet::Metadata>>,
    /// Whole S3 files no larger than the footer read ([`super::parquet::FOOTER_GUESS`]),
    /// kept from that read so their data costs no second GET; at most
    /// [`SMALL_FILES_CACHED`] of them.
    small_files: Mutex<HashMap<(Location, u64, i64), Bytes>>,
}

/// How many small files [`Storage`] keeps (64 KiB each at most: 64 MiB).
const SMALL_FILES_CACHED: usize = 1024;

impl Storage {
    /// Storage with the environment's S3 settings and `catalog_layer` (a catalog file's `[s3]`) over them.
    pub fn new(catalog_layer: Option<S3Layer>) -> Storage {
        let mut base = vec![S3Layer::from_env()];
        base.extend(catalog_layer);
        Storage {
            base,
            buckets: RwLock::new(HashMap::new()),
            session: RwLock::new(S3Layer {
                source: "session settings (SET quarry.s3.*)".into(),
                values: Default::default(),
            }),
            runtime: OnceLock::new(),
            clients: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
            footers: Mutex::new(HashMap::new()),
            small_files: Mutex::new(HashMap::new()),
        }
    }

    /// Set (`Some`) or clear (`None`) a session S3 setting (`key` without the
    /// `quarry.s3.` prefix). Clients are rebuilt on next use.
    pub fn set_session(&self, key: &str, value: Option<&str>) -> Result<()> {
        if let Some(v) = value {
            S3Layer::validate(key, v)?;
        }
        let mut s = self
            .session
            .write()
            .map_err(|_| QuarryError::Internal("storage settings lock".into()))?;
        match value {
            Some(v) => s.values.insert(key.to_string(), v.to_string()),
            None => s.values.remove(key),
        };
        drop(s);
        self.clients
            .lock()
            .map_err(|_| QuarryError::Internal("storage lock".into()))?
            .clear();
        Ok(())
    }

    /// Settings for one bucket (a lake catalog's `[s3]`), between the environment and
    /// default catalog's settings and the session's `SET`s. Two catalogs on one bucket
    /// with different settings is an error naming both.
    pub fn set_bucket_layer(&self, bucket: &str, layer: S3Layer) -> Result<()> {
        let mut b = self
            .buckets
            .write()
            .map_err(|_| QuarryError::Internal("storage settings lock".into()))?;
        if let Some(old) = b.get(bucket) {
            if old.values != layer.values {
                return Err(QuarryError::Catalog(format!(
                    "{} and {} set different S3 settings for the bucket {bucket}",
                    old.source, layer.source
                )));
            }
        }
        b.insert(bucket.to_string(), layer);
        Ok(())
    }

    fn config(&self, bucket: &str) -> S3Config {
        let session = self.session.read().map(|s| s.clone()).unwrap_or_default();
        let own = self
            .buckets
            .read()
            .ok()
            .and_then(|b| b.get(bucket).cloned());
        let mut layers: Vec<&S3Layer> = self.base.iter().collect();
        layers.extend(own.as_ref());
        layers.push(&session);
        S3Config::merge(&layers)
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        let rt = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("quarry-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        });
        rt.as_ref()
            .map_err(|e| QuarryError::Internal(format!("cannot start the IO runtime: {e}")))
    }

    /// Run a future on the IO runtime, blocking this (non-runtime) thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        Ok(self.runtime()?.block_on(f))
    }

    /// The client for a bucket (built on first use).
    pub fn client(&self, bucket: &str) -> Result<S3Client> {
        if let Some(c) = self
            .clients
            .lock()
            .map_err(|_| QuarryError::Internal("storage lock".into()))?
            .get(bucket)
        {
            return Ok(c.clone());
        }
        let cfg = self.config(bucket);
        let c = self.block_on(build_client(&cfg, bucket))??;
        self.clients
            .lock()
            .map_err(|_| QuarryError::Internal("storage lock".into()))?
            .insert(bucket.to_string(), c.clone());
        Ok(c)
    }

    /// Drop cached listings and footers at or under `loc` (REFRESH).
    pub fn invalidate(&self, loc: &Location) {
        if let Ok(mut l) = self.listings.lock() {
            l.retain(|k, _| !k.starts_with(loc) && !loc.starts_with(k));
        }
        if let Ok(mut f) = self.footers.lock() {
            f.retain(|(k, _, _), _| !k.starts_with(loc));
        }
        if let Ok(mut f) = self.small_files.lock() {
            f.retain(|(k, _, _), _| !k.starts_with(loc));
        }
    }

    /// All visible files under `root`, recursively (hidden files and folders skipped:
    /// names starting with `_` or `.`, and S3 folder markers), sorted by location.
    /// `root` may also be a single file. A missing path is `[PATH_NOT_FOUND]`.
    pub fn list_files(&self, root: &Location, stats: &IoStats) -> Result<Arc<Vec<FileEntry>>> {
        self.list_files_many(std::slice::from_ref(root), stats)
            .pop()
            .unwrap_or_else(|| Err(QuarryError::Internal("listing not run".into())))
    }

    /// [`Storage::list_files`] of many folders: local ones on the calling thread, S3
    /// ones concurrently (at most [`LIST_CONCURRENCY`] listings at once) unless cached.
    /// Results are in the order of `roots`.
    pub fn list_files_many(
        &self,
        roots: &[Location],
        stats: &IoStats,
    ) -> Vec<Result<Arc<Vec<FileEntry>>>> {
        let mut out: Vec<Option<Result<Arc<Vec<FileEntry>>>>> = vec![];
        let mut todo: Vec<(usize, S3Client)> = vec![];
        for (i, r) in roots.iter().enumerate() {
            let cached = || self.cached_listing(r);
            out.push(match r {
                Location::Local(p) => Some(super::listing::list_local_files(p).map(Arc::new)),
                Location::S3 { bucket, .. } => match cached() {
                    Some(hit) => Some(Ok(hit)),
                    None => match self.client(bucket) {
                        Ok(c) => {
                            todo.push((i, c));
                            None
                        }
                        Err(e) => Some(Err(e)),
                    },
                },
            });
        }
        if !todo.is_empty() {
            let listed =
                self.block_on(async {
                    futures::stream::iter(todo.iter().map(|(i, c)| async move {
                        (*i, s3_list_files(c, &roots[*i], stats).await)
                    }))
                    .buffer_unordered(LIST_CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await
                });
            match listed {
                Ok(v) => {
                    for (i, r) in v {
                        if let (Ok(files), Ok(mut l)) = (&r, self.listings.lock()) {
                            l.insert(roots[i].clone(), files.clone());
                        }
                        out[i] = Some(r);
                    }
                }
                Err(e) => {
                    return roots
                        .iter()
                        .map(|_| Err(QuarryError::Internal(e.to_string())))
                        .collect()
                }
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(QuarryError::Internal("listing not run".into()))))
            .collect()
    }

    /// The cached listing of `root`, or its part of a cached listing of a folder above
    /// it (a path read lists the table's root once; its partition folders' files are
    /// then known). `None` when neither is cached, or the folder above holds no file
    /// under `root`.
    fn cached_listing(&self, root: &Location) -> Option<Arc<Vec<FileEntry>>> {
        let l = self.listings.lock().ok()?;
        if let Some(hit) = l.get(root) {
            return Some(hit.clone());
        }
        let Location::S3 { bucket, key } = root else {
            return None;
        };
        let mut prefix = key.as_str();
        while !prefix.is_empty() {
            prefix = prefix.rsplit_once('/').map_or("", |(p, _)| p);
            let above = Location::S3 {
                bucket: bucket.clone(),
                key: prefix.to_string(),
            };
            if let Some(files) = l.get(&above) {
                let mine: Vec<FileEntry> = files
                    .iter()
                    .filter(|f| f.location.starts_with(root))
                    .cloned()
                    .collect();
                return (!mine.is_empty()).then(|| Arc::new(mine));
            }
        }
        None
    }

    /// The visible immediate subfolders of each of `dirs` (name and location, sorted by
    /// name), listing S3 folders concurrently (at most [`LIST_CONCURRENCY`] requests at
    /// once, one delimiter listing per folder). A missing folder has no subfolders.
    pub fn list_dirs_many(
        &self,
        dirs: &[Location],
        stats: &IoStats,
    ) -> Result<Vec<Vec<(String, Location)>>> {
        let mut out: Vec<Vec<(String, Location)>> = vec![vec![]; dirs.len()];
        let mut remote: Vec<(usize, &str, S3Client, Option<ObjectPath>)> = vec![];
        for (i, d) in dirs.iter().enumerate() {
            match d {
                Location::Local(p) => {
                    out[i] = super::listing::list_local_dirs(p)?
                        .into_iter()
                        .map(|(n, p)| (n, Location::Local(p)))
                        .collect()
                }
                Location::S3 { bucket, key } => {
                    let client = self.client(bucket)?;
                    let prefix = if key.is_empty() {
                        None
                    } else {
                        Some(object_path(key, d, &client)?)
                    };
                    remote.push((i, bucket, client, prefix));
                }
            }
        }
        if remote.is_empty() {
            return Ok(out);
        }
        let results = self.block_on(async {
            futures::stream::iter(remote.iter().map(|(i, bucket, client, prefix)| async move {
                let r = client.store.list_with_delimiter(prefix.as_ref()).await;
                stats.list_requests.fetch_add(1, Ordering::Relaxed);
                (*i, *bucket, client, r)
            }))
            .buffer_unordered(LIST_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
        })?;
        for (i, bucket, client, r) in results {
            match r {
                Ok(listing) => {
                    let mut subs: Vec<(String, Location)> = listing
                        .common_prefixes
                        .into_iter()
                        .filter_map(|p| {
                            let name = p.filename()?.to_string();
                            (!is_hidden(&name)).then(|| {
                                (
                                    name,
                                    Location::S3 {
                                        bucket: bucket.to_string(),
                                        key: p.to_string(),
                                    },
                                )
                            })
                        })
                        .collect();
                    subs.sort();
                    out[i] = subs;
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(s3_error(e, "list", &dirs[i], client)),
            }
        }
        Ok(out)
    }

    /// Whether `loc` is an existing folder (locally) or a prefix with objects under it
    /// (S3; a cached non-empty listing of it answers without a request).
    pub fn is_dir(&self, loc: &Location) -> Result<bool> {
        match loc {
            Location::Local(p) => Ok(p.is_dir()),
            Location::S3 { bucket, key } => {
                let cached = self.listings.lock().ok().and_then(|l| l.get(loc).cloned());
                if cached.is_some_and(|files| !files.is_empty()) {
                    return Ok(true);
                }
                let client = self.client(bucket)?;
                let prefix = object_path(key, loc, &client)?;
                let r = self.block_on(async {
                    let prefix = (!key.is_empty()).then_some(&prefix);
                    client.store.list_with_delimiter(prefix).await
                })?;
                match r {
                    Ok(l) => Ok(!l.common_prefixes.is_empty() || !l.objects.is_empty()),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(s3_error(e, "list", loc, &client)),
                }
            }
        }
    }

    /// Whether `loc` exists (a file or a folder).
    pub fn exists(&self, loc: &Location) -> Result<bool> {
        match loc {
            Location::Local(p) => Ok(p.exists()),
            Location::S3 { .. } => match self.list_files(loc, &IoStats::default()) {
                Ok(files) => Ok(!files.is_empty()),
                Err(e) if e.is_path_not_found() => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    /// The whole content of a file.
    pub fn read_all(&self, file: &Location, stats: &IoStats) -> Result<Bytes> {
        match file {
            Location::Local(p) => std::fs::read(p)
                .map(Bytes::from)
                .map_err(|e| QuarryError::Data(format!("cannot read {}: {e}", p.display()))),
            Location::S3 { bucket, key } => {
                let client = self.client(bucket)?;
                let path = object_path(key, file, &client)?;
                let b = self
                    .block_on(async { client.store.get(&path).await?.bytes().await })?
                    .map_err(|e| s3_error(e, "read", file, &client))?;
                stats.add_get(1, b.len() as u64);
                Ok(b)
            }
        }
    }

    /// Byte ranges of an S3 file: ranges closer than 1 MiB are merged, merged ranges
    /// cut into [`RANGE_PART`] pieces, and all pieces fetched at once (at most
    /// [`LIST_CONCURRENCY`] requests in flight).
    pub fn get_ranges(
        &self,
        file: &Location,
        ranges: &[Range<u64>],
        stats: &IoStats,
    ) -> Result<Vec<Bytes>> {
        let job = self.spawn_ranges(file, ranges.to_vec())?;
        self.join_ranges(job, file, stats)
    }

    /// [`Storage::get_ranges`] started in the background: the handle yields the ranges'
    /// bytes, the number of GET requests and the bytes fetched.
    pub fn spawn_ranges(&self, file: &Location, ranges: Vec<Range<u64>>) -> Result<RangesJob> {
        let Location::S3 { bucket, key } = file else {
            return Err(QuarryError::Internal(format!(
                "ranged read of a local file {file}"
            )));
        };
        let client = self.client(bucket)?;
        let path = object_path(key, file, &client)?;
        let file = file.clone();
        Ok(self
            .runtime()?
            .spawn(async move { fetch_ranges(&client, &path, &file, &ranges).await }))
    }

    /// Wait for a [`Storage::spawn_ranges`] job; adds its requests to `stats`.
    pub fn join_ranges(
        &self,
        job: RangesJob,
        file: &Location,
        stats: &IoStats,
    ) -> Result<Vec<Bytes>> {
        let (data, requests, bytes) = self
            .block_on(job)?
            .map_err(|e| QuarryError::Internal(format!("S3 read task of {file}: {e}")))??;
        stats.add_get(requests, bytes);
        Ok(data)
    }

    /// The last `n` bytes of each S3 file of `files` without a cached footer (parquet
    /// footers), fetched concurrently; `None` for local files and cached footers.
    pub fn fetch_tails(
        &self,
        files: &[FileEntry],
        n: u64,
        stats: &IoStats,
    ) -> Vec<Result<Option<Bytes>>> {
        let mut out: Vec<Result<Option<Bytes>>> = files.iter().map(|_| Ok(None)).collect();
        let mut todo = vec![];
        for (i, f) in files.iter().enumerate() {
            if let Location::S3 { bucket, key } = &f.location {
                if self.cached_footer(f).is_some() {
                    continue;
                }
                match self
                    .client(bucket)
                    .and_then(|c| object_path(key, &f.location, &c).map(|p| (c, p)))
                {
                    Ok((c, p)) => todo.push((i, c, p, f.size.saturating_sub(n)..f.size)),
                    Err(e) => out[i] = Err(e),
                }
            }
        }
        if todo.is_empty() {
            return out;
        }
        let fetched =
            self.block_on(async {
                futures::stream::iter(todo.iter().map(|(i, c, p, r)| async move {
                    (*i, c, c.store.get_range(p, r.clone()).await)
                }))
                .buffer_unordered(LIST_CONCURRENCY)
                .collect::<Vec<_>>()
                .await
            });
        match fetched {
            Ok(v) => {
                for (i, c, r) in v {
                    out[i] = match r {
                        Ok(b) => {
                            stats.add_get(1, b.len() as u64);
                            Ok(Some(b))
                        }
                        Err(e) => Err(s3_error(e, "read", &files[i].location, c)),
                    };
                }
            }
            Err(e) => {
                return files
                    .iter()
                    .map(|_| Err(QuarryError::Internal(e.to_string())))
                    .collect()
            }
        }
        out
    }

    /// Write `data` as a new file; fails if it exists.
    pub fn put_new(&self, file: &Location, data: Bytes) -> Result<()> {
        match file {
            Location::Local(p) => std::fs::write(p, &data)
                .map_err(|e| QuarryError::Data(format!("cannot write {}: {e}", p.display()))),
            Location::S3 { bucket, key } => {
                let client = self.client(bucket)?;
                let path = object_path(key, file, &client)?;
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                };
                self.block_on(
                    client
                        .store
                        .put_opts(&path, PutPayload::from_bytes(data), opts),
                )?
                .map_err(|e| s3_error(e, "write", file, &client))?;
                self.invalidate(file);
                Ok(())
            }
        }
    }

    /// Delete a file.
    pub fn delete(&self, file: &Location) -> Result<()> {
        match file {
            Location::Local(p) => std::fs::remove_file(p)
                .map_err(|e| QuarryError::Data(format!("cannot remove {}: {e}", p.display()))),
            Location::S3 { bucket, key } => {
                let client = self.client(bucket)?;
                let path = object_path(key, file, &client)?;
                self.block_on(client.store.delete(&path))?
                    .map_err(|e| s3_error(e, "delete", file, &client))?;
                self.invalidate(file);
                Ok(())
            }
        }
    }

    /// A cached footer of `file` (same size and modification time), if any.
    pub fn cached_footer(&self, file: &FileEntry) -> Option<super::parquet::Metadata> {
        self.footers
            .lock()
            .ok()?
            .get(&(file.location.clone(), file.size, file.modified))
            .cloned()
    }

    /// The whole content of `file` (same size and modification time) if a footer read
    /// fetched all of it.
    pub fn cached_small_file(&self, file: &FileEntry) -> Option<Bytes> {
        self.small_files
            .lock()
            .ok()?
            .get(&(file.location.clone(), file.size, file.modified))
            .cloned()
    }

    /// Keep `data`, the whole content of `file`, for [`Storage::cached_small_file`].
    pub fn cache_small_file(&self, file: &FileEntry, data: Bytes) {
        if let Ok(mut f) = self.small_files.lock() {
            if f.len() >= SMALL_FILES_CACHED {
                f.clear();
            }
            f.insert((file.location.clone(), file.size, file.modified), data);
        }
    }

    pub fn cache_footer(&self, file: &FileEntry, md: super::parquet::Metadata) {
        if let Ok(mut f) = self.footers.lock() {
            if f.len() > 100_000 {
                f.clear();
            }
            f.insert((file.location.clone(), file.size, file.modified), md);
        }
    }
}

/// Recursive listing of an S3 folder (or a single object) for [`Storage::list_files`].
async fn s3_list_files(
    client: &S3Client,
    root: &Location,
    stats: &IoStats,
) -> Result<Arc<Vec<FileEntry>>> {
    let Location::S3 { bucket, key } = root else {
        return Err(QuarryError::Internal(format!("S3 listing of {root}")));
    };
    let prefix = object_path(key, root, client)?;
    let listed: object_store::Result<Vec<object_store::ObjectMeta>> = async {
        let metas = s3_list_objects(client, (!key.is_empty()).then_some(&prefix), stats).await?;
        if metas.is_empty() && !key.is_empty() {
            // not a folder: maybe one object
            stats.add_get(1, 0);
            return client.store.head(&prefix).await.map(|m| vec![m]);
        }
        Ok(metas)
    }
    .await;
    let files = listed.map_err(|e| s3_error(e, "list", root, client))?;
    let mut out: Vec<FileEntry> = files
        .into_iter()
        .filter(|m| {
            let rel = m
                .location
                .as_ref()
                .strip_prefix(key.as_str())
                .unwrap_or(m.location.as_ref())
                .trim_start_matches('/');
            !rel.split('/')
                .any(|seg| is_hidden(seg) || seg.ends_with("_$folder$"))
        })
        .map(|m| FileEntry {
            location: Location::S3 {
                bucket: bucket.clone(),
                key: m.location.to_string(),
            },
            size: m.size,
            modified: m.last_modified.timestamp_millis(),
        })
        .collect();
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(Arc::new(out))
}

/// Folders that [`s3_list_objects`] lists one by one (delimiter listings, level by
/// level) before it lists the whole tree in one recursive listing instead.
const DELIMITER_LISTINGS: usize = LIST_CONCURRENCY;

/// Every object under `root` (the bucket when `None`), visible folders first listed one
/// level at a time with the `/` delimiter, concurrently: a partition folder, the usual
/// root, costs one request, and hidden folders (`_temporary/`, `.spark-staging/`) are
/// never walked. Once more than [`DELIMITER_LISTINGS`] folders are in view, one recursive
/// listing of `root` (pages of 1,000 keys) needs fewer requests, and replaces them.
/// Counts one LIST request per page in `stats`.
async fn s3_list_objects(
    client: &S3Client,
    root: Option<&ObjectPath>,
    stats: &IoStats,
) -> object_store::Result<Vec<object_store::ObjectMeta>> {
    let pages = |n: usize| 1 + n as u64 / 1000;
    let mut metas = vec![];
    let mut frontier: Vec<Option<ObjectPath>> = vec![root.cloned()];
    let mut folders = 0;
    while !frontier.is_empty() {
        folders += frontier.len();
        if folders > DELIMITER_LISTINGS {
            let all: Vec<object_store::ObjectMeta> = client.store.list(root).try_collect().await?;
            stats
                .list_requests
                .fetch_add(pages(all.len()), Ordering::Relaxed);
            return Ok(all);
        }
        let listed: Vec<object_store::ListResult> = futures::stream::iter(
            frontier
                .iter()
                .map(|p| client.store.list_with_delimiter(p.as_ref())),
        )
        .buffer_unordered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
        let mut next = vec![];
        for r in listed {
            stats.list_requests.fetch_add(
                pages(r.objects.len() + r.common_prefixes.len()),
                Ordering::Relaxed,
            );
            metas.extend(r.objects);
            next.extend(
                r.common_prefixes
                    .into_iter()
                    .filter(|p| p.filename().is_some_and(|n| !is_hidden(n)))
                    .map(Some),
            );
        }
        frontier = next;
    }
    Ok(metas)
}

/// A background ranged read: (bytes per range, GET requests, bytes fetched).
pub type RangesJob = tokio::task::JoinHandle<Result<(Vec<Bytes>, u64, u64)>>;

async fn fetch_ranges(
    client: &S3Client,
    path: &ObjectPath,
    file: &Location,
    ranges: &[Range<u64>],
) -> Result<(Vec<Bytes>, u64, u64)> {
    // merge ranges closer than the coalescing gap, cut what is larger than
    // RANGE_PART into pieces, fetch every piece at once (a single GET streams at a
    // fraction of what parallel GETs reach), then glue and slice
    let merged = coalesce(ranges, object_store::OBJECT_STORE_COALESCE_DEFAULT);
    let pieces: Vec<Vec<Range<u64>>> = merged
        .iter()
        .map(|r| {
            (r.start..r.end)
                .step_by(RANGE_PART as usize)
                .map(|s| s..(s + RANGE_PART).min(r.end))
                .collect()
        })
        .collect();
    let fetched = futures::stream::iter(pieces.iter().flatten().cloned().map(|r| {
        let (store, path) = (client.store.clone(), path.clone());
        async move { store.get_range(&path, r).await }
    }))
    .buffered(LIST_CONCURRENCY)
    .try_collect::<Vec<Bytes>>()
    .await
    .map_err(|e| s3_error(e, "read", file, client))?;
    let (requests, bytes) = (
        fetched.len() as u64,
        fetched.iter().map(|b| b.len() as u64).sum(),
    );
    let mut fetched = fetched.into_iter();
    let whole: Vec<(u64, Bytes)> = merged
        .iter()
        .zip(&pieces)
        .map(|(m, p)| {
            let parts: Vec<Bytes> = fetched.by_ref().take(p.len()).collect();
            let data = match <[Bytes; 1]>::try_from(parts) {
                Ok([one]) => one,
                Err(parts) => Bytes::from(parts.concat()),
            };
            (m.start, data)
        })
        .collect();
    let out = ranges
        .iter()
        .map(|r| {
            let (s, b) = whole
                .iter()
                .find(|(s, b)| *s <= r.start && r.end <= s + b.len() as u64)
                .ok_or_else(|| {
                    QuarryError::Data(format!(
                        "short read of {file}: bytes {}..{} not returned",
                        r.start, r.end
                    ))
                })?;
            Ok(b.slice((r.start - s) as usize..(r.end - s) as usize))
        })
        .collect::<Result<Vec<Bytes>>>()?;
    Ok((out, requests, bytes))
}

/// An S3 key as an object_store path, taken as the raw key (no re-encoding of `%`).
fn object_path(key: &str, loc: &Location, client: &S3Client) -> Result<ObjectPath> {
    ObjectPath::parse(key).map_err(|e| {
        s3_error(
            object_store::Error::InvalidPath { source: e },
            "use",
            loc,
            client,
        )
    })
}

/// `ranges` sorted, with those closer than `gap` bytes merged (as object_store's
/// `get_ranges` does).
fn coalesce(ranges: &[Range<u64>], gap: u64) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = vec![];
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}
