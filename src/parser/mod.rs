//! SQL text -> [`Statement`].
//!
//! Queries (`SELECT`, `WITH`, `VALUES`, set operations) are parsed by sqlparser
//! (Databricks/Spark dialect). Catalog statements that sqlparser lacks or models
//! differently (`CREATE TABLE ... USING`, `MSCK REPAIR TABLE ... SYNC PARTITIONS`,
//! `SHOW PARTITIONS`, `REFRESH TABLE`, ...) are parsed here with sqlparser's token-level
//! `Parser` API, so positions in errors come from the same tokenizer.

mod ddl;
pub(crate) mod dialect;
pub(crate) mod spark_tokens;
mod split;

use std::collections::BTreeMap;

use arrow::datatypes::DataType;
pub use dialect::SparkDialect;
use sqlparser::ast::Query;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::catalog::FileFormat;
use crate::error::{QuarryError, Result};
pub use split::{is_complete, split_statements};

/// A possibly qualified object name, as written (`db.t`, `t`), parts lower-cased.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectName(pub Vec<String>);

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.join("."))
    }
}

/// One part of a sqlparser name as Quarry keys it: its identifier's text without the
/// quotes it was written in (`` `My T` ``, `"My T"`, `My T` all give `My T`), case kept.
/// A part that is not an identifier (a function-call part) gives its SQL text.
pub fn name_part_text(part: &sqlparser::ast::ObjectNamePart) -> String {
    match part.as_ident() {
        Some(ident) => ident.value.clone(),
        None => part.to_string(),
    }
}

/// `MSCK REPAIR TABLE t [ADD|DROP|SYNC PARTITIONS]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MsckMode {
    Add,
    Drop,
    Sync,
}

/// A partition spec as written: `(p1='v', p2=3)`; values as text, `None` for NULL.
pub type PartitionSpec = Vec<(String, Option<String>)>;

/// What an `ALTER TABLE` (or `ALTER VIEW ... RENAME TO`) changes.
#[derive(Clone, Debug, PartialEq)]
pub enum AlterTable {
    /// `ADD COLUMN[S] (c type [COMMENT '...'], ...)`: new data columns, last; the
    /// table's existing files read NULL for them.
    AddColumns(
        Vec<(
            String,
            arrow::datatypes::DataType,
            Option<String>,
            Option<crate::types::CharVarchar>,
        )>,
    ),
    /// `CHANGE [COLUMN] c [c] [TYPE] type [COMMENT '...']` (Hive's and Spark's) or
    /// `ALTER [COLUMN] c TYPE type | COMMENT '...'`: Spark's v1 tables change only a
    /// column's comment; the same name and type may be restated.
    ChangeColumn {
        column: String,
        new_name: Option<String>,
        data_type: Option<arrow::datatypes::DataType>,
        /// The new type's `CHAR(n)`/`VARCHAR(n)`, when it is one.
        char_varchar: Option<crate::types::CharVarchar>,
        comment: Option<String>,
    },
    /// `RENAME TO [db.]t2`.
    RenameTo(ObjectName),
    /// `SET LOCATION 'path'`.
    SetLocation(String),
    /// `SET TBLPROPERTIES (k = v, ...)` (tables and views): added or replaced.
    SetProperties(BTreeMap<String, String>),
    /// `UNSET TBLPROPERTIES [IF EXISTS] (k, ...)`.
    UnsetProperties { keys: Vec<String>, if_exists: bool },
}

/// The table property that holds a table's or view's `COMMENT '...'` (Hive keeps it as the
/// `comment` table parameter; `TBLPROPERTIES ('comment' = ...)` sets it too, as in Spark).
pub const TABLE_COMMENT: &str = "comment";

/// One column of INSERT's `PARTITION (p1 = 'v', p2)` clause (Spark's and Hive's).
#[derive(Clone, Debug, PartialEq)]
pub enum InsertPartition {
    /// `p = value`: every row goes to that partition; the value as text, `None` for NULL.
    Static(Option<String>),
    /// `p` alone: each row's value comes from the query, after the data columns.
    Dynamic,
}

/// `CREATE [EXTERNAL] TABLE` in the Hive or Spark form, or CTAS.
#[derive(Clone, Debug)]
pub struct CreateTable {
    pub name: ObjectName,
    pub external: bool,
    pub if_not_exists: bool,
    pub or_replace: bool,
    /// Declared columns; `None` when omitted (schema inferred from files or the query).
    pub columns: Option<Vec<(String, DataType)>>,
    /// `DEFAULT expr` of declared columns: column and the expression's SQL text.
    pub defaults: Vec<(String, String)>,
    /// `GENERATED ALWAYS AS (expr)` / `AS (expr)` of declared columns: column and the
    /// expression's SQL text. A generated column declared without a type has
    /// `DataType::Null` in `columns`: its type is the expression's.
    pub generated: Vec<(String, String)>,
    /// Declared columns that are `NOT NULL`.
    pub not_null: Vec<String>,
    /// Partition columns; the type is `None` in Spark's form (a column of the list, or inferred).
    pub partition_by: Vec<(String, Option<DataType>)>,
    pub format: Option<FileFormat>,
    /// Reader options from OPTIONS and ROW FORMAT, keys lower-case.
    pub options: BTreeMap<String, String>,
    /// `TBLPROPERTIES`, keys as written.
    pub properties: BTreeMap<String, String>,
    /// `COMMENT '...'` of declared columns (partition columns too): column and text.
    pub comments: Vec<(String, String)>,
    /// Declared columns (partition columns too) of type `CHAR(n)` or `VARCHAR(n)`.
    pub char_types: Vec<(String, crate::types::CharVarchar)>,
    /// `LIKE source`: the columns, partitioning and format come from this table or view.
    pub like: Option<ObjectName>,
    pub location: Option<String>,
    pub query: Option<Box<Query>>,
}

impl CreateTable {
    /// A plain `CREATE TABLE name` with no columns, clauses or query.
    pub fn named(name: ObjectName) -> CreateTable {
        CreateTable {
            name,
            external: false,
            if_not_exists: false,
            or_replace: false,
            columns: None,
            defaults: vec![],
            generated: vec![],
            not_null: vec![],
            partition_by: vec![],
            format: None,
            options: BTreeMap::new(),
            properties: BTreeMap::new(),
            comments: vec![],
            char_types: vec![],
            like: None,
            location: None,
            query: None,
        }
    }
}

/// The parts of a DELETE or UPDATE of one table.
#[derive(Clone, Debug)]
pub struct Dml {
    pub table: ObjectName,
    /// The table's alias, lower-cased.
    pub alias: Option<String>,
    /// UPDATE's `SET` list: a column (lower-cased) and its new value; empty for DELETE.
    pub assignments: Vec<(String, sqlparser::ast::Expr)>,
    /// `WHERE`: the rows deleted or updated; `None` for all rows.
    pub selection: Option<sqlparser::ast::Expr>,
    /// CTEs written before the statement, which its expressions may read.
    pub with: Option<sqlparser::ast::With>,
}

/// What `ANALYZE TABLE ... COMPUTE STATISTICS` computes (Spark's semantics).
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyzeMode {
    /// Size and row count.
    Scan,
    /// `NOSCAN`: size only, from the file listing.
    NoScan,
    /// `FOR COLUMNS a, b`: size, rows, and these columns' statistics.
    Columns(Vec<String>),
    /// `FOR ALL COLUMNS`.
    AllColumns,
}

/// One SQL statement.
#[derive(Clone, Debug)]
pub enum Statement {
    Query(Box<Query>),
    Explain {
        analyze: bool,
        verbose: bool,
        statement: Box<Statement>,
    },
    CreateDatabase {
        name: String,
        if_not_exists: bool,
        location: Option<String>,
    },
    DropDatabase {
        name: String,
        if_exists: bool,
        cascade: bool,
    },
    Use {
        name: String,
    },
    ShowDatabases,
    ShowCatalogs,
    /// `SHOW TABLES|VIEWS [IN [catalog.]db | IN lake_catalog] [[LIKE] 'pattern']`: the
    /// name as written; `views` lists views only (persisted and temporary), as Spark's
    /// SHOW VIEWS; the pattern is Spark's (`*` any characters, `|` alternatives, case
    /// ignored).
    ShowTables {
        database: Option<ObjectName>,
        views: bool,
        pattern: Option<String>,
    },
    ShowColumns {
        table: ObjectName,
    },
    /// `SHOW TBLPROPERTIES t [(key)]`: the table's or view's properties (one of them).
    /// `CACHE [LAZY] TABLE name [OPTIONS (...)] [[AS] query]`: with a query, a temporary
    /// view of its rows, computed now (LAZY too); without, the temporary view `name` is
    /// computed now (a table or persisted view: checked only).
    CacheTable {
        name: ObjectName,
        /// The query's text and AST.
        query: Option<(String, Box<Query>)>,
    },
    /// `UNCACHE TABLE [IF EXISTS] name`.
    UncacheTable {
        name: ObjectName,
        if_exists: bool,
    },
    /// `CLEAR CACHE`: every cached temporary view is computed at each use again.
    ClearCache,
    ShowTblProperties {
        table: ObjectName,
        key: Option<String>,
    },
    ShowPartitions {
        table: ObjectName,
    },
    /// `SHOW CREATE TABLE t`: the DDL that makes the table or persisted view again.
    ShowCreateTable {
        table: ObjectName,
    },
    /// `DESCRIBE [QUERY] query`: the query's columns (name, type, comment).
    DescribeQuery {
        query: Box<Statement>,
    },
    /// `DESCRIBE [EXTENDED] t [col]`.
    Describe {
        table: ObjectName,
        extended: bool,
        column: Option<String>,
    },
    /// `DESCRIBE [EXTENDED] t PARTITION (k = v, ...)`: the columns, and with EXTENDED
    /// the partition's location and statistics.
    DescribePartition {
        table: ObjectName,
        extended: bool,
        spec: PartitionSpec,
    },
    /// `ANALYZE TABLE t [PARTITION (...)] COMPUTE STATISTICS [NOSCAN | FOR COLUMNS a, b | FOR ALL COLUMNS]`.
    Analyze {
        table: ObjectName,
        partition: Option<PartitionSpec>,
        mode: AnalyzeMode,
    },
    CreateTable(Box<CreateTable>),
    /// `CREATE [OR REPLACE] [TEMPORARY] VIEW v AS query`; `sql` is the query's text.
    CreateView {
        name: ObjectName,
        temporary: bool,
        or_replace: bool,
        if_not_exists: bool,
        sql: String,
        query: Box<Query>,
        /// `TBLPROPERTIES` (a persisted view keeps them; a temporary one has none).
        properties: BTreeMap<String, String>,
    },
    /// `CREATE [OR REPLACE] TEMPORARY VIEW v USING fmt OPTIONS (path '...')`.
    CreateTempViewUsing {
        name: String,
        or_replace: bool,
        format: FileFormat,
        options: BTreeMap<String, String>,
    },
    DropTable {
        name: ObjectName,
        if_exists: bool,
        view: bool,
    },
    Msck {
        table: ObjectName,
        mode: MsckMode,
    },
    AddPartitions {
        table: ObjectName,
        if_not_exists: bool,
        parts: Vec<(PartitionSpec, Option<String>)>,
    },
    DropPartitions {
        table: ObjectName,
        if_exists: bool,
        specs: Vec<PartitionSpec>,
    },
    /// `TRUNCATE TABLE t [PARTITION (k=v, ...)]` (the spec may name some of the
    /// partition columns).
    Truncate {
        table: ObjectName,
        partition: Option<PartitionSpec>,
    },
    Refresh {
        table: ObjectName,
    },
    /// `REFRESH 'path'` (Spark): drop cached listings under a location.
    RefreshPath {
        path: String,
    },
    Insert {
        table: ObjectName,
        overwrite: bool,
        /// `PARTITION (p1 = 'v', p2)`: the partition columns named, in the order written.
        partition: Vec<(String, InsertPartition)>,
        columns: Vec<String>,
        /// `BY NAME`: the query's columns go to the table's columns of the same name
        /// (case-insensitive), the others get NULL.
        by_name: bool,
        query: Box<Query>,
    },
    /// `ALTER TABLE t ADD COLUMNS (...) | RENAME TO t2 | SET LOCATION '...'`.
    AlterTable {
        table: ObjectName,
        action: AlterTable,
    },
    /// `ALTER VIEW v AS query`: a new query for an existing view (temporary or not).
    AlterView {
        name: ObjectName,
        sql: String,
        query: Box<Query>,
    },
    /// `[WITH ...] DELETE FROM t [[AS] a] [WHERE p]`.
    Delete(Box<Dml>),
    /// `[WITH ...] UPDATE t [[AS] a] SET c = e, ... [WHERE p]`.
    Update(Box<Dml>),
    /// `SET` (list), `SET k` (show), `SET k = v`.
    Set {
        key: Option<String>,
        value: Option<String>,
    },
    Reset {
        key: Option<String>,
    },
    /// `PREPARE name [(type, ...)] AS statement` (DuckDB's, PostgreSQL's): `sql` is the
    /// statement's text, its parameters `?`, `?N` or `$N` (see [`bind_parameters`]).
    Prepare {
        name: String,
        sql: String,
    },
    /// `EXECUTE name [(arg, ...)]`: each argument's text, in order.
    Execute {
        name: String,
        args: Vec<String>,
    },
    /// `EXECUTE IMMEDIATE 'sql' [USING arg [AS name], ...]` (Spark 4's): the statement
    /// text and each argument's text with its name (for `:name` parameters).
    ExecuteImmediate {
        sql: String,
        args: Vec<(String, Option<String>)>,
    },
    /// `DEALLOCATE [PREPARE] name`.
    Deallocate {
        name: String,
    },
    /// `INSERT OVERWRITE [LOCAL] DIRECTORY 'path' USING fmt [OPTIONS (...)] query` (or
    /// Hive's `ROW FORMAT ... STORED AS fmt`): the folder's files replaced by the query's
    /// rows in `format`, written with `options` as a table of that format.
    InsertDirectory {
        path: String,
        format: FileFormat,
        options: BTreeMap<String, String>,
        query: Box<Query>,
    },
    /// Hive's multi-insert, `[WITH ...] FROM src INSERT INTO|OVERWRITE t1 SELECT ...
    /// INSERT ... t2 SELECT ...`: one [`Statement::Insert`] per INSERT, each reading the
    /// FROM (see [`multi_insert`]), run in order.
    MultiInsert(Vec<Statement>),
}

/// Parse exactly one statement (a trailing `;` is allowed).
pub fn parse_statement(sql: &str) -> Result<Statement> {
    let rewritten = identifier_clauses(sql)?;
    let sql = rewritten.as_ref();
    let trimmed = sql.trim().trim_end_matches(';').trim();
    // `SET TIME ZONE` needs a zone (Spark's grammar: LOCAL, a string or an interval)
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    if words.len() == 3
        && ["SET", "TIME", "ZONE"]
            .iter()
            .zip(&words)
            .all(|(k, w)| w.eq_ignore_ascii_case(k))
    {
        return Err(parse_error(
            sql,
            ParserError::ParserError(
                "[PARSE_SYNTAX_ERROR] SET TIME ZONE needs LOCAL, a zone name or an interval at Line: 1, Column: 1"
                    .into(),
            ),
        ));
    }
    if let Some(st) = parse_set(trimmed) {
        return Ok(st);
    }
    if let Some(parts) = multi_insert(sql)? {
        return Ok(Statement::MultiInsert(
            parts
                .iter()
                .map(|p| parse_statement(p))
                .collect::<Result<Vec<_>>>()?,
        ));
    }
    let mut parser = parser_for(sql)?;
    let st = ddl::parse(&mut parser, sql).map_err(|e| parse_error(sql, e))?;
    // only `;` and end of input may follow
    loop {
        let t = parser.next_token();
        match t.token {
            Token::SemiColon => continue,
            Token::EOF => break,
            _ => {
                return Err(parse_error(
                    sql,
                    ParserError::ParserError(format!(
                        "Expected: end of statement, found: {} at Line: {}, Column: {}",
                        t.token, t.span.start.line, t.span.start.column
                    )),
                ))
            }
        }
    }
    Ok(st)
}

/// Hive's multi-insert (Spark's `FROM src insertInto fromStatementBody+`): a statement
/// that, after an optional WITH list, opens with `FROM` and has `INSERT` at its top
/// level, one INSERT per body. Returns each INSERT's own statement text, `[WITH ...]
/// INSERT INTO t [PARTITION ...] [(cols)] FROM src SELECT ...` (the FROM goes before the
/// body's SELECT), or `None` for any other statement. Errors: a body without SELECT, and
/// two or more INSERTs where one writes a table the statement reads (they run one after
/// another, so a later one would read an earlier one's rows; Spark reads the source
/// once).
fn multi_insert(sql: &str) -> Result<Option<Vec<String>>> {
    use spark_tokens::{kw, query_keywords, significant};
    use sqlparser::keywords::Keyword;
    // a multi-insert has both words: other statements skip the second tokenizing
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("insert") || !lower.contains("from") {
        return Ok(None);
    }
    let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, sql)
        .with_unescape(false)
        .tokenize_with_location()
    else {
        return Ok(None);
    };
    let sig = significant(&tokens);
    let Some(&head) = sig.first() else {
        return Ok(None);
    };
    // the statement's keywords at its top level, after the first
    let top = query_keywords(&tokens, &sig, 0);
    let from_at = match kw(&tokens[head].token) {
        Some(Keyword::WITH) => top
            .iter()
            .find(|(_, k)| matches!(k, Keyword::FROM | Keyword::SELECT | Keyword::INSERT))
            .filter(|(_, k)| *k == Keyword::FROM)
            .map(|(i, _)| *i),
        Some(Keyword::FROM) => Some(head),
        _ => None,
    };
    let Some(from_at) = from_at else {
        return Ok(None);
    };
    let inserts: Vec<usize> = top
        .iter()
        .filter(|(i, k)| *i > from_at && *k == Keyword::INSERT)
        .map(|(i, _)| *i)
        .collect();
    let Some(&first) = inserts.first() else {
        return Ok(None);
    };
    let text = |r: std::ops::Range<usize>| {
        tokens[r]
            .iter()
            .map(|t| t.token.to_string())
            .collect::<String>()
    };
    let with = text(0..from_at);
    let from = text(from_at..first);
    let end = tokens
        .iter()
        .rposition(|t| {
            !matches!(
                t.token,
                Token::Whitespace(_) | Token::SemiColon | Token::EOF
            )
        })
        .map_or(tokens.len(), |i| i + 1);
    let read: std::collections::HashSet<String> = tokens[..first]
        .iter()
        .filter_map(|t| match &t.token {
            Token::Word(w) => Some(w.value.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let mut out = vec![];
    for (n, &at) in inserts.iter().enumerate() {
        let stop = inserts.get(n + 1).copied().unwrap_or(end);
        let Some(&(select_at, _)) = top
            .iter()
            .find(|(i, k)| *i > at && *i < stop && *k == Keyword::SELECT)
        else {
            return Err(parse_error(
                sql,
                ParserError::ParserError(
                    "[PARSE_SYNTAX_ERROR] each INSERT of a multi-insert (FROM src INSERT ... SELECT ...) needs a SELECT".into(),
                ),
            ));
        };
        // the target: the first name after INSERT INTO|OVERWRITE [TABLE]
        let target = tokens[at..select_at].iter().find_map(|t| match &t.token {
            Token::Word(w)
                if w.quote_style.is_some()
                    || !matches!(
                        w.keyword,
                        Keyword::INSERT | Keyword::INTO | Keyword::OVERWRITE | Keyword::TABLE
                    ) =>
            {
                Some(w.value.to_ascii_lowercase())
            }
            _ => None,
        });
        if inserts.len() > 1 && target.is_some_and(|t| read.contains(&t)) {
            return Err(QuarryError::NotSupported(
                "a multi-insert (FROM src INSERT ... INSERT ...) that reads a table it writes; write each INSERT as its own statement".into(),
            ));
        }
        out.push(format!(
            "{with}{} {from} {}",
            text(at..select_at),
            text(select_at..stop)
        ));
    }
    Ok(Some(out))
}

/// A parser over `sql`'s tokens in Spark's dialect, Spark-only lexical forms rewritten
/// ([`spark_tokens::rewrite`]).
fn parser_for(sql: &str) -> Result<Parser<'static>> {
    let tokens = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| parse_error(sql, e.into()))?;
    let tokens = spark_string_literals(sql, tokens);
    Ok(Parser::new(&SparkDialect)
        .with_recursion_limit(200)
        .with_tokens_with_locations(spark_tokens::rewrite(tokens)))
}

/// String literals read as Spark's lexer and `unescapeSQLString` read them, where
/// sqlparser's escapes differ: `\ddd` (three octal digits, the first 0-3) and `\uXXXX`
/// are one character, `\%` and `\_` keep their backslash (they are LIKE escapes), and
/// `r'...'` / `R"..."` is a raw string whose backslashes are its own. Only a statement
/// with a backslash or a raw string is tokenized a second time, unescaped, to read the
/// literals' source text; the tokens keep their spans.
fn spark_string_literals(sql: &str, mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let raw_prefix = |t: &Token| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("r"));
    let has_raw = tokens.windows(2).any(|w| {
        raw_prefix(&w[0].token)
            && matches!(
                w[1].token,
                Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)
            )
            && w[0].span.end == w[1].span.start
    });
    if !sql.contains('\\') && !has_raw {
        return tokens;
    }
    let Ok(raw) = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, sql)
        .with_unescape(false)
        .tokenize_with_location()
    else {
        return tokens;
    };
    if raw.len() != tokens.len() {
        return tokens;
    }
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    for (t, r) in tokens.drain(..).zip(raw) {
        let source = match &r.token {
            Token::SingleQuotedString(s) => Some((s.clone(), '\'')),
            Token::DoubleQuotedString(s) => Some((s.clone(), '"')),
            _ => None,
        };
        let Some((text, quote)) = source else {
            out.push(t);
            continue;
        };
        let is_raw = out
            .last()
            .is_some_and(|p| raw_prefix(&p.token) && p.span.end == t.span.start);
        let value = if is_raw {
            out.pop();
            text
        } else if text.contains('\\') {
            unescape_spark(&text, quote)
        } else {
            out.push(t);
            continue;
        };
        let token = if quote == '"' {
            Token::DoubleQuotedString(value)
        } else {
            Token::SingleQuotedString(value)
        };
        out.push(TokenWithSpan {
            token,
            span: t.span,
        });
    }
    out
}

/// A string literal's source text (between its quotes) unescaped as Spark's
/// `unescapeSQLString`, with a doubled `quote` read as one (the SQL standard's escape,
/// which Quarry keeps for other engines' scripts).
fn unescape_spark(text: &str, quote: char) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == quote && chars.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
            continue;
        }
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &chars[i + 1..];
        if rest[0] == 'u' && rest.len() >= 5 && rest[1..5].iter().all(|d| d.is_ascii_hexdigit()) {
            let hex: String = rest[1..5].iter().collect();
            if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                out.push(ch);
                i += 6;
                continue;
            }
        }
        if rest.len() >= 3
            && ('0'..='3').contains(&rest[0])
            && ('0'..='7').contains(&rest[1])
            && ('0'..='7').contains(&rest[2])
        {
            let code = rest[..3]
                .iter()
                .fold(0u32, |acc, d| acc * 8 + d.to_digit(8).unwrap_or(0));
            if let Some(ch) = char::from_u32(code) {
                out.push(ch);
            }
            i += 4;
            continue;
        }
        match rest[0] {
            '0' => out.push('\0'),
            'b' => out.push('\u{8}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'Z' => out.push('\u{1a}'),
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            other => out.push(other),
        }
        i += 2;
    }
    out
}

/// Parse one expression in Spark's dialect (the binder's rewrites of functions into
/// other SQL). Errors: text that is not exactly one expression.
pub fn parse_expression(sql: &str) -> Result<sqlparser::ast::Expr> {
    let mut parser = parser_for(sql)?;
    let e = parser.parse_expr().map_err(|e| parse_error(sql, e))?;
    match parser.next_token().token {
        Token::EOF => Ok(e),
        t => Err(parse_error(
            sql,
            ParserError::ParserError(format!("Expected: end of expression, found: {t}")),
        )),
    }
}

/// `name` as a backquoted Spark identifier (`` `a b` ``, a backquote doubled), for SQL
/// text Quarry writes itself.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The session time zone's setting key (Spark's `spark.sql.session.timeZone`, lower-case
/// as setting keys are kept); `SET TIME ZONE ...` sets it too.
pub const SESSION_TIME_ZONE: &str = "spark.sql.session.timezone";

/// A SET value trimmed and without one pair of enclosing single or double quotes.
fn unquoted(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .or_else(|| v.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
        .unwrap_or(v)
}

/// `SET`, `SET -v`, `SET key`, `SET key = value`, `SET TIME ZONE ...`, `RESET [key]`: parsed from the raw text,
/// because keys contain dots and values may be unquoted lists.
fn parse_set(text: &str) -> Option<Statement> {
    let upper = text.to_ascii_uppercase();
    let (is_reset, rest) = if upper == "SET"
        || upper.starts_with("SET ")
        || upper.starts_with("SET\t")
        || upper.starts_with("SET\n")
    {
        (false, text[3..].trim())
    } else if upper == "RESET" || upper.starts_with("RESET ") {
        (true, text[5..].trim())
    } else {
        return None;
    };
    if is_reset {
        return Some(Statement::Reset {
            key: if rest.is_empty() {
                None
            } else {
                Some(rest.to_ascii_lowercase())
            },
        });
    }
    if rest.is_empty() || rest == "-v" {
        return Some(Statement::Set {
            key: None,
            value: None,
        });
    }
    // `SET TIME ZONE LOCAL | 'zone' | INTERVAL ...` (Spark's) sets the session time zone
    let words: Vec<&str> = rest.splitn(3, char::is_whitespace).collect();
    if let [time, zone, value] = words.as_slice() {
        if time.eq_ignore_ascii_case("TIME") && zone.eq_ignore_ascii_case("ZONE") {
            return Some(Statement::Set {
                key: Some(SESSION_TIME_ZONE.into()),
                value: Some(unquoted(value).to_string()),
            });
        }
    }
    match rest.split_once('=') {
        Some((k, v)) => Some(Statement::Set {
            key: Some(k.trim().to_ascii_lowercase()),
            value: Some(unquoted(v).to_string()),
        }),
        None => Some(Statement::Set {
            key: Some(rest.to_ascii_lowercase()),
            value: None,
        }),
    }
}

/// `sql` with its parameters replaced by the arguments' texts, each in parentheses:
/// `?` takes the next of `positional`, `?N` and `$N` the N-th (1-based), `:name` the
/// one of `named` of that name (case-insensitive; Spark's named parameter markers);
/// an argument other than one literal or name goes in parentheses.
/// Parameters are tokens, never text inside a string literal or a comment. Errors: a
/// parameter with no argument (`[UNBOUND_SQL_PARAMETER]`, Spark's), positional and
/// named parameters in one statement (`[INVALID_QUERY_MIXED_QUERY_PARAMETERS]`), more
/// positional arguments than the statement takes, text that does not tokenize.
pub fn bind_parameters(
    sql: &str,
    positional: &[String],
    named: &[(String, String)],
) -> Result<String> {
    let tokens = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, sql)
        .tokenize_with_location()
        .map_err(|e| parse_error(sql, e.into()))?;
    let unbound = |p: &str| {
        QuarryError::Analysis(format!(
            "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {p}. Please, fix `args` and provide a mapping of the parameter to a SQL literal"
        ))
    };
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let (mut next, mut highest, mut named_seen) = (0usize, 0usize, false);
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let start = offset_of(sql, t.span.start.line, t.span.start.column);
        let (value, end) = match &t.token {
            Token::Placeholder(p) => {
                let n = if p == "?" {
                    next += 1;
                    next
                } else {
                    match p[1..].parse::<usize>() {
                        Ok(n) if n >= 1 => n,
                        _ => return Err(unbound(p)),
                    }
                };
                highest = highest.max(n);
                let v = positional.get(n - 1).ok_or_else(|| unbound(p))?;
                (v, offset_of(sql, t.span.end.line, t.span.end.column))
            }
            // `:name`, the colon right before the word, where named arguments are given
            // (else it is a slice's colon, `a[1:n]`)
            Token::Colon if !named.is_empty() => {
                let word = tokens.get(i + 1).and_then(|w| match &w.token {
                    Token::Word(x) if x.quote_style.is_none() && w.span.start == t.span.end => {
                        Some((x.value.clone(), w.span.end))
                    }
                    _ => None,
                });
                let Some((word, end)) = word else {
                    i += 1;
                    continue;
                };
                named_seen = true;
                let v = named
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&word))
                    .map(|(_, v)| v)
                    .ok_or_else(|| unbound(&format!(":{word}")))?;
                i += 1;
                (v, offset_of(sql, end.line, end.column))
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&sql[copied..start]);
        if is_atom(value) {
            out.push_str(value);
        } else {
            out.push('(');
            out.push_str(value);
            out.push(')');
        }
        copied = end;
        i += 1;
    }
    out.push_str(&sql[copied..]);
    if named_seen && highest > 0 {
        return Err(QuarryError::Analysis(
            "[INVALID_QUERY_MIXED_QUERY_PARAMETERS] Parameterized query must either use positional, or named parameters, but not both".into(),
        ));
    }
    if positional.len() > highest {
        return Err(QuarryError::Analysis(format!(
            "wrong number of parameters: the statement takes {highest}, {} given",
            positional.len()
        )));
    }
    Ok(out)
}

/// Whether `text` is one literal or name (optionally a signed number), which takes the
/// place of a parameter without parentheses (so the column is named `(10 - 1)`, as
/// the literal query's).
fn is_atom(text: &str) -> bool {
    let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, text).tokenize() else {
        return false;
    };
    let tokens: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    matches!(
        tokens.as_slice(),
        [Token::Number(..) | Token::SingleQuotedString(_) | Token::Word(_)]
            | [Token::Minus | Token::Plus, Token::Number(..)]
    )
}

/// Turn a sqlparser error (`... at Line: L, Column: C`) into [`QuarryError::Parse`]
/// with the line of SQL and a caret under the column.
pub fn parse_error(sql: &str, e: ParserError) -> QuarryError {
    let msg = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
        ParserError::RecursionLimitExceeded => "statement is nested too deeply".to_string(),
    };
    let (message, line, column) = match msg.rfind(" at Line: ") {
        Some(i) => {
            let loc = &msg[i + " at Line: ".len()..];
            let mut it = loc.split(", Column: ");
            let line = it
                .next()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(1);
            let col = it
                .next()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(1);
            (msg[..i].to_string(), line, col)
        }
        None => (msg.clone(), 1, 1),
    };
    // sqlparser reports the end of input at 0:0; point past the last character instead
    let (line, column) = if message.ends_with("found: EOF") || line == 0 {
        let last = sql.trim_end();
        let l = last.lines().count().max(1) as u64;
        let c = last
            .lines()
            .last()
            .map(|x| x.chars().count() as u64 + 1)
            .unwrap_or(1);
        (l, c)
    } else {
        (line, column)
    };
    let snippet = match sql.lines().nth(line.saturating_sub(1) as usize) {
        Some(l) => {
            let caret_pad: String = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            format!("\n  {l}\n  {caret_pad}^")
        }
        None => String::new(),
    };
    QuarryError::Parse {
        message,
        line,
        column,
        snippet,
    }
}

/// Byte offset in `sql` of a 1-based (line, column) location, columns counted in chars.
pub(crate) fn offset_of(sql: &str, line: u64, column: u64) -> usize {
    let mut off = 0;
    for (i, l) in sql.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let chars: usize = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(|c| c.len_utf8())
                .sum();
            return off + chars;
        }
        off += l.len();
    }
    sql.len()
}

/// `sql` with each of Spark 3.5's `IDENTIFIER(<constant string>)` clauses replaced by
/// the name its string spells (`IDENTIFIER('s.' || 'tab')` -> `s.tab`,
/// `IDENTIFIER('`c 1`')` -> `` `c 1` ``), wherever a name may stand: a table, a column,
/// a function. The string is string literals joined by `||`. A call of another shape
/// (a column argument) is left as it is; a string that is not a name, qualified or not,
/// is an error naming it.
fn identifier_clauses(sql: &str) -> Result<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    if !sql.to_ascii_lowercase().contains("identifier") {
        return Ok(Cow::Borrowed(sql));
    }
    let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, sql)
        .with_unescape(true)
        .tokenize_with_location()
    else {
        return Ok(Cow::Borrowed(sql));
    };
    // byte offset of each line's start, to turn (line, column) spans into offsets
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |loc: sqlparser::tokenizer::Location| -> Option<usize> {
        let start = *line_starts.get((loc.line as usize).checked_sub(1)?)?;
        let col = (loc.column as usize).checked_sub(1)?;
        Some(
            sql[start..]
                .char_indices()
                .nth(col)
                .map_or(sql.len(), |(i, _)| start + i),
        )
    };
    let significant: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut edits: Vec<(usize, usize, String)> = vec![];
    let mut i = 0;
    while i + 3 < significant.len() {
        let is_clause = matches!(&significant[i].token, Token::Word(w)
            if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("identifier"))
            && significant[i + 1].token == Token::LParen;
        if !is_clause {
            i += 1;
            continue;
        }
        // string ( '||' string )* ')'
        let mut text = String::new();
        let mut j = i + 2;
        let mut ok = false;
        while let Some(t) = significant.get(j) {
            match &t.token {
                Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => text.push_str(s),
                _ => break,
            }
            match significant.get(j + 1).map(|t| &t.token) {
                Some(Token::StringConcat) => j += 2,
                Some(Token::RParen) => {
                    ok = true;
                    j += 1;
                    break;
                }
                _ => break,
            }
        }
        if !ok {
            i += 1;
            continue;
        }
        // the text must be a (qualified) name: names joined by '.'
        let name_tokens = sqlparser::tokenizer::Tokenizer::new(&SparkDialect, &text)
            .tokenize()
            .unwrap_or_default();
        let mut expect_name = true;
        let mut valid = !name_tokens.is_empty();
        for t in &name_tokens {
            match (&t, expect_name) {
                (Token::Word(_), true) => expect_name = false,
                (Token::Period, false) => expect_name = true,
                _ => {
                    valid = false;
                    break;
                }
            }
        }
        if !valid || expect_name {
            let at = significant[i].span.start;
            return Err(parse_error(
                sql,
                ParserError::ParserError(format!(
                    "[INVALID_SQL_SYNTAX] IDENTIFIER('{text}'): '{text}' is not a name, qualified or not at Line: {}, Column: {}",
                    at.line, at.column
                )),
            ));
        }
        let (Some(start), Some(end)) = (
            offset(significant[i].span.start),
            // just past the closing ')' (one byte)
            offset(significant[j].span.start).map(|o| o + 1),
        ) else {
            return Ok(Cow::Borrowed(sql));
        };
        edits.push((start, end, text));
        i = j + 1;
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(sql));
    }
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (start, end, text) in edits {
        out.push_str(&sql[at..start]);
        out.push_str(&text);
        at = end;
    }
    out.push_str(&sql[at..]);
    Ok(Cow::Owned(out))
}
