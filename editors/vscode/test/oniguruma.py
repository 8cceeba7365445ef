"""Repeats the regex searches that tokenize.js made with JavaScript (its --searches file) with
Oniguruma, the engine vscode-textmate uses in VS Code, and reports where the two find something
different: another start, end or capture. Needs onigurumacffi from PyPI (Oniguruma itself, with
its default syntax, as vscode-oniguruma compiles it).

    python3 editors/vscode/test/oniguruma.py SEARCHES.jsonl

Each line is [regex, text, position, indices]: indices are JavaScript's match.indices (start and end
of the match and of each group, null for a group that took no part), or null for no match. Offsets
count UTF-16 units in JavaScript and characters here, so texts with characters beyond U+FFFF are
left out (and counted). Exit 0 when all agree, 1 when some differ, 2 when onigurumacffi is missing.
"""
import json
import sys

try:
    import onigurumacffi
except ImportError:
    sys.stderr.write("oniguruma.py needs onigurumacffi: pip install onigurumacffi\n")
    sys.exit(2)


def comparable(indices):
    # A group that took no part and one that matched the empty string both colour nothing
    # (vscode-textmate skips empty captures), and the engines report them differently.
    if indices is None:
        return None
    return [span if index == 0 or (span is not None and span[0] != span[1]) else None
            for index, span in enumerate(indices)]


def main(path):
    compiled = {}
    searches = differences = left_out = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            source, text, position, indices = json.loads(line)
            if any(ord(character) > 0xFFFF for character in text):
                left_out += 1
                continue
            regex = compiled.get(source) or compiled.setdefault(source, onigurumacffi.compile(source))
            match = regex.search(text, position)
            found = None
            if match is not None:
                found = []
                for group in range(len(indices) if indices is not None else 1):
                    span = match.span(group)
                    found.append(None if span == (-1, -1) else list(span))
            searches += 1
            if comparable(found) != comparable(indices):
                differences += 1
                if differences <= 10:
                    print(f"differ: /{source}/ at {position} in {text!r}: JavaScript {indices}, Oniguruma {found}")
    print(f"{searches} searches with {len(compiled)} regular expressions; {differences} differ"
          + (f"; {left_out} left out (characters beyond U+FFFF)" if left_out else ""))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
