#!/usr/bin/env python3
"""History aggregates and the whole example rule set on a large shop history (issue #13).

Run from the repository root after building the release products:

    swift build -c release --product redress && swift build -c release --product GenerateEvents
    python3 -m pip install duckdb && python3 Benchmarks/shop_vs_duckdb.py

On `GenerateEvents --shop 300000 --seed 5` (303,040 events of every type, about 250 MB of JSON lines) it
measures, best of three each, in this one run:

1. S15 (rules/shop/alarms.rules: the share of late deliveries per country over the last day, with at least
   50 deliveries) with `redress simulate`, against DuckDB computing that share and count for every delivery
   of the same file with window functions. The ratio is printed (target ≤ 1.0).
   As a check, the rule without its limit (`limit none`) decides once per delivery where the condition
   holds, and DuckDB counts the same deliveries: the two must agree exactly. The window is redress's: it
   ends at the current delivery and includes it (deliveries of the same minute later in the file are not
   in it yet), and an entry counts while it is less than one day old.
2. All 24 rules of rules/shop with `redress simulate` (target ≤ 1.5 s).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.getcwd()
RELEASE = os.path.join(ROOT, ".build", "release")
SCRATCH = os.path.join(tempfile.gettempdir(), "redress-shop-benchmark")
SHOP = os.path.join(ROOT, "rules", "shop")


def history():
    path = os.path.join(SCRATCH, "shop-300000-seed-5.jsonl")
    if not os.path.exists(path):
        with open(path + ".part", "wb") as out:
            subprocess.run([os.path.join(RELEASE, "GenerateEvents"), "--shop", "300000", "--seed", "5"], stdout=out, check=True)
        os.rename(path + ".part", path)
    return path


def rule_set(name, text):
    path = os.path.join(SCRATCH, name)
    os.makedirs(path, exist_ok=True)
    for file in ("schema.yaml", "catalog.yaml"):
        shutil.copy(os.path.join(SHOP, file), path)
    with open(os.path.join(path, name + ".rules"), "w") as f:
        f.write(text)
    return path


def simulate(rules, file):
    start = time.perf_counter()
    result = subprocess.run([os.path.join(RELEASE, "redress"), "simulate", rules, "--events", file, "--format", "json"],
                            check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    report = json.loads(result.stdout)
    return elapsed, report["decisions"]


# For every delivery, in file order (ids h1, h2, ... increase with the line; times never decrease): the
# deliveries of its country so far minus those at least a day older, late ones and all.
WINDOW = """
WITH deliveries AS (
  SELECT CAST(substr(id, 2) AS BIGINT) AS line, CAST(time AS TIMESTAMP) AS happened, customer.country AS country,
         CASE WHEN NOT starts_with(shipment.delay, '-') AND regexp_matches(shipment.delay, '[1-9]') THEN 1 ELSE 0 END AS late
  FROM read_json(?, format = 'newline_delimited',
                 columns = {event: 'VARCHAR', time: 'VARCHAR', id: 'VARCHAR',
                            shipment: 'STRUCT(delay VARCHAR)', customer: 'STRUCT(country VARCHAR)'})
  WHERE event = 'shipment.delivered'
), windows AS (
  SELECT
    count(*) OVER so_far - coalesce(count(*) OVER older, 0) AS deliveries,
    sum(late) OVER so_far - coalesce(sum(late) OVER older, 0) AS late_deliveries
  FROM deliveries
  WINDOW so_far AS (PARTITION BY country ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
         older AS (PARTITION BY country ORDER BY happened RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 DAY PRECEDING)
)
SELECT count(*) FILTER (WHERE late_deliveries * 20 > deliveries AND deliveries >= 50) FROM windows
"""


def duck(file):
    connection = duckdb.connect()
    start = time.perf_counter()
    (alarms,) = connection.execute(WINDOW, [file]).fetchone()
    return time.perf_counter() - start, alarms


def best(function, *arguments):
    return min((function(*arguments) for _ in range(3)), key=lambda r: r[0])


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    file = history()
    with open(os.path.join(SHOP, "alarms.rules")) as f:
        alarms_text = f.read()
    alarms = rule_set("alarms", alarms_text)
    unlimited = rule_set("alarms-unlimited", alarms_text.replace("limit 1 per customer.country within 1d", "limit none"))
    size = os.path.getsize(file) / 1e6
    lines = sum(1 for _ in open(file, "rb"))
    print(f"{lines} shop events ({size:.0f} MB JSON lines), best of 3 each, {os.cpu_count()} cores:")

    ours = best(simulate, alarms, file)
    theirs = best(duck, file)
    print(f"  S15 alarm, redress simulate       {ours[0]:.2f} s   {ours[1]} alarms (limit 1 per country within 1d)")
    print(f"  S15 window, DuckDB                {theirs[0]:.2f} s   {theirs[1]} deliveries over the threshold (duckdb {duckdb.__version__})")
    print(f"  ratio S15 simulate / DuckDB: {ours[0] / theirs[0]:.2f}   (target ≤ 1.0)")
    check = simulate(unlimited, file)
    print(f"  check: without the limit redress decides {check[1]} times, DuckDB counts {theirs[1]}")
    mismatch = check[1] != theirs[1]

    whole = best(simulate, SHOP, file)
    print(f"  all of rules/shop ({count_rules()} rules), redress simulate   {whole[0]:.2f} s   {whole[1]} decisions   (target ≤ 1.5 s)")
    if mismatch:
        print("  MISMATCH between redress and DuckDB")
        sys.exit(1)


def count_rules():
    total = 0
    for name in os.listdir(SHOP):
        if name.endswith(".rules"):
            with open(os.path.join(SHOP, name)) as f:
                total += sum(1 for line in f if line.startswith(("rule ", "when ")))
    return total


if __name__ == "__main__":
    main()
