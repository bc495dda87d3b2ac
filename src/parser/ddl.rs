//! Statement-level parsing on top of sqlparser's token API (see the module doc of `parser`).

use std::collections::BTreeMap;

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Word};

use super::{
    offset_of, AlterTable, AnalyzeMode, CreateTable, Dml, InsertPartition, MsckMode, ObjectName,
    PartitionSpec, Statement,
};
use crate::catalog::FileFormat;
use crate::types::parse_type_name;

type PResult<T> = std::result::Result<T, ParserError>;

fn peek_word(p: &Parser) -> Option<String> {
    match &p.peek_token().token {
        Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) => Some(value.to_ascii_uppercase()),
        _ => None,
    }
}

fn peek_nth_word(p: &Parser, n: usize) -> Option<String> {
    match &p.peek_nth_token(n).token {
        Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) => Some(value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Consume the word `w` (case-insensitive, unquoted) if it is next.
fn eat(p: &mut Parser, w: &str) -> bool {
    if peek_word(p).as_deref() == Some(w) {
        p.next_token();
        true
    } else {
        false
    }
}

/// Consume the words `ws` if all of them come next, else consume nothing.
fn eat_seq(p: &mut Parser, ws: &[&str]) -> bool {
    for (i, w) in ws.iter().enumerate() {
        if peek_nth_word(p, i).as_deref() != Some(*w) {
            return false;
        }
    }
    for _ in ws {
        p.next_token();
    }
    true
}

fn expect(p: &mut Parser, w: &str) -> PResult<()> {
    if eat(p, w) {
        Ok(())
    } else {
        p.expected(w, p.peek_token())
    }
}

fn object_name(p: &mut Parser) -> PResult<ObjectName> {
    Ok(lowered_name(&p.parse_object_name(false)?))
}

/// sqlparser's name as Quarry's: parts unquoted and lower-cased.
fn lowered_name(n: &sqlparser::ast::ObjectName) -> ObjectName {
    ObjectName(
        n.0.iter()
            .map(|part| super::name_part_text(part).to_ascii_lowercase())
            .collect(),
    )
}

/// `[PARTITION (k=v, ...)]`.
fn optional_partition_spec(p: &mut Parser) -> PResult<Option<PartitionSpec>> {
    if eat(p, "PARTITION") {
        Ok(Some(partition_spec(p)?))
    } else {
        Ok(None)
    }
}

fn identifier(p: &mut Parser) -> PResult<String> {
    Ok(p.parse_identifier()?.value.to_ascii_lowercase())
}

/// A column name as declared: unquoted, its case kept (Spark keeps the case of the
/// columns it stores; names still match case-insensitively everywhere).
fn column_name(p: &mut Parser) -> PResult<String> {
    Ok(p.parse_identifier()?.value)
}

fn string_lit(p: &mut Parser) -> PResult<String> {
    let t = p.next_token();
    match t.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(s),
        _ => p.expected("a string literal", t),
    }
}

/// The `CHAR(n)` / `VARCHAR(n)` (also `CHARACTER(n)`) a column type ahead is, without
/// consuming it; `None` for any other type.
fn char_varchar_ahead(p: &Parser) -> Option<crate::types::CharVarchar> {
    let word = match &p.peek_nth_token_ref(0).token {
        Token::Word(w) => w.value.to_ascii_lowercase(),
        _ => return None,
    };
    match (
        &p.peek_nth_token_ref(1).token,
        &p.peek_nth_token_ref(2).token,
        &p.peek_nth_token_ref(3).token,
    ) {
        (Token::LParen, Token::Number(n, _), Token::RParen) => {
            crate::types::CharVarchar::parse(&format!("{word}({n})"))
        }
        _ => None,
    }
}

/// Parse a column type: a word (two for `double precision`), optional `(args)`.
fn data_type(p: &mut Parser) -> PResult<arrow::datatypes::DataType> {
    let start = p.peek_token();
    let mut text = match p.next_token().token {
        Token::Word(w) => w.value,
        _ => return p.expected("a data type", start),
    };
    if text.eq_ignore_ascii_case("double") && eat(p, "PRECISION") {
        text.push_str(" precision");
    }
    if p.consume_token(&Token::Lt) {
        // a complex type: take its text up to the matching `>` (`>>` closes two)
        text.push('<');
        let mut depth = 1;
        while depth > 0 {
            let t = p.next_token();
            match &t.token {
                Token::Lt => depth += 1,
                Token::Gt => depth -= 1,
                Token::ShiftRight => depth -= 2,
                Token::EOF => return p.expected(">", t),
                _ => {}
            }
            if depth < 0 {
                return p.expected("a data type", t);
            }
            match &t.token {
                Token::Word(w) => {
                    text.push(' ');
                    text.push_str(&w.value);
                }
                other => text.push_str(&other.to_string()),
            }
        }
    }
    if text.eq_ignore_ascii_case("row") || text.eq_ignore_ascii_case("struct") {
        // DuckDB's and Trino's `ROW(a INT, b VARCHAR)` / `STRUCT(a INT, ...)`
        if p.consume_token(&Token::LParen) {
            let mut fields = vec![];
            loop {
                let name = p.parse_identifier()?.value;
                let dt = data_type(p)?;
                fields.push(arrow::datatypes::Field::new(name, dt, true));
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_token(&Token::RParen)?;
            return Ok(arrow::datatypes::DataType::Struct(fields.into()));
        }
    }
    if text.eq_ignore_ascii_case("map") && p.consume_token(&Token::LParen) {
        // DuckDB's `MAP(k, v)`, Spark's `MAP<k, v>`
        let key = data_type(p)?;
        p.expect_token(&Token::Comma)?;
        let value = data_type(p)?;
        p.expect_token(&Token::RParen)?;
        let text = format!(
            "map<{}, {}>",
            crate::types::type_name(&key),
            crate::types::type_name(&value)
        );
        return parse_type_name(&text).map_err(|e| ParserError::ParserError(e.to_string()));
    }
    if p.consume_token(&Token::LParen) {
        let mut args = vec![];
        loop {
            let t = p.next_token();
            match t.token {
                Token::RParen => break,
                Token::Comma => args.push(",".to_string()),
                Token::Number(n, _) => args.push(n),
                _ => return p.expected("a number or )", t),
            }
        }
        text = format!("{text}({})", args.concat());
    }
    if eat(p, "UNSIGNED") {
        text.push_str(" unsigned");
    }
    parse_type_name(&text)
        // a column of an unsigned type holds the next wider signed type, as one read
        // from a file does
        .map(|t| crate::types::normalize_type(&t))
        .map_err(|e| {
            ParserError::ParserError(format!(
                "{e} at Line: {}, Column: {}",
                start.span.start.line, start.span.start.column
            ))
        })
}

/// `(k 'v', k2 = 'v2', 'a.b' = 1)` -> lower-case keys.
fn option_list(p: &mut Parser) -> PResult<BTreeMap<String, String>> {
    Ok(property_list(p)?
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

/// A parenthesized list of `key [=] value` pairs, keys as written (table properties
/// keep their case, as Spark's).
fn property_list(p: &mut Parser) -> PResult<BTreeMap<String, String>> {
    p.expect_token(&Token::LParen)?;
    let mut out = BTreeMap::new();
    if p.consume_token(&Token::RParen) {
        return Ok(out);
    }
    loop {
        let key = property_key(p)?;
        let _ = p.consume_token(&Token::Eq);
        let t = p.next_token();
        let value = match t.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
            Token::Number(n, _) => n,
            Token::Word(w) => w.value,
            _ => return p.expected("an option value", t),
        };
        out.insert(key, value);
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_token(&Token::RParen)?;
        return Ok(out);
    }
}

/// The actions ALTER TABLE and ALTER VIEW share: `RENAME TO [db.]t2`, `SET TBLPROPERTIES
/// (...)`, `UNSET TBLPROPERTIES [IF EXISTS] (...)`; `None` (nothing read) for another.
fn rename_or_properties(p: &mut Parser) -> PResult<Option<AlterTable>> {
    Ok(Some(if eat_seq(p, &["RENAME", "TO"]) {
        AlterTable::RenameTo(object_name(p)?)
    } else if eat_seq(p, &["SET", "TBLPROPERTIES"]) {
        AlterTable::SetProperties(property_list(p)?)
    } else if eat_seq(p, &["UNSET", "TBLPROPERTIES"]) {
        let if_exists = if_exists(p);
        AlterTable::UnsetProperties {
            keys: property_keys(p)?,
            if_exists,
        }
    } else {
        return Ok(None);
    }))
}

/// After `ALTER TABLE t CHANGE` or `ALTER TABLE t ALTER`: `[COLUMN] c` and Spark's one
/// action (`TYPE type`, `COMMENT '...'`; `TYPE type COMMENT '...'` is taken too) or
/// Hive's `c2 type [COMMENT '...']`. Positions (FIRST, AFTER) and NOT NULL or DEFAULT
/// changes are not supported.
fn change_column(p: &mut Parser) -> PResult<AlterTable> {
    let _ = eat(p, "COLUMN");
    let column = column_name(p)?;
    let mut new_name = None;
    let mut data_type_ = None;
    let mut char_varchar = None;
    let mut comment = None;
    match peek_word(p).as_deref() {
        Some("TYPE") => {
            p.next_token();
            char_varchar = char_varchar_ahead(p);
            data_type_ = Some(data_type(p)?);
        }
        Some("COMMENT") => {}
        Some(w @ ("FIRST" | "AFTER" | "SET" | "DROP")) => {
            return Err(ParserError::ParserError(format!(
                "not supported: ALTER TABLE ... CHANGE COLUMN `{column}` {w} (only a column's comment changes)"
            )))
        }
        _ if matches!(p.peek_token().token, Token::EOF | Token::SemiColon) => {
            return p.expected("TYPE, COMMENT or a column definition", p.peek_token());
        }
        _ => {
            new_name = Some(column_name(p)?);
            char_varchar = char_varchar_ahead(p);
            data_type_ = Some(data_type(p)?);
        }
    }
    if eat(p, "COMMENT") {
        comment = Some(string_lit(p)?);
    }
    if let Some(w) = peek_word(p).filter(|w| matches!(w.as_str(), "FIRST" | "AFTER")) {
        return Err(ParserError::ParserError(format!(
            "not supported: ALTER TABLE ... CHANGE COLUMN `{column}` {w} (only a column's comment changes)"
        )));
    }
    Ok(AlterTable::ChangeColumn {
        column,
        new_name,
        data_type: data_type_,
        char_varchar,
        comment,
    })
}

/// A property or option key: a string, or dotted identifiers (`a.b.c`).
fn property_key(p: &mut Parser) -> PResult<String> {
    Ok(match p.peek_token().token {
        Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => string_lit(p)?,
        _ => {
            let mut k = p.parse_identifier()?.value;
            while p.consume_token(&Token::Period) {
                k.push('.');
                k.push_str(&p.parse_identifier()?.value);
            }
            k
        }
    })
}

/// A parenthesized list of property keys (`UNSET TBLPROPERTIES ('a', b.c)`).
fn property_keys(p: &mut Parser) -> PResult<Vec<String>> {
    p.expect_token(&Token::LParen)?;
    let mut out = vec![property_key(p)?];
    while p.consume_token(&Token::Comma) {
        out.push(property_key(p)?);
    }
    p.expect_token(&Token::RParen)?;
    Ok(out)
}

/// `(p1 = 'v', p2 = 3)`.
fn partition_spec(p: &mut Parser) -> PResult<PartitionSpec> {
    p.expect_token(&Token::LParen)?;
    let mut out = vec![];
    loop {
        let key = identifier(p)?;
        p.expect_token(&Token::Eq)?;
        out.push((key, partition_value(p)?));
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_token(&Token::RParen)?;
        return Ok(out);
    }
}

/// INSERT's `PARTITION (p1 = value, p2)`: static values and dynamic columns.
fn insert_partition(p: &mut Parser) -> PResult<Vec<(String, InsertPartition)>> {
    p.expect_token(&Token::LParen)?;
    let mut out = vec![];
    loop {
        let key = identifier(p)?;
        let value = if p.consume_token(&Token::Eq) {
            InsertPartition::Static(partition_value(p)?)
        } else {
            InsertPartition::Dynamic
        };
        out.push((key, value));
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_token(&Token::RParen)?;
        return Ok(out);
    }
}

/// A partition value literal: a string, a (signed) number, `true`/`false`, or a date or
/// timestamp typed literal, as text; `NULL` is `None`.
fn partition_value(p: &mut Parser) -> PResult<Option<String>> {
    let t = p.next_token();
    Ok(match t.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(s),
        Token::Number(n, _) => Some(n),
        Token::Minus => match p.next_token().token {
            Token::Number(n, _) => Some(format!("-{n}")),
            _ => return p.expected("a number", t),
        },
        Token::Word(w) if w.value.eq_ignore_ascii_case("null") => None,
        // a typed literal (`DATE '2021-01-01'`, `TIMESTAMP_NTZ '...'`): its text, cast to
        // the column's type as any partition value is
        Token::Word(w)
            if w.quote_style.is_none()
                && ["DATE", "TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ"]
                    .iter()
                    .any(|k| w.value.eq_ignore_ascii_case(k))
                && matches!(p.peek_token().token, Token::SingleQuotedString(_)) =>
        {
            let v = p.next_token();
            match v.token {
                Token::SingleQuotedString(s) => Some(s),
                _ => return p.expected("a partition value", v),
            }
        }
        Token::Word(w)
            if w.quote_style.is_none()
                && (w.value.eq_ignore_ascii_case("true")
                    || w.value.eq_ignore_ascii_case("false")) =>
        {
            Some(w.value.to_ascii_lowercase())
        }
        _ => return p.expected("a partition value", t),
    })
}

fn if_not_exists(p: &mut Parser) -> bool {
    eat_seq(p, &["IF", "NOT", "EXISTS"])
}
fn if_exists(p: &mut Parser) -> bool {
    eat_seq(p, &["IF", "EXISTS"])
}

fn unescape_delimiter(s: &str) -> String {
    match s {
        "\\t" => "\t".into(),
        "\\001" | "\\u0001" | "\\x01" => "\x01".into(),
        "\\|" => "|".into(),
        _ => s.to_string(),
    }
}

/// A statement starting with `WITH`: a query, or Spark's `WITH ctes INSERT INTO|OVERWRITE
/// [TABLE] t [(columns)] query`, whose CTEs the inserted query sees (put in front of
/// the query's own).
fn with_statement(q: sqlparser::ast::Query) -> PResult<Statement> {
    use sqlparser::ast::{Query, SetExpr};
    let Query { with, body, .. } = match *q.body {
        SetExpr::Insert(sqlparser::ast::Statement::Insert(_)) => q,
        SetExpr::Update(st) | SetExpr::Delete(st) => return dml(st, q.with),
        _ => return Ok(Statement::Query(Box::new(q))),
    };
    let SetExpr::Insert(sqlparser::ast::Statement::Insert(ins)) = *body else {
        return Err(ParserError::ParserError(
            "WITH ... INSERT: no INSERT".into(),
        ));
    };
    let unsupported = |what: &str| {
        Err(ParserError::ParserError(format!(
            "not supported: WITH ... INSERT with {what}"
        )))
    };
    let sqlparser::ast::TableObject::TableName(table) = ins.table else {
        return unsupported("a table function");
    };
    let mut partition = vec![];
    for e in ins.partitioned.iter().flatten() {
        use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
        let value = |v: &Expr| match v {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    Some(Some(s.clone()))
                }
                Value::Number(n, _) => Some(Some(n.clone())),
                Value::Boolean(b) => Some(Some(b.to_string())),
                Value::Null => Some(None),
                _ => None,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => Some(Some(format!("-{n}"))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match e {
            Expr::Identifier(k) => {
                partition.push((k.value.to_ascii_lowercase(), InsertPartition::Dynamic))
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => match (left.as_ref(), value(right)) {
                (Expr::Identifier(k), Some(v)) => {
                    partition.push((k.value.to_ascii_lowercase(), InsertPartition::Static(v)))
                }
                _ => return unsupported(&format!("the partition value {e}")),
            },
            _ => return unsupported(&format!("the partition value {e}")),
        }
    }
    let Some(mut source) = ins.source else {
        return unsupported("no query");
    };
    if let Some(outer) = with {
        source.with = Some(match source.with.take() {
            None => outer,
            Some(mut inner) => {
                let mut ctes = outer.cte_tables;
                ctes.append(&mut inner.cte_tables);
                inner.cte_tables = ctes;
                inner.recursive |= outer.recursive;
                inner
            }
        });
    }
    Ok(Statement::Insert {
        table: lowered_name(&table),
        overwrite: ins.overwrite,
        partition,
        columns: ins
            .columns
            .iter()
            .map(|c| lowered_name(c).0.join("."))
            .collect(),
        by_name: false,
        query: source,
    })
}

/// sqlparser's DELETE or UPDATE as Quarry's (one table, an optional alias, `SET`
/// columns, `WHERE`); `with`: CTEs written before it. Other forms (`UPDATE ... FROM`,
/// `DELETE ... USING`, several tables, joins, `RETURNING`, `ORDER BY`, `LIMIT`) are
/// not supported.
fn dml(st: sqlparser::ast::Statement, with: Option<sqlparser::ast::With>) -> PResult<Statement> {
    use sqlparser::ast::{AssignmentTarget, FromTable, TableFactor, TableWithJoins};
    let unsupported = |what: &str| Err(ParserError::ParserError(format!("not supported: {what}")));
    let target = |t: &TableWithJoins, stmt: &str| -> PResult<(ObjectName, Option<String>)> {
        match &t.relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } if t.joins.is_empty() => Ok((
                lowered_name(name),
                alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()),
            )),
            _ => Err(ParserError::ParserError(format!(
                "not supported: {stmt} of anything but one table"
            ))),
        }
    };
    match st {
        sqlparser::ast::Statement::Delete(d) => {
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            if tables.len() != 1 || !d.tables.is_empty() || d.using.is_some() {
                return unsupported("DELETE of several tables or with USING");
            }
            if d.returning.is_some() || !d.order_by.is_empty() || d.limit.is_some() {
                return unsupported("DELETE with RETURNING, ORDER BY or LIMIT");
            }
            let (table, alias) = target(&tables[0], "DELETE")?;
            Ok(Statement::Delete(Box::new(Dml {
                table,
                alias,
                assignments: vec![],
                selection: d.selection,
                with,
            })))
        }
        sqlparser::ast::Statement::Update(u) => {
            if u.from.is_some() {
                return unsupported(
                    "UPDATE ... FROM (write it as a MERGE-free UPDATE with a subquery)",
                );
            }
            if u.returning.is_some()
                || !u.order_by.is_empty()
                || u.limit.is_some()
                || u.or.is_some()
            {
                return unsupported("UPDATE with RETURNING, ORDER BY, LIMIT or OR");
            }
            let (table, alias) = target(&u.table, "UPDATE")?;
            let mut assignments = vec![];
            for a in u.assignments {
                let AssignmentTarget::ColumnName(col) = &a.target else {
                    return unsupported("UPDATE of a tuple of columns");
                };
                // `SET t.c = ...` names the column by its last part
                let col = lowered_name(col).0.last().cloned().unwrap_or_default();
                assignments.push((col, a.value));
            }
            Ok(Statement::Update(Box::new(Dml {
                table,
                alias,
                assignments,
                selection: u.selection,
                with,
            })))
        }
        _ => unsupported("this statement after WITH"),
    }
}

/// Parse one statement (everything but `SET`/`RESET`). `sql` is the full text, for view bodies.
pub(super) fn parse(p: &mut Parser, sql: &str) -> PResult<Statement> {
    let Some(first) = peek_word(p) else {
        if matches!(p.peek_token().token, Token::LParen) {
            return Ok(Statement::Query(p.parse_query()?));
        }
        return p.expected("a SQL statement", p.peek_token());
    };
    match first.as_str() {
        "WITH" => with_statement(*p.parse_query()?),
        "SELECT" | "VALUES" | "FROM" | "TABLE" => Ok(Statement::Query(p.parse_query()?)),
        "EXPLAIN" => {
            p.next_token();
            let mut analyze = false;
            let mut verbose = false;
            loop {
                if eat(p, "ANALYZE") {
                    analyze = true;
                } else if eat(p, "VERBOSE") || eat(p, "EXTENDED") {
                    verbose = true;
                } else if eat(p, "FORMATTED")
                    || eat(p, "LOGICAL")
                    || eat(p, "CODEGEN")
                    || eat(p, "COST")
                {
                } else {
                    break;
                }
            }
            let inner = parse(p, sql)?;
            Ok(Statement::Explain {
                analyze,
                verbose,
                statement: Box::new(inner),
            })
        }
        "CREATE" => {
            p.next_token();
            create(p, sql)
        }
        "DROP" => {
            p.next_token();
            if eat(p, "DATABASE") || eat(p, "SCHEMA") || eat(p, "NAMESPACE") {
                let ie = if_exists(p);
                let name = identifier(p)?;
                let cascade = eat(p, "CASCADE");
                let _ = eat(p, "RESTRICT");
                return Ok(Statement::DropDatabase {
                    name,
                    if_exists: ie,
                    cascade,
                });
            }
            let view = if eat(p, "TABLE") {
                false
            } else if eat(p, "VIEW") {
                true
            } else {
                return p.expected("TABLE, VIEW or DATABASE after DROP", p.peek_token());
            };
            let ie = if_exists(p);
            let name = object_name(p)?;
            let _ = eat(p, "PURGE");
            Ok(Statement::DropTable {
                name,
                if_exists: ie,
                view,
            })
        }
        "USE" => {
            p.next_token();
            let _ = eat(p, "DATABASE") || eat(p, "SCHEMA") || eat(p, "NAMESPACE");
            let name = object_name(p)?;
            Ok(Statement::Use {
                name: name.0.last().cloned().unwrap_or_default(),
            })
        }
        "SHOW" => {
            p.next_token();
            show(p)
        }
        "PREPARE" => {
            p.next_token();
            let name = identifier(p)?;
            // PostgreSQL's parameter types, `PREPARE p (int, text) AS ...`: the
            // arguments' own types are used
            if matches!(p.peek_token().token, Token::LParen) {
                skip_parenthesized(p)?;
            }
            expect(p, "AS")?;
            let start = p.peek_token().span.start;
            let body = sql[super::offset_of(sql, start.line, start.column)..]
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_string();
            while p.next_token().token != Token::EOF {}
            if body.is_empty() {
                return p.expected("a statement after PREPARE ... AS", p.peek_token());
            }
            Ok(Statement::Prepare { name, sql: body })
        }
        "EXECUTE" => {
            p.next_token();
            if eat(p, "IMMEDIATE") {
                let text = string_lit(p)?;
                if peek_word(p).as_deref() == Some("INTO") {
                    return Err(ParserError::ParserError(
                        "not supported: EXECUTE IMMEDIATE ... INTO (session variables)".into(),
                    ));
                }
                let mut args = vec![];
                if eat(p, "USING") {
                    loop {
                        let value = expr_text(p, sql)?;
                        let name = if eat(p, "AS") {
                            Some(identifier(p)?)
                        } else {
                            None
                        };
                        args.push((value, name));
                        if !p.consume_token(&Token::Comma) {
                            break;
                        }
                    }
                }
                return Ok(Statement::ExecuteImmediate { sql: text, args });
            }
            let name = identifier(p)?;
            let mut args = vec![];
            if p.consume_token(&Token::LParen) && !p.consume_token(&Token::RParen) {
                loop {
                    args.push(expr_text(p, sql)?);
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                p.expect_token(&Token::RParen)?;
            }
            Ok(Statement::Execute { name, args })
        }
        "DEALLOCATE" => {
            p.next_token();
            let _ = eat(p, "PREPARE");
            Ok(Statement::Deallocate {
                name: identifier(p)?,
            })
        }
        "DESCRIBE" | "DESC" => {
            p.next_token();
            let _ = eat(p, "TABLE");
            let extended = eat(p, "EXTENDED") || eat(p, "FORMATTED");
            // `DESC [QUERY] query`: the query's output columns
            let query_word = eat(p, "QUERY");
            if query_word
                || matches!(
                    peek_word(p).as_deref(),
                    Some("SELECT") | Some("WITH") | Some("VALUES")
                )
            {
                // (the rest of the text, as a statement of its own: VALUES ... AS t(a))
                let start = p.peek_token().span.start;
                let rest = sql[offset_of(sql, start.line, start.column)..]
                    .trim()
                    .trim_end_matches(';');
                let inner = super::parse_statement(rest)
                    .map_err(|e| ParserError::ParserError(e.to_string()))?;
                while !matches!(p.peek_token().token, Token::EOF) {
                    p.next_token();
                }
                if !matches!(inner, Statement::Query(_)) {
                    return Err(ParserError::ParserError(
                        "DESCRIBE QUERY describes a query (SELECT, WITH, VALUES, FROM ...)".into(),
                    ));
                }
                return Ok(Statement::DescribeQuery {
                    query: Box::new(inner),
                });
            }
            let table = object_name(p)?;
            if eat(p, "PARTITION") {
                let spec = partition_spec(p)?;
                return Ok(Statement::DescribePartition {
                    table,
                    extended,
                    spec,
                });
            }
            // `DESCRIBE [EXTENDED] t col`: one column (with statistics when EXTENDED)
            let column = if matches!(p.peek_token().token, Token::EOF | Token::SemiColon) {
                None
            } else {
                Some(identifier(p)?)
            };
            Ok(Statement::Describe {
                table,
                extended,
                column,
            })
        }
        "ANALYZE" => {
            p.next_token();
            if eat(p, "TABLES") {
                return Err(ParserError::ParserError(
                    "not supported: ANALYZE TABLES (analyze each table with ANALYZE TABLE t COMPUTE STATISTICS)".into(),
                ));
            }
            expect(p, "TABLE")?;
            let table = object_name(p)?;
            let partition = optional_partition_spec(p)?;
            expect(p, "COMPUTE")?;
            expect(p, "STATISTICS")?;
            // sqlparser's grammar has no FOR ALL COLUMNS: this parser reads it
            let mode = if eat(p, "NOSCAN") {
                AnalyzeMode::NoScan
            } else if eat(p, "FOR") {
                if eat_seq(p, &["ALL", "COLUMNS"]) {
                    AnalyzeMode::AllColumns
                } else {
                    expect(p, "COLUMNS")?;
                    let mut cols = vec![identifier(p)?];
                    while p.consume_token(&Token::Comma) {
                        cols.push(identifier(p)?);
                    }
                    AnalyzeMode::Columns(cols)
                }
            } else {
                AnalyzeMode::Scan
            };
            Ok(Statement::Analyze {
                table,
                partition,
                mode,
            })
        }
        "MSCK" => {
            p.next_token();
            expect(p, "REPAIR")?;
            expect(p, "TABLE")?;
            let table = object_name(p)?;
            let mode = if eat(p, "ADD") {
                MsckMode::Add
            } else if eat(p, "DROP") {
                MsckMode::Drop
            } else if eat(p, "SYNC") {
                MsckMode::Sync
            } else {
                return Ok(Statement::Msck {
                    table,
                    mode: MsckMode::Add,
                });
            };
            expect(p, "PARTITIONS")?;
            Ok(Statement::Msck { table, mode })
        }
        "ALTER" => {
            p.next_token();
            if eat(p, "VIEW") {
                let name = object_name(p)?;
                if let Some(action) = rename_or_properties(p)? {
                    return Ok(Statement::AlterTable {
                        table: name,
                        action,
                    });
                }
                expect(p, "AS")?;
                let (sql, query) = query_text(p, sql)?;
                return Ok(Statement::AlterView { name, sql, query });
            }
            expect(p, "TABLE")?;
            let table = object_name(p)?;
            if eat_seq(p, &["ADD", "COLUMNS"]) || eat_seq(p, &["ADD", "COLUMN"]) {
                // `ADD COLUMNS (c type, ...)`, or one column without parentheses
                let parenthesized = p.consume_token(&Token::LParen);
                let mut cols = vec![];
                loop {
                    let name = column_name(p)?;
                    let cv = char_varchar_ahead(p);
                    let dt = data_type(p)?;
                    let comment = if eat(p, "COMMENT") {
                        Some(string_lit(p)?)
                    } else {
                        None
                    };
                    if let Some(w) = peek_word(p).filter(|w| {
                        matches!(
                            w.as_str(),
                            "NOT" | "DEFAULT" | "FIRST" | "AFTER" | "GENERATED"
                        )
                    }) {
                        return Err(ParserError::ParserError(format!(
                            "not supported: {w} in ALTER TABLE ... ADD COLUMNS (column `{name}`)"
                        )));
                    }
                    cols.push((name, dt, comment, cv));
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                if parenthesized {
                    p.expect_token(&Token::RParen)?;
                }
                return Ok(Statement::AlterTable {
                    table,
                    action: AlterTable::AddColumns(cols),
                });
            }
            if let Some(action) = rename_or_properties(p)? {
                return Ok(Statement::AlterTable { table, action });
            }
            if matches!(peek_word(p).as_deref(), Some("DROP"))
                && matches!(
                    peek_nth_word(p, 1).as_deref(),
                    Some("COLUMN") | Some("COLUMNS")
                )
            {
                return Err(ParserError::ParserError(
                    "not supported: ALTER TABLE ... DROP COLUMNS (Spark allows it on v2 tables only)".into(),
                ));
            }
            if eat(p, "CHANGE") || eat(p, "ALTER") {
                return Ok(Statement::AlterTable {
                    table,
                    action: change_column(p)?,
                });
            }
            if eat_seq(p, &["SET", "LOCATION"]) {
                return Ok(Statement::AlterTable {
                    table,
                    action: AlterTable::SetLocation(string_lit(p)?),
                });
            }
            if eat(p, "ADD") {
                let ine = if_not_exists(p);
                let mut parts = vec![];
                while eat(p, "PARTITION") {
                    let spec = partition_spec(p)?;
                    let loc = if eat(p, "LOCATION") {
                        Some(string_lit(p)?)
                    } else {
                        None
                    };
                    parts.push((spec, loc));
                }
                if parts.is_empty() {
                    return p.expected("PARTITION", p.peek_token());
                }
                Ok(Statement::AddPartitions {
                    table,
                    if_not_exists: ine,
                    parts,
                })
            } else if eat(p, "DROP") {
                let ie = if_exists(p);
                let mut specs = vec![];
                loop {
                    expect(p, "PARTITION")?;
                    specs.push(partition_spec(p)?);
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                let _ = eat(p, "PURGE");
                Ok(Statement::DropPartitions {
                    table,
                    if_exists: ie,
                    specs,
                })
            } else if eat_seq(p, &["RECOVER", "PARTITIONS"]) {
                Ok(Statement::Msck {
                    table,
                    mode: MsckMode::Add,
                })
            } else {
                Err(ParserError::ParserError("not supported: this ALTER TABLE form (supported: ADD COLUMNS, CHANGE COLUMN, RENAME TO, SET|UNSET TBLPROPERTIES, SET LOCATION, ADD PARTITION, DROP PARTITION, RECOVER PARTITIONS)".into()))
            }
        }
        "TRUNCATE" => {
            p.next_token();
            expect(p, "TABLE")?;
            let table = object_name(p)?;
            let partition = optional_partition_spec(p)?;
            Ok(Statement::Truncate { table, partition })
        }
        "CACHE" => {
            p.next_token();
            // LAZY: Quarry computes the rows at once either way
            let _ = eat(p, "LAZY");
            expect(p, "TABLE")?;
            let name = object_name(p)?;
            if eat(p, "OPTIONS") {
                // Spark's storageLevel: where its cache lives; Quarry's is parquet files
                option_list(p)?;
            }
            let query = if eat(p, "AS")
                || matches!(
                    peek_word(p).as_deref(),
                    Some("SELECT") | Some("WITH") | Some("VALUES") | Some("FROM")
                )
                || matches!(p.peek_token().token, Token::LParen)
            {
                Some(query_text(p, sql)?)
            } else {
                None
            };
            Ok(Statement::CacheTable { name, query })
        }
        "UNCACHE" => {
            p.next_token();
            expect(p, "TABLE")?;
            let if_exists = if_exists(p);
            Ok(Statement::UncacheTable {
                name: object_name(p)?,
                if_exists,
            })
        }
        "CLEAR" => {
            p.next_token();
            expect(p, "CACHE")?;
            Ok(Statement::ClearCache)
        }
        "REFRESH" => {
            p.next_token();
            if let Token::SingleQuotedString(path) = &p.peek_token().token {
                let path = path.clone();
                p.next_token();
                return Ok(Statement::RefreshPath { path });
            }
            let _ = eat(p, "TABLE");
            Ok(Statement::Refresh {
                table: object_name(p)?,
            })
        }
        "DELETE" | "UPDATE" => {
            let st = p.parse_statement()?;
            dml(st, None)
        }
        "INSERT" => {
            p.next_token();
            let overwrite = if eat(p, "INTO") {
                false
            } else if eat(p, "OVERWRITE") {
                true
            } else {
                return p.expected("INTO or OVERWRITE", p.peek_token());
            };
            if overwrite && matches!(peek_word(p).as_deref(), Some("LOCAL" | "DIRECTORY")) {
                return insert_directory(p);
            }
            let _ = eat(p, "TABLE");
            let table = object_name(p)?;
            let partition = if eat(p, "PARTITION") {
                insert_partition(p)?
            } else {
                vec![]
            };
            if if_not_exists(p) {
                return Err(ParserError::ParserError(
                    "not supported: INSERT ... IF NOT EXISTS".into(),
                ));
            }
            let mut columns = vec![];
            if matches!(p.peek_token().token, Token::LParen)
                && !matches!(
                    peek_nth_word(p, 1).as_deref(),
                    Some("SELECT") | Some("WITH") | Some("VALUES")
                )
            {
                p.next_token();
                loop {
                    columns.push(identifier(p)?);
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                p.expect_token(&Token::RParen)?;
            }
            // Spark 3.5's INSERT INTO t BY NAME query; BY POSITION is the default
            let by_name = columns.is_empty() && eat_seq(p, &["BY", "NAME"]);
            if !by_name && columns.is_empty() {
                let _ = eat_seq(p, &["BY", "POSITION"]);
            }
            let query = p.parse_query()?;
            Ok(Statement::Insert {
                table,
                overwrite,
                partition,
                columns,
                by_name,
                query,
            })
        }
        _ => {
            // Valid SQL that Quarry does not run says so; invalid SQL gets sqlparser's message.
            let st = p.parse_statement()?;
            let text = st.to_string();
            let head: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Err(ParserError::ParserError(format!(
                "not supported: statement {head}"
            )))
        }
    }
}

/// The text of the expression at the parser's position, which it parses past.
fn expr_text(p: &mut Parser, sql: &str) -> PResult<String> {
    let start = p.peek_token().span.start;
    p.parse_expr()?;
    let end = p.peek_token().span.start;
    Ok(sql[super::offset_of(sql, start.line, start.column)
        ..super::offset_of(sql, end.line, end.column)]
        .trim()
        .to_string())
}

/// The query at the parser's position, parsed, and its text: to the statement's end,
/// without a trailing `;` (a view's stored text).
fn query_text(p: &mut Parser, sql: &str) -> PResult<(String, Box<sqlparser::ast::Query>)> {
    let start = p.peek_token().span.start;
    let query = p.parse_query()?;
    let body = &sql[offset_of(sql, start.line, start.column)..];
    Ok((body.trim().trim_end_matches(';').trim().to_string(), query))
}

fn show(p: &mut Parser) -> PResult<Statement> {
    if eat(p, "DATABASES") || eat(p, "SCHEMAS") || eat(p, "NAMESPACES") {
        return Ok(Statement::ShowDatabases);
    }
    if eat(p, "CATALOGS") {
        return Ok(Statement::ShowCatalogs);
    }
    let views = eat(p, "VIEWS");
    if views || eat(p, "TABLES") {
        let database = if eat(p, "IN") || eat(p, "FROM") {
            Some(object_name(p)?)
        } else {
            None
        };
        let like = eat(p, "LIKE");
        let pattern = match p.peek_token().token {
            Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => Some(string_lit(p)?),
            _ if like => return p.expected("a pattern string", p.peek_token()),
            _ => None,
        };
        return Ok(Statement::ShowTables {
            database,
            views,
            pattern,
        });
    }
    if eat(p, "COLUMNS") {
        if !(eat(p, "FROM") || eat(p, "IN")) {
            return p.expected("FROM or IN", p.peek_token());
        }
        let mut table = object_name(p)?;
        if eat(p, "FROM") || eat(p, "IN") {
            let db = identifier(p)?;
            table = ObjectName(vec![db, table.0.last().cloned().unwrap_or_default()]);
        }
        return Ok(Statement::ShowColumns { table });
    }
    if eat(p, "TBLPROPERTIES") {
        let table = object_name(p)?;
        let key = if p.consume_token(&Token::LParen) {
            let k = property_key(p)?;
            p.expect_token(&Token::RParen)?;
            Some(k)
        } else {
            None
        };
        return Ok(Statement::ShowTblProperties { table, key });
    }
    if eat(p, "CREATE") {
        expect(p, "TABLE")?;
        let table = object_name(p)?;
        if eat_seq(p, &["AS", "SERDE"]) {
            return Err(ParserError::ParserError(
                "not supported: SHOW CREATE TABLE ... AS SERDE (Hive DDL); SHOW CREATE TABLE gives Spark's USING form".into(),
            ));
        }
        return Ok(Statement::ShowCreateTable { table });
    }
    if eat(p, "PARTITIONS") {
        return Ok(Statement::ShowPartitions {
            table: object_name(p)?,
        });
    }
    Err(ParserError::ParserError(format!(
        "not supported: SHOW {} (supported: DATABASES, TABLES, VIEWS, COLUMNS, PARTITIONS, CATALOGS, CREATE TABLE)",
        peek_word(p).unwrap_or_default()
    )))
}

/// A table constraint in CREATE TABLE's column list, consumed when one is next:
/// `[CONSTRAINT name] PRIMARY KEY (cols)`, `UNIQUE (cols)`, `FOREIGN KEY (cols)
/// REFERENCES t [(cols)]` are informational, as Databricks' constraints (not enforced:
/// Quarry keeps no indexes); `CHECK (...)`, which would have to be enforced, is not
/// supported. Returns whether a constraint was consumed.
fn table_constraint(p: &mut Parser) -> PResult<bool> {
    let named = peek_word(p).as_deref() == Some("CONSTRAINT");
    let at = usize::from(named) * 2;
    let kind = peek_nth_word(p, at);
    let is_constraint = match kind.as_deref() {
        Some("PRIMARY") => peek_nth_word(p, at + 1).as_deref() == Some("KEY"),
        Some("FOREIGN") => peek_nth_word(p, at + 1).as_deref() == Some("KEY"),
        Some("UNIQUE") | Some("CHECK") => {
            matches!(p.peek_nth_token(at + 1).token, Token::LParen)
        }
        _ => false,
    };
    if !is_constraint {
        return Ok(false);
    }
    if kind.as_deref() == Some("CHECK") {
        return Err(ParserError::ParserError(
            "not supported: CHECK constraints".into(),
        ));
    }
    if named {
        p.next_token();
        p.next_token();
    }
    let _ = eat_seq(p, &["PRIMARY", "KEY"]) || eat_seq(p, &["FOREIGN", "KEY"]) || eat(p, "UNIQUE");
    skip_parenthesized(p)?;
    if eat(p, "REFERENCES") {
        object_name(p)?;
        if matches!(p.peek_token().token, Token::LParen) {
            skip_parenthesized(p)?;
        }
    }
    Ok(true)
}

/// Consume `( ... )` with any nesting.
fn skip_parenthesized(p: &mut Parser) -> PResult<()> {
    p.expect_token(&Token::LParen)?;
    let mut depth = 1;
    while depth > 0 {
        let t = p.next_token();
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::EOF => return p.expected(")", t),
            _ => {}
        }
    }
    Ok(())
}

/// A view name as its temporary view is keyed: `global_temp.v` for a GLOBAL TEMPORARY
/// view (Spark's `global_temp` database holds them), the name as written otherwise.
fn global_temp_name(name: ObjectName, global: bool) -> ObjectName {
    match name.0.last() {
        Some(v) if global => ObjectName(vec![
            crate::binder::GLOBAL_TEMP_DATABASE.to_string(),
            v.clone(),
        ]),
        _ => name,
    }
}

fn create(p: &mut Parser, sql: &str) -> PResult<Statement> {
    let or_replace = eat_seq(p, &["OR", "REPLACE"]);
    let global = eat(p, "GLOBAL");
    let temporary = eat(p, "TEMPORARY") || eat(p, "TEMP");
    if global && !temporary {
        return p.expected("TEMPORARY after GLOBAL", p.peek_token());
    }
    let external = eat(p, "EXTERNAL");
    if eat(p, "DATABASE") || eat(p, "SCHEMA") || eat(p, "NAMESPACE") {
        let ine = if_not_exists(p);
        let name = identifier(p)?;
        let mut location = None;
        loop {
            if eat(p, "COMMENT") {
                string_lit(p)?;
            } else if eat(p, "LOCATION") {
                location = Some(string_lit(p)?);
            } else if eat_seq(p, &["WITH", "DBPROPERTIES"]) || eat(p, "DBPROPERTIES") {
                option_list(p)?;
            } else {
                break;
            }
        }
        return Ok(Statement::CreateDatabase {
            name,
            if_not_exists: ine,
            location,
        });
    }
    if eat(p, "VIEW") {
        let ine = if_not_exists(p);
        let name = object_name(p)?;
        // `CREATE VIEW v (a, b COMMENT '...') AS query`: names for the query's columns
        let mut column_names = None;
        // `CREATE TEMPORARY VIEW v (a INT, ...) USING fmt`: a declared schema
        let mut column_types: Vec<arrow::datatypes::DataType> = vec![];
        if matches!(p.peek_token().token, Token::LParen) {
            p.next_token();
            let mut names = vec![];
            loop {
                names.push(column_name(p)?);
                if !matches!(p.peek_token().token, Token::Comma | Token::RParen)
                    && peek_word(p).as_deref() != Some("COMMENT")
                {
                    column_types.push(data_type(p)?);
                }
                if eat(p, "COMMENT") {
                    string_lit(p)?;
                }
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_token(&Token::RParen)?;
            if !column_types.is_empty() && column_types.len() != names.len() {
                return Err(ParserError::ParserError(
                    "a CREATE VIEW column list gives a type for every column or for none".into(),
                ));
            }
            column_names = Some(names);
        }
        if !column_types.is_empty() && peek_word(p).as_deref() != Some("USING") {
            return Err(ParserError::ParserError("not supported: column types in CREATE VIEW's column list (a view's columns take the query's types)".into()));
        }
        if eat(p, "USING") {
            if column_names.is_some() && column_types.is_empty() {
                return Err(ParserError::ParserError(
                    "not supported: a column list without types in CREATE VIEW ... USING".into(),
                ));
            }
            let fmt_tok = p.peek_token();
            let fmt = identifier(p)?;
            let format = FileFormat::parse(&fmt).map_err(|e| {
                ParserError::ParserError(format!(
                    "{e} at Line: {}, Column: {}",
                    fmt_tok.span.start.line, fmt_tok.span.start.column
                ))
            })?;
            let options = if eat(p, "OPTIONS") {
                option_list(p)?
            } else {
                BTreeMap::new()
            };
            if !temporary {
                return Err(ParserError::ParserError(
                    "not supported: CREATE VIEW ... USING without TEMPORARY".into(),
                ));
            }
            if let Some(names) = column_names {
                // a declared schema and no files: an empty relation of those columns, as
                // Spark's data source with no path reads
                if options.contains_key("path") {
                    return Err(ParserError::ParserError("not supported: a declared schema for the files of CREATE TEMPORARY VIEW ... USING (leave out the column list: the schema is inferred from the files)".into()));
                }
                let cols = names
                    .iter()
                    .zip(&column_types)
                    .map(|(n, t)| {
                        format!(
                            "CAST(NULL AS {}) AS {}",
                            crate::types::type_name(t),
                            super::quote_identifier(n)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let body = format!("SELECT {cols} WHERE false");
                let dialect = super::dialect::SparkDialect;
                let tokens = sqlparser::tokenizer::Tokenizer::new(&dialect, &body)
                    .tokenize_with_location()?;
                let query = Parser::new(&dialect)
                    .with_tokens_with_locations(super::spark_tokens::rewrite(tokens))
                    .parse_query()?;
                return Ok(Statement::CreateView {
                    name: global_temp_name(name, global),
                    temporary: true,
                    or_replace,
                    if_not_exists: ine,
                    sql: body,
                    query,
                    properties: BTreeMap::new(),
                });
            }
            return Ok(Statement::CreateTempViewUsing {
                name: global_temp_name(name, global).0.join("."),
                or_replace,
                format,
                options,
            });
        }
        let mut properties = BTreeMap::new();
        loop {
            if eat(p, "COMMENT") {
                // the view's comment: Hive's `comment` table parameter
                properties.insert(super::TABLE_COMMENT.into(), string_lit(p)?);
            } else if eat(p, "TBLPROPERTIES") {
                properties.extend(property_list(p)?);
            } else {
                break;
            }
        }
        expect(p, "AS")?;
        let (mut body, mut query) = query_text(p, sql)?;
        if let Some(names) = column_names {
            let cols = names
                .iter()
                .map(|n| super::quote_identifier(n))
                .collect::<Vec<_>>()
                .join(", ");
            body = format!("SELECT * FROM (\n{body}\n) AS __view_columns({cols})");
            let dialect = super::dialect::SparkDialect;
            let tokens =
                sqlparser::tokenizer::Tokenizer::new(&dialect, &body).tokenize_with_location()?;
            query = Parser::new(&dialect)
                .with_tokens_with_locations(super::spark_tokens::rewrite(tokens))
                .parse_query()?;
        }
        return Ok(Statement::CreateView {
            name: global_temp_name(name, global),
            temporary,
            or_replace,
            if_not_exists: ine,
            sql: body,
            query,
            properties,
        });
    }
    expect(p, "TABLE")?;
    if temporary {
        return Err(ParserError::ParserError(
            "not supported: CREATE TEMPORARY TABLE; use CREATE TEMPORARY VIEW".into(),
        ));
    }
    let ine = if_not_exists(p);
    let name = object_name(p)?;
    let mut ct = CreateTable {
        external,
        if_not_exists: ine,
        or_replace,
        ..CreateTable::named(name)
    };
    if eat(p, "LIKE") {
        ct.like = Some(object_name(p)?);
    } else if matches!(p.peek_token().token, Token::LParen)
        && !matches!(
            peek_nth_word(p, 1).as_deref(),
            Some("SELECT") | Some("WITH")
        )
    {
        p.next_token();
        let mut cols = vec![];
        loop {
            if table_constraint(p)? {
                if !p.consume_token(&Token::Comma) {
                    break;
                }
                continue;
            }
            let name = column_name(p)?;
            if let Some(cv) = char_varchar_ahead(p) {
                ct.char_types.push((name.clone(), cv));
            }
            // a generated column may leave its type to its expression (DuckDB's `c AS (e)`)
            let dt = if matches!(peek_word(p).as_deref(), Some("AS") | Some("GENERATED")) {
                arrow::datatypes::DataType::Null
            } else {
                data_type(p)?
            };
            loop {
                // NOT NULL is enforced on writes; PRIMARY KEY and UNIQUE are
                // informational, not enforced (as Databricks' informational
                // constraints): Quarry keeps no indexes
                if eat_seq(p, &["NOT", "NULL"]) {
                    ct.not_null.push(name.clone());
                } else if eat(p, "NULL") || eat_seq(p, &["PRIMARY", "KEY"]) || eat(p, "UNIQUE") {
                } else if eat(p, "COMMENT") {
                    ct.comments.push((name.clone(), string_lit(p)?));
                } else if eat(p, "DEFAULT") {
                    // the expression's text, bound where it is used
                    let start = p.peek_token().span.start;
                    p.parse_expr()?;
                    let end = p.peek_token().span.start;
                    let text = &sql[offset_of(sql, start.line, start.column)
                        ..offset_of(sql, end.line, end.column)];
                    ct.defaults.push((name.clone(), text.trim().to_string()));
                } else if matches!(peek_word(p).as_deref(), Some("AS") | Some("GENERATED")) {
                    if eat(p, "GENERATED")
                        && !eat(p, "ALWAYS")
                        && peek_word(p).as_deref() == Some("BY")
                    {
                        return Err(ParserError::ParserError(format!(
                            "not supported: identity columns (GENERATED BY DEFAULT AS IDENTITY, column `{name}`)"
                        )));
                    }
                    expect(p, "AS")?;
                    if peek_word(p).as_deref() == Some("IDENTITY") {
                        return Err(ParserError::ParserError(format!(
                            "not supported: identity columns (GENERATED ALWAYS AS IDENTITY, column `{name}`)"
                        )));
                    }
                    p.expect_token(&Token::LParen)?;
                    let text = expr_text(p, sql)?;
                    p.expect_token(&Token::RParen)?;
                    // computed on write and stored: VIRTUAL reads the same
                    let _ = eat(p, "STORED") || eat(p, "VIRTUAL");
                    ct.generated.push((name.clone(), text));
                } else if let Some(w) =
                    peek_word(p).filter(|w| matches!(w.as_str(), "CHECK" | "REFERENCES"))
                {
                    return Err(ParserError::ParserError(format!(
                        "not supported: {w} in a column definition (column `{name}`)"
                    )));
                } else {
                    break;
                }
            }
            cols.push((name, dt));
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
        ct.columns = Some(cols);
    }
    loop {
        if storage_clause(p, &mut ct)? {
            continue;
        } else if eat_seq(p, &["PARTITIONED", "BY"]) {
            p.expect_token(&Token::LParen)?;
            loop {
                let name = column_name(p)?;
                let dt = if matches!(p.peek_token().token, Token::Comma | Token::RParen) {
                    None
                } else {
                    if let Some(cv) = char_varchar_ahead(p) {
                        ct.char_types.push((name.clone(), cv));
                    }
                    Some(data_type(p)?)
                };
                if eat(p, "COMMENT") {
                    ct.comments.push((name.clone(), string_lit(p)?));
                }
                ct.partition_by.push((name, dt));
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_token(&Token::RParen)?;
        } else if eat(p, "TBLPROPERTIES") {
            // readers see them through catalog::reader_options
            ct.properties.extend(property_list(p)?);
        } else if eat(p, "COMMENT") {
            // the table's comment: Hive's `comment` table parameter
            ct.properties
                .insert(super::TABLE_COMMENT.into(), string_lit(p)?);
        } else if eat_seq(p, &["CLUSTERED", "BY"]) {
            return Err(ParserError::ParserError(
                "not supported: CLUSTERED BY (bucketed tables)".into(),
            ));
        } else if eat(p, "AS") {
            ct.query = Some(p.parse_query()?);
            break;
        } else {
            break;
        }
    }
    Ok(Statement::CreateTable(Box::new(ct)))
}

/// `INSERT OVERWRITE [LOCAL] DIRECTORY ['path'] {USING fmt [OPTIONS (...)] | [ROW FORMAT
/// ...] [STORED AS fmt]} query`, after `INSERT OVERWRITE` (Spark's
/// InsertOverwriteDirectory, Hive's form too): the path is the literal or the `path`
/// option; Hive's form without STORED AS writes text files delimited by `\x01`.
fn insert_directory(p: &mut Parser) -> PResult<Statement> {
    let _ = eat(p, "LOCAL");
    expect(p, "DIRECTORY")?;
    let mut ct = CreateTable::named(super::ObjectName(vec![]));
    if matches!(
        p.peek_token().token,
        Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)
    ) {
        ct.location = Some(string_lit(p)?);
    }
    while storage_clause(p, &mut ct)? {}
    let Some(path) = ct.location else {
        return Err(ParserError::ParserError(
            "INSERT OVERWRITE DIRECTORY needs a path: DIRECTORY '...' or OPTIONS (path '...')"
                .into(),
        ));
    };
    let format = match ct.format {
        Some(f) => f,
        None => {
            hive_text_delimiter(&mut ct.options);
            FileFormat::Csv
        }
    };
    Ok(Statement::InsertDirectory {
        path,
        format,
        options: ct.options,
        query: p.parse_query()?,
    })
}

/// Hive's text files separate fields by `\x01` unless a delimiter is given.
fn hive_text_delimiter(options: &mut BTreeMap<String, String>) {
    options
        .entry("delimiter".into())
        .or_insert_with(|| "\x01".into());
}

/// One storage clause of CREATE TABLE or INSERT OVERWRITE DIRECTORY into `ct`: `USING
/// fmt`, `STORED AS fmt`, `ROW FORMAT SERDE '...' | DELIMITED ...`, `LOCATION '...'`,
/// `OPTIONS (...)` (a `path` option is the location). Returns whether one was read.
fn storage_clause(p: &mut Parser, ct: &mut CreateTable) -> PResult<bool> {
    // a format name (lower-case) and the format, an unknown one an error pointing at it
    let format = |p: &mut Parser| -> PResult<(String, PResult<FileFormat>)> {
        let t = p.peek_token();
        let f = identifier(p)?;
        let parsed = FileFormat::parse(&f).map_err(|e| {
            ParserError::ParserError(format!(
                "{e} at Line: {}, Column: {}",
                t.span.start.line, t.span.start.column
            ))
        });
        Ok((f, parsed))
    };
    if eat(p, "USING") {
        ct.format = Some(format(p)?.1?);
    } else if eat_seq(p, &["STORED", "AS"]) {
        let (f, parsed) = format(p)?;
        if f == "inputformat" {
            return Err(ParserError::ParserError(
                "not supported: STORED AS INPUTFORMAT; use STORED AS PARQUET|TEXTFILE|JSON".into(),
            ));
        }
        ct.format = Some(parsed?);
        if f == "textfile" {
            hive_text_delimiter(&mut ct.options);
        }
    } else if eat_seq(p, &["ROW", "FORMAT"]) {
        if eat(p, "SERDE") {
            let serde = string_lit(p)?;
            let lower = serde.to_ascii_lowercase();
            if lower.contains("json") {
                ct.format = Some(FileFormat::Json);
            } else if lower.contains("csv") || lower.contains("lazysimple") {
                ct.format = Some(FileFormat::Csv);
                ct.options
                    .entry("delimiter".into())
                    .or_insert_with(|| ",".into());
            } else if lower.contains("parquet") {
                ct.format = Some(FileFormat::Parquet);
            } else {
                return Err(ParserError::ParserError(format!(
                    "not supported: ROW FORMAT SERDE '{serde}'"
                )));
            }
            if eat_seq(p, &["WITH", "SERDEPROPERTIES"]) {
                for (k, v) in option_list(p)? {
                    match k.as_str() {
                        "separatorchar" | "field.delim" => {
                            ct.options
                                .insert("delimiter".into(), unescape_delimiter(&v));
                        }
                        "quotechar" => {
                            ct.options.insert("quote".into(), v);
                        }
                        _ => {}
                    }
                }
            }
            return Ok(true);
        }
        expect(p, "DELIMITED")?;
        loop {
            if eat_seq(p, &["FIELDS", "TERMINATED", "BY"]) {
                let d = unescape_delimiter(&string_lit(p)?);
                ct.options.insert("delimiter".into(), d);
                if eat_seq(p, &["ESCAPED", "BY"]) {
                    ct.options.insert("escape".into(), string_lit(p)?);
                }
            } else if eat_seq(p, &["LINES", "TERMINATED", "BY"]) {
                string_lit(p)?;
            } else if eat_seq(p, &["COLLECTION", "ITEMS", "TERMINATED", "BY"])
                || eat_seq(p, &["MAP", "KEYS", "TERMINATED", "BY"])
            {
                string_lit(p)?;
            } else if eat_seq(p, &["NULL", "DEFINED", "AS"]) {
                ct.options.insert("nullvalue".into(), string_lit(p)?);
            } else {
                break;
            }
        }
    } else if eat(p, "LOCATION") {
        ct.location = Some(string_lit(p)?);
    } else if eat(p, "OPTIONS") {
        let opts = option_list(p)?;
        if let Some(path) = opts.get("path") {
            ct.location = Some(path.clone());
        }
        ct.options
            .extend(opts.into_iter().filter(|(k, _)| k != "path"));
    } else {
        return Ok(false);
    }
    Ok(true)
}
