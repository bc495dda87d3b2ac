#!/usr/bin/env python3
"""Differential testing of Quarry against DuckDB on random queries.

Usage: python3 tools/differential_fuzz.py [--seed N] [--queries N] [--quarry PATH]
(needs `pip install duckdb`; the Quarry binary defaults to target/release/quarry).

Two small random integer tables (values 0-4 and NULL, new ones every 20 queries) and
random queries over them: inner/outer/semi/anti joins on equi and non-equi conditions,
grouped joins, correlated scalar/EXISTS/IN/ANY/ALL subqueries (nested too), window
functions with ROWS and RANGE frames, set operations, FILTER, CTEs, LATERAL, and the
shapes of Spark's generated correlated subquery suites (aggregates, top-1 and DISTINCT
over set operations and joins), and outer aggregates (an aggregate of the
outer query's columns in a subquery of its HAVING or SELECT list). Only
forms where Spark and DuckDB agree are generated: every ORDER BY names its NULL order,
LIMIT comes after a total order. Each result is compared as a sorted multiset with
DuckDB's; a difference prints the query and both tables. Exit status 1 on any
difference or on a query Quarry refuses that DuckDB runs.
"""
import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile

import duckdb

COLS = ["a", "b", "c"]


class Gen:
    def __init__(self, rnd):
        self.r = rnd

    def val(self):
        return "NULL" if self.r.random() < 0.15 else str(self.r.randint(0, 4))

    def table(self, name):
        rows = [f"({self.val()}, {self.val()}, {self.val()})" for _ in range(self.r.randint(0, 9))]
        body = f"VALUES {', '.join(rows)}" if rows else "VALUES (1, 1, 1)"
        where = "" if rows else " WHERE false"
        return (f"CREATE TABLE {name} AS SELECT CAST(a AS INT) a, CAST(b AS INT) b, "
                f"CAST(c AS INT) c FROM ({body}) v(a, b, c){where}")

    def col(self, t):
        return f"{t}.{self.r.choice(COLS)}"

    def cmp(self):
        return self.r.choice(["=", "<", ">", "<=", ">=", "<>"])

    def pred(self, ts):
        k = self.r.random()
        if k < 0.5:
            return f"{self.col(self.r.choice(ts))} {self.cmp()} {self.col(self.r.choice(ts))}"
        if k < 0.7:
            return f"{self.col(self.r.choice(ts))} {self.cmp()} {self.r.randint(0, 4)}"
        if k < 0.8:
            return f"{self.col(self.r.choice(ts))} IS NULL"
        if k < 0.9:
            return f"({self.pred(ts)} OR {self.pred(ts)})"
        return f"NOT ({self.pred(ts)})"

    def agg(self, t):
        f = self.r.choice(["count(*)", "count({})", "sum({})", "min({})", "max({})",
                           "count(DISTINCT {})", "sum(DISTINCT {})"])
        return f.format(self.col(t))

    def corr(self):
        return " AND ".join(f"y.{self.r.choice(COLS)} {self.cmp()} x.{self.r.choice(COLS)}"
                            for _ in range(self.r.randint(1, 2)))

    def join(self):
        jt = self.r.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN",
                            "LEFT SEMI JOIN", "LEFT ANTI JOIN"])
        on = " AND ".join(self.pred(["x", "y"]) for _ in range(self.r.randint(1, 2)))
        if self.r.random() < 0.5:
            eq = f"x.{self.r.choice(COLS)} = y.{self.r.choice(COLS)}"
            on = eq + (f" AND {on}" if self.r.random() < 0.5 else "")
        semi = "SEMI" in jt or "ANTI" in jt
        where = f" WHERE {self.pred(['x'])}" if self.r.random() < 0.3 else ""
        if not semi and self.r.random() < 0.4:
            g = self.col("x")
            return (f"SELECT {g}, {self.agg('y')}, {self.agg('x')} FROM t1 x {jt} t2 y "
                    f"ON {on}{where} GROUP BY {g}")
        sel = "x.a, x.b, x.c" if semi else "x.a, x.b, y.a, y.c"
        return f"SELECT {sel} FROM t1 x {jt} t2 y ON {on}{where}"

    def subquery(self):
        k = self.r.random()
        if k < 0.3:
            if self.r.random() < 0.2:
                g = f" GROUP BY y.{self.r.choice(COLS)} ORDER BY 1 NULLS FIRST LIMIT 1"
            else:
                g = ""
            return f"SELECT x.a, x.b, (SELECT {self.agg('y')} FROM t2 y WHERE {self.corr()}{g}) FROM t1 x"
        if k < 0.55:
            neg = self.r.choice(["", "NOT "])
            extra = (f" {self.r.choice(['AND', 'OR'])} {self.pred(['x'])}"
                     if self.r.random() < 0.4 else "")
            return f"SELECT x.a, x.b, x.c FROM t1 x WHERE {neg}EXISTS (SELECT 1 FROM t2 y WHERE {self.corr()}){extra}"
        if k < 0.8:
            neg = self.r.choice(["", "NOT "])
            c = f" WHERE {self.corr()}" if self.r.random() < 0.6 else ""
            return (f"SELECT x.a, x.b, x.c FROM t1 x WHERE x.{self.r.choice(COLS)} {neg}IN "
                    f"(SELECT y.{self.r.choice(COLS)} FROM t2 y{c})")
        return f"SELECT x.a, x.b FROM t1 x WHERE x.{self.r.choice(COLS)} {self.cmp()} (SELECT {self.agg('y')} FROM t2 y WHERE {self.corr()})"

    def window(self):
        f = self.r.choice(["row_number()", "rank()", "dense_rank()", "count(*)", "sum(x.c)",
                           "min(x.c)", "max(x.c)", "count(x.c)", "lag(x.c)", "lead(x.c, 2)",
                           "first_value(x.c)", "last_value(x.c)", "ntile(2)", "cume_dist()",
                           "percent_rank()"])
        part = f"PARTITION BY x.{self.r.choice(COLS)} " if self.r.random() < 0.7 else ""
        o1 = self.r.choice(COLS)
        rest = [c for c in COLS if c != o1]
        order = (f"ORDER BY x.{o1} {self.r.choice(['ASC', 'DESC'])} NULLS "
                 f"{self.r.choice(['FIRST', 'LAST'])}, x.{rest[0]} NULLS FIRST, x.{rest[1]} NULLS FIRST")
        frame = ""
        if f in ("count(*)", "sum(x.c)", "min(x.c)", "max(x.c)", "count(x.c)",
                 "first_value(x.c)", "last_value(x.c)") and self.r.random() < 0.6:
            lo = self.r.choice(["UNBOUNDED PRECEDING", "1 PRECEDING", "CURRENT ROW", "2 PRECEDING"])
            hi = self.r.choice(["UNBOUNDED FOLLOWING", "1 FOLLOWING", "CURRENT ROW"])
            frame = f" ROWS BETWEEN {lo} AND {hi}"
        return f"SELECT x.a, x.b, x.c, {f} OVER ({part}{order}{frame}) FROM t1 x"

    def set_op(self):
        op = self.r.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"])
        return (f"SELECT x.{self.r.choice(COLS)}, x.{self.r.choice(COLS)} FROM t1 x WHERE "
                f"{self.pred(['x'])} {op} SELECT y.{self.r.choice(COLS)}, y.{self.r.choice(COLS)} FROM t2 y")

    def more(self):
        k = self.r.random()
        if k < 0.15:
            lo = self.r.choice(["UNBOUNDED PRECEDING", "1 PRECEDING", "CURRENT ROW"])
            hi = self.r.choice(["UNBOUNDED FOLLOWING", "2 FOLLOWING", "CURRENT ROW"])
            f = self.r.choice(["sum(x.c)", "count(*)", "min(x.b)", "max(x.b)", "count(x.c)"])
            return (f"SELECT x.a, x.b, x.c, {f} OVER (PARTITION BY x.a ORDER BY x.b "
                    f"{self.r.choice(['ASC', 'DESC'])} NULLS {self.r.choice(['FIRST', 'LAST'])} "
                    f"RANGE BETWEEN {lo} AND {hi}) FROM t1 x")
        if k < 0.3:
            return (f"SELECT x.a, {self.agg('x')}, count(*) FILTER (WHERE {self.pred(['x'])}), "
                    f"sum(x.c) FILTER (WHERE {self.pred(['x'])}) FROM t1 x GROUP BY x.a "
                    f"HAVING count(*) > (SELECT count(*) FROM t2 y WHERE y.a = x.a)")
        if k < 0.45:
            return (f"SELECT x.a, x.b FROM t1 x WHERE EXISTS (SELECT 1 FROM t2 y WHERE {self.corr()} "
                    f"AND y.b IN (SELECT z.c FROM t1 z WHERE z.a {self.cmp()} x.b))")
        if k < 0.6:
            return f"SELECT x.a, (SELECT max(y.b) FROM t2 y JOIN t1 z ON y.a = z.b WHERE {self.corr()}) FROM t1 x"
        if k < 0.7:
            return (f"WITH c AS (SELECT x.a, {self.agg('x')} AS v FROM t1 x GROUP BY x.a) "
                    f"SELECT c1.a, c1.v, c2.v FROM c c1 LEFT JOIN c c2 ON c1.a {self.cmp()} c2.a")
        if k < 0.8:
            return (f"SELECT DISTINCT x.{self.r.choice(COLS)}, x.{self.r.choice(COLS)} FROM t1 x "
                    f"ORDER BY 1 NULLS FIRST, 2 NULLS FIRST LIMIT {self.r.randint(1, 4)}")
        if k < 0.9:
            q = self.r.choice(["ALL", "ANY"])
            return f"SELECT x.a, x.b FROM t1 x WHERE x.a {self.cmp()} {q} (SELECT y.b FROM t2 y WHERE {self.corr()})"
        return (f"SELECT x.a, x.b, y.s FROM t1 x LEFT JOIN LATERAL (SELECT sum(z.c) AS s FROM t2 z "
                f"WHERE z.a {self.cmp()} x.a) y ON true")

    def inner_source(self):
        """A subquery's FROM, as Spark's generated subquery suites vary it: a table, a
        set operation of two tables, or a join of two tables; its columns read `i.`."""
        k = self.r.random()
        if k < 0.35:
            return "t2 i"
        if k < 0.7:
            op = self.r.choice(["UNION", "INTERSECT", "EXCEPT", "UNION ALL"])
            return f"(SELECT * FROM t2 {op} SELECT * FROM t1) AS i"
        jt = self.r.choice(["INNER JOIN", "LEFT OUTER JOIN", "RIGHT OUTER JOIN"])
        return f"(SELECT t2.a, t2.b, t2.c, t1.a AS d FROM t2 {jt} t1 ON t2.a = t1.a) AS i"

    def spark_subquery(self):
        """Spark's generated correlated subquery shapes (subquery/generated/): an
        aggregate, grouped or not (the largest group's value), a top-1 row, or DISTINCT,
        over an inner source, in WHERE (=, <, IN, NOT IN, EXISTS, NOT EXISTS) or in the
        select list."""
        src = self.inner_source()
        dist = "DISTINCT " if self.r.random() < 0.4 else ""
        corr = f"i.a = x.a" if self.r.random() < 0.8 else f"i.b {self.cmp()} x.b"
        k = self.r.random()
        if k < 0.5:
            f = self.r.choice(["count(i.a)", "sum(i.a)", "count(*)", "max(i.b)"])
            tail = (f" GROUP BY i.b ORDER BY v DESC NULLS FIRST LIMIT 1"
                    if self.r.random() < 0.5 else "")
            body = f"SELECT {dist}{f} AS v FROM {src} WHERE {corr}{tail}"
        elif k < 0.8:
            body = f"SELECT {dist}i.a FROM {src} WHERE {corr} ORDER BY a DESC NULLS FIRST LIMIT 1"
        else:
            body = f"SELECT {dist}i.a FROM {src} WHERE {corr}"
            where = self.r.choice(["IN", "NOT IN", "EXISTS", "NOT EXISTS"])
            if "EXISTS" in where:
                return f"SELECT x.a, x.b FROM t1 x WHERE {where} ({body})"
            return f"SELECT x.a, x.b FROM t1 x WHERE x.b {where} ({body})"
        if self.r.random() < 0.3:
            return f"SELECT x.a, x.b, ({body}) FROM t1 x"
        return f"SELECT x.a, x.b FROM t1 x WHERE x.b {self.r.choice(['=', '<'])} ({body})"

    def scalar(self, depth=0):
        """A random integer expression over x's columns: arithmetic (no division),
        CASE, COALESCE, NULLIF, GREATEST/LEAST, abs, modulo by a positive constant."""
        if depth > 2 or self.r.random() < 0.3:
            return self.col("x") if self.r.random() < 0.7 else str(self.r.randint(-2, 4))
        def e():
            return self.scalar(depth + 1)

        forms = [
            lambda: f"({e()} {self.r.choice(['+', '-', '*'])} {e()})",
            lambda: f"CASE WHEN {self.pred(['x'])} THEN {e()} ELSE {e()} END",
            lambda: f"coalesce({e()}, {e()})",
            lambda: f"nullif({e()}, {e()})",
            lambda: f"{self.r.choice(['greatest', 'least'])}({e()}, {e()})",
            lambda: f"abs({e()})",
            lambda: f"CASE {e()} WHEN 1 THEN {e()} WHEN 2 THEN {e()} END",
            lambda: f"({e()} % {self.r.randint(1, 3)})",
        ]
        return self.r.choice(forms)()

    def expressions(self):
        """Expressions, and grouping sets over them. Over an empty table Spark's grouping
        sets give no rows and DuckDB's give the grand total, so HAVING drops empty groups."""
        if self.r.random() < 0.5:
            return (f"SELECT {self.scalar()}, {self.scalar()}, {self.scalar()} FROM t1 x "
                    f"WHERE {self.pred(['x'])} OR {self.scalar()} > 1")
        g = self.r.choice(["ROLLUP (x.a, x.b)", "CUBE (x.a, x.b)",
                           "GROUPING SETS ((x.a), (x.b), ())", "GROUPING SETS ((x.a, x.b), (x.c))"])
        return (f"SELECT x.a, x.b, grouping(x.a), {self.agg('x')}, sum({self.scalar()}) FROM t1 x "
                f"GROUP BY {g} HAVING count(*) > 0")

    def outer_aggregate(self):
        """An aggregate of the outer query's columns inside a subquery of its HAVING,
        SELECT list or ORDER BY: computed per outer group (SQL's outer aggregate)."""
        g = self.col("x")
        oa = self.r.choice(["max", "min", "sum", "count"]) + f"({self.col('x')})"
        inner = f"y.{self.r.choice(COLS)} {self.cmp()} {oa}"
        if self.r.random() < 0.4:
            inner += f" AND y.{self.r.choice(COLS)} {self.cmp()} {g}"
        k = self.r.random()
        if k < 0.4:
            neg = self.r.choice(["", "NOT "])
            return (f"SELECT {g}, {self.agg('x')} FROM t1 x GROUP BY {g} "
                    f"HAVING {neg}EXISTS (SELECT 1 FROM t2 y WHERE {inner})")
        if k < 0.7:
            return (f"SELECT {g}, (SELECT {self.agg('y')} FROM t2 y WHERE {inner}) "
                    f"FROM t1 x GROUP BY {g}")
        return (f"SELECT {g} FROM t1 x GROUP BY {g} HAVING {self.agg('x')} "
                f"{self.r.choice(['IN', 'NOT IN'])} (SELECT y.{self.r.choice(COLS)} FROM t2 y "
                f"WHERE {inner})")

    def query(self):
        return self.r.choice([self.join, self.subquery, self.window, self.set_op, self.more,
                              self.more, self.spark_subquery, self.spark_subquery,
                              self.expressions, self.outer_aggregate])()


def norm(v):
    if v is None or v == "NULL":
        return "NULL"
    if isinstance(v, bool):
        return str(v).lower()
    try:
        return "%.6g" % float(v)
    except (TypeError, ValueError):
        return str(v).lower()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--quarry", default="target/release/quarry")
    args = ap.parse_args()
    gen = Gen(random.Random(args.seed))
    home = tempfile.mkdtemp()
    proc = subprocess.Popen([args.quarry, "--slt-jsonl", "--home", home],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def quarry(sql):
        proc.stdin.write(json.dumps({"sql": sql}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            sys.exit(f"quarry exited at: {sql}")
        return json.loads(line)

    bad = 0
    con = None
    try:
        for i in range(args.queries):
            if i % 20 == 0:
                con = duckdb.connect()
                for t in ("t1", "t2"):
                    ddl = gen.table(t)
                    quarry(f"DROP TABLE IF EXISTS {t}")
                    r = quarry(ddl)
                    if "err" in r:
                        sys.exit(f"setup failed: {r['err']}")
                    con.execute(ddl)
            sql = gen.query()
            r = quarry(sql)
            try:
                d = con.execute(re.sub(r"LEFT (SEMI|ANTI) JOIN", r"\1 JOIN", sql)).fetchall()
            except duckdb.Error:
                continue
            if "err" in r:
                bad += 1
                print("QUARRY ERROR", sql, "|", r["err"][:200])
                continue
            got = sorted(tuple(norm(x) for x in row) for row in r.get("result", []))
            want = sorted(tuple(norm(x) for x in row) for row in d)
            if got != want:
                bad += 1
                print("DIFF", sql)
                print("  quarry", got[:12])
                print("  duckdb", want[:12])
                for t in ("t1", "t2"):
                    print(f"  {t}", con.execute(f"SELECT * FROM {t}").fetchall())
    finally:
        proc.stdin.close()
        proc.wait()
        shutil.rmtree(home, ignore_errors=True)
    print(f"{args.queries} queries, {bad} differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
