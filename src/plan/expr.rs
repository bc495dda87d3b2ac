//! Bound expressions. Columns are referenced by a unique [`ColumnId`] (as Spark's
//! exprId), so plan rewrites never renumber anything; the physical planner maps ids
//! to positions in each operator's input.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::datatypes::DataType;

use super::LogicalPlan;
use crate::functions::aggregate::AggFunc;
use crate::functions::scalar::ScalarFunc;
use crate::types::{type_name, ScalarValue};

/// A unique id per column produced anywhere in a plan.
pub type ColumnId = usize;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A fresh column id.
pub fn next_id() -> ColumnId {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// An output column of a plan node.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub id: ColumnId,
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
}

impl Column {
    /// A new column with a fresh id.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Column {
        Column {
            id: next_id(),
            name: name.into(),
            data_type,
            nullable,
        }
    }
}

/// Binary operators (arithmetic, comparison, logic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Plus,
    Minus,
    Multiply,
    Divide,
    /// `div`: integral division (Spark's `div`, and `/` under `quarry.sql.integer_division`).
    IntDivide,
    Modulo,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `<=>`: null-safe equality.
    NullSafeEq,
    And,
    Or,
}

impl BinOp {
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            BinOp::Eq
                | BinOp::NotEq
                | BinOp::Lt
                | BinOp::LtEq
                | BinOp::Gt
                | BinOp::GtEq
                | BinOp::NullSafeEq
        )
    }
    pub fn symbol(&self) -> &'static str {
        match self {
            BinOp::Plus => "+",
            BinOp::Minus => "-",
            BinOp::Multiply => "*",
            BinOp::Divide => "/",
            BinOp::IntDivide => "div",
            BinOp::Modulo => "%",
            BinOp::Eq => "=",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::NullSafeEq => "<=>",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }
    /// The operator with its operands swapped (`a < b` == `b > a`).
    pub fn swap(&self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::LtEq => BinOp::GtEq,
            BinOp::Gt => BinOp::Lt,
            BinOp::GtEq => BinOp::LtEq,
            o => *o,
        }
    }
}

/// A set of constant values for `x IN (subquery)`, built when the subquery runs.
#[derive(Debug)]
pub struct ValueSet {
    /// Row-encoded (arrow-row) values, of `data_type`.
    pub rows: std::collections::HashSet<Vec<u8>, ahash::RandomState>,
    /// The same values as i64 when `data_type` is an integer or date type (the fast path
    /// of `x IN (subquery)` on keys: no row encoding per probed value).
    pub ints: Option<std::collections::HashSet<i64, ahash::RandomState>>,
    pub has_null: bool,
    pub data_type: DataType,
}

impl ValueSet {
    /// Whether `data_type` takes the i64 path ([`ValueSet::ints`]): the integer types
    /// whose values all fit an i64 (not UInt64), and dates.
    pub fn integer_like(data_type: &DataType) -> bool {
        (crate::types::is_integer(data_type) && data_type != &DataType::UInt64)
            || data_type == &DataType::Date32
    }
}

/// What a subquery expression computes.
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryKind {
    /// A single value (NULL when no row; an error when more than one).
    Scalar,
    /// `[NOT] EXISTS (...)`.
    Exists { negated: bool },
    /// `expr [NOT] IN (...)`.
    In { expr: Box<Expr>, negated: bool },
}

/// A bound (typed, resolved) expression.
#[derive(Clone, Debug)]
pub enum Expr {
    Column(Column),
    Literal(ScalarValue),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
        data_type: DataType,
    },
    Not(Box<Expr>),
    Negate(Box<Expr>),
    IsNull(Box<Expr>),
    IsNotNull(Box<Expr>),
    Cast {
        expr: Box<Expr>,
        to: DataType,
        try_cast: bool,
    },
    /// Searched CASE (the simple form is rewritten to this by the binder).
    Case {
        whens: Vec<(Expr, Expr)>,
        else_expr: Option<Box<Expr>>,
        data_type: DataType,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSet {
        expr: Box<Expr>,
        set: Arc<ValueSet>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    Function {
        func: ScalarFunc,
        args: Vec<Expr>,
        data_type: DataType,
    },
    /// A lambda function, only as an argument of a higher-order function
    /// ([`crate::functions::lambda`]): `params` are fresh columns that `body` reads (the
    /// element, an index, an accumulator), bound per call; `body` may also read the
    /// enclosing row's columns. [`Expr::column_ids`] leaves the params out.
    Lambda {
        params: Vec<Column>,
        body: Box<Expr>,
    },
    /// An uncorrelated subquery; replaced by a constant or a value set before execution.
    Subquery {
        plan: Arc<LogicalPlan>,
        kind: SubqueryKind,
        data_type: DataType,
    },
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        use Expr::*;
        match (self, other) {
            (Column(a), Column(b)) => a.id == b.id,
            (Literal(a), Literal(b)) => a == b,
            (
                Binary {
                    op: o1,
                    left: l1,
                    right: r1,
                    ..
                },
                Binary {
                    op: o2,
                    left: l2,
                    right: r2,
                    ..
                },
            ) => o1 == o2 && l1 == l2 && r1 == r2,
            (Not(a), Not(b))
            | (Negate(a), Negate(b))
            | (IsNull(a), IsNull(b))
            | (IsNotNull(a), IsNotNull(b)) => a == b,
            (
                Cast {
                    expr: a,
                    to: t1,
                    try_cast: c1,
                },
                Cast {
                    expr: b,
                    to: t2,
                    try_cast: c2,
                },
            ) => a == b && t1 == t2 && c1 == c2,
            (
                Case {
                    whens: w1,
                    else_expr: e1,
                    ..
                },
                Case {
                    whens: w2,
                    else_expr: e2,
                    ..
                },
            ) => w1 == w2 && e1 == e2,
            (
                InList {
                    expr: a,
                    list: l1,
                    negated: n1,
                },
                InList {
                    expr: b,
                    list: l2,
                    negated: n2,
                },
            ) => a == b && l1 == l2 && n1 == n2,
            (
                Like {
                    expr: a,
                    pattern: p1,
                    negated: n1,
                    case_insensitive: c1,
                },
                Like {
                    expr: b,
                    pattern: p2,
                    negated: n2,
                    case_insensitive: c2,
                },
            ) => a == b && p1 == p2 && n1 == n2 && c1 == c2,
            (
                Function {
                    func: f1,
                    args: a1,
                    data_type: t1,
                },
                Function {
                    func: f2,
                    args: a2,
                    data_type: t2,
                },
            ) => f1 == f2 && a1 == a2 && t1 == t2,
            (InSet { set: s1, .. }, InSet { set: s2, .. }) => Arc::ptr_eq(s1, s2),
            (
                Lambda {
                    params: p1,
                    body: b1,
                },
                Lambda {
                    params: p2,
                    body: b2,
                },
            ) => p1.iter().map(|c| c.id).eq(p2.iter().map(|c| c.id)) && b1 == b2,
            (Subquery { plan: p1, .. }, Subquery { plan: p2, .. }) => Arc::ptr_eq(p1, p2),
            _ => false,
        }
    }
}

impl Expr {
    pub fn col(c: &Column) -> Expr {
        Expr::Column(c.clone())
    }
    pub fn lit(v: ScalarValue) -> Expr {
        Expr::Literal(v)
    }
    pub fn binary(op: BinOp, left: Expr, right: Expr, data_type: DataType) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            data_type,
        }
    }
    pub fn and(left: Expr, right: Expr) -> Expr {
        Expr::binary(BinOp::And, left, right, DataType::Boolean)
    }

    pub fn or(left: Expr, right: Expr) -> Expr {
        Expr::binary(BinOp::Or, left, right, DataType::Boolean)
    }

    /// The result type.
    pub fn data_type(&self) -> DataType {
        match self {
            Expr::Column(c) => c.data_type.clone(),
            Expr::Literal(v) => v.data_type().clone(),
            Expr::Binary { data_type, .. }
            | Expr::Case { data_type, .. }
            | Expr::Function { data_type, .. }
            | Expr::Subquery { data_type, .. } => data_type.clone(),
            Expr::Negate(e) => e.data_type(),
            Expr::Lambda { body, .. } => body.data_type(),
            Expr::Cast { to, .. } => to.clone(),
            Expr::Not(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::InList { .. }
            | Expr::InSet { .. }
            | Expr::Like { .. } => DataType::Boolean,
        }
    }

    /// Whether the result may be NULL (conservative: true when unsure).
    pub fn nullable(&self) -> bool {
        match self {
            Expr::Column(c) => c.nullable,
            Expr::Literal(v) => v.is_null(),
            Expr::IsNull(_) | Expr::IsNotNull(_) => false,
            Expr::Binary {
                op: BinOp::NullSafeEq,
                ..
            } => false,
            Expr::Binary {
                op, left, right, ..
            } if !matches!(op, BinOp::Divide | BinOp::IntDivide | BinOp::Modulo) => {
                left.nullable() || right.nullable()
            }
            Expr::Not(e) | Expr::Negate(e) => e.nullable(),
            _ => true,
        }
    }

    /// Direct children.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Column(_) | Expr::Literal(_) => vec![],
            Expr::Binary { left, right, .. } => vec![left, right],
            Expr::Not(e)
            | Expr::Negate(e)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::Cast { expr: e, .. } => vec![e],
            Expr::Case {
                whens, else_expr, ..
            } => {
                let mut v: Vec<&Expr> = whens.iter().flat_map(|(w, t)| [w, t]).collect();
                if let Some(e) = else_expr {
                    v.push(e);
                }
                v
            }
            Expr::InList { expr, list, .. } => {
                std::iter::once(expr.as_ref()).chain(list.iter()).collect()
            }
            Expr::InSet { expr, .. } => vec![expr],
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::Function { args, .. } => args.iter().collect(),
            Expr::Lambda { body, .. } => vec![body],
            Expr::Subquery {
                kind: SubqueryKind::In { expr, .. },
                ..
            } => vec![expr],
            Expr::Subquery { .. } => vec![],
        }
    }

    /// Rewrite bottom-up: `f` is applied to each node after its children.
    pub fn transform(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let e = self.map_children(&mut |c| c.transform(f));
        f(e)
    }

    /// Rebuild this node with `f` applied to each direct child (the expressions
    /// [`Expr::children`] lists; a subquery's plan is not entered).
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        match self {
            Expr::Binary {
                op,
                left,
                right,
                data_type,
            } => Expr::Binary {
                op,
                left: Box::new(f(*left)),
                right: Box::new(f(*right)),
                data_type,
            },
            Expr::Not(e) => Expr::Not(Box::new(f(*e))),
            Expr::Negate(e) => Expr::Negate(Box::new(f(*e))),
            Expr::IsNull(e) => Expr::IsNull(Box::new(f(*e))),
            Expr::IsNotNull(e) => Expr::IsNotNull(Box::new(f(*e))),
            Expr::Cast { expr, to, try_cast } => Expr::Cast {
                expr: Box::new(f(*expr)),
                to,
                try_cast,
            },
            Expr::Case {
                whens,
                else_expr,
                data_type,
            } => Expr::Case {
                whens: whens.into_iter().map(|(w, t)| (f(w), f(t))).collect(),
                else_expr: else_expr.map(|e| Box::new(f(*e))),
                data_type,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: Box::new(f(*expr)),
                list: list.into_iter().map(&mut *f).collect(),
                negated,
            },
            Expr::InSet { expr, set, negated } => Expr::InSet {
                expr: Box::new(f(*expr)),
                set,
                negated,
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: Box::new(f(*expr)),
                pattern: Box::new(f(*pattern)),
                negated,
                case_insensitive,
            },
            Expr::Function {
                func,
                args,
                data_type,
            } => Expr::Function {
                func,
                args: args.into_iter().map(&mut *f).collect(),
                data_type,
            },
            Expr::Lambda { params, body } => Expr::Lambda {
                params,
                body: Box::new(f(*body)),
            },
            Expr::Subquery {
                plan,
                kind: SubqueryKind::In { expr, negated },
                data_type,
            } => Expr::Subquery {
                plan,
                kind: SubqueryKind::In {
                    expr: Box::new(f(*expr)),
                    negated,
                },
                data_type,
            },
            other => other,
        }
    }

    /// Replace column references by the expressions `defs` gives for their ids (other
    /// columns stay).
    pub fn substitute(self, defs: &std::collections::HashMap<ColumnId, Expr>) -> Expr {
        self.transform(&mut |x| match &x {
            Expr::Column(c) => defs.get(&c.id).cloned().unwrap_or(x),
            _ => x,
        })
    }

    /// Visit every node (pre-order).
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.visit(f);
        }
    }

    /// Ids of all columns referenced (a lambda's own parameters are not references to
    /// the input).
    pub fn column_ids(&self) -> Vec<ColumnId> {
        let mut out = vec![];
        let mut params = vec![];
        self.visit(&mut |e| match e {
            Expr::Column(c) => out.push(c.id),
            Expr::Lambda { params: p, .. } => params.extend(p.iter().map(|c| c.id)),
            _ => {}
        });
        if !params.is_empty() {
            out.retain(|id| !params.contains(id));
        }
        out
    }

    /// Whether the expression holds a lambda function.
    pub fn has_lambda(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Lambda { .. }));
        found
    }

    /// Whether the expression contains a subquery.
    pub fn has_subquery(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| {
            if matches!(e, Expr::Subquery { .. }) {
                found = true
            }
        });
        found
    }

    /// Whether the expression is free of nondeterministic functions (e.g. rand()).
    pub fn is_deterministic(&self) -> bool {
        let mut det = true;
        self.visit(&mut |e| {
            if let Expr::Function { func, .. } = e {
                if !func.is_deterministic() {
                    det = false;
                }
            }
        });
        det
    }

    /// Split a conjunction `a AND b AND c` into its terms.
    pub fn split_conjunction(self) -> Vec<Expr> {
        match self {
            Expr::Binary {
                op: BinOp::And,
                left,
                right,
                ..
            } => {
                let mut v = left.split_conjunction();
                v.extend(right.split_conjunction());
                v
            }
            e => vec![e],
        }
    }

    /// AND of the terms (None when empty).
    pub fn conjunction(terms: Vec<Expr>) -> Option<Expr> {
        terms.into_iter().reduce(Expr::and)
    }

    /// Split a disjunction `a OR b OR c` into its terms.
    pub fn split_disjunction(self) -> Vec<Expr> {
        match self {
            Expr::Binary {
                op: BinOp::Or,
                left,
                right,
                ..
            } => {
                let mut v = left.split_disjunction();
                v.extend(right.split_disjunction());
                v
            }
            e => vec![e],
        }
    }

    /// OR of the terms (None when empty).
    pub fn disjunction(terms: Vec<Expr>) -> Option<Expr> {
        terms.into_iter().reduce(Expr::or)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "{}#{}", c.name, c.id),
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Binary {
                op, left, right, ..
            } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Not(e) => write!(f, "NOT {e}"),
            Expr::Negate(e) => write!(f, "-{e}"),
            Expr::IsNull(e) => write!(f, "{e} IS NULL"),
            Expr::IsNotNull(e) => write!(f, "{e} IS NOT NULL"),
            Expr::Cast { expr, to, try_cast } => write!(
                f,
                "{}({expr} AS {})",
                if *try_cast { "TRY_CAST" } else { "CAST" },
                type_name(to)
            ),
            Expr::Case {
                whens, else_expr, ..
            } => {
                write!(f, "CASE")?;
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_expr {
                    write!(f, " ELSE {e}")?;
                }
                write!(f, " END")
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                write!(
                    f,
                    "{expr}{} IN ({})",
                    if *negated { " NOT" } else { "" },
                    items.join(", ")
                )
            }
            Expr::InSet { expr, set, negated } => write!(
                f,
                "{expr}{} IN (<{} values>)",
                if *negated { " NOT" } else { "" },
                set.rows.len()
            ),
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => write!(
                f,
                "{expr}{} {} {pattern}",
                if *negated { " NOT" } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" }
            ),
            Expr::Function {
                func,
                args,
                data_type,
            } => {
                use crate::functions::collections::CollectionFunc as C;
                let a: Vec<String> = args.iter().map(|e| e.to_string()).collect();
                match (func, data_type) {
                    // fields are named by the type, so the text tells calls apart (CSE
                    // keys expressions by it)
                    (ScalarFunc::Coll(C::GetField(i)), _) => match args[0].data_type() {
                        DataType::Struct(fs) if *i < fs.len() => {
                            write!(f, "{}.{}", a[0], fs[*i].name())
                        }
                        _ => write!(f, "{}.{i}", a[0]),
                    },
                    (ScalarFunc::Coll(C::MakeStruct), DataType::Struct(fs)) => {
                        let parts: Vec<String> = fs
                            .iter()
                            .zip(&a)
                            .map(|(fl, v)| format!("'{}', {v}", fl.name()))
                            .collect();
                        write!(f, "named_struct({})", parts.join(", "))
                    }
                    (ScalarFunc::Coll(C::Subscript), _) => write!(f, "{}[{}]", a[0], a[1]),
                    // rand(seed)'s second argument is its stream id (the binder's), not shown
                    (ScalarFunc::Math(r @ crate::functions::math::MathFunc::Rand { .. }), _)
                        if a.len() == 2 =>
                    {
                        write!(f, "{}({})", r.name(), a[0])
                    }
                    // (a seed the binder chose is not shown, as Spark's hideSeed)
                    (ScalarFunc::Math(r @ crate::functions::math::MathFunc::Rand { .. }), _)
                        if a.len() == 3 =>
                    {
                        write!(f, "{}()", r.name())
                    }
                    (ScalarFunc::Interval(i), _) => {
                        use crate::functions::interval::{self as iv, IntervalFunc as I};
                        use arrow::array::AsArray;
                        match (i, args.first()) {
                            (I::Qualified(q), Some(Expr::Literal(v))) if !v.is_null() => {
                                let v = &v.0;
                                let text = match iv::format_value(v.as_ref(), 0) {
                                    Some(_) if q.is_year_month() => iv::ansi_year_month(
                                        v.as_primitive::<arrow::datatypes::IntervalYearMonthType>().value(0),
                                        *q,
                                    ),
                                    Some(_) => iv::ansi_day_time(
                                        v.as_primitive::<arrow::datatypes::DurationMicrosecondType>().value(0),
                                        *q,
                                    ),
                                    None => a[0].clone(),
                                };
                                write!(f, "{text}")
                            }
                            (I::Qualified(_), _) => write!(f, "{}", a[0]),
                            (I::CastTo { to, try_cast }, _) => write!(
                                f,
                                "{}({} AS {})",
                                if *try_cast { "TRY_CAST" } else { "CAST" },
                                a[0],
                                to.type_name()
                            ),
                            (I::CastFrom { from, try_cast }, _) => write!(
                                f,
                                "{}({} AS {} FROM {})",
                                if *try_cast { "TRY_CAST" } else { "CAST" },
                                a[0],
                                type_name(data_type),
                                from.type_name()
                            ),
                            (I::Multiply, _) => write!(f, "({} * {})", a[0], a[1]),
                            (I::Divide, _) => write!(f, "({} / {})", a[0], a[1]),
                            (I::SubtractDates, _) => write!(f, "({} - {})", a[0], a[1]),
                            _ => write!(f, "{}({})", func.name(), a.join(", ")),
                        }
                    }
                    _ => write!(f, "{}({})", func.name(), a.join(", ")),
                }
            }
            Expr::Lambda { params, body } => match params.as_slice() {
                [p] => write!(f, "{} -> {body}", p.name),
                _ => write!(
                    f,
                    "({}) -> {body}",
                    params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Expr::Subquery { kind, .. } => match kind {
                SubqueryKind::Scalar => write!(f, "scalar-subquery"),
                SubqueryKind::Exists { negated } => {
                    write!(f, "{}exists(subquery)", if *negated { "NOT " } else { "" })
                }
                SubqueryKind::In { expr, negated } => write!(
                    f,
                    "{expr}{} IN (subquery)",
                    if *negated { " NOT" } else { "" }
                ),
            },
        }
    }
}

/// The direction of one ORDER BY key inside an aggregate call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggOrder {
    pub asc: bool,
    pub nulls_first: bool,
}

/// An aggregate call in an Aggregate node.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    pub func: AggFunc,
    /// The call's arguments, then its ORDER BY keys (the last `order.len()`).
    pub args: Vec<Expr>,
    pub distinct: bool,
    /// `array_agg(x ORDER BY k DESC)` (PostgreSQL's, DuckDB's, Trino's): the directions
    /// of the ORDER BY keys at the end of `args`; the aggregate reads each group's rows
    /// in that order. Empty for an unordered call.
    pub order: Vec<AggOrder>,
    /// Result type.
    pub data_type: DataType,
}

impl AggregateExpr {
    /// The arguments without the ORDER BY keys.
    pub fn value_args(&self) -> &[Expr] {
        &self.args[..self.args.len() - self.order.len()]
    }
}

impl fmt::Display for AggregateExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a: Vec<String> = self.value_args().iter().map(|e| e.to_string()).collect();
        write!(
            f,
            "{}({}{}",
            self.func.name(),
            if self.distinct { "DISTINCT " } else { "" },
            a.join(", ")
        )?;
        if !self.order.is_empty() {
            let keys = &self.args[self.args.len() - self.order.len()..];
            let o: Vec<String> = keys
                .iter()
                .zip(&self.order)
                .map(|(k, d)| format!("{k} {}", if d.asc { "ASC" } else { "DESC" }))
                .collect();
            write!(f, " ORDER BY {}", o.join(", "))?;
        }
        write!(f, ")")
    }
}

/// One ORDER BY key.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub asc: bool,
    pub nulls_first: bool,
}

impl fmt::Display for SortKey {
    /// As EXPLAIN shows it: `expr ASC|DESC NULLS FIRST|LAST`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} NULLS {}",
            self.expr,
            if self.asc { "ASC" } else { "DESC" },
            if self.nulls_first { "FIRST" } else { "LAST" }
        )
    }
}

/// Window functions that are not aggregates (ranking, offset and value functions).
#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `ntile(n)`: bucket number 1..=n.
    Ntile(i64),
    /// `lead(x[, offset[, default]])`: args = [x, default]; the offset is constant.
    /// With IGNORE NULLS the offset counts only rows where `x` is not NULL.
    Lead {
        offset: i64,
        ignore_nulls: bool,
    },
    /// `lag(x[, offset[, default]])`: args = [x, default].
    Lag {
        offset: i64,
        ignore_nulls: bool,
    },
    /// `first_value(x)` over the frame.
    FirstValue {
        ignore_nulls: bool,
    },
    /// `last_value(x)` over the frame.
    LastValue {
        ignore_nulls: bool,
    },
    /// `nth_value(x, n)` over the frame (1-based).
    NthValue {
        n: i64,
        ignore_nulls: bool,
    },
    /// An aggregate function over the frame.
    Aggregate {
        func: AggFunc,
        distinct: bool,
    },
}

/// Frame units: ROWS counts rows; RANGE compares ORDER BY values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameUnits {
    Rows,
    Range,
    /// Offsets count peer groups (rows equal on the ORDER BY keys), SQL:2011's GROUPS
    /// (PostgreSQL's, DuckDB's; Spark has none).
    Groups,
}

/// One end of a window frame. Offsets are row counts (ROWS) or values of the single
/// ORDER BY key (RANGE).
#[derive(Clone, Debug, PartialEq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(f64),
    CurrentRow,
    Following(f64),
    UnboundedFollowing,
}

/// A window frame (`ROWS BETWEEN 1 PRECEDING AND CURRENT ROW`).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowFrame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
    /// A RANGE frame's offsets are months, not values: a year-month interval over a
    /// date or timestamp key (Spark's `RANGE BETWEEN CURRENT ROW AND INTERVAL '1-1'
    /// YEAR TO MONTH FOLLOWING`). The bound of a row is its key plus that many months,
    /// clamped to the month's last day as Spark's `add_months`.
    pub months: bool,
}

/// A window function call in a Window node.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowExpr {
    pub func: WindowFunc,
    pub args: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub frame: WindowFrame,
    /// DuckDB's ORDER BY inside the call's parentheses (`first_value(x ORDER BY y) OVER
    /// w`, `lead(x, 1 ORDER BY y) OVER w`): the order of the frame's rows that the value
    /// functions and lead/lag read, in place of the window's ORDER BY (which still
    /// places the frame). Empty for most calls.
    pub arg_order: Vec<SortKey>,
    /// Result type.
    pub data_type: DataType,
}

impl WindowExpr {
    /// The call's expressions: arguments, partition keys, order keys, argument order keys.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.args
            .iter()
            .chain(self.partition_by.iter())
            .chain(self.order_by.iter().map(|k| &k.expr))
            .chain(self.arg_order.iter().map(|k| &k.expr))
    }

    /// [`WindowExpr::exprs`], to rewrite in place.
    pub fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.args
            .iter_mut()
            .chain(self.partition_by.iter_mut())
            .chain(self.order_by.iter_mut().map(|k| &mut k.expr))
            .chain(self.arg_order.iter_mut().map(|k| &mut k.expr))
    }

    /// Columns the call reads (arguments, partition and order keys).
    pub fn column_ids(&self) -> Vec<ColumnId> {
        self.exprs().flat_map(|e| e.column_ids()).collect()
    }
}

impl fmt::Display for FrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameBound::UnboundedPreceding => write!(f, "UNBOUNDED PRECEDING"),
            FrameBound::Preceding(n) => write!(f, "{n} PRECEDING"),
            FrameBound::CurrentRow => write!(f, "CURRENT ROW"),
            FrameBound::Following(n) => write!(f, "{n} FOLLOWING"),
            FrameBound::UnboundedFollowing => write!(f, "UNBOUNDED FOLLOWING"),
        }
    }
}

impl fmt::Display for WindowExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a: Vec<String> = self.args.iter().map(|e| e.to_string()).collect();
        let name = match &self.func {
            WindowFunc::Aggregate { func, distinct } => format!(
                "{}{}",
                func.name(),
                if *distinct { " DISTINCT" } else { "" }
            ),
            other => format!("{other:?}").to_ascii_lowercase(),
        };
        // `k1 ASC, k2 DESC`
        let keys = |ks: &[SortKey]| {
            ks.iter()
                .map(|k| format!("{} {}", k.expr, if k.asc { "ASC" } else { "DESC" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.arg_order.is_empty() {
            write!(f, "{name}({}) OVER (", a.join(", "))?;
        } else {
            write!(
                f,
                "{name}({} ORDER BY {}) OVER (",
                a.join(", "),
                keys(&self.arg_order)
            )?;
        }
        if !self.partition_by.is_empty() {
            let p: Vec<String> = self.partition_by.iter().map(|e| e.to_string()).collect();
            write!(f, "PARTITION BY {} ", p.join(", "))?;
        }
        if !self.order_by.is_empty() {
            write!(f, "ORDER BY {} ", keys(&self.order_by))?;
        }
        write!(
            f,
            "{:?} BETWEEN {} AND {}{})",
            self.frame.units,
            self.frame.start,
            self.frame.end,
            if self.frame.months { " (MONTHS)" } else { "" }
        )
    }
}
