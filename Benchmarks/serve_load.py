#!/usr/bin/env python3
"""Load on `redress serve` over loopback (issue 14, point 10).

Starts the release binary on a fresh state with rules/shop, then drives it:

  1. single-event requests (one JSON event per POST) over 64 connections;
  2. 1,000-event batches (application/x-ndjson) over 16 connections.

Every event is a line of rules/shop/events/history.jsonl made new: a unique id, every entity key
with the round's suffix (`C-10143` becomes `C-10143-b-7`: 12 to 15 characters, as short as unique
keys allow; longer keys cost an allocation each, see Benchmarks/README.md) (each pass over the history is a new round: the same shop with new
customers, orders and shipments) and every timestamp's year moved on by the round, so that each
round is the shop a year later: windows, retention and absence deadlines move on as they would live.
`--past` keeps the history's timestamps instead (every round in the same weeks, weeks before the
wall clock): every absence deadline is then due on arrival and a country's window holds every round.

Acknowledgements are durable: the server answers after the group's ingest-log append and SQLite
commit, both synced (synchronous = FULL). Prints events/s and p50/p99 latency, and the processor
time the server and the client took.

The client shares this machine's two cores with the server, so it is the lightest at hand:
Benchmarks/ServeLoad (built by this script) renders each event with byte appends (under 1 µs of
processor time per event, where wrk's Lua spent about 4 µs building the batches). `--client wrk`
drives the same loads through wrk (one thread, so that rounds go out in order; from Debian's
packages, installed with apt-get when missing) as an independent check; `--client auto` uses wrk
for the single events and ServeLoad for the batches.

    swift build -c release --product redress
    python3 Benchmarks/serve_load.py [--seconds 10] [--client serveload|wrk|auto] [--past] [--rules DIR]
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
local shift_years = os.getenv("REDRESS_PAST") ~= "1"
for line in io.lines(os.getenv("REDRESS_EVENTS")) do
  local pieces = {}
  local marked = line:gsub('"id":"[^"]*"', '"id":"\1"', 1):gsub('"(%u+%-%d+)"', '"%1\2"')
  if shift_years then marked = marked:gsub('"(%d%d%d%d%-%d%d%-%d%dT)', '"\3%1') end
  local position = 1
  while true do
    local at = marked:find("[\1\2\3]", position)
    if not at then
      pieces[#pieces + 1] = marked:sub(position)
      break
    end
    pieces[#pieces + 1] = marked:sub(position, at - 1)
    local marker = marked:sub(at, at)
    if marker == "\3" then
      -- A timestamp's year, as a number: written as year + round.
      pieces[#pieces + 1] = tonumber(marked:sub(at + 1, at + 4))
      position = at + 5
    else
      pieces[#pieces + 1] = marker == "\1" and ID or ROUND
      position = at + 1
    end
  end
  templates[#templates + 1] = pieces
end
local batch = tonumber(os.getenv("REDRESS_BATCH"))
local run = os.getenv("REDRESS_RUN")
local threads = {}
local counter = 0
local next_line = 1
local round = tonumber(os.getenv("REDRESS_FIRST_ROUND") or "0")

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
    if piece == ID then parts[i] = id elseif piece == ROUND then parts[i] = suffix
    elseif type(piece) == "number" then parts[i] = tostring(piece + round) else parts[i] = piece end
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
  io.write(string.format("RESULT requests=%d events=%d seconds=%.3f p50_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d rounds=%d\n",
    summary.requests, summary.requests * batch, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout, round + 1))
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


def load(arguments, url, lua, events, batch, connections, run, first_round):
    """Runs one load; returns its numbers and the client's processor seconds."""
    port = url.rsplit(":", 1)[1]
    client = arguments.client if arguments.client != "auto" else ("wrk" if batch == 1 else "serveload")
    if client == "wrk":
        env = dict(os.environ, REDRESS_EVENTS=events, REDRESS_BATCH=str(batch), REDRESS_RUN=run,
                   REDRESS_FIRST_ROUND=str(first_round), REDRESS_PAST="1" if arguments.past else "0")
        command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{arguments.seconds}s", "--timeout", "10s", "-s", lua, url]
    else:
        env = dict(os.environ)
        command = [arguments.client_binary, "--port", port, "--events", events, "--batch", str(batch),
                   "--connections", str(connections), "--seconds", str(arguments.seconds), "--run", run,
                   "--first-round", str(first_round)] + (["--past"] if arguments.past else [])
    before = os.times()
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    after = os.times()
    fields = dict(re.findall(r"(\w+)=([\d.]+)", output.split("RESULT", 1)[1]))
    events_done, duration = int(fields["events"]), float(fields["seconds"])
    return {
        "requests": int(fields["requests"]),
        "events_per_second": events_done / duration,
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
        "max_ms": int(fields["max_us"]) / 1000,
        "non2xx": int(fields["non2xx"]),
        "errors": int(fields["errors"]),
        "rounds": int(fields["rounds"]),
        "events": events_done,
        "client_seconds": (after.children_user - before.children_user) + (after.children_system - before.children_system),
        "client": client,
    }


def processor_seconds(pid):
    """The server's processor time so far (user and system), from /proc."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/redress"))
    parser.add_argument("--client", choices=["serveload", "wrk", "auto"], default="serveload")
    parser.add_argument("--client-binary", default=os.path.join(ROOT, ".build/release/ServeLoad"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch-connections", type=int, default=16)
    parser.add_argument("--past", action="store_true", help="keep the history's timestamps (every deadline due on arrival)")
    parser.add_argument("--serve-option", action="append", default=[], help="an option for serve (repeatable), e.g. --serve-option=--checkpoint-every=1000")
    parser.add_argument("--rules", default=os.path.join(ROOT, "rules/shop"), help="the rule set served (default rules/shop)")
    arguments = parser.parse_args()
    if not os.access(arguments.binary, os.X_OK):
        sys.exit(f"{arguments.binary} is missing: swift build -c release --product redress")
    if arguments.client != "serveload":
        ensure_wrk()
    if arguments.client != "wrk":
        subprocess.run(["swift", "build", "-c", "release", "--product", "ServeLoad"], cwd=ROOT, check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="redress-serve-load-") as scratch:
        lua = os.path.join(scratch, "load.lua")
        with open(lua, "w") as file:
            file.write(LUA)
        events = os.path.join(ROOT, "rules/shop/events/history.jsonl")
        state = os.path.join(scratch, "state.sqlite")
        server, url = start_server(arguments.binary, arguments.rules, state, arguments.serve_option)
        try:
            start = processor_seconds(server.pid)
            single = load(arguments, url, lua, events, 1, arguments.connections, "s", 0)
            middle = processor_seconds(server.pid)
            # The batches go on from the round the single events reached: the shop's time moves on.
            batches = load(arguments, url, lua, events, 1000, arguments.batch_connections, "b", single["rounds"] + 1)
            end = processor_seconds(server.pid)
            single["server_seconds"], batches["server_seconds"] = middle - start, end - middle
            status = subprocess.run(["curl", "-s", url + "/v1/status"], capture_output=True, text=True).stdout
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
        timing = "the history's timestamps (--past)" if arguments.past else "a year later per round"
        print(f"{os.path.relpath(arguments.rules, ROOT)}; events from history.jsonl with new ids, new keys and {timing}; "
              f"durable acknowledgements (synchronous = FULL)")
        for name, result, connections in [("single events", single, arguments.connections),
                                          ("1,000-event batches", batches, arguments.batch_connections)]:
            print(f"{name}: {result['events_per_second']:,.0f} events/s over {connections} connections ({result['client']}), "
                  f"{result['requests']:,} requests, latency p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                  f"max {result['max_ms']:.2f} ms; non-2xx {result['non2xx']}, socket errors {result['errors']}; "
                  f"processor per event: server {result['server_seconds'] / max(1, result['events']) * 1e6:.1f} µs, "
                  f"client {result['client_seconds'] / max(1, result['events']) * 1e6:.1f} µs")
        print("status after the run:", status.strip())
        print("server:", stderr.strip().splitlines()[-1] if stderr.strip() else "(nothing on stderr)")
        print(f"targets: single >= 10,000 events/s with p99 <= 20 ms: "
              f"{'met' if single['events_per_second'] >= 10_000 and single['p99_ms'] <= 20 else 'NOT met'}; "
              f"batches >= 200,000 events/s: {'met' if batches['events_per_second'] >= 200_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
