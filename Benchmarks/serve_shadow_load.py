#!/usr/bin/env python3
"""What a shadow rule set costs `redress serve` (issue 14, point 8): Benchmarks/serve_load.py's
load twice in a row, on the same binary and machine: first without a shadow, then with
`--shadow DRAFT` (default: the served rule set itself, so the shadow does as much work as the
active set). Options other than --shadow go to serve_load.py.

    swift build -c release --product redress
    python3 Benchmarks/serve_shadow_load.py [--shadow rules/shop] [--seconds 10] ...
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402


def with_shadow(draft):
    def start_server(binary, rules, state):
        server = subprocess.Popen([binary, "serve", rules, "--state", state, "--listen", "127.0.0.1:0",
                                   "--queue-limit", "1000000", "--shadow", draft or rules],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        match = re.match(r"listening on (http://\S+)", line)
        if not match:
            server.kill()
            sys.exit("serve did not start: " + line + server.stderr.read())
        return server, match.group(1)
    return start_server


def main():
    arguments = sys.argv[1:]
    draft = None
    if "--shadow" in arguments:
        position = arguments.index("--shadow")
        draft = arguments[position + 1] if position + 1 < len(arguments) else sys.exit("--shadow needs a rule set")
        del arguments[position:position + 2]
    sys.argv = [sys.argv[0]] + arguments
    print("== without a shadow")
    serve_load.main()
    print(f"== with --shadow {draft or 'the same rule set'}")
    serve_load.start_server = with_shadow(draft)
    serve_load.main()


if __name__ == "__main__":
    main()
