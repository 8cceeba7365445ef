#!/usr/bin/env python3
"""Load on `redress serve` over loopback with wrk (issue 14, point 10).

Starts the release binary on a fresh state with rules/shop, then drives it with wrk:

  1. single-event requests (one JSON event per POST) over many connections;
  2. 1,000-event batches (application/x-ndjson) over a few connections.

Every request carries events with new ids (so each is evaluated, not answered as a retry),
taken from rules/shop/events/history.jsonl; each pass over the history renames its customers,
orders and shipments (a new round of the same shop). Acknowledgements are durable: the server answers
after the group's SQLite commit with synchronous = FULL. Prints events/s and p50/p99 latency.

    swift build -c release --product redress
    python3 Benchmarks/serve_load.py [--seconds 10] [--connections 64] [--batch-connections 4]

wrk comes from Debian's packages; the script installs it with apt-get when it is missing.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# wrk's Lua: each thread numbers its own requests; every event gets the id
# "<run>-<thread>-<request>-<line>", so nothing is a retry of anything sent before.
LUA = r"""
-- Each line of the history becomes a list of pieces: text, and two markers: ID (the event's id)
-- and ROUND (after every entity key such as "C-10143"). Every pass over the history is a new
-- round: the same shop with new customers, orders and shipments, so keys hold what a real
-- customer's would (the same thousand customers placing orders for ever would make windows
-- no shop has).
local ID, ROUND = {}, {}
local templates = {}
for line in io.lines(os.getenv("REDRESS_EVENTS")) do
  local pieces = {}
  local marked = line:gsub('"id":"[^"]*"', '"id":"\1"', 1):gsub('"(%u+%-%d+)"', '"%1\2"')
  local position = 1
  while true do
    local at = marked:find("[\1\2]", position)
    if not at then
      pieces[#pieces + 1] = marked:sub(position)
      break
    end
    pieces[#pieces + 1] = marked:sub(position, at - 1)
    pieces[#pieces + 1] = marked:sub(at, at) == "\1" and ID or ROUND
    position = at + 1
  end
  templates[#templates + 1] = pieces
end
local batch = tonumber(os.getenv("REDRESS_BATCH"))
local run = os.getenv("REDRESS_RUN")
local threads = {}
local counter = 0
local next_line = 1
local round = 0

-- `prefix` and `index` are set per thread by setup (globals of the thread's Lua state).
function setup(thread)
  thread:set("prefix", run .. "-" .. #threads)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  next_line = (index * 997) % #templates + 1
end

local ndjson = { ["Content-Type"] = "application/x-ndjson" }
local json = { ["Content-Type"] = "application/json" }

local function event(template, id, suffix)
  local parts = {}
  for i, piece in ipairs(template) do
    if piece == ID then parts[i] = id elseif piece == ROUND then parts[i] = suffix else parts[i] = piece end
  end
  return table.concat(parts)
end

function request()
  counter = counter + 1
  local lines = {}
  for i = 1, batch do
    lines[i] = event(templates[next_line], prefix .. "-" .. counter .. "-" .. i, "-" .. prefix .. "-" .. round)
    next_line = next_line + 1
    if next_line > #templates then
      next_line = 1
      round = round + 1
    end
  end
  if batch == 1 then
    return wrk.format("POST", "/v1/events", json, lines[1])
  end
  return wrk.format("POST", "/v1/events", ndjson, table.concat(lines, "\n"))
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is missing: installing it with apt-get", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)


def start_server(binary, rules, state, extra):
    server = subprocess.Popen([binary, "serve", rules, "--state", state, "--listen", "127.0.0.1:0",
                               "--queue-limit", "1000000"] + extra,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    match = re.match(r"listening on (http://\S+)", line)
    if not match:
        server.kill()
        sys.exit("serve did not start: " + line + server.stderr.read())
    return server, match.group(1)


def load(url, lua, events, batch, seconds, connections, threads, run):
    env = dict(os.environ, REDRESS_EVENTS=events, REDRESS_BATCH=str(batch), REDRESS_RUN=run)
    output = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                             "-s", lua, url], env=env, capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=([\d.]+)", output.split("RESULT", 1)[1]))
    requests, duration = int(fields["requests"]), float(fields["seconds"])
    return {
        "requests": requests,
        "events_per_second": requests * batch / duration,
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
        "max_ms": int(fields["max_us"]) / 1000,
        "non2xx": int(fields["non2xx"]),
        "errors": int(fields["errors"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/redress"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serve-option", action="append", default=[], help="an option for serve (repeatable), e.g. --serve-option=--checkpoint-every=1000")
    parser.add_argument("--rules", default=os.path.join(ROOT, "rules/shop"), help="the rule set served (default rules/shop)")
    arguments = parser.parse_args()
    if not os.access(arguments.binary, os.X_OK):
        sys.exit(f"{arguments.binary} is missing: swift build -c release --product redress")
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="redress-serve-load-") as scratch:
        lua = os.path.join(scratch, "load.lua")
        with open(lua, "w") as file:
            file.write(LUA)
        events = os.path.join(ROOT, "rules/shop/events/history.jsonl")
        state = os.path.join(scratch, "state.sqlite")
        server, url = start_server(arguments.binary, arguments.rules, state, arguments.serve_option)
        try:
            single = load(url, lua, events, 1, arguments.seconds, arguments.connections, arguments.threads, "single")
            batches = load(url, lua, events, 1000, arguments.seconds, arguments.batch_connections, arguments.threads, "batch")
            status = subprocess.run(["curl", "-s", url + "/v1/status"], capture_output=True, text=True).stdout
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
        print(f"{os.path.relpath(arguments.rules, ROOT)}, events from history.jsonl with new ids and a new round of keys per pass, durable acknowledgements (synchronous = FULL)")
        for name, result, connections in [("single events", single, arguments.connections),
                                          ("1,000-event batches", batches, arguments.batch_connections)]:
            print(f"{name}: {result['events_per_second']:,.0f} events/s over {connections} connections, "
                  f"{result['requests']:,} requests, latency p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                  f"max {result['max_ms']:.2f} ms; non-2xx {result['non2xx']}, socket errors {result['errors']}")
        print("status after the run:", status.strip())
        print("server:", stderr.strip().splitlines()[-1] if stderr.strip() else "(nothing on stderr)")
        print(f"targets: single >= 10,000 events/s with p99 <= 20 ms: "
              f"{'met' if single['events_per_second'] >= 10_000 and single['p99_ms'] <= 20 else 'NOT met'}; "
              f"batches >= 200,000 events/s: {'met' if batches['events_per_second'] >= 200_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
