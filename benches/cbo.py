#!/usr/bin/env python3
"""Cost-based optimizer benchmark over TPC-H (issue 5's targets).

1. q-error of every hash join's row estimate: EXPLAIN ANALYZE of each query, the
   `rows=` (actual) against `est=` (estimated) of each HashJoinExec line;
   q-error = max(actual/est, est/actual) with both at least 1.
2. FROM-order independence: every query with 3+ tables in one FROM list (the longest,
   at any depth) is run as written, with that FROM list reversed, and shuffled (fixed seed); the plan shapes
   (operators and scanned tables, ids and key order ignored) must be equal and the
   median times within 1.2x of each other. Runs are interleaved (A, B, C, A, B, C...).

Usage: python3 benches/cbo.py [--quarry target/release/quarry] [--data DIR] [--runs 3]
Data: a TPC-H folder as `quarry bench tpch --generate-only` writes it (default
~/quarry-data/tpch/sf1, else generated into target/quarry-bench).
"""
import argparse, os, random, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def register(data):
    return "".join(
        f"CREATE OR REPLACE TEMPORARY VIEW {t} USING parquet OPTIONS (path '{data}/{t}');\n"
        for t in TABLES
    )


def from_lists(sql):
    """(start, end) of every FROM list's text, at any subquery depth (between FROM and
    the WHERE/GROUP/ORDER/HAVING/LIMIT or closing parenthesis at its depth)."""
    low = sql.lower()
    out = []
    depth = 0
    i = 0

    def word(i, w):
        return re.match(r"\b" + w + r"\b", low[i:]) and (i == 0 or not low[i - 1].isalnum())

    open_at = {0: None}
    while i < len(sql):
        c = sql[i]
        if c == "(":
            depth += 1
            open_at[depth] = None
        elif c == ")":
            if open_at.get(depth) is not None:
                out.append((open_at[depth], i))
            open_at[depth] = None
            depth -= 1
        elif open_at.get(depth) is None and word(i, "from"):
            open_at[depth] = i + 4
        elif open_at.get(depth) is not None and any(word(i, w) for w in ("where", "group", "order", "having", "limit")):
            out.append((open_at[depth], i))
            open_at[depth] = -1  # this SELECT's FROM is done
        i += 1
    if open_at.get(0) not in (None, -1):
        out.append((open_at[0], len(sql)))
    return [(a, b) for a, b in out if a is not None and a >= 0]


def split_top(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    out.append(cur.strip())
    return out


def variants(sql):
    """The query as written, with its longest FROM list (3+ tables, at any depth: the
    outer one, or a derived table's as in Q07-Q09) reversed, and shuffled."""
    best = None
    for span in from_lists(sql):
        items = split_top(sql[span[0]:span[1]])
        if len(items) >= 3 and not any(" join " in i.lower() for i in items):
            if best is None or len(items) > len(best[1]):
                best = (span, items)
    if not best:
        return None
    span, items = best
    rev = list(reversed(items))
    shuf = items[:]
    random.Random(7).shuffle(shuf)
    if shuf == items:
        shuf = items[1:] + items[:1]
    mk = lambda its: sql[: span[0]] + " " + ", ".join(its) + "\n" + sql[span[1]:]
    return {"original": sql, "reversed": mk(rev), "shuffled": mk(shuf)}


def run(quarry, home, script):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    t = time.perf_counter()
    p = subprocess.run([quarry, "--home", home, "--format", "csv", "-f", f.name], capture_output=True, text=True)
    dt = time.perf_counter() - t
    os.unlink(f.name)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[-500:])
    return p.stdout, dt


def shape(plan):
    """The physical plan's operators and scanned tables, one per line, indentation kept."""
    out = []
    for line in plan.splitlines():
        m = re.match(r"^(\s*)(\w+Exec)(.*)$", line)
        if not m:
            continue
        ind, op, rest = m.groups()
        if op == "ScanExec":
            rest = rest.split()[0]
        elif op == "HashJoinExec":
            rest = rest.split()[0]
        else:
            rest = ""
        out.append(f"{ind}{op} {rest}")
    return "\n".join(out)


def explain(quarry, home, reg, sql, analyze):
    out, _ = run(quarry, home, reg + ("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + sql)
    text = out.replace('""', '"')
    i = text.find("== Physical Plan")
    return text[i:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quarry", default=os.path.join(ROOT, "target/release/quarry"))
    ap.add_argument("--data", default=os.path.expanduser("~/quarry-data/tpch/sf1"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", default="1-22")
    a = ap.parse_args()
    qs = []
    for part in a.queries.split(","):
        lo, _, hi = part.partition("-")
        qs += list(range(int(lo), int(hi or lo) + 1))
    home = tempfile.mkdtemp(prefix="quarry-cbo-")
    reg = register(a.data)
    texts = {q: open(os.path.join(ROOT, f"queries/tpch/q{q:02}.sql")).read().strip().rstrip(";") for q in qs}

    print("## q-error of hash-join estimates (EXPLAIN ANALYZE)\n")
    print("| query | joins | max q-error | joins (actual/est) |")
    print("|---|---|---|---|")
    worst_all = 1.0
    for q in qs:
        plan = explain(a.quarry, home, reg, texts[q], True)
        pairs = re.findall(r"HashJoinExec.*\[rows=(\d+) est=([0-9.]+)([KMB]?)", plan)
        errs = []
        for act, est, unit in pairs:
            e = float(est) * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[unit]
            act = max(float(act), 1.0)
            e = max(e, 1.0)
            errs.append((int(act), e, max(act / e, e / act)))
        worst = max([x[2] for x in errs], default=1.0)
        worst_all = max(worst_all, worst)
        detail = ", ".join(f"{x[0]}/{x[1]:.0f}" for x in errs)
        print(f"| Q{q:02} | {len(errs)} | {worst:.2f} | {detail} |")
    print(f"\nworst q-error over all joins: {worst_all:.2f}\n")

    print("## FROM order: original vs reversed vs shuffled (median seconds, same plan shape?)\n")
    print("| query | original | reversed | shuffled | worst ratio | same shape |")
    print("|---|---|---|---|---|---|")
    for q in qs:
        v = variants(texts[q])
        if not v:
            continue
        shapes = {k: shape(explain(a.quarry, home, reg, s, False)) for k, s in v.items()}
        same = len(set(shapes.values())) == 1
        times = {k: [] for k in v}
        for _ in range(a.runs):
            for k, s in v.items():
                _, dt = run(a.quarry, home, reg + s)
                times[k].append(dt)
        med = {k: statistics.median(t) for k, t in times.items()}
        ratio = max(med.values()) / min(med.values())
        print(f"| Q{q:02} | {med['original']:.3f} | {med['reversed']:.3f} | {med['shuffled']:.3f} | {ratio:.2f} | {'yes' if same else 'NO'} |")
        if not same:
            for k, s in shapes.items():
                print(f"\n{k}:\n{s}", file=sys.stderr)


if __name__ == "__main__":
    main()
