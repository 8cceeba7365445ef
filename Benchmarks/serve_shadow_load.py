#!/usr/bin/env python3
"""What a shadow rule set costs `redress serve` (issue 14, point 8): Benchmarks/serve_load.py's
load twice in a row, on the same binary and machine: first without a shadow, then with
`--shadow DRAFT` (default: the served rule set itself, so the shadow does as much work as the
active set). Options other than --shadow go to serve_load.py.

    swift build -c release --product redress
    python3 Benchmarks/serve_shadow_load.py [--shadow rules/shop] [--seconds 10] ...
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402


def with_shadow(draft):
    """serve_load's start_server, with `--shadow` added to the command it starts."""
    original = serve_load.start_server

    def start_server(binary, rules, state):
        popen = subprocess.Popen
        subprocess.Popen = lambda command, **options: popen(command + ["--shadow", draft or rules], **options)
        try:
            return original(binary, rules, state)
        finally:
            subprocess.Popen = popen
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
