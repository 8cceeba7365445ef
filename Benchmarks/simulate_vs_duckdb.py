#!/usr/bin/env python3
"""`redress simulate` against an analyst's DuckDB query over the same file (issue #4).

Run from the repository root after building the release products:

    swift build -c release --product redress && swift build -c release --product GenerateEvents
    python3 -m pip install duckdb && python3 Benchmarks/simulate_vs_duckdb.py [--ten-million]

Both compute the mission rule's hit count and cost over the generated 1,000,000-event JSON-lines file
(deliveries more than two days late to VIP customers, once per shipment, 7.51 EUR each: a 5 EUR
refund, an apology by e-mail at 0.01 EUR and a handwritten note at 2.50 EUR, from rules/shop/catalog.yaml).
Each is timed best of three, in this one run, and the ratio is printed. With --ten-million, the peak
memory of `simulate` over 10,000,000 events is measured too (about 2.4 GB of input).
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.getcwd()
RELEASE = os.path.join(ROOT, ".build", "release")
SCRATCH = os.path.join(tempfile.gettempdir(), "redress-simulate-benchmark")
MISSION = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"


def events(count):
    path = os.path.join(SCRATCH, f"events-{count}.jsonl")
    if not os.path.exists(path):
        with open(path, "wb") as out:
            subprocess.run([os.path.join(RELEASE, "GenerateEvents"), str(count)], stdout=out, check=True)
    return path


def rule_set():
    path = os.path.join(SCRATCH, "mission")
    os.makedirs(path, exist_ok=True)
    for name in ("schema.yaml", "catalog.yaml"):
        shutil.copy(os.path.join(ROOT, "rules", "shop", name), path)
    with open(os.path.join(path, "mission.rules"), "w") as f:
        f.write(MISSION)
    return path


def simulate(rules, file):
    start = time.perf_counter()
    result = subprocess.run([os.path.join(RELEASE, "redress"), "simulate", rules, "--events", file, "--format", "json"],
                            check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    import json
    report = json.loads(result.stdout)
    return elapsed, report["decisions"], report["costMinor"]


# Durations in the generated data are like 2d, -4h, 1d12h: hours = 24 * days + hours, signed.
QUERY = """
SELECT count(DISTINCT shipment.id) AS hits, count(DISTINCT shipment.id) * 751 AS cost_minor
FROM read_json(?, format = 'newline_delimited',
               columns = {event: 'VARCHAR', time: 'VARCHAR', shipment: 'STRUCT(id VARCHAR, delay VARCHAR)',
                          customer: 'STRUCT(id VARCHAR, tier VARCHAR, country VARCHAR)'})
WHERE event = 'shipment.delivered' AND customer.tier = 'VIP'
  AND (CASE WHEN shipment.delay LIKE '-%' THEN -1 ELSE 1 END)
      * (coalesce(try_cast(regexp_extract(shipment.delay, '(\\d+)d', 1) AS INTEGER), 0) * 24 * 60
         + coalesce(try_cast(regexp_extract(shipment.delay, '(\\d+)h', 1) AS INTEGER), 0) * 60
         + coalesce(try_cast(regexp_extract(shipment.delay, '(\\d+)m([^s]|$)', 1) AS INTEGER), 0)) > 2 * 24 * 60
"""


def duck(file):
    connection = duckdb.connect()
    start = time.perf_counter()
    hits, cost = connection.execute(QUERY, [file]).fetchone()
    return time.perf_counter() - start, hits, cost


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    rules = rule_set()
    file = events(1_000_000)
    size = os.path.getsize(file) / 1e6
    ours = min((simulate(rules, file) for _ in range(3)), key=lambda r: r[0])
    theirs = min((duck(file) for _ in range(3)), key=lambda r: r[0])
    print(f"1,000,000 events ({size:.0f} MB JSON lines), mission rule, best of 3 each, {os.cpu_count()} cores:")
    print(f"  redress simulate  {ours[0]:.2f} s   hits {ours[1]}   cost {ours[2] / 100:.2f} EUR")
    print(f"  DuckDB read_json  {theirs[0]:.2f} s   hits {theirs[1]}   cost {theirs[2] / 100:.2f} EUR   (duckdb {duckdb.__version__})")
    print(f"  ratio simulate / DuckDB: {ours[0] / theirs[0]:.2f}   (target ≤ 1)")
    if (ours[1], ours[2]) != (theirs[1], theirs[2]):
        print("  MISMATCH between the two results")
        sys.exit(1)
    if "--ten-million" in sys.argv:
        big = events(10_000_000)
        no_history = os.path.join(SCRATCH, "no-history")
        os.makedirs(no_history, exist_ok=True)
        for name in ("schema.yaml", "catalog.yaml"):
            shutil.copy(os.path.join(ROOT, "rules", "shop", name), no_history)
        with open(os.path.join(no_history, "late.rules"), "w") as f:
            f.write("rule late on shipment.delivered when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology limit none\n")
        report = os.path.join(SCRATCH, "time.txt")
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report, os.path.join(RELEASE, "redress"), "simulate", no_history,
                        "--events", big, "--format", "json"], check=True, capture_output=True)
        with open(report) as f:
            kib = int(f.read().strip())
        print(f"10,000,000 events, a rule without history: peak memory {kib / 1024:.0f} MB   (target < 300 MB)")


if __name__ == "__main__":
    main()
