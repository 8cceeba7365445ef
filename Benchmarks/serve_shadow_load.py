#!/usr/bin/env python3
"""What a shadow rule set costs `redress serve` (issue 14, point 8): Benchmarks/serve_load.py's
load twice in a row, on the same binary and machine: first without a shadow, then with
`--shadow DRAFT` (default: the served rule set itself, so the shadow does as much work as the
active set). Options other than --shadow go to serve_load.py.

    swift build -c release --product redress
    python3 Benchmarks/serve_shadow_load.py [--shadow rules/shop] [--seconds 10] ...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402


def main():
    arguments = sys.argv[1:]
    draft = None
    if "--shadow" in arguments:
        position = arguments.index("--shadow")
        if position + 1 >= len(arguments):
            sys.exit("--shadow needs a rule set")
        draft = arguments[position + 1]
        del arguments[position:position + 2]
    rules = next((arguments[index + 1] for index, option in enumerate(arguments[:-1]) if option == "--rules"),
                 os.path.join(serve_load.ROOT, "rules/shop"))
    print("== without a shadow")
    sys.argv = [sys.argv[0]] + arguments
    serve_load.main()
    print(f"== with --shadow {draft or rules}")
    sys.argv = [sys.argv[0]] + arguments + [f"--serve-option=--shadow={draft or rules}"]
    serve_load.main()


if __name__ == "__main__":
    main()
