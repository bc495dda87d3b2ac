//! Spark SQL lexical forms that sqlparser does not know, rewritten on the token stream
//! before parsing (the rewritten tokens keep their source spans, so errors still point
//! into the user's text):
//!
//! - numeric literal suffixes, as Spark's `SqlBaseLexer`: `1L` bigint, `1S` smallint,
//!   `1Y` tinyint, `1.5D` / `1e3D` double, `1.5F` float, `1.5BD` / `20E2BD` decimal.
//!   `nL` becomes the typed literal `BIGINT 'n'`; `nBD` becomes the plain decimal number
//!   (`20E2BD` -> `2000.`, a decimal(4,0)).
//! - inline tables without parentheses per row and with an alias without `AS`:
//!   `FROM VALUES 1, 2 AS t(a)`, `CREATE VIEW v AS VALUES (1, 'a') tbl(c1, c2)`. Rows
//!   that are bare expressions are wrapped in parentheses; a `VALUES` query body that
//!   carries an alias becomes `SELECT * FROM VALUES ... alias`. A value's own alias in
//!   a parenthesized row (`VALUES ("one", 1 AS one)`) is dropped, as Spark ignores it:
//!   the columns are named by the table alias or `col1`, `col2`, ...
//! - a trailing comma before `)` or the end (DuckDB's `VALUES (1), (2),`) is dropped.
//! - `1_000_000`, digits grouped by underscores (DuckDB's), is the number 1000000.
//! - `a // b` (DuckDB's integer division) is Spark's `a div b`.
//! - a CTE's materialization hint, `WITH t AS [NOT] MATERIALIZED (...)` (PostgreSQL's and
//!   DuckDB's), is dropped: Quarry decides itself whether a CTE's result is reused.
//! - `a CROSS JOIN b ON cond` / `USING (...)`: Spark's grammar lets any join type carry a
//!   join criteria, and a cross join with one is an inner join; sqlparser takes no
//!   criteria after `CROSS JOIN`, so that `CROSS` becomes `INNER`.
//! - Spark's named row constructor `(a2 AS a, b2 AS b)`: a parenthesized list in
//!   expression position with an `AS` at its top level becomes `struct(a2 AS a, ...)`.
//! - `* EXCEPT (t.c, ...)` / `* EXCEPT t.c` with a qualified name (DuckDB's; sqlparser
//!   takes only plain names after EXCEPT) becomes `* EXCLUDE (...)`, which takes them:
//!   the two mean the same.
//! - DuckDB's `a POSITIONAL JOIN b` becomes `a FULL JOIN b ON __quarry_positional_join`
//!   (the marker [`POSITIONAL_JOIN_MARKER`], which the binder reads as the positional
//!   join): the ON goes after `b`'s table factor (a name, a function call or a
//!   parenthesized subquery, with its alias and column aliases).
//! - DuckDB's `ORDER BY *` is `ORDER BY ALL`.
//! - DuckDB's `LIMIT 20 %` becomes `LIMIT __quarry_limit_percent(20)` (the marker
//!   [`LIMIT_PERCENT_MARKER`], which the binder reads as a share of the rows).
//! - DuckDB's FROM-first query without a SELECT but with later clauses
//!   (`FROM t WHERE a > 1 LIMIT 5`, also after a WITH list) gets `SELECT *` before its
//!   FROM (sqlparser takes a FROM-first query with nothing after its FROM items, or with
//!   a SELECT).
//! - Spark's FROM-first statement with several SELECT bodies (`FROM t SELECT a WHERE
//!   ... SELECT b`) is the UNION ALL of the bodies, each over the FROM (Spark's
//!   visitFromStatement): `UNION ALL FROM t` goes before each body after the first.
//! - `IGNORE NULLS` / `RESPECT NULLS` last inside a call's parentheses (DuckDB's
//!   `first_value(x ORDER BY y IGNORE NULLS)`) moves after the `)`, where sqlparser
//!   reads a window function's null treatment.
//! - A PIVOT aggregate that is an expression over calls, not one call (Spark's
//!   `PIVOT (avg(x) + 1 AS a FOR ...)`), becomes `__quarry_pivot_expr(avg(x) + 1) AS a`
//!   (the marker [`PIVOT_EXPR_MARKER`], which the binder unwraps): sqlparser takes only
//!   a function call there.
//! - A lone `!` is NOT, as in Spark 3's lexer.
//! - A string frame offset (`'inf' PRECEDING`) goes in parentheses, an expression
//!   rather than sqlparser's unit-less interval.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

/// Rewrite Spark-only lexical forms (see the module doc). Never fails: tokens it does
/// not recognise pass through unchanged.
pub fn rewrite(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let tokens = number_suffixes(tokens);
    let tokens = zoned_timestamp_literals(tokens);
    let tokens = cte_materialized_hints(tokens);
    let tokens = double_slash_div(tokens);
    let tokens = bang_as_not(tokens);
    let tokens = string_frame_offsets(tokens);
    let tokens = comma_before_close(tokens);
    let tokens = cross_join_with_criteria(tokens);
    let tokens = not_exists_function(tokens);
    let tokens = named_row_constructor(tokens);
    let tokens = from_first_select_star(tokens);
    let tokens = from_first_selects(tokens);
    let tokens = qualified_star_except(tokens);
    let tokens = positional_joins(tokens);
    let tokens = order_by_star(tokens);
    let tokens = limit_percent(tokens);
    let tokens = null_treatment_inside_call(tokens);
    let tokens = pivot_aggregate_expressions(tokens);
    let tokens = struct_star_call(tokens);
    inline_tables(tokens)
}

/// The function an aliased argument of a `struct` call is rewritten to (see
/// [`struct_star_call`]): `__quarry_struct_field(expr, 'name')`.
pub const STRUCT_FIELD_MARKER: &str = "__quarry_struct_field";

/// `STRUCT(*)`, `STRUCT(t.*, ...)`: sqlparser's struct literal takes no star, so a
/// STRUCT whose parentheses hold a `*` argument (after `(`, `,` or `.`) at their top
/// level becomes a call of the function `struct`, whose stars the binder expands. An
/// argument with an alias (`STRUCT(t.*, x AS e)`), which a call takes not, becomes
/// `__quarry_struct_field(x, 'e')` (the marker [`STRUCT_FIELD_MARKER`], which the
/// binder reads as the field's name).
fn struct_star_call(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut calls = vec![];
    let sig = significant(&tokens);
    for si in 0..sig.len().saturating_sub(1) {
        let (name, open) = (sig[si], sig[si + 1]);
        if kw(&tokens[name].token) != Some(Keyword::STRUCT) || tokens[open].token != Token::LParen {
            continue;
        }
        let Some(close) = closing_paren(&tokens, open) else {
            continue;
        };
        let mut depth = 0usize;
        let mut prev = Token::LParen;
        let mut has_star = false;
        // top-level arguments: (index of their first significant token, index of a
        // top-level AS followed by a name and the argument's end)
        let mut aliased: Vec<(usize, usize)> = vec![];
        let mut arg_start = None;
        for (j, t) in tokens.iter().enumerate().take(close).skip(open + 1) {
            if depth == 0 && arg_start.is_none() && !is_trivia(&t.token) {
                arg_start = Some(j);
            }
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => arg_start = None,
                Token::Mul
                    if depth == 0
                        && matches!(prev, Token::LParen | Token::Comma | Token::Period) =>
                {
                    has_star = true
                }
                _ if depth == 0 && kw(&t.token) == Some(Keyword::AS) => {
                    let after: Vec<usize> = (j + 1..close)
                        .filter(|&k| !is_trivia(&tokens[k].token))
                        .take(2)
                        .collect();
                    let named = after
                        .first()
                        .is_some_and(|&k| matches!(tokens[k].token, Token::Word(_)));
                    let ends = after
                        .get(1)
                        .is_none_or(|&k| tokens[k].token == Token::Comma);
                    if let (Some(start), true, true) = (arg_start, named, ends) {
                        aliased.push((start, j));
                    }
                }
                _ => {}
            }
            if !is_trivia(&t.token) {
                prev = t.token.clone();
            }
        }
        if has_star {
            calls.push((name, aliased));
        }
    }
    for (name, aliased) in calls.into_iter().rev() {
        for (start, at) in aliased.into_iter().rev() {
            let span = tokens[at].span;
            let Some(n) = (at + 1..tokens.len()).find(|&k| !is_trivia(&tokens[k].token)) else {
                continue;
            };
            let field = match &tokens[n].token {
                Token::Word(w) => w.value.clone(),
                _ => continue,
            };
            tokens.splice(
                at..=n,
                [
                    tok(Token::Comma, span),
                    tok(Token::SingleQuotedString(field), span),
                    tok(Token::RParen, span),
                ],
            );
            tokens.splice(
                start..start,
                [
                    tok(Token::make_word(STRUCT_FIELD_MARKER, None), span),
                    tok(Token::LParen, span),
                ],
            );
        }
        let span = tokens[name].span;
        tokens[name] = TokenWithSpan {
            token: Token::Word(Word {
                value: "struct".into(),
                quote_style: Some('`'),
                keyword: Keyword::NoKeyword,
            }),
            span,
        };
    }
    tokens
}

/// The function a `LIMIT n %` is rewritten to (see the module doc).
pub const LIMIT_PERCENT_MARKER: &str = "__quarry_limit_percent";

/// `LIMIT n %` becomes `LIMIT __quarry_limit_percent(n)` (see the module doc): a number
/// after LIMIT followed by `%` and then OFFSET, `)`, `;` or the end.
fn limit_percent(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    // (index of the number, index of the %)
    let mut found = vec![];
    for si in 1..sig.len().saturating_sub(1) {
        let (n, m) = (sig[si], sig[si + 1]);
        let ends = match sig.get(si + 2).map(|&j| &tokens[j].token) {
            None | Some(Token::RParen | Token::SemiColon) => true,
            Some(t) => kw(t) == Some(Keyword::OFFSET),
        };
        if kw(&tokens[sig[si - 1]].token) == Some(Keyword::LIMIT)
            && matches!(tokens[n].token, Token::Number(..))
            && tokens[m].token == Token::Mod
            && ends
        {
            found.push((n, m));
        }
    }
    if found.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + 3 * found.len());
    for (i, t) in tokens.into_iter().enumerate() {
        if found.iter().any(|(n, _)| *n == i) {
            let span = t.span;
            out.push(tok(Token::make_word(LIMIT_PERCENT_MARKER, None), span));
            out.push(tok(Token::LParen, span));
            out.push(t);
            out.push(tok(Token::RParen, span));
        } else if !found.iter().any(|(_, m)| *m == i) {
            out.push(t);
        }
    }
    out
}

/// The function a PIVOT aggregate expression that is not a single call is wrapped in
/// (see the module doc); the binder unwraps it.
pub const PIVOT_EXPR_MARKER: &str = "__quarry_pivot_expr";

/// In `PIVOT (e1 [AS a1], ... FOR ...)`, an `e` that is not one function call
/// (`avg(x) + 1 AS a1`, Spark's) becomes `__quarry_pivot_expr(e)` (see the module doc):
/// sqlparser takes only a call there.
fn pivot_aggregate_expressions(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    // (first token, one past the last token) of each expression to wrap
    let mut wraps: Vec<(usize, usize)> = vec![];
    for si in 0..sig.len().saturating_sub(1) {
        if kw(&tokens[sig[si]].token) != Some(Keyword::PIVOT)
            || tokens[sig[si + 1]].token != Token::LParen
        {
            continue;
        }
        // the items between the `(` and the FOR, split at depth-1 commas
        let mut items: Vec<Vec<usize>> = vec![vec![]];
        let mut depth = 0usize;
        let mut k = si + 2;
        let mut found_for = false;
        while let Some(&j) = sig.get(k) {
            let t = &tokens[j].token;
            match t {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth == 0 => break,
                Token::RParen | Token::RBracket => depth -= 1,
                _ => {}
            }
            if depth == 0 && kw(t) == Some(Keyword::FOR) {
                found_for = true;
                break;
            }
            if depth == 0 && *t == Token::Comma {
                items.push(vec![]);
            } else if let Some(last) = items.last_mut() {
                last.push(k);
            }
            k += 1;
        }
        if !found_for {
            continue;
        }
        for item in items {
            // the expression: the item less a trailing `AS name` or `name`
            let n = item.len();
            let at = |k: usize| &tokens[sig[item[k]]].token;
            let expr_len = if n >= 2 && matches!(at(n - 1), Token::Word(_)) {
                if kw(at(n - 2)) == Some(Keyword::AS) {
                    n - 2
                } else if is_alias_word(at(n - 1)) && ends_operand(at(n - 2)) {
                    n - 1
                } else {
                    n
                }
            } else {
                n
            };
            if expr_len == 0 {
                continue;
            }
            let first = item[0];
            let last = item[expr_len - 1];
            // one call: a name, `(`, and that parenthesis closing at the end
            let one_call = expr_len >= 3
                && matches!(tokens[sig[first]].token, Token::Word(_))
                && tokens[sig[first + 1]].token == Token::LParen
                && closing_paren(&tokens, sig[first + 1]) == Some(sig[last]);
            if !one_call {
                wraps.push((sig[first], sig[last] + 1));
            }
        }
    }
    if wraps.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + 3 * wraps.len());
    for (i, t) in tokens.into_iter().enumerate() {
        let span = t.span;
        for _ in wraps.iter().filter(|(_, end)| *end == i) {
            out.push(tok(Token::RParen, span));
        }
        if wraps.iter().any(|(start, _)| *start == i) {
            out.push(tok(Token::make_word(PIVOT_EXPR_MARKER, None), span));
            out.push(tok(Token::LParen, span));
        }
        out.push(t);
    }
    out
}

/// `ORDER BY *` becomes `ORDER BY ALL` (see the module doc).
fn order_by_star(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    for si in 2..sig.len() {
        if tokens[sig[si]].token == Token::Mul
            && kw(&tokens[sig[si - 1]].token) == Some(Keyword::BY)
            && kw(&tokens[sig[si - 2]].token) == Some(Keyword::ORDER)
        {
            let span = tokens[sig[si]].span;
            tokens[sig[si]] = word("ALL", span);
        }
    }
    tokens
}

/// The ON condition a POSITIONAL JOIN is rewritten with (see the module doc): a name no
/// query uses.
pub const POSITIONAL_JOIN_MARKER: &str = "__quarry_positional_join";

/// `a POSITIONAL JOIN b` becomes `a FULL JOIN b ON __quarry_positional_join` (see the
/// module doc).
fn positional_joins(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let at = |tokens: &[TokenWithSpan], k: usize| sig.get(k).map(|&j| tokens[j].token.clone());
    // the position in `sig` past the parenthesis opened at sig[k]
    let past_parens = |tokens: &[TokenWithSpan], k: usize| match closing_paren(tokens, sig[k]) {
        Some(close) => sig.partition_point(|&j| j <= close),
        None => sig.len(),
    };
    let is_positional = |t: &Token| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("positional"));
    // (index of POSITIONAL in tokens, index in tokens to insert the ON before)
    let mut joins = vec![];
    for si in 0..sig.len() {
        if !is_positional(&tokens[sig[si]].token)
            || sig.get(si + 1).and_then(|&j| kw(&tokens[j].token)) != Some(Keyword::JOIN)
        {
            continue;
        }
        let mut k = si + 2;
        match at(&tokens, k) {
            Some(Token::LParen) => k = past_parens(&tokens, k),
            Some(Token::Word(_)) => {
                k += 1;
                while at(&tokens, k) == Some(Token::Period)
                    && matches!(at(&tokens, k + 1), Some(Token::Word(_)))
                {
                    k += 2;
                }
                if at(&tokens, k) == Some(Token::LParen) {
                    k = past_parens(&tokens, k);
                }
            }
            _ => continue,
        }
        if kw(&at(&tokens, k).unwrap_or(Token::EOF)) == Some(Keyword::AS) {
            k += 1;
        }
        if let Some(Token::Word(w)) = at(&tokens, k) {
            let alias = w.quote_style.is_some()
                || w.keyword == Keyword::NoKeyword
                || !sqlparser::keywords::RESERVED_FOR_TABLE_ALIAS.contains(&w.keyword);
            if alias && !is_positional(&Token::Word(w)) {
                k += 1;
                if at(&tokens, k) == Some(Token::LParen) {
                    k = past_parens(&tokens, k);
                }
            }
        }
        joins.push((sig[si], sig.get(k).copied().unwrap_or(tokens.len())));
    }
    for (p, end) in joins.into_iter().rev() {
        let span = tokens[p].span;
        tokens.splice(
            end..end,
            [
                tok(
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    span,
                ),
                word("ON", span),
                tok(
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    span,
                ),
                tok(Token::make_word(POSITIONAL_JOIN_MARKER, None), span),
                tok(
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    span,
                ),
            ],
        );
        tokens[p] = word("FULL", span);
    }
    tokens
}

/// `* EXCEPT` followed by a qualified name (`t.c`, or a list holding one) becomes
/// `* EXCLUDE` (see the module doc).
fn qualified_star_except(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let at = |k: usize| sig.get(k).map(|&j| &tokens[j].token);
    let mut rewrite = vec![];
    for si in 1..sig.len() {
        if kw(&tokens[sig[si]].token) != Some(Keyword::EXCEPT) || at(si - 1) != Some(&Token::Mul) {
            continue;
        }
        let qualified = match at(si + 1) {
            // a list: a `.` before its closing parenthesis
            Some(Token::LParen) => sig[si + 2..]
                .iter()
                .map(|&j| &tokens[j].token)
                .take_while(|t| **t != Token::RParen)
                .any(|t| *t == Token::Period),
            Some(Token::Word(_)) => at(si + 2) == Some(&Token::Period),
            _ => false,
        };
        if qualified {
            rewrite.push(sig[si]);
        }
    }
    for i in rewrite {
        let span = tokens[i].span;
        tokens[i] = word("EXCLUDE", span);
    }
    tokens
}

/// `FROM t WHERE ...` becomes `SELECT * FROM t WHERE ...` (see the module doc): a FROM
/// that opens a query ([`opens_query`]), where the query it starts (its
/// [`query_keywords`] up to a set operator) has no SELECT of its own but a WHERE, GROUP,
/// HAVING, ORDER, LIMIT, OFFSET, QUALIFY or WINDOW clause.
fn from_first_select_star(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let mut starts = vec![];
    for (si, &i) in sig.iter().enumerate() {
        if kw(&tokens[i].token) != Some(Keyword::FROM) {
            continue;
        }
        if !opens_query(&tokens, &sig, si) {
            continue;
        }
        let (mut select, mut clause) = (false, false);
        for (_, k) in query_keywords(&tokens, &sig, si) {
            match k {
                Keyword::SELECT => select = true,
                Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS => break,
                Keyword::WHERE
                | Keyword::GROUP
                | Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::OFFSET
                | Keyword::QUALIFY
                | Keyword::WINDOW => clause = true,
                _ => {}
            }
        }
        if clause && !select {
            starts.push(i);
        }
    }
    if starts.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + 4 * starts.len());
    for (i, t) in tokens.into_iter().enumerate() {
        if starts.contains(&i) {
            out.push(word("SELECT", t.span));
            out.push(tok(Token::Mul, t.span));
        }
        out.push(t);
    }
    out
}

/// Whether the significant token `sig[si]` (a FROM) opens a query: it starts the
/// statement, or follows `(`, EXPLAIN's or DESCRIBE's words, `AS` (a view's body) or the
/// `)` that closes a CTE.
fn opens_query(tokens: &[TokenWithSpan], sig: &[usize], si: usize) -> bool {
    si == 0
        || tokens[sig[si - 1]].token == Token::LParen
        || matches!(
            kw(&tokens[sig[si - 1]].token),
            Some(
                Keyword::EXPLAIN
                    | Keyword::ANALYZE
                    | Keyword::EXTENDED
                    | Keyword::FORMATTED
                    | Keyword::COST
                    | Keyword::VERBOSE
                    | Keyword::AS
                    | Keyword::QUERY
                    | Keyword::DESC
                    | Keyword::DESCRIBE
            )
        )
        || closes_cte(tokens, sig, si - 1)
}

/// The keywords (with their token indexes) of the query that the significant token
/// `sig[si]` starts, at that query's own depth (not inside parentheses), up to the `)`
/// that closes it, a `;` or the end.
pub(super) fn query_keywords(
    tokens: &[TokenWithSpan],
    sig: &[usize],
    si: usize,
) -> Vec<(usize, Keyword)> {
    let mut depth = 0i32;
    let mut out = vec![];
    for &j in &sig[si + 1..] {
        match &tokens[j].token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => break,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth == 0 => break,
            t if depth == 0 => out.extend(kw(t).map(|k| (j, k))),
            _ => {}
        }
    }
    out
}

/// `FROM t SELECT a ... SELECT b ...` becomes `FROM t SELECT a ... UNION ALL FROM t
/// SELECT b ...` (see the module doc): a FROM that opens a query ([`opens_query`])
/// followed, at its depth, by SELECT bodies and no set operator or INSERT.
fn from_first_selects(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    // (index of the token before which to insert, the FROM's tokens)
    let mut inserts: Vec<(usize, std::ops::Range<usize>)> = vec![];
    for (si, &i) in sig.iter().enumerate() {
        if kw(&tokens[i].token) != Some(Keyword::FROM) {
            continue;
        }
        if !opens_query(&tokens, &sig, si) {
            continue;
        }
        let kws = query_keywords(&tokens, &sig, si);
        if kws.iter().any(|(_, k)| {
            matches!(
                k,
                Keyword::UNION
                    | Keyword::EXCEPT
                    | Keyword::INTERSECT
                    | Keyword::MINUS
                    | Keyword::INSERT
            )
        }) {
            continue;
        }
        let selects: Vec<usize> = kws
            .iter()
            .filter(|(_, k)| *k == Keyword::SELECT)
            .map(|(j, _)| *j)
            .collect();
        if selects.len() > 1 {
            for &j in &selects[1..] {
                inserts.push((j, i..selects[0]));
            }
        }
    }
    if inserts.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() * 2);
    for (i, t) in tokens.iter().enumerate() {
        for (_, from) in inserts.iter().filter(|(at, _)| *at == i) {
            out.push(word("UNION", t.span));
            out.push(word("ALL", t.span));
            out.extend(tokens[from.clone()].iter().cloned());
            out.push(tok(
                Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                t.span,
            ));
        }
        out.push(t.clone());
    }
    out
}

/// `(e1 AS a, e2 AS b)` in expression position becomes `struct(e1 AS a, e2 AS b)` (see
/// the module doc). Expression position: after `,`, `(`, an operator or one of SELECT,
/// WHERE, AND, OR, NOT, WHEN, THEN, ELSE, HAVING, ON (never after a name, so
/// `f(x AS t)`, `CAST(x AS INT)` and `AS t(a, b)` are left alone, nor after IN: PIVOT's
/// `FOR y IN (2012 AS y1, ...)` names its values), and not opening a query. The list needs `AS` directly inside it, followed by a name and `,` or `)`.
fn named_row_constructor(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let mut opens = vec![];
    for (si, &o) in sig.iter().enumerate() {
        if tokens[o].token != Token::LParen || si == 0 {
            continue;
        }
        let prev = &tokens[sig[si - 1]].token;
        let expression_position = match prev {
            Token::Word(w) if w.quote_style.is_none() => matches!(
                w.keyword,
                Keyword::SELECT
                    | Keyword::WHERE
                    | Keyword::AND
                    | Keyword::OR
                    | Keyword::NOT
                    | Keyword::WHEN
                    | Keyword::THEN
                    | Keyword::ELSE
                    | Keyword::HAVING
                    | Keyword::ON
            ),
            Token::Word(_)
            | Token::RParen
            | Token::RBracket
            | Token::Number(..)
            | Token::SingleQuotedString(_) => false,
            _ => true,
        };
        let opens_query = sig
            .get(si + 1)
            .is_some_and(|&n| starts_query(&tokens[n].token));
        if !expression_position || opens_query {
            continue;
        }
        // an `AS name` followed by `,` or `)` directly inside this parenthesis
        let mut depth = 0usize;
        let mut named = false;
        for w in sig[si..].windows(3) {
            match tokens[w[0]].token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            if depth == 1
                && kw(&tokens[w[0]].token) == Some(Keyword::AS)
                && matches!(tokens[w[1]].token, Token::Word(_))
                && matches!(tokens[w[2]].token, Token::Comma | Token::RParen)
            {
                named = true;
                break;
            }
        }
        if named {
            opens.push(o);
        }
    }
    if opens.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + opens.len());
    let mut next = opens.iter().peekable();
    for (i, t) in tokens.into_iter().enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            out.push(word("struct", t.span));
        }
        out.push(t);
    }
    out
}

/// `NOT exists(array, x -> ...)`, the higher-order function under NOT, becomes `NOT
/// (exists(...))`: sqlparser reads `NOT EXISTS (` as the start of a NOT EXISTS subquery.
/// Only where the parenthesis does not open a query (`SELECT`, `WITH`, `VALUES`,
/// `FROM`, `TABLE` or another parenthesis).
fn not_exists_function(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut i = 0;
    while i < tokens.len() {
        let sig: Vec<usize> = (i..tokens.len())
            .filter(|&j| !is_trivia(&tokens[j].token))
            .take(4)
            .collect();
        let is_call = match sig.as_slice() {
            [not, exists, open, next] => {
                kw(&tokens[*not].token) == Some(Keyword::NOT)
                    && kw(&tokens[*exists].token) == Some(Keyword::EXISTS)
                    && tokens[*open].token == Token::LParen
                    && !matches!(tokens[*next].token, Token::LParen)
                    && !starts_query(&tokens[*next].token)
            }
            _ => false,
        };
        if !is_call {
            i += 1;
            continue;
        }
        let (exists, open) = (sig[1], sig[2]);
        // the call's closing parenthesis
        let Some(close) = closing_paren(&tokens, open) else {
            return tokens;
        };
        let span = tokens[exists].span;
        tokens.insert(close + 1, tok(Token::RParen, span));
        tokens.insert(exists, tok(Token::LParen, span));
        i = exists + 2;
    }
    tokens
}

/// `CROSS JOIN relation ON ...` (or `USING`) -> `INNER JOIN relation ON ...`. The relation
/// ends at its depth's next `ON`/`USING` (a criteria: rewrite) or at anything that ends
/// a join's right side (another join, a comma, a clause keyword, a closing parenthesis:
/// a plain cross join, left alone).
fn cross_join_with_criteria(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !is_trivia(&tokens[i].token))
        .collect();
    for k in 0..sig.len().saturating_sub(1) {
        if kw(&tokens[sig[k]].token) != Some(Keyword::CROSS)
            || kw(&tokens[sig[k + 1]].token) != Some(Keyword::JOIN)
        {
            continue;
        }
        let mut depth = 0i32;
        for &i in &sig[k + 2..] {
            match &tokens[i].token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma | Token::SemiColon if depth == 0 => break,
                t if depth == 0 => match kw(t) {
                    Some(Keyword::ON | Keyword::USING) => {
                        let span = tokens[sig[k]].span;
                        tokens[sig[k]] = word("INNER", span);
                        break;
                    }
                    Some(
                        Keyword::JOIN
                        | Keyword::CROSS
                        | Keyword::INNER
                        | Keyword::LEFT
                        | Keyword::RIGHT
                        | Keyword::FULL
                        | Keyword::NATURAL
                        | Keyword::WHERE
                        | Keyword::GROUP
                        | Keyword::HAVING
                        | Keyword::ORDER
                        | Keyword::LIMIT
                        | Keyword::UNION
                        | Keyword::EXCEPT
                        | Keyword::INTERSECT
                        | Keyword::WINDOW
                        | Keyword::QUALIFY
                        | Keyword::CLUSTER
                        | Keyword::DISTRIBUTE
                        | Keyword::SORT,
                    ) => break,
                    _ => {}
                },
                _ => {}
            }
        }
    }
    tokens
}

/// `f(... IGNORE NULLS)` becomes `f(...) IGNORE NULLS` (see the module doc); also
/// RESPECT NULLS.
fn null_treatment_inside_call(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let mut moves = vec![];
    for w in sig.windows(3) {
        let treatment = matches!(
            kw(&tokens[w[0]].token),
            Some(Keyword::IGNORE | Keyword::RESPECT)
        ) && kw(&tokens[w[1]].token) == Some(Keyword::NULLS)
            && tokens[w[2]].token == Token::RParen;
        if treatment {
            moves.push((w[0], w[1], w[2]));
        }
    }
    // from the last, so earlier positions stay valid
    for (treat, nulls, close) in moves.into_iter().rev() {
        let words: Vec<TokenWithSpan> = tokens.drain(treat..=nulls).collect();
        let close = close - words.len();
        let space = tok(
            Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
            tokens[close].span,
        );
        // the two words (and the space between them) after the `)`, a space first
        tokens.splice(close + 1..close + 1, std::iter::once(space).chain(words));
    }
    tokens
}

/// Two adjacent `/` tokens (`a // b`) become the word `DIV`.
fn double_slash_div(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut it = tokens.into_iter().peekable();
    while let Some(t) = it.next() {
        let adjacent_div = matches!(t.token, Token::Div)
            && it
                .peek()
                .is_some_and(|n| matches!(n.token, Token::Div) && n.span.start == t.span.end);
        if adjacent_div {
            if let Some(second) = it.next() {
                let span = sqlparser::tokenizer::Span::new(t.span.start, second.span.end);
                out.push(word("DIV", span));
                continue;
            }
        }
        out.push(t);
    }
    out
}

/// A string literal right before PRECEDING or FOLLOWING (`RANGE BETWEEN 'inf' PRECEDING
/// AND ...`) goes in parentheses: sqlparser reads a bare string there as an interval
/// that needs a unit, where Spark casts the string to the ORDER BY key's type.
fn string_frame_offsets(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let mut wrap = vec![];
    for w in sig.windows(2) {
        let bound = matches!(
            kw(&tokens[w[1]].token),
            Some(Keyword::PRECEDING | Keyword::FOLLOWING)
        );
        if bound && matches!(tokens[w[0]].token, Token::SingleQuotedString(_)) {
            wrap.push(w[0]);
        }
    }
    let mut tokens = tokens;
    for i in wrap.into_iter().rev() {
        let span = tokens[i].span;
        tokens.insert(i + 1, tok(Token::RParen, span));
        tokens.insert(i, tok(Token::LParen, span));
    }
    tokens
}

/// A lone `!` is the keyword NOT, as Spark 3's lexer reads it (`NOT: 'NOT' | '!'`): `! true`,
/// `1 ! BETWEEN 0 AND 2`, `x ! IN (3, 4)`, `s ! LIKE 'w'`, `x IS ! NULL`. (`!=` is its own
/// token.)
fn bang_as_not(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    tokens
        .into_iter()
        .map(|t| match t.token {
            Token::ExclamationMark => word("NOT", t.span),
            _ => t,
        })
        .collect()
}

/// Drop a `,` whose next token (past whitespace and comments) is `)` or the statement's
/// end: DuckDB's trailing comma at the end of a list (`VALUES (1), (2),`, `IN (1, 2,)`).
fn comma_before_close(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut drop = vec![false; tokens.len()];
    for (i, t) in tokens.iter().enumerate() {
        if t.token == Token::Comma {
            let next = tokens[i + 1..].iter().find(|n| !is_trivia(&n.token));
            drop[i] = next
                .is_none_or(|n| matches!(n.token, Token::RParen | Token::SemiColon | Token::EOF));
        }
    }
    tokens
        .into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(t, _)| t)
        .collect()
}

/// Drop `MATERIALIZED` / `NOT MATERIALIZED` between a CTE's `AS` and its `(`.
fn cte_materialized_hints(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is_word = |t: &TokenWithSpan, w: &str| matches!(&t.token, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(w));
    let is_space = |t: &TokenWithSpan| matches!(t.token, Token::Whitespace(_));
    // indexes of the non-whitespace tokens
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !is_space(&tokens[i]))
        .collect();
    let mut drop = vec![false; tokens.len()];
    for k in 1..sig.len() {
        if !is_word(&tokens[sig[k - 1]], "AS") {
            continue;
        }
        let (first, len) = if is_word(&tokens[sig[k]], "MATERIALIZED") {
            (k, 1)
        } else if is_word(&tokens[sig[k]], "NOT")
            && sig
                .get(k + 1)
                .is_some_and(|&i| is_word(&tokens[i], "MATERIALIZED"))
        {
            (k, 2)
        } else {
            continue;
        };
        if sig
            .get(first + len)
            .is_some_and(|&i| matches!(tokens[i].token, Token::LParen))
        {
            for &i in &sig[first..first + len] {
                drop[i] = true;
            }
        }
    }
    tokens
        .into_iter()
        .zip(drop)
        .filter_map(|(t, d)| (!d).then_some(t))
        .collect()
}

/// `timestamp_ltz'...'` and `timestamp_ntz'...'` are `TIMESTAMP '...'`: Quarry has one
/// timestamp type (no zone; the session zone is UTC, where the two agree).
fn zoned_timestamp_literals(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut it = tokens.into_iter().peekable();
    while let Some(t) = it.next() {
        let zoned = matches!(&t.token, Token::Word(Word { value, quote_style: None, .. })
            if value.eq_ignore_ascii_case("timestamp_ltz") || value.eq_ignore_ascii_case("timestamp_ntz"));
        let literal_next = it.peek().map(|n| match &n.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(s.clone()),
            _ => None,
        });
        match (zoned, literal_next) {
            (true, Some(Some(text))) => {
                out.push(word("TIMESTAMP", t.span));
                if let Some(lit) = it.next() {
                    out.push(tok(Token::SingleQuotedString(text), lit.span));
                }
            }
            _ => out.push(t),
        }
    }
    out
}

fn word(s: &str, span: sqlparser::tokenizer::Span) -> TokenWithSpan {
    TokenWithSpan::new(Token::make_keyword(s), span)
}

fn tok(t: Token, span: sqlparser::tokenizer::Span) -> TokenWithSpan {
    TokenWithSpan::new(t, span)
}

/// Split `123L` into (digits, suffix) when `text` is a number with a Spark suffix.
fn split_suffix(text: &str) -> Option<(&str, &'static str)> {
    let lower = text.to_ascii_lowercase();
    let (num_len, suffix) = if lower.ends_with("bd") {
        (text.len() - 2, "BD")
    } else {
        let s = match lower.as_bytes().last()? {
            b'l' => "BIGINT",
            b's' => "SMALLINT",
            b'y' => "TINYINT",
            b'd' => "DOUBLE",
            b'f' => "FLOAT",
            _ => return None,
        };
        (text.len() - 1, s)
    };
    let num = &text[..num_len];
    is_number(num).then_some((num, suffix))
}

/// `digits[.digits][e[+-]digits]` or `.digits[...]`.
fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// A decimal literal's plain text with a `.` (so it binds as a decimal), exponent
/// applied: `20E2` -> `2000.`, `1.5e-1` -> `0.15`, `1.5` -> `1.5`.
fn plain_decimal(num: &str) -> String {
    let lower = num.to_ascii_lowercase();
    let (mant, exp) = match lower.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i64>().unwrap_or(0)),
        None => (lower.clone(), 0),
    };
    let (int, frac) = mant
        .split_once('.')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((mant.clone(), String::new()));
    let digits = format!("{int}{frac}");
    // value = digits * 10^(exp - frac.len())
    let point = int.len() as i64 + exp; // position of the decimal point in `digits`
    let (int_part, frac_part) = if point <= 0 {
        (
            String::from("0"),
            format!("{}{}", "0".repeat((-point) as usize), digits),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int_part = {
        let t = int_part.trim_start_matches('0');
        if t.is_empty() {
            "0".to_string()
        } else {
            t.to_string()
        }
    };
    format!("{int_part}.{frac_part}")
}

fn number_suffixes(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut it = tokens.into_iter().peekable();
    while let Some(t) = it.next() {
        let span = t.span;
        // `1L`, `100.00D`, `6S`: one unquoted word
        if let Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) = &t.token
        {
            if value
                .as_bytes()
                .first()
                .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
            {
                if let Some((num, suffix)) = split_suffix(value) {
                    push_typed(&mut out, num, suffix, span);
                    continue;
                }
                // `1_000_000`: digits grouped by single underscores (DuckDB's, Python's)
                if value.split('_').count() > 1
                    && value
                        .split('_')
                        .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit()))
                {
                    out.push(TokenWithSpan {
                        token: Token::Number(value.replace('_', ""), false),
                        span,
                    });
                    continue;
                }
            }
        }
        // `20E2BD`, `1.5e3D`: a number directly followed by the suffix word
        if let Token::Number(n, false) = &t.token {
            if let Some(next) = it.peek() {
                if let Token::Word(Word {
                    value,
                    quote_style: None,
                    ..
                }) = &next.token
                {
                    let adjacent = next.span.start.line == span.end.line
                        && next.span.start.column == span.end.column;
                    let suffix = match value.to_ascii_lowercase().as_str() {
                        "bd" => Some("BD"),
                        "d" => Some("DOUBLE"),
                        "f" => Some("FLOAT"),
                        "l" => Some("BIGINT"),
                        "s" => Some("SMALLINT"),
                        "y" => Some("TINYINT"),
                        _ => None,
                    };
                    if let (true, Some(suffix)) = (adjacent, suffix) {
                        let n = n.clone();
                        it.next();
                        push_typed(&mut out, &n, suffix, span);
                        continue;
                    }
                }
            }
        }
        out.push(t);
    }
    out
}

fn push_typed(
    out: &mut Vec<TokenWithSpan>,
    num: &str,
    suffix: &str,
    span: sqlparser::tokenizer::Span,
) {
    if suffix == "BD" {
        out.push(tok(Token::Number(plain_decimal(num), false), span));
    } else {
        out.push(word(suffix, span));
        out.push(tok(
            Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
            span,
        ));
        out.push(tok(Token::SingleQuotedString(num.to_string()), span));
    }
}

/// Whether `sig[si]` is the `)` that ends a CTE's body (`name AS (...)`): its `(` follows
/// AS, and the statement starts with WITH. A query after it starts the main query.
fn closes_cte(tokens: &[TokenWithSpan], sig: &[usize], si: usize) -> bool {
    if tokens[sig[si]].token != Token::RParen
        || sig.first().map(|&i| kw(&tokens[i].token)) != Some(Some(Keyword::WITH))
    {
        return false;
    }
    let mut depth = 0usize;
    for k in (0..=si).rev() {
        match tokens[sig[k]].token {
            Token::RParen => depth += 1,
            Token::LParen => {
                depth -= 1;
                if depth == 0 {
                    return k > 0 && kw(&tokens[sig[k - 1]].token) == Some(Keyword::AS);
                }
            }
            _ => {}
        }
    }
    false
}

/// The position of the `)` that closes the `(` at `open`; None when none does.
fn closing_paren(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The positions of `tokens` that are not whitespace.
pub(super) fn significant(tokens: &[TokenWithSpan]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|&j| !is_trivia(&tokens[j].token))
        .collect()
}

fn is_trivia(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// Whether `t` is a keyword a query can start with (`SELECT`, `WITH`, `VALUES`, `FROM`,
/// `TABLE`): a parenthesis before it opens a subquery, not an expression.
fn starts_query(t: &Token) -> bool {
    matches!(
        kw(t),
        Some(Keyword::SELECT | Keyword::WITH | Keyword::VALUES | Keyword::FROM | Keyword::TABLE)
    )
}

pub(super) fn kw(t: &Token) -> Option<Keyword> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

/// Keywords that end a bare inline-table row or follow an inline table.
fn ends_inline_table(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::AS
            | Keyword::WHERE
            | Keyword::GROUP
            | Keyword::ORDER
            | Keyword::LIMIT
            | Keyword::UNION
            | Keyword::INTERSECT
            | Keyword::EXCEPT
            | Keyword::MINUS
            | Keyword::JOIN
            | Keyword::INNER
            | Keyword::LEFT
            | Keyword::RIGHT
            | Keyword::FULL
            | Keyword::CROSS
            | Keyword::NATURAL
            | Keyword::ON
            | Keyword::USING
            | Keyword::HAVING
            | Keyword::WINDOW
            | Keyword::SORT
            | Keyword::CLUSTER
            | Keyword::DISTRIBUTE
            | Keyword::LATERAL
            | Keyword::PIVOT
            | Keyword::UNPIVOT
            | Keyword::OFFSET
    )
}

/// Tokens that end an operand: after one of these, a plain word starts an alias.
fn ends_operand(t: &Token) -> bool {
    match t {
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::RParen
        | Token::RBracket => true,
        Token::Word(w) => !matches!(
            w.keyword,
            Keyword::NOT
                | Keyword::AND
                | Keyword::OR
                | Keyword::IS
                | Keyword::IN
                | Keyword::LIKE
                | Keyword::BETWEEN
                | Keyword::CASE
                | Keyword::WHEN
                | Keyword::THEN
                | Keyword::ELSE
                | Keyword::INTERVAL
        ),
        _ => false,
    }
}

/// A word that can start an alias (not an operator keyword such as AND, IS, LIKE).
fn is_alias_word(t: &Token) -> bool {
    match t {
        Token::Word(w) => {
            w.quote_style.is_some()
                || !matches!(
                    w.keyword,
                    Keyword::NOT
                        | Keyword::AND
                        | Keyword::OR
                        | Keyword::IS
                        | Keyword::IN
                        | Keyword::LIKE
                        | Keyword::ILIKE
                        | Keyword::RLIKE
                        | Keyword::REGEXP
                        | Keyword::BETWEEN
                        | Keyword::DIV
                        | Keyword::COLLATE
                        | Keyword::ESCAPE
                        | Keyword::XOR
                )
        }
        _ => false,
    }
}

/// Inline tables' rows and aliases in the forms sqlparser takes (see the module doc).
fn inline_tables(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // indices of significant tokens
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !is_trivia(&tokens[i].token))
        .collect();
    // edits: insert tokens before index i; drop the tokens at these indexes
    let mut inserts: Vec<(usize, Vec<Token>)> = vec![];
    let mut drops: Vec<usize> = vec![];
    for (si, &i) in sig.iter().enumerate() {
        if kw(&tokens[i].token) != Some(Keyword::VALUES) {
            continue;
        }
        let prev = si.checked_sub(1).map(|p| &tokens[sig[p]].token);
        let from_item = matches!(prev.and_then(kw), Some(Keyword::FROM | Keyword::JOIN))
            || matches!(prev, Some(Token::Comma)) && in_from(&tokens, &sig, si);
        let body = match prev {
            None | Some(Token::LParen) => true,
            Some(t) => matches!(
                kw(t),
                Some(
                    Keyword::AS
                        | Keyword::UNION
                        | Keyword::INTERSECT
                        | Keyword::EXCEPT
                        | Keyword::MINUS
                        | Keyword::ALL
                        | Keyword::DISTINCT
                )
            ),
        };
        if !from_item && !body {
            continue; // INSERT INTO t VALUES ...: sqlparser's own form
        }
        // walk the rows
        let mut k = si + 1;
        while let Some(&start) = sig.get(k) {
            if tokens[start].token == Token::LParen {
                // a parenthesised row: skip to its close, dropping its values' aliases
                let mut depth = 0i32;
                while let Some(&j) = sig.get(k) {
                    match tokens[j].token {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ => {}
                    }
                    if depth == 1 && kw(&tokens[j].token) == Some(Keyword::AS) {
                        if let (Some(&name), Some(&after)) = (sig.get(k + 1), sig.get(k + 2)) {
                            if matches!(tokens[name].token, Token::Word(_))
                                && matches!(tokens[after].token, Token::Comma | Token::RParen)
                            {
                                drops.extend([j, name]);
                            }
                        }
                    }
                    k += 1;
                    if depth == 0 {
                        break;
                    }
                }
            } else {
                // a bare expression row: up to a comma or terminator at depth 0
                let mut depth = 0i32;
                let row_start = k;
                while let Some(&j) = sig.get(k) {
                    let t = &tokens[j].token;
                    if depth == 0 {
                        if matches!(
                            t,
                            Token::Comma | Token::SemiColon | Token::EOF | Token::RParen
                        ) {
                            break;
                        }
                        if kw(t).is_some_and(ends_inline_table) {
                            break;
                        }
                        if k > row_start
                            && is_alias_word(t)
                            && ends_operand(&tokens[sig[k - 1]].token)
                        {
                            break; // `1 t(a)`: an alias
                        }
                    }
                    match t {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ => {}
                    }
                    k += 1;
                }
                if k == row_start {
                    break;
                }
                inserts.push((sig[row_start], vec![Token::LParen]));
                let end = sig.get(k).copied().unwrap_or(tokens.len());
                inserts.push((end, vec![Token::RParen]));
            }
            match sig.get(k).map(|&j| &tokens[j].token) {
                Some(Token::Comma) => k += 1,
                _ => break,
            }
        }
        // an alias after the rows of a query body: make it a FROM item
        if body {
            let next = sig.get(k).map(|&j| &tokens[j].token);
            let has_alias = match next {
                Some(t) if kw(t) == Some(Keyword::AS) => true,
                Some(Token::Word(w)) => {
                    w.quote_style.is_some()
                        || w.keyword == Keyword::NoKeyword
                        || !ends_inline_table(w.keyword)
                }
                _ => false,
            };
            if has_alias {
                inserts.push((
                    i,
                    vec![
                        Token::make_keyword("SELECT"),
                        Token::Mul,
                        Token::make_keyword("FROM"),
                    ],
                ));
            }
        }
    }
    if inserts.is_empty() && drops.is_empty() {
        return tokens;
    }
    inserts.sort_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(tokens.len() + inserts.len() * 3);
    let mut ins = inserts.into_iter().peekable();
    for (i, t) in tokens.into_iter().enumerate() {
        while let Some((at, _)) = ins.peek() {
            if *at != i {
                break;
            }
            let (_, add) = ins.next().unwrap_or_default();
            for a in add {
                out.push(TokenWithSpan::new(a, t.span));
                out.push(TokenWithSpan::new(
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    t.span,
                ));
            }
        }
        if !drops.contains(&i) {
            out.push(t);
        }
    }
    // a row that runs to the statement's end closes after the last token
    let span = out
        .last()
        .map(|t| t.span)
        .unwrap_or(sqlparser::tokenizer::Span::empty());
    for (_, add) in ins {
        out.extend(add.into_iter().map(|a| TokenWithSpan::new(a, span)));
    }
    out
}

/// Whether the comma before `sig[si]` separates FROM items (a FROM keyword at the same
/// parenthesis depth, with no SELECT/WHERE in between).
fn in_from(tokens: &[TokenWithSpan], sig: &[usize], si: usize) -> bool {
    let mut depth = 0i32;
    for p in (0..si).rev() {
        let t = &tokens[sig[p]].token;
        match t {
            Token::RParen => depth += 1,
            Token::LParen => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            _ if depth == 0 => match kw(t) {
                Some(Keyword::FROM) => return true,
                Some(
                    Keyword::SELECT
                    | Keyword::WHERE
                    | Keyword::ON
                    | Keyword::GROUP
                    | Keyword::HAVING
                    | Keyword::ORDER,
                ) => return false,
                _ => {}
            },
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::tokenizer::Tokenizer;

    fn rw(sql: &str) -> String {
        let d = crate::parser::dialect::SparkDialect;
        let toks = Tokenizer::new(&d, sql).tokenize_with_location().unwrap();
        rewrite(toks)
            .iter()
            .map(|t| t.token.to_string())
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn cross_join_with_criteria_is_inner() {
        assert_eq!(
            rw("SELECT * FROM a CROSS JOIN b ON (a.k = b.k)"),
            "SELECT * FROM a INNER JOIN b ON (a.k = b.k)"
        );
        assert_eq!(
            rw("SELECT * FROM a cross join (SELECT 1 AS k) t USING (k) WHERE x"),
            "SELECT * FROM a INNER join (SELECT 1 AS k) t USING (k) WHERE x"
        );
        // no criteria of its own: a cross join, also when a later join has one
        for sql in [
            "SELECT * FROM a CROSS JOIN b WHERE a.k = b.k",
            "SELECT * FROM a CROSS JOIN b JOIN c ON b.k = c.k",
            "SELECT * FROM (SELECT * FROM a CROSS JOIN b) t JOIN c ON t.k = c.k",
            "SELECT * FROM a CROSS JOIN b, c",
        ] {
            assert_eq!(rw(sql), sql, "{sql}");
        }
    }

    #[test]
    fn suffixes() {
        assert_eq!(
            rw("select 1L, 100.00D, 6S, 10Y, 1.5F"),
            "select BIGINT '1', DOUBLE '100.00', SMALLINT '6', TINYINT '10', FLOAT '1.5'"
        );
        assert_eq!(
            rw("select 20E2BD, 1.5BD, 1.5e-1BD, 1e3D"),
            "select 2000., 1.5, 0.15, DOUBLE '1e3'"
        );
        assert_eq!(rw("select x1l, `1L` from t"), "select x1l, `1L` from t");
    }

    #[test]
    fn values() {
        assert_eq!(
            rw("select * from values 0, 1, 2 as t(id)"),
            "select * from values ( 0) , ( 1) , ( 2 ) as t(id)"
        );
        assert_eq!(
            rw("create view p AS VALUES 1 T(col)"),
            "create view p AS SELECT * FROM VALUES ( 1 ) T(col)"
        );
        assert_eq!(
            rw("create view p AS VALUES (1, 'a'), (2, 'b') tbl(c1, c2)"),
            "create view p AS SELECT * FROM VALUES (1, 'a'), (2, 'b') tbl(c1, c2)"
        );
        assert_eq!(
            rw("insert into t values (1), (2)"),
            "insert into t values (1), (2)"
        );
        assert_eq!(rw("values (1, 2)"), "values (1, 2)");
        assert_eq!(
            rw("select * from values (1 + 2) as t(a) where a > 1"),
            "select * from values (1 + 2) as t(a) where a > 1"
        );
    }

    #[test]
    fn plain_decimals() {
        assert_eq!(plain_decimal("20E2"), "2000.");
        assert_eq!(plain_decimal("1.2345E2"), "123.45");
        assert_eq!(plain_decimal("0.001"), "0.001");
        assert_eq!(plain_decimal("5e-3"), "0.005");
    }
}
