//! Quarry's SQL dialect: Databricks' (Spark SQL's) settings, plus Spark's integral
//! division operator `a div b`.

use std::any::TypeId;

use sqlparser::ast::{BinaryOperator, Expr};
use sqlparser::dialect::{DatabricksDialect, Dialect, Precedence};
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
    fn supports_lambda_functions(&self) -> bool {
        D.supports_lambda_functions()
    }
    fn supports_select_wildcard_except(&self) -> bool {
        D.supports_select_wildcard_except()
    }
    fn require_interval_qualifier(&self) -> bool {
        D.require_interval_qualifier()
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
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if next_is_div(parser) {
            return Some(Ok(self.prec_value(Precedence::MulDivModOp)));
        }
        D.get_next_precedence(parser)
    }
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if next_is_div(parser) {
            parser.next_token();
            return Some(
                parser
                    .parse_subexpr(precedence)
                    .map(|right| Expr::BinaryOp {
                        left: Box::new(expr.clone()),
                        op: BinaryOperator::MyIntegerDivide,
                        right: Box::new(right),
                    }),
            );
        }
        D.parse_infix(parser, expr, precedence)
    }
}
