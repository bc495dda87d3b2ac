//! Runs every `tests/sqllogictest/*.slt` file against a fresh Quarry home.
//!
//! Before each file a small messy lake is written to a temp folder (hidden files, a
//! `_temporary` duplicate, Hive escaping, the default partition, schema evolution, a bad
//! partition value, CSV and JSON files); `${DATA}` in SQL is replaced by its path. The
//! test-only statement `__rm <path>` deletes a folder (to test MSCK ... SYNC).
//! Filter files with an argument: `cargo test --test sqllogictests -- partitions`.
//!
//! The files about partitions and listing ([`S3_FILES`]) run a second time against a
//! local S3 server (`tools/s3-server`, see `tests/support/s3_server.rs`): the same fixtures in a
//! bucket, `${DATA}` = `s3://bucket`, the session pointed at the server with `SET`.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use quarry::cli::slt::cell_text;
use quarry::{QuarryError, Session};
use sqllogictest::{DBOutput, DefaultColumnType};

struct QuarryDb {
    session: Session,
    /// What `${DATA}` stands for: a local folder or `s3://bucket`.
    data: String,
    /// For S3 runs: (`s3://bucket`, the bucket's folder) to map `__rm` paths.
    rm_map: Option<(String, PathBuf)>,
}

/// Files that also run against the S3 server.
const S3_FILES: &[&str] = &["partitions.slt", "catalog.slt"];

impl sqllogictest::DB for QuarryDb {
    type Error = QuarryError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, QuarryError> {
        let sql = sql.replace("${DATA}", &self.data);
        if let Some(path) = sql.trim().strip_prefix("__rm ") {
            let path = match &self.rm_map {
                Some((prefix, dir)) => {
                    path.trim()
                        .replacen(prefix.as_str(), &dir.to_string_lossy(), 1)
                }
                None => path.trim().to_string(),
            };
            std::fs::remove_dir_all(&path)
                .map_err(|e| QuarryError::Data(format!("__rm {path}: {e}")))?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let r = quarry::cli::slt::run_request(&mut self.session, &sql)?;
        if r.schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut rows = vec![];
        for b in &r.batches {
            for i in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        // the data folder reads `${DATA}` in results too (locations, a
                        // local one without DESCRIBE's `file:`, to match the S3 runs)
                        .map(|c| {
                            cell_text(c.as_ref(), i)
                                .replace(&format!("file:{}", self.data), "${DATA}")
                                .replace(self.data.as_str(), "${DATA}")
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; r.schema.fields().len()],
            rows,
        })
    }
}

fn write_parquet(path: &Path, batch: RecordBatch) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn id_name(ids: Vec<i32>, names: Vec<&str>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(ids)) as ArrayRef,
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

/// The fixture lake. See the module doc.
fn make_fixtures(root: &Path) {
    // t_part: PARTITIONED BY (dt string, n int)
    let t = root.join("t_part");
    write_parquet(
        &t.join("dt=2021-10-01/n=1/part-00000.parquet"),
        id_name(vec![1, 2], vec!["a", "b"]),
    );
    std::fs::write(t.join("dt=2021-10-01/n=1/.part-00000.parquet.crc"), b"crc").unwrap();
    // schema evolution: id as bigint and an extra column
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]));
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![3])) as ArrayRef,
            Arc::new(StringArray::from(vec!["c"])),
            Arc::new(Float64Array::from(vec![9.5])),
        ],
    )
    .unwrap();
    write_parquet(&t.join("dt=2021-10-02/n=2/part-00000.parquet"), b);
    write_parquet(
        &t.join("dt=__HIVE_DEFAULT_PARTITION__/n=3/part-00000.parquet"),
        id_name(vec![4], vec!["d"]),
    );
    write_parquet(
        &t.join("dt=a%2Fb/n=4/part-00000.parquet"),
        id_name(vec![5], vec!["e"]),
    );
    std::fs::write(t.join("_SUCCESS"), b"").unwrap();
    write_parquet(
        &t.join("_temporary/0/dt=2021-10-01/n=1/part-00000.parquet"),
        id_name(vec![1, 2], vec!["dup", "dup"]),
    );
    // t_bad: an int partition column with a folder value that is not an int
    write_parquet(
        &root.join("t_bad/n=abc/part-00000.parquet"),
        id_name(vec![1], vec!["x"]),
    );
    // t_sync: for MSCK ADD/DROP/SYNC
    for k in 1..=3 {
        write_parquet(
            &root.join(format!("t_sync/k={k}/part-00000.parquet")),
            id_name(vec![k], vec!["s"]),
        );
    }
    // t_incompatible: a string column where the table declares int
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
    let b = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec!["x"])) as ArrayRef],
    )
    .unwrap();
    write_parquet(&root.join("t_incompatible/part-00000.parquet"), b);
    // CSV with a header and an empty field; JSON lines
    std::fs::create_dir_all(root.join("csv")).unwrap();
    std::fs::write(
        root.join("csv/people.csv"),
        "id,name,age\n1,ann,34\n2,bob,\n3,,51\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("json")).unwrap();
    std::fs::write(
        root.join("json/part-0.jsonl"),
        "{\"id\":1,\"tag\":\"x\",\"ts\":\"2013-01-01T06:00:00Z\"}\n{\"id\":2,\"tag\":null}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("json/part-1.jsonl"),
        "{\"id\":3,\"tag\":\"z\",\"ts\":\"2013-01-02T00:30:00Z\"}\n",
    )
    .unwrap();
    // a corrupt parquet file
    std::fs::create_dir_all(root.join("corrupt")).unwrap();
    std::fs::write(root.join("corrupt/part-0.parquet"), b"not a parquet file").unwrap();
}

/// Run one file; `s3`: the server to put the fixtures on (else a local folder).
fn run_file(f: &Path, s3: Option<(&support::s3_server::S3Server, &str)>) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let (data, rm_map, setup) = match s3 {
        Some((server, bucket)) => {
            let dir = server.bucket_dir(bucket);
            make_fixtures(&dir);
            let url = format!("s3://{bucket}");
            (url.clone(), Some((url, dir)), server.setup_sql())
        }
        None => {
            let dir = tmp.path().join("data");
            make_fixtures(&dir);
            (dir.to_string_lossy().into_owned(), None, vec![])
        }
    };
    let mut runner = sqllogictest::Runner::new(|| {
        let (home, data, rm_map, setup) =
            (home.clone(), data.clone(), rm_map.clone(), setup.clone());
        async move {
            let mut session = Session::open(&home, Some(2), None)?;
            for st in &setup {
                session.sql(st)?;
            }
            Ok(QuarryDb {
                session,
                data,
                rm_map,
            })
        }
    });
    runner.with_column_validator(|_, _| true);
    runner.run_file(f).map_err(|e| e.to_string())
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sqllogictest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files.retain(|f| {
        filter.as_ref().is_none_or(|flt| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(flt.as_str())
        })
    });
    let needs_s3 = files
        .iter()
        .any(|f| S3_FILES.contains(&f.file_name().unwrap().to_string_lossy().as_ref()));
    let buckets: Vec<String> = (0..S3_FILES.len()).map(|i| format!("slt{i}")).collect();
    let bucket_refs: Vec<&str> = buckets.iter().map(|b| b.as_str()).collect();
    let server = if needs_s3 {
        support::s3_server::S3Server::start(&bucket_refs)
    } else {
        None
    };
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: String, r: Result<(), String>| match r {
        Ok(()) => {
            println!("test {name} ... ok");
            passed += 1;
        }
        Err(e) => {
            println!("test {name} ... FAILED\n{e}");
            failed += 1;
        }
    };
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        report(name.clone(), run_file(f, None));
        if let (Some(server), Some(i)) = (&server, S3_FILES.iter().position(|s| *s == name)) {
            report(
                format!("{name} (on S3)"),
                run_file(f, Some((server, &buckets[i]))),
            );
        }
    }
    println!("\nsqllogictest: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
