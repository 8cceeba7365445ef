#!/usr/bin/env node
// Tokenises rule files with the extension's TextMate grammar and prints the tokens as JSON:
//
//   node editors/vscode/test/tokenize.js [--grammar FILE] [--jsonl FILE] [--searches FILE] [FILE...]
//   [{"file": "rules/shop/mission.rules", "tokens": [{"start": 0, "end": 4, "scopes": ["source.redress", ...]}, ...]}, ...]
//
// --jsonl reads texts rather than files: one JSON object with "id" and "text" per line (as
// grammar/corpus.py prints them); each result's "file" is then "#" and the id.
//
// Offsets are UTF-8 byte offsets into the file (after a byte-order mark), as the Swift lexer's
// spans are, so Tests/SyntaxTests/EditorGrammarTests.swift can compare the two token by token.
//
// Why not vscode-textmate: it is the reference implementation (with vscode-oniguruma), but the
// npm registry is not reachable where these tests run, and the tests must not need a download.
// So this is a small implementation, with no dependencies, of the part of TextMate's semantics
// the grammar uses, written after vscode-textmate's tokenizer (grammar.ts, _tokenizeString and
// handleCaptures):
//   - `match` with `name` and `captures`; `begin`/`end` with `name`, `contentName`,
//     `beginCaptures`, `endCaptures` (or `captures` for both) and nested `patterns`;
//   - `include` of `#repository` entries and `$self`; rules that only hold `patterns`;
//   - at each position every candidate regex is searched from there; the earliest match wins,
//     ties go to the first in order, and a region's `end` comes before its patterns;
//   - lines are tokenised one at a time with "\n" appended, as vscode-textmate does.
// Everything else (`while`, `applyEndPatternLast`, back-references in `end`, injections,
// `$base`, captures with patterns) is refused rather than half-implemented, and so are regex
// features where Oniguruma and JavaScript differ or that only Oniguruma has: \G \A \z \Z \h \e \K,
// possessive quantifiers, atomic groups, \w \d \s \b (Unicode-aware in Oniguruma, ASCII in
// JavaScript), POSIX brackets, inline options, named groups, lookbehind (variable length is fine
// in JavaScript, not in Oniguruma). `.` differs too (JavaScript stops at \r): the grammar writes
// [^\n]. The grammar therefore stays within what both engines read the same way.
// A grammar that would loop in vscode-textmate (a zero-width match that does not advance) is an
// error here, not a silently skipped line. That the regular expressions find the same in both
// engines is tested too, where Oniguruma is at hand: --searches writes down every search, and
// oniguruma.py repeats them with Oniguruma (the engine of VS Code, through onigurumacffi).
'use strict';

const fs = require('fs');

const RULE_KEYS = new Set(['name', 'contentName', 'match', 'begin', 'end', 'captures', 'beginCaptures',
  'endCaptures', 'patterns', 'include', 'comment']);
const GRAMMAR_KEYS = new Set(['$schema', 'name', 'scopeName', 'fileTypes', 'patterns', 'repository', 'comment']);
const UNSUPPORTED_REGEX = [
  [/\\[GAzZhHeKRXNOyY]/, 'an escape only Oniguruma knows (\\G \\A \\z \\Z \\h \\e \\K \\R \\X …)'],
  [/\\[wWdDsSbB]/, '\\w \\d \\s \\b (Unicode-aware in Oniguruma, ASCII in JavaScript): write the class'],
  [/[*+?}][+]/, 'a possessive quantifier'],
  [/\(\?>/, 'an atomic group'],
  [/\(\?<[=!]/, 'a lookbehind'],
  [/\(\?<[A-Za-z]|\\k</, 'a named group'],
  [/\(\?[imx-]+[:)]/, 'inline options'],
  [/\[:[a-z]+:\]/, 'a POSIX bracket'],
  [/\\p\{/, 'a Unicode property'],
  [/\\[1-9]/, 'a back-reference'],
];

function fail(message) {
  throw new Error(message);
}

function compileRegex(source, where) {
  // Escaped backslashes first, so that `\\w` (a backslash, then w) is not read as `\w`.
  const unescaped = source.replace(/\\\\/g, '');
  for (const [pattern, what] of UNSUPPORTED_REGEX) {
    if (pattern.test(unescaped)) fail(`${where}: ${what} is outside what this tokenizer and vscode-textmate agree on: ${source}`);
  }
  // g: search from lastIndex; d: capture offsets; m: `$` before the line's "\n", as in Oniguruma.
  return new RegExp(source, 'dgm');
}

function compileCaptures(captures, where) {
  if (captures === undefined) return [];
  const list = [];
  for (const [key, value] of Object.entries(captures)) {
    if (!/^[0-9]+$/.test(key)) fail(`${where}: capture key ${key}`);
    for (const field of Object.keys(value)) {
      if (field !== 'name' && field !== 'comment') fail(`${where}: capture ${key} has \`${field}\`, which is not supported`);
    }
    list[Number(key)] = value.name;
  }
  return list;
}

// Turns the grammar JSON into rule objects: {match} | {begin, end} | {patterns} | {include}.
function loadGrammar(file) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of Object.keys(json)) {
    if (!GRAMMAR_KEYS.has(key)) fail(`grammar: \`${key}\` is not supported`);
  }
  if (typeof json.scopeName !== 'string') fail('grammar: no scopeName');
  const repository = {};
  const compile = (raw, where) => {
    for (const key of Object.keys(raw)) {
      if (!RULE_KEYS.has(key)) fail(`${where}: \`${key}\` is not supported`);
    }
    const rule = { where, name: raw.name, contentName: raw.contentName };
    if (raw.include !== undefined) {
      if (Object.keys(raw).some((key) => key !== 'include' && key !== 'comment')) fail(`${where}: include with other keys`);
      if (raw.include !== '$self' && !raw.include.startsWith('#')) fail(`${where}: include ${raw.include} is not supported`);
      rule.include = raw.include;
    } else if (raw.match !== undefined) {
      if (raw.begin !== undefined || raw.patterns !== undefined) fail(`${where}: match with begin or patterns`);
      rule.match = compileRegex(raw.match, where);
      rule.captures = compileCaptures(raw.captures, where);
    } else if (raw.begin !== undefined) {
      if (raw.end === undefined) fail(`${where}: begin without end`);
      rule.begin = compileRegex(raw.begin, where);
      rule.end = compileRegex(raw.end, where);
      rule.beginCaptures = compileCaptures(raw.beginCaptures ?? raw.captures, where);
      rule.endCaptures = compileCaptures(raw.endCaptures ?? raw.captures, where);
    }
    if (raw.patterns !== undefined) rule.patterns = raw.patterns.map((p, i) => compile(p, `${where}.patterns[${i}]`));
    else rule.patterns = [];
    return rule;
  };
  for (const [name, raw] of Object.entries(json.repository ?? {})) repository[name] = compile(raw, `#${name}`);
  const root = compile({ patterns: json.patterns ?? [] }, '$self');
  root.name = json.scopeName;
  for (const rule of [root, ...Object.values(repository)]) resolveIncludes(rule, root, repository);
  return root;
}

function resolveIncludes(rule, root, repository) {
  for (const child of rule.patterns) {
    if (child.include !== undefined) {
      child.target = child.include === '$self' ? root : repository[child.include.slice(1)];
      if (child.target === undefined) fail(`${child.where}: no repository entry ${child.include}`);
    } else {
      resolveIncludes(child, root, repository);
    }
  }
}

// The match and begin rules a region (or the root) tries, includes and pattern-only rules
// flattened, in order; as vscode-textmate's compiled rule lists.
function candidates(rule) {
  if (rule.flattened !== undefined) return rule.flattened;
  const list = [];
  const seen = new Set();
  const visit = (container) => {
    for (const child of container.patterns) {
      const target = child.target ?? child;
      if (target.match !== undefined || target.begin !== undefined) {
        list.push(target);
      } else if (!seen.has(target)) {
        seen.add(target);
        visit(target);
      }
    }
  };
  visit(rule);
  rule.flattened = list;
  return list;
}

// With --searches, every search made (once per regex, line and position) with its result, for
// oniguruma.py to repeat with Oniguruma itself.
let searches = null;

function search(regex, text, position) {
  regex.lastIndex = position;
  const match = regex.exec(text);
  if (searches !== null) {
    const key = JSON.stringify([regex.source, text, position]);
    if (!searches.has(key)) searches.set(key, match === null ? null : Array.from(match.indices, (range) => range ?? null));
  }
  return match;
}

// Tokens of one line, each {start, end, scopes} in UTF-16 offsets of the line; `stack` (the open
// regions) carries over to the next line.
function tokenizeLine(line, stack, lineNumber) {
  const text = line + '\n';
  const tokens = [];
  let produced = 0;
  const produce = (scopes, end) => {
    if (end <= produced) return;
    tokens.push({ start: produced, end, scopes });
    produced = end;
  };
  // As handleCaptures: captures nest by position, each inside the last one that contains it.
  const captured = (scopes, names, match) => {
    const local = [];
    const maximum = match.indices[0][1];
    for (let index = 0; index < names.length; index++) {
      const name = names[index];
      const range = match.indices[index];
      if (name === undefined || range === undefined || range[0] === range[1]) continue;
      if (range[0] > maximum) break;
      while (local.length > 0 && local[local.length - 1].end <= range[0]) {
        const top = local.pop();
        produce(top.scopes, top.end);
      }
      produce(local.length > 0 ? local[local.length - 1].scopes : scopes, range[0]);
      local.push({ scopes: [...(local.length > 0 ? local[local.length - 1].scopes : scopes), name], end: range[1] });
    }
    while (local.length > 0) {
      const top = local.pop();
      produce(top.scopes, top.end);
    }
  };
  let position = 0;
  for (;;) {
    const frame = stack[stack.length - 1];
    let best = null;
    if (frame.rule.end !== undefined) {
      const match = search(frame.rule.end, text, position);
      if (match !== null) best = { match, end: true };
    }
    for (const rule of candidates(frame.rule)) {
      const match = search(rule.match ?? rule.begin, text, position);
      if (match !== null && (best === null || match.index < best.match.index)) best = { match, rule };
    }
    if (best === null) {
      produce(frame.contentScopes, text.length);
      break;
    }
    const { match } = best;
    const start = match.index, end = start + match[0].length;
    const advanced = end > position;
    produce(frame.contentScopes, start);
    if (best.end) {
      if (!advanced && frame.enteredAt === position && frame.enteredLine === lineNumber) {
        fail(`line ${lineNumber + 1}: ${frame.rule.where} ends where it began without advancing; vscode-textmate would stop the line`);
      }
      captured(frame.nameScopes, frame.rule.endCaptures, match);
      produce(frame.nameScopes, end);
      stack.pop();
    } else if (best.rule.begin !== undefined) {
      const rule = best.rule;
      const nameScopes = rule.name !== undefined ? [...frame.contentScopes, rule.name] : frame.contentScopes;
      if (!advanced && frame.rule === rule && frame.enteredAt === position && frame.enteredLine === lineNumber) {
        fail(`line ${lineNumber + 1}: ${rule.where} begins again where it began without advancing; vscode-textmate would stop the line`);
      }
      captured(nameScopes, rule.beginCaptures, match);
      produce(nameScopes, end);
      const contentScopes = rule.contentName !== undefined ? [...nameScopes, rule.contentName] : nameScopes;
      stack.push({ rule, nameScopes, contentScopes, enteredAt: position, enteredLine: lineNumber });
    } else {
      if (!advanced) fail(`line ${lineNumber + 1}: ${best.rule.where} matches the empty string; vscode-textmate would stop the line`);
      const scopes = best.rule.name !== undefined ? [...frame.contentScopes, best.rule.name] : frame.contentScopes;
      captured(scopes, best.rule.captures, match);
      produce(scopes, end);
    }
    position = end;
  }
  // The appended "\n" is not part of the line (vscode-textmate drops its token too).
  return tokens
    .map((token) => ({ ...token, end: Math.min(token.end, line.length) }))
    .filter((token) => token.start < token.end);
}

// Tokens of a whole text, with UTF-8 byte offsets.
function tokenize(grammar, text) {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const stack = [{ rule: grammar, nameScopes: [grammar.name], contentScopes: [grammar.name], enteredAt: -1, enteredLine: -1 }];
  const result = [];
  let lineStart = 0;
  text.split('\n').forEach((line, lineNumber) => {
    // UTF-8 offset of every UTF-16 offset of the line; the second half of a surrogate pair
    // maps to where its character starts.
    const bytes = new Array(line.length + 1);
    let offset = 0;
    for (let index = 0; index < line.length; index++) {
      bytes[index] = offset;
      const code = line.charCodeAt(index);
      if (code >= 0xd800 && code <= 0xdbff && index + 1 < line.length) {
        bytes[index + 1] = offset;
        offset += 4;
        index++;
      } else {
        offset += code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
      }
    }
    bytes[line.length] = offset;
    for (const token of tokenizeLine(line, stack, lineNumber)) {
      result.push({ start: lineStart + bytes[token.start], end: lineStart + bytes[token.end], scopes: token.scopes });
    }
    lineStart += offset + 1;
  });
  return result.filter((token) => token.start < token.end);
}

function main(argv) {
  let grammarFile = require('path').join(__dirname, '..', 'syntaxes', 'redress.tmLanguage.json');
  const inputs = [];
  let searchesFile = null;
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--grammar') {
      grammarFile = argv[++index];
    } else if (argv[index] === '--searches') {
      searchesFile = argv[++index];
      searches = new Map();
    } else if (argv[index] === '--jsonl') {
      for (const line of fs.readFileSync(argv[++index], 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line);
        inputs.push({ file: `#${entry.id}`, text: entry.text });
      }
    } else {
      inputs.push({ file: argv[index], text: fs.readFileSync(argv[index], 'utf8') });
    }
  }
  const grammar = loadGrammar(grammarFile);
  const output = inputs.map(({ file, text }) => ({ file, tokens: tokenize(grammar, text) }));
  process.stdout.write(JSON.stringify(output) + '\n');
  if (searchesFile !== null) {
    const lines = Array.from(searches, ([key, indices]) => JSON.stringify([...JSON.parse(key), indices]));
    fs.writeFileSync(searchesFile, lines.join('\n') + '\n');
  }
}

module.exports = { loadGrammar, tokenize };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`tokenize.js: ${error.message}\n`);
    process.exit(2);
  }
}
