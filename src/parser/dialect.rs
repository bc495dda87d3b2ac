//! Quarry's SQL dialect: Databricks' (Spark SQL's) settings, plus Spark's integral
//! division operator `a div b`, Spark's interval literals (below) and interval type
//! qualifiers (`CAST(x AS INTERVAL DAY TO SECOND)`).
//!
//! Interval literals as Spark's grammar has them (`multiUnitsInterval`,
//! `unitToUnitInterval`, and the typed literal `INTERVAL 'string'`): `INTERVAL '1' DAY`,
//! `INTERVAL -5 HOURS`, `INTERVAL '1-2' YEAR TO MONTH`, `INTERVAL 1 DAY 2 HOURS`,
//! `INTERVAL '1 day 2 hours'`. sqlparser reads one value and unit only, and requires
//! the unit; here a value is a signed number or string, and several `value unit` pairs
//! become the one string Spark would parse them as (`'1 day 2 hours'`, no unit). A
//! precision after the unit (`INTERVAL '90' DAY (3)`, SQL's form) is accepted and
//! ignored.

use std::any::TypeId;

use sqlparser::ast::{BinaryOperator, DateTimeField, Expr, Interval, UnaryOperator, Value};
use sqlparser::dialect::{DatabricksDialect, Dialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

const D: DatabricksDialect = DatabricksDialect {};

/// Spark SQL as sqlparser's Databricks dialect parses it, with `div`.
#[derive(Debug, Default)]
pub struct SparkDialect;

fn next_is_div(parser: &Parser) -> bool {
    matches!(&parser.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("div"))
}

impl Dialect for SparkDialect {
    fn dialect(&self) -> TypeId {
        // dialect-specific parsing rules of sqlparser apply as for Databricks
        TypeId::of::<DatabricksDialect>()
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        D.is_delimited_identifier_start(ch)
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        D.identifier_quote_style(identifier)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        D.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        D.is_identifier_part(ch)
    }
    fn supports_numeric_prefix(&self) -> bool {
        D.supports_numeric_prefix()
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        D.supports_filter_during_aggregation()
    }
    fn supports_group_by_expr(&self) -> bool {
        D.supports_group_by_expr()
    }
    fn supports_table_versioning(&self) -> bool {
        D.supports_table_versioning()
    }
    /// Spark's grammar puts a table's `TABLESAMPLE (...)` before its alias.
    fn supports_table_sample_before_alias(&self) -> bool {
        true
    }
    fn supports_lambda_functions(&self) -> bool {
        D.supports_lambda_functions()
    }
    /// `SELECT a, b, FROM t` (DuckDB's trailing comma in the select list).
    fn supports_projection_trailing_commas(&self) -> bool {
        true
    }
    /// `* EXCLUDE (a, b)`, DuckDB's spelling of Databricks' `* EXCEPT (a, b)`.
    fn supports_select_wildcard_exclude(&self) -> bool {
        true
    }
    fn supports_select_wildcard_except(&self) -> bool {
        D.supports_select_wildcard_except()
    }
    fn require_interval_qualifier(&self) -> bool {
        D.require_interval_qualifier()
    }
    /// DuckDB's struct literal `{'a': 1, 'b': 'x'}` (a named_struct).
    fn supports_dictionary_syntax(&self) -> bool {
        true
    }
    /// PostgreSQL's and DuckDB's array types `VARCHAR[]`, `INT[3]` (Spark's
    /// `ARRAY<VARCHAR>`).
    fn supports_array_typedef_with_brackets(&self) -> bool {
        true
    }
    fn supports_struct_literal(&self) -> bool {
        D.supports_struct_literal()
    }
    fn supports_nested_comments(&self) -> bool {
        D.supports_nested_comments()
    }
    fn supports_group_by_with_modifier(&self) -> bool {
        D.supports_group_by_with_modifier()
    }
    fn supports_values_as_table_factor(&self) -> bool {
        D.supports_values_as_table_factor()
    }
    fn supports_optimize_table(&self) -> bool {
        D.supports_optimize_table()
    }
    fn supports_bang_not_operator(&self) -> bool {
        D.supports_bang_not_operator()
    }
    fn supports_cte_without_as(&self) -> bool {
        D.supports_cte_without_as()
    }
    fn supports_select_item_multi_column_alias(&self) -> bool {
        D.supports_select_item_multi_column_alias()
    }
    fn supports_map_literal_with_angle_brackets(&self) -> bool {
        D.supports_map_literal_with_angle_brackets()
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        D.supports_string_literal_backslash_escape()
    }
    fn supports_select_wildcard_replace(&self) -> bool {
        D.supports_select_wildcard_replace()
    }
    fn supports_from_first_select(&self) -> bool {
        D.supports_from_first_select()
    }
    fn supports_pipe_operator(&self) -> bool {
        D.supports_pipe_operator()
    }
    fn supports_interval_options(&self) -> bool {
        true
    }
    /// `EXTRACT(yrs FROM ts)`: Spark's field names and abbreviations are identifiers.
    fn allow_extract_custom(&self) -> bool {
        true
    }
    /// `extract('year', ts)` (SPARK-31476): a quoted field, with a comma.
    fn allow_extract_single_quotes(&self) -> bool {
        true
    }
    fn supports_extract_comma_syntax(&self) -> bool {
        true
    }
    /// `'first' ' second'`: adjacent string literals are one (Spark's `stringLit+`).
    fn supports_string_literal_concatenation(&self) -> bool {
        true
    }
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        let is_interval = matches!(&parser.peek_token_ref().token,
            Token::Word(w) if w.keyword == Keyword::INTERVAL && w.quote_style.is_none());
        if is_interval && value_end(parser, 1).is_some() {
            return Some(parse_interval(parser));
        }
        D.parse_prefix(parser)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if next_is_div(parser) {
            return Some(Ok(self.prec_value(Precedence::MulDivModOp)));
        }
        if matches!(
            parser.peek_token_ref().token,
            Token::ShiftLeft | Token::ShiftRight
        ) {
            return Some(Ok(SHIFT_PRECEDENCE));
        }
        // `||` binds as `+` and `-` do, left to right (SqlBaseParser's
        // `valueExpression`: `1 - 2 || 'b'` is `(1 - 2) || 'b'`)
        if parser.peek_token_ref().token == Token::StringConcat {
            return Some(Ok(self.prec_value(Precedence::PlusMinus)));
        }
        D.get_next_precedence(parser)
    }
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        // `left op right` once the operator's tokens are consumed
        let rhs = |parser: &mut Parser, op: BinaryOperator| {
            parser
                .parse_subexpr(precedence)
                .map(|right| Expr::BinaryOp {
                    left: Box::new(expr.clone()),
                    op,
                    right: Box::new(right),
                })
        };
        if next_is_div(parser) {
            parser.next_token();
            return Some(rhs(parser, BinaryOperator::MyIntegerDivide));
        }
        let shift = match parser.peek_token_ref().token {
            Token::ShiftLeft => Some(BinaryOperator::PGBitwiseShiftLeft),
            Token::ShiftRight => {
                // `>>>` comes as `>>` then `>`
                let (first, second) = (parser.peek_nth_token_ref(0), parser.peek_nth_token_ref(1));
                Some(
                    if second.token == Token::Gt && second.span.start == first.span.end {
                        BinaryOperator::Custom(">>>".into())
                    } else {
                        BinaryOperator::PGBitwiseShiftRight
                    },
                )
            }
            _ => None,
        };
        // `x + all` (a column or lambda parameter named all/any/some): sqlparser reads
        // ANY/ALL/SOME after any binary operator as a quantifier wanting `(`; Spark's
        // arithmetic takes no quantifier, and the words are not reserved there
        let arithmetic = match parser.peek_token_ref().token {
            Token::Plus => Some(BinaryOperator::Plus),
            Token::Minus => Some(BinaryOperator::Minus),
            Token::Mul => Some(BinaryOperator::Multiply),
            Token::Div => Some(BinaryOperator::Divide),
            Token::Mod => Some(BinaryOperator::Modulo),
            Token::StringConcat => Some(BinaryOperator::StringConcat),
            _ => None,
        };
        if let Some(op) = arithmetic.filter(|_| {
            quantifier_at(parser, 1).is_some()
                && parser.peek_nth_token_ref(2).token != Token::LParen
        }) {
            parser.next_token();
            return Some(rhs(parser, op));
        }
        // `x <=> ANY|SOME|ALL (subquery)`: Spark's comparisonOperator takes `<=>` before
        // a quantifier; sqlparser's quantified comparison does not
        if parser.peek_token_ref().token == Token::Spaceship {
            let quantifier = quantifier_at(parser, 1);
            if let (Some(q), Token::LParen) = (quantifier, &parser.peek_nth_token_ref(2).token) {
                parser.next_token();
                parser.next_token();
                let is_some = q == Keyword::SOME;
                return Some(parser.parse_subexpr(precedence).map(|right| {
                    let (left, right) = (Box::new(expr.clone()), Box::new(right));
                    let compare_op = BinaryOperator::Spaceship;
                    if q != Keyword::ALL {
                        Expr::AnyOp {
                            left,
                            compare_op,
                            right,
                            is_some,
                        }
                    } else {
                        Expr::AllOp {
                            left,
                            compare_op,
                            right,
                        }
                    }
                }));
            }
        }
        // `x [NOT] IN (*)` or `x IN (t.*)`: Spark expands a star in an IN list to the
        // columns; sqlparser's IN list takes no star
        let not = usize::from(
            matches!(&parser.peek_token_ref().token, Token::Word(w) if w.keyword == Keyword::NOT),
        );
        let star_list = matches!(&parser.peek_nth_token_ref(not).token, Token::Word(w) if w.keyword == Keyword::IN)
            && parser.peek_nth_token_ref(not + 1).token == Token::LParen
            && match &parser.peek_nth_token_ref(not + 2).token {
                Token::Mul => true,
                Token::Word(_) => {
                    parser.peek_nth_token_ref(not + 3).token == Token::Period
                        && parser.peek_nth_token_ref(not + 4).token == Token::Mul
                }
                _ => false,
            };
        if star_list {
            for _ in 0..not + 2 {
                parser.next_token();
            }
            let list = parser
                .parse_comma_separated(Parser::parse_wildcard_expr)
                .and_then(|list| parser.expect_token(&Token::RParen).map(|_| list));
            return Some(list.map(|list| Expr::InList {
                expr: Box::new(expr.clone()),
                list,
                negated: not == 1,
            }));
        }
        if let Some(op) = shift {
            parser.next_token();
            if op == BinaryOperator::Custom(">>>".into()) {
                parser.next_token();
            }
            return Some(rhs(parser, op));
        }
        D.parse_infix(parser, expr, precedence)
    }
}

/// The quantifier keyword (ANY, ALL or SOME, unquoted) `n` tokens ahead, if there is one.
fn quantifier_at(parser: &Parser, n: usize) -> Option<Keyword> {
    match &parser.peek_nth_token_ref(n).token {
        Token::Word(w)
            if w.quote_style.is_none()
                && matches!(w.keyword, Keyword::ANY | Keyword::ALL | Keyword::SOME) =>
        {
            Some(w.keyword)
        }
        _ => None,
    }
}

/// Spark's shift operators `<<`, `>>`, `>>>` bind tighter than `&` and looser than
/// `+`/`-` (SqlBaseParser's `valueExpression`), between sqlparser's precedences for them.
const SHIFT_PRECEDENCE: u8 = 25;

/// When an interval value (`[+|-]` then a number or a string) starts `n` tokens ahead:
/// the offset just past it.
fn value_end(parser: &Parser, n: usize) -> Option<usize> {
    let mut k = n;
    if matches!(
        parser.peek_nth_token_ref(k).token,
        Token::Minus | Token::Plus
    ) {
        k += 1;
    }
    match parser.peek_nth_token_ref(k).token {
        Token::Number(..) | Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => {
            Some(k + 1)
        }
        _ => None,
    }
}

/// The interval unit `n` tokens ahead (`day`, `DAYS`, ...), as sqlparser's field.
fn unit_at(parser: &Parser, n: usize) -> Option<(DateTimeField, &'static str)> {
    let Token::Word(w) = &parser.peek_nth_token_ref(n).token else {
        return None;
    };
    if w.quote_style.is_some() {
        return None;
    }
    let lower = w.value.to_ascii_lowercase();
    Some(match lower.strip_suffix('s').unwrap_or(&lower) {
        "year" => (DateTimeField::Year, "year"),
        "month" => (DateTimeField::Month, "month"),
        "week" => (DateTimeField::Week(None), "week"),
        "day" => (DateTimeField::Day, "day"),
        "hour" => (DateTimeField::Hour, "hour"),
        "minute" => (DateTimeField::Minute, "minute"),
        "second" => (DateTimeField::Second, "second"),
        "millisecond" => (DateTimeField::Millisecond, "millisecond"),
        "microsecond" => (DateTimeField::Microsecond, "microsecond"),
        _ => return None,
    })
}

fn interval_of(value: Expr, leading: Option<DateTimeField>, last: Option<DateTimeField>) -> Expr {
    Expr::Interval(Interval {
        value: Box::new(value),
        leading_field: leading,
        leading_precision: None,
        last_field: last,
        fractional_seconds_precision: None,
    })
}

/// Spark's interval literal, the parser at `INTERVAL` (see the module docs).
fn parse_interval(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.next_token(); // INTERVAL
                         // (the value as an expression, as Spark's string of it, the unit)
    let mut pairs: Vec<(Expr, String, DateTimeField, &'static str)> = vec![];
    loop {
        let negative = match parser.peek_token_ref().token {
            Token::Minus => {
                parser.next_token();
                true
            }
            Token::Plus => {
                parser.next_token();
                false
            }
            _ => false,
        };
        let tok = parser.next_token();
        let (value, text, is_string) = match tok.token {
            Token::Number(n, long) => (Value::Number(n.clone(), long), n, false),
            Token::SingleQuotedString(s) => (Value::SingleQuotedString(s.clone()), s, true),
            Token::DoubleQuotedString(s) => (Value::SingleQuotedString(s.clone()), s, true),
            other => {
                return Err(ParserError::ParserError(format!(
                    "Expected: an interval value, found: {other}{}",
                    tok.span.start
                )))
            }
        };
        let mut expr = Expr::value(value);
        if negative {
            expr = Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(expr),
            };
        }
        let Some((field, unit)) = unit_at(parser, 0) else {
            if pairs.is_empty() && is_string {
                // the typed literal INTERVAL '1 day 2 hours'
                return Ok(interval_of(expr, None, None));
            }
            let t = parser.peek_token();
            return Err(ParserError::ParserError(format!(
                "Expected: an interval unit (YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND), found: {}{}",
                t.token, t.span.start
            )));
        };
        parser.next_token();
        // SQL's precision, `DAY (3)`: accepted, not used
        if parser.peek_token_ref().token == Token::LParen
            && matches!(parser.peek_nth_token_ref(1).token, Token::Number(..))
            && parser.peek_nth_token_ref(2).token == Token::RParen
        {
            for _ in 0..3 {
                parser.next_token();
            }
        }
        if pairs.is_empty() && parser.parse_keyword(Keyword::TO) {
            let Some((last, _)) = unit_at(parser, 0) else {
                let t = parser.peek_token();
                return Err(ParserError::ParserError(format!(
                    "Expected: an interval field after TO, found: {}{}",
                    t.token, t.span.start
                )));
            };
            parser.next_token();
            return Ok(interval_of(expr, Some(field), Some(last)));
        }
        // Spark: a sign before a string negates the string's own sign
        let signed = match (negative, text.strip_prefix('-')) {
            (false, _) => text,
            (true, Some(rest)) => rest.to_string(),
            (true, None) => format!("-{text}"),
        };
        pairs.push((expr, signed, field, unit));
        match value_end(parser, 0) {
            Some(k) if unit_at(parser, k).is_some() => continue,
            _ => break,
        }
    }
    if pairs.len() == 1 {
        let (expr, _, field, _) = pairs.remove(0);
        return Ok(interval_of(expr, Some(field), None));
    }
    // several pairs: the string Spark parses them as
    let mut text = String::new();
    for (_, v, _, unit) in &pairs {
        if v.chars().any(char::is_alphabetic) {
            return Err(ParserError::ParserError(format!(
                "[INVALID_INTERVAL_FORMAT] the interval value '{v}' has letters in it"
            )));
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("{v} {unit}"));
    }
    Ok(interval_of(
        Expr::value(Value::SingleQuotedString(text)),
        None,
        None,
    ))
}
