#!/usr/bin/env python3
"""Accept/reject corpus for the Redress grammar (grammar/redress.lark).

The Swift test Tests/SyntaxTests/GrammarAgreementTests.swift uses this file to
check that the hand-written Swift parser accepts and rejects exactly what the
Lark grammar (parser='lalr', lexer='basic') accepts and rejects.

    python3 grammar/corpus.py generate --seed 1 --count 3000 --out FILE
        Writes JSON lines {"id", "text", "accepted", "kind"}; kind is "edge"
        (hand-written lexer/parser probes), "derived" (random derivations of
        the grammar) or "mutated" (derived sentences with 1-3 small edits).
        `accepted` is always what Lark says, never what was intended.
        The output is byte-for-byte deterministic for a given seed and count.

    python3 grammar/corpus.py check FILE...
        Prints `accept PATH` or `reject PATH: message` for each file;
        exits 0 when every file is accepted, 1 otherwise.

Only the Python standard library and lark (1.3.1) are used.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

try:
    import lark
    from lark.lexer import PatternStr
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("corpus.py needs lark: pip install lark==1.3.1\n")
    sys.exit(2)

GRAMMAR_PATH = Path(__file__).resolve().parent / "redress.lark"

# Derived sentences longer than this are thrown away and derived again.
MAX_DERIVED_CHARS = 400
# Past this derivation depth only the shortest expansions are chosen.
MAX_DEPTH = 90
# Mutations tried per derived sentence when looking for the scarcer label.
MUTATION_TRIES = 12
# Relative weights of expansions: (nonterminal, symbol in the expansion) -> factor.
ALTERNATIVE_WEIGHTS = {
    ("item", "rule"): 4.0,
    ("item", "table_decl"): 0.7,
    ("item", "group_decl"): 0.7,
    ("item", "policy_decl"): 0.7,
    ("not_expr", "NOT"): 0.35,
    ("unary", "MINUS"): 0.3,
    ("primary", "call"): 3.0,
    ("primary", "CASE"): 6.0,
    ("primary", "LPAR"): 1.5,
    ("primary", "LSQB"): 0.7,
    ("call", "aggregate_where"): 4.0,
    ("call", "aggregate_within"): 2.0,
}


def load_parser(path: Path = GRAMMAR_PATH) -> lark.Lark:
    return lark.Lark(path.read_text(encoding="utf-8"), parser="lalr", lexer="basic")


def accepts(parser: lark.Lark, text: str) -> bool:
    """Whether Lark parses `text`. Any exception counts as a rejection."""
    try:
        parser.parse(text)
        return True
    except Exception:  # UnexpectedInput and anything else
        return False


def recognize(parser: lark.Lark, text: str) -> tuple[bool, str]:
    """(accepted, message). Any exception from Lark counts as a rejection."""
    try:
        parser.parse(text)
        return True, ""
    except Exception as error:  # UnexpectedInput and anything else
        lines = str(error).strip().splitlines()
        first = lines[0] if lines else type(error).__name__
        return False, f"{type(error).__name__}: {first}"


# --------------------------------------------------------------------------
# terminal generators

# Plausible identifiers; none of them is a keyword (checked at start-up).
NAMES = [
    "customer", "shipment", "order", "tier", "delay", "VIP", "Plus", "Standard",
    "apology", "x1", "_a", "country", "total", "placed_at", "promised_at",
    "reason", "wrong_size", "DE", "AT", "CH", "email", "sms", "handwritten",
    "late_threshold", "vip", "delivery_days", "Country", "Tier", "amount",
    "preferred_channel", "ops_team", "payment_reminder", "item", "count",
]
VERBS = ["refund", "voucher", "send", "flag", "suppress", "reship", "alert",
         "points", "free_shipping"]
ENTITIES = ["order", "shipment", "customer", "return", "payment"]
HAPPENINGS = ["placed", "shipped", "delivered", "registered", "failed", "late"]
FUNCTIONS = ["min", "max", "clamp", "count", "sum", "share"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF"]
DURATION_UNITS = ["ms", "s", "m", "h", "d", "w"]
WORDS = ["VIP", "customers", "late", "parcel", "sorry", "two", "days", "a", "b",
         "note", "refund", "it's", "ok!", "50%", "#1", "{x}", "(y)", "a,b"]
STRING_ESCAPES = ['\\"', "\\\\", "\\n", "\\t"]


def gen_name(rng: random.Random, context: str) -> str:
    if context == "action" and rng.random() < 0.8:
        return rng.choice(VERBS)
    if context == "event_ref0" and rng.random() < 0.9:
        return rng.choice(ENTITIES)
    if context == "event_ref1" and rng.random() < 0.9:
        return rng.choice(HAPPENINGS)
    if context == "call" and rng.random() < 0.9:
        return rng.choice(FUNCTIONS)
    if context == "enum" and rng.random() < 0.8:
        return rng.choice(["Country", "Tier", "Channel"])
    if context == "group_order" and rng.random() < 0.8:
        return "amount"
    return rng.choice(NAMES)


def gen_number_text(rng: random.Random, decimals: bool = True) -> str:
    whole = str(rng.choice([0, 1, 2, 3, 5, 10, 20, 48, 90, 100, 500, 2026]))
    if decimals and rng.random() < 0.3:
        return whole + "." + rng.choice(["5", "99", "25", "0", "10"])
    return whole


def gen_money(rng: random.Random, context: str) -> str:
    separator = rng.choices([" ", "", "  ", "\t"], weights=[85, 8, 4, 3])[0]
    return gen_number_text(rng) + separator + rng.choice(CURRENCIES)


def gen_duration(rng: random.Random, context: str) -> str:
    return str(rng.choice([0, 1, 2, 5, 7, 30, 36, 48, 90, 500])) + rng.choice(DURATION_UNITS)


def gen_percent(rng: random.Random, context: str) -> str:
    return gen_number_text(rng) + "%"


def gen_number(rng: random.Random, context: str) -> str:
    # Counts and priorities are whole numbers in practice; the grammar allows any NUMBER.
    whole_only = context in ("count_limit", "limit_clause", "exclusive_clause") and rng.random() < 0.9
    return gen_number_text(rng, decimals=not whole_only)


def gen_date(rng: random.Random, context: str) -> str:
    return "%04d-%02d-%02d" % (rng.choice([2025, 2026, 2027]), rng.randint(1, 12), rng.randint(1, 28))


def gen_timestamp(rng: random.Random, context: str) -> str:
    text = gen_date(rng, context) + "T%02d:%02d" % (rng.randint(0, 23), rng.choice([0, 15, 30, 59]))
    if rng.random() < 0.6:
        text += ":%02d" % rng.randint(0, 59)
    return text + rng.choice(["Z", "Z", "+01:00", "-05:00"])


def gen_string(rng: random.Random, context: str) -> str:
    parts = []
    for _ in range(rng.randint(0, 5)):
        if rng.random() < 0.15:
            parts.append(rng.choice(STRING_ESCAPES))
        else:
            parts.append(rng.choice(WORDS))
    return '"' + " ".join(parts) + '"'


GENERATORS = {
    "NAME": gen_name,
    "MONEY": gen_money,
    "DURATION": gen_duration,
    "PERCENT": gen_percent,
    "NUMBER": gen_number,
    "DATE": gen_date,
    "TIMESTAMP": gen_timestamp,
    "STRING": gen_string,
}


# --------------------------------------------------------------------------
# random derivation


class Deriver:
    """Random sentences from the compiled grammar (`parser.rules`)."""

    def __init__(self, parser: lark.Lark):
        self.parser = parser
        self.literals: dict[str, str] = {}
        for terminal in parser.terminals:
            if isinstance(terminal.pattern, PatternStr):
                self.literals[terminal.name] = terminal.pattern.value
        self.keywords = sorted(v for v in self.literals.values() if v[0].isalpha())
        self.punctuation = sorted(v for v in self.literals.values() if not v[0].isalpha())

        # Alternatives per nonterminal, in grammar order (stable).
        self.alternatives: dict[str, list[tuple]] = {}
        for rule in parser.rules:
            expansion = tuple((symbol.name, symbol.is_term) for symbol in rule.expansion)
            self.alternatives.setdefault(rule.origin.name, []).append(expansion)

        for name, is_term in (s for alts in self.alternatives.values() for a in alts for s in a):
            if is_term and name not in self.literals and name not in GENERATORS:
                raise SystemExit(f"corpus.py: no generator for terminal {name}")
        for name in NAMES + VERBS + ENTITIES + HAPPENINGS + FUNCTIONS:
            if name in self.keywords:
                raise SystemExit(f"corpus.py: name pool contains keyword {name!r}")

        # Minimal number of tokens each nonterminal derives (fixpoint).
        self.min_cost: dict[str, float] = {name: math.inf for name in self.alternatives}
        changed = True
        while changed:
            changed = False
            for name, alts in self.alternatives.items():
                best = min(self.expansion_cost(alt) for alt in alts)
                if best < self.min_cost[name]:
                    self.min_cost[name] = best
                    changed = True
        self.alt_costs = {name: [self.expansion_cost(alt) for alt in alts]
                          for name, alts in self.alternatives.items()}

    def expansion_cost(self, expansion) -> float:
        return sum(1 if is_term else self.min_cost[name] for name, is_term in expansion)

    def choose(self, rng: random.Random, name: str, depth: int, budget: int):
        """An expansion of `name` that fits into `budget` tokens.

        Uniform (times ALTERNATIVE_WEIGHTS) among the expansions that fit while
        shallow; the deeper the derivation, the likelier the shortest expansion,
        and past MAX_DEPTH always the shortest, so every derivation ends.
        """
        alts = self.alternatives[name]
        costs = self.alt_costs[name]
        if len(alts) == 1:
            return alts[0], costs[0]
        low = min(costs)
        if depth < MAX_DEPTH and rng.random() < math.sqrt(1.0 - depth / MAX_DEPTH):
            fitting = [i for i, cost in enumerate(costs) if cost <= budget]
            if fitting:
                weights = [self.weight(name, alts[i]) for i in fitting]
                index = rng.choices(fitting, weights=weights)[0]
                return alts[index], costs[index]
        candidates = [i for i, cost in enumerate(costs) if cost == low]
        index = rng.choice(candidates)
        return alts[index], costs[index]

    @staticmethod
    def weight(name: str, expansion) -> float:
        weight = 1.0
        for symbol, _ in expansion:
            weight *= ALTERNATIVE_WEIGHTS.get((name, symbol), 1.0)
        return weight

    def derive_tokens(self, rng: random.Random, budget: int) -> list[str]:
        """Tokens of one derivation of `start` using at most about `budget` tokens.

        Each nonterminal gets a token budget; after choosing an expansion, the
        budget left over beyond the expansion's minimal size is split at random
        among its nonterminal children.
        """
        tokens: list[str] = []
        # Explicit stack of (symbol, is_term, depth, context, position, budget).
        stack = [("start", False, 0, "", 0, budget)]
        while stack:
            name, is_term, depth, context, position, budget = stack.pop()
            if is_term:
                if name in self.literals:
                    tokens.append(self.literals[name])
                else:
                    ctx = context
                    if context == "event_ref":
                        ctx = "event_ref0" if position == 0 else "event_ref1"
                    elif context == "table_decl" and position == 3:
                        ctx = "enum"
                    tokens.append(GENERATORS[name](rng, ctx))
                continue
            expansion, cost = self.choose(rng, name, depth, budget)
            children = [i for i, (_, symbol_is_term) in enumerate(expansion) if not symbol_is_term]
            shares = {i: self.min_cost[expansion[i][0]] for i in children}
            slack = int(budget - cost)
            if children and slack > 0:
                # Uneven random shares; only + * / and sqrt, which IEEE 754
                # rounds exactly, so the output is the same on every platform.
                draws = [(lambda r: r * r + 1e-6)(rng.random()) for _ in children]
                total = sum(draws)
                for i, draw in zip(children, draws):
                    shares[i] += int(slack * draw / total)
            # Helper rules (`__x_star_0`) keep their parent's context.
            child_context = context if name.startswith("__") else name
            for position in range(len(expansion) - 1, -1, -1):
                symbol, symbol_is_term = expansion[position]
                stack.append((symbol, symbol_is_term, depth + 1, child_context, position,
                              shares.get(position, 1)))
        return tokens

    def derive(self, rng: random.Random) -> list[str]:
        """Token list of one non-empty derived sentence of modest length."""
        while True:
            budget = rng.choice([rng.randint(3, 20), rng.randint(3, 45), rng.randint(10, 70)])
            tokens = self.derive_tokens(rng, budget)
            if tokens and sum(len(t) + 1 for t in tokens) <= MAX_DERIVED_CHARS - 40:
                return tokens


COMMENTS = ["# comment", "# why: VIPs matter", "#", "# TODO 5 EUR, 2d", "#then refund"]


def join(rng: random.Random, tokens: list[str]) -> str:
    """Tokens separated by one space, sometimes a newline or a comment."""
    out: list[str] = []
    if tokens and rng.random() < 0.05:
        out.append(rng.choice(COMMENTS) + "\n")
    for index, token in enumerate(tokens):
        if index:
            roll = rng.random()
            if roll < 0.03:
                out.append(" " + rng.choice(COMMENTS) + "\n")
            elif roll < 0.10:
                out.append("\n")
            elif roll < 0.13:
                out.append("\n  ")
            else:
                out.append(" ")
        out.append(token)
    if tokens and rng.random() < 0.3:
        out.append("\n")
    return "".join(out)


# --------------------------------------------------------------------------
# mutations

PRINTABLE = [chr(c) for c in range(32, 127)]
EXTRA_PUNCTUATION = ["%", ":", '"', "'", "@", "!", "=", ";", "\\", "&", "$", "~", "`", "^", "?"]


def mutate(rng: random.Random, deriver: Deriver, tokens: list[str]) -> str:
    tokens = list(tokens)
    operations = [rng.choice(["delete", "duplicate", "swap", "insert",
                              "char_delete", "char_insert", "char_replace"])
                  for _ in range(rng.choices([1, 2, 3], weights=[60, 28, 12])[0])]
    token_ops = [op for op in operations if not op.startswith("char_")]
    char_ops = [op for op in operations if op.startswith("char_")]
    for op in token_ops:
        if op == "insert" or not tokens:
            pool = deriver.keywords if rng.random() < 0.5 else deriver.punctuation + EXTRA_PUNCTUATION
            tokens.insert(rng.randint(0, len(tokens)), rng.choice(pool))
        elif op == "delete":
            del tokens[rng.randrange(len(tokens))]
        elif op == "duplicate":
            index = rng.randrange(len(tokens))
            tokens.insert(index, tokens[index])
        elif op == "swap" and len(tokens) >= 2:
            index = rng.randrange(len(tokens) - 1)
            tokens[index], tokens[index + 1] = tokens[index + 1], tokens[index]
    text = join(rng, tokens)
    for op in char_ops:
        if op == "char_insert" or not text:
            char = rng.choice(PRINTABLE) if rng.random() < 0.9 else rng.choice("\n\t")
            index = rng.randint(0, len(text))
            text = text[:index] + char + text[index:]
        elif op == "char_delete":
            index = rng.randrange(len(text))
            text = text[:index] + text[index + 1:]
        else:
            index = rng.randrange(len(text))
            text = text[:index] + rng.choice(PRINTABLE) + text[index + 1:]
    return text


# --------------------------------------------------------------------------
# hand-written edge cases (labelled with whatever Lark says)

MISSION = ("when shipment.delay > 2d and customer.tier == VIP "
           "then refund 5 EUR, send apology, flag handwritten")

CANONICAL = """\
# comments are kept
param late_threshold = 2d

let vip = customer.tier in [VIP, Plus]

table delivery_days by Country {
  DE -> 2d,
  AT | CH -> 3d,
  else -> 5d,
}

rule vip_late_delivery "VIP customers whose parcel is more than two days late"
  on shipment.delivered
  when shipment.delay > late_threshold and vip
  then refund 5 EUR, send apology, flag handwritten
  limit 1 per order
  exclusive delivery_compensation priority 10

when shipment.delay > 2d and customer.tier == VIP
  then refund 5 EUR, send apology, flag handwritten
"""

EDGE_CASES = [
    # whole files
    "",
    "# only a comment",
    "# one\n# two\n\n   # three\n",
    " \n\t\n  ",
    MISSION,
    MISSION + "\n",
    CANONICAL,
    "#no newline at the end" + "\n" + MISSION + " # trailing",
    # literals: durations
    "let d = 2d", "let d = 2days", "let d = 1.5h", "let d = 500ms", "let d = 30s",
    "let d = 90m", "let d = 36h", "let d = 1w", "let d = 5 w", "let d = 5mx",
    "let d = 5ms5", "let d = 2D", "let d = 0d",
    # money
    "let m = 5 EUR", "let m = 4.99 USD", "let m = 5EUR", "let m = 5 EURO", "let m = 5  EUR",
    "let m = 5\tEUR", "let m = 5\nEUR", "let m = 5 eur", "let m = 5 Eur", "let m = 5 EUR5",
    "let m = 10EURO", "let m = 5 EU", "let m = -5 EUR", "let m = 5 VIP", "let m = 4. EUR",
    "let m = .5 EUR", "let m = 5 EUR EUR", "let m = 5.EUR", "let m = 5 EUR.amount",
    # percent and numbers
    "let p = 5%", "let p = 2.5%", "let p = 5 %", "let p = 5%%", "let p = 5% of order.total",
    "let n = 3", "let n = 4.5", "let n = 05", "let n = 1.", "let n = .5", "let n = 1.5.2",
    "let n = 1e5", "let n = 0x10", "let n = 1_000", "let n = 5.x",
    # dates and timestamps
    "let t = 2026-12-01", "let t = 2026-13-01", "let t = 2026-12-011", "let t = 2026-1-01",
    "let t = 2026-12-01x", "let t = 2026-12-01-1", "let t = 2026-12-01T08:00:00Z",
    "let t = 2026-12-01T08:00+01:00", "let t = 2026-12-01T08:00Z", "let t = 2026-12-01T08",
    "let t = 2026-12-01T08:00:00", "let t = 2026-12-01T25:99Z", "let t = 2026-12-01 T08:00Z",
    "let t = 2026-12-01T08:00:00Zx", "let t = 2026-12-01T08:00:00.5Z", "let t = 2026-12-01T",
    "let t = 12026-12-01", "let t = 2026-12-01_", "let t = 2026-12-015",
    # strings
    'let s = "plain"', 'let s = ""', 'let s = "a\\"b\\\\c\\nd\\te"', 'let s = "a\\qb"',
    'let s = "abc', 'let s = "line\nbreak"', 'let s = "tab\there"', 'let s = "a # not a comment"',
    'let s = "trailing backslash\\"', "let s = 'single'", 'let s = "a" "b"',
    # names and keywords
    "let x = customer.in", "let x = customer.tier", "rule rule then x", "rule r then x",
    "let rulex = 1", "let IN = 1", "let in_ = 1", "let x = notx", "let _ = 1", "let 1x = 1",
    "let x = none", "let x = true and false", "let x = customer.true",
    # operators
    "let x = a < b < c", "let x = a == b == c", "let x = a < b", "let x = a not in [b, c]",
    "let x = a in [b, c]", "let x = a in b in c", "let x = a is missing", "let x = a is present",
    "let x = a is not missing", "let x = a is missing is present", "let x = not a is missing",
    "let x = a is missing ?? b", "let x = a is present + 1", "let x = a is missing * 2",
    "let x = a is missing of b", "let x = a is missing and b is present", "let x = a ?? b is missing",
    "let x = a < b ?? c", "let x = a < b + 1", "let x = (a is missing) ?? b", "let x = a is missing.b",
    "let x = a is missing[1]", "let x = a not in b not in c", "let x = a in not b",
    "let x = a ?? not b", "let x = - not a", "let x = not - a", "let x = (a < b) < c",
    "let x = not not a", "let x = a == not b", "let x = a and not b or c", "let x = a ?? b ?? c",
    "let x = --5", "let x = - -5", "let x = a-b", "let x = a -1", "let x = a->b", "let x = a => b",
    "let x = a <> b", "let x = a = b", "let x = a === b", "let x = a ! b", "let x = a != b",
    "let x = a @ b", "let x = a ; b", "let x = a or", "let x = (a", "let x = a)", "let x = ()",
    "let x = ((((((((((1))))))))))", "let x = a * b / c of d + e - f",
    # lists, indexing, calls
    "let x = [DE, AT, CH]", "let x = [DE, AT,]", "let x = []", "let x = [,]", "let x = [DE AT]",
    "let x = a[1][2]", "let x = a[]", "let x = a.b.c", "let x = a..b", "let x = min(a, b)",
    "let x = min(a, b,)", "let x = min()", "let x = f(1)(2)", "let x = a.f(1)",
    "let x = clamp(x, 1 EUR, 5 EUR)",
    "let x = count(return.registered where return.reason == wrong_size within 90d) >= 3",
    "let x = share(shipment.delivered where shipment.delay > 0d per customer.country within 1d) > 5%",
    "let x = sum(order.placed, order.total per customer within 30d)",
    "let x = count(order.placed within 30d where x)",
    "let x = count(order.placed per customer.country.id within 1d)",
    # case
    "let x = case { a -> 1, else -> 2 }", "let x = case {", "let x = case { }",
    "let x = case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }",
    "let x = case customer.tier { VIP | Plus -> 10 EUR, else -> 3 EUR, }",
    "let x = case x { else | VIP -> 1 }", "let x = case x { VIP => 1 }", "let x = case x { VIP -> }",
    # declarations
    "param p = 2d", "param p =", "param p 2d", "param = 2d",
    "table t by Country { DE -> 2d, AT | CH -> 3d, else -> 5d, }", "table t by Country { }",
    "table t { DE -> 1 }", "table t by Country { DE -> 1 AT -> 2 }",
    "group g per customer within 30d by priority", "group g per customer by amount",
    "group g per customer.country", "group g per customer.a.b", "group g", "group g per customer by",
    "policy cap 20 EUR per customer within 30d", "policy limit 3 per customer",
    "policy limit none", "policy exclusive g", "policy cap 20 EUR", "policy",
    # rules
    'rule r "desc" on a.b, c.d unless e.f within 48h when x then y limit 1 per order '
    "exclusive g priority 10 rollout 10% active from 2026-12-01 until 2027-01-01",
    "rule r", "rule r when x", "when x then", "then x", "on a.b then x", "on a then x",
    "on a.b.c then x", "on order.placed unless shipment.shipped within 48h then send apology",
    "unless a.b by shipment.promised_at then x", "unless a.b then x", "rule r then refund 5 EUR via sms",
    "rule r then send x via", "rule r then a, then b", "rule r then a limit 1.5 per x",
    "rule r then a limit 1 per", "rule r then a limit none", "rule r then a limit 1",
    "rule r then a active until 2026-12-01T08:00:00Z", "rule r then a active from x",
    "rule r then a active from 2026-12-01 until 2026-12-24", "rule r then a active",
    "rule r then a exclusive g priority -1", "rule r then a exclusive g priority x",
    'rule r "a" "b" then x', "rule r then x rule s then y", "rule _a then x1", "rule 1r then x",
    "rule r then x # trailing comment", "rule r then x #", "rule r then x,", "rule r then , x",
    "rule r on a.b on c.d then x", "rule r when a when b then x", "rule r then x when y",
    "rule r then send delay_notice via customer.preferred_channel ?? email",
    "rule r then points 500, reship, free_shipping, alert ops_team via sms",
    "rule r then refund case customer.tier { VIP -> 10 EUR, else -> 3 EUR }",
    "rule r then refund 5 EUR cap 20 EUR per customer within 30d rollout 10%",
    "when x then y when z then w", "when x then y\nlet z = 1",
    "rule r then send (x)", "rule r then send f(x)", "rule r then send via sms", "rule r then not x",
    "rule r then flag not x", "rule r then refund -5 EUR", "rule r then refund [1, 2]",
    "rule r then x limit 1 per order within 30d limit none", "rule r then x via",
    "on order.placed, order.shipped then x", "on order.placed, then x", "rule r on order.placed then",
    "rule r then x exclusive g priority 1.5", "group g per c by rule",
    "rule r then send delay_notice via sms, suppress payment_reminder",
]


# --------------------------------------------------------------------------
# commands


def generate(seed: int, count: int, out_path: str | None, grammar: Path, quiet: bool = False) -> int:
    parser = load_parser(grammar)
    deriver = Deriver(parser)
    rng = random.Random(seed)
    seen: set[str] = set()
    entries: list[dict] = []

    def add(text: str, kind: str, accepted: bool | None = None) -> bool:
        if text in seen or len(entries) >= count:
            return False
        assert all(c in "\n\t" or 32 <= ord(c) < 127 for c in text), repr(text)
        seen.add(text)
        if accepted is None:
            accepted = accepts(parser, text)
        entries.append({"id": len(entries), "text": text, "accepted": accepted, "kind": kind})
        return True

    for text in EDGE_CASES:
        add(text, "edge")

    remaining = count - len(entries)
    want_derived = remaining // 2
    derived = mutated = mutated_accepted = 0
    attempts = 0
    while len(entries) < count:
        attempts += 1
        if attempts > 50 * count + 1000:
            raise SystemExit("corpus.py: could not produce enough distinct sentences")
        tokens = deriver.derive(rng)
        if derived < want_derived and (derived <= mutated or mutated >= remaining - want_derived):
            text = join(rng, tokens)
            if len(text) <= MAX_DERIVED_CHARS and add(text, "derived"):
                derived += 1
            continue
        # Most mutants are rejected; to keep the mutated half balanced, try a
        # few mutations of the sentence and prefer one with the scarcer label.
        want = mutated_accepted * 2 < mutated
        for _ in range(MUTATION_TRIES):
            text = mutate(rng, deriver, tokens)
            if text in seen:
                continue
            accepted = accepts(parser, text)
            if accepted == want:
                break
        else:
            continue
        if add(text, "mutated", accepted):
            mutated += 1
            mutated_accepted += accepted

    lines = "".join(json.dumps(entry, ensure_ascii=True) + "\n" for entry in entries)
    if out_path is None or out_path == "-":
        sys.stdout.write(lines)
    else:
        with open(out_path, "w", encoding="ascii", newline="\n") as handle:
            handle.write(lines)
    summary = {}
    for entry in entries:
        key = entry["kind"]
        total, accepted = summary.get(key, (0, 0))
        summary[key] = (total + 1, accepted + entry["accepted"])
    report = ", ".join(f"{kind}: {acc}/{total} accepted" for kind, (total, acc) in summary.items())
    if not quiet:
        sys.stderr.write(f"corpus.py: {len(entries)} entries ({report})\n")
    return 0


def check(paths: list[str], grammar: Path) -> int:
    parser = load_parser(grammar)
    status = 0
    for path in paths:
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"reject {path}: {type(error).__name__}: {error}")
            status = 1
            continue
        accepted, message = recognize(parser, text)
        if accepted:
            print(f"accept {path}")
        else:
            print(f"reject {path}: {message}")
            status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--grammar", type=Path, default=GRAMMAR_PATH,
                           help="the Lark grammar (default: redress.lark next to this file)")
    commands = arguments.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write a labelled corpus as JSON lines")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--count", type=int, default=3000)
    gen.add_argument("--out", default=None, help="output file (default: stdout)")
    gen.add_argument("--quiet", action="store_true", help="no summary on stderr")
    chk = commands.add_parser("check", help="accept/reject files with the Lark grammar")
    chk.add_argument("files", nargs="+")
    options = arguments.parse_args(argv)
    if options.command == "generate":
        return generate(options.seed, options.count, options.out, options.grammar, options.quiet)
    return check(options.files, options.grammar)


if __name__ == "__main__":
    sys.exit(main())
