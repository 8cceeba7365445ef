// The Redress workbench: an editor over the rule files with the checker's messages as you type,
// and the tools of the command line (test, explain, simulate, sweep, diff) on the rules as edited.
//
// Every string that comes from rules, events or files reaches the page as text (textContent,
// createTextNode, attributes set one by one), never as HTML; the one exception is the report of
// `simulate --html`, which the server escapes and which is shown in a sandboxed frame without scripts.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';

const state = {
  ruleSet: null,
  files: new Map(),     // name → { text, saved }
  current: null,        // the name of the file in the editor
  diagnostics: {},      // name → [diagnostic]
  failures: [],         // failing test cases
  checkSequence: 0,
  checkTimer: null,
  completion: null,     // { items, selected, start, end }
  hoverTimer: null,
};

const $ = (id) => document.getElementById(id);

// --- Building the page from data ------------------------------------------------------------

/// An element with text content and attributes; children are elements or strings (as text).
function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svgElement(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function status(text, isError = false) {
  const line = $('status');
  line.textContent = text;
  line.classList.toggle('error', isError);
}

// --- The API ----------------------------------------------------------------------------------

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data;
  try { data = await response.json(); } catch (_) { data = { error: `the server answered ${response.status}` }; }
  if (!response.ok) {
    const failure = new Error(data.error || `the server answered ${response.status}`);
    failure.status = response.status;
    throw failure;
  }
  return data;
}

function documents() {
  const all = {};
  for (const [name, file] of state.files) all[name] = file.text;
  return all;
}

// --- Files --------------------------------------------------------------------------------------

function renderFileList() {
  const list = $('file-list');
  list.replaceChildren();
  for (const [name, file] of [...state.files].sort((a, b) => a[0].localeCompare(b[0]))) {
    const classes = [name === state.current ? 'current' : '', file.text !== file.saved ? 'modified' : ''].join(' ').trim();
    const count = (state.diagnostics[name] || []).filter((d) => d.severity === 'error').length;
    const button = element('button', { type: 'button', class: classes, 'data-file': name, onclick: () => openFile(name) }, name);
    if (count > 0) button.append(element('span', { class: 'failed', text: ` (${count})` }));
    list.append(element('li', {}, button));
  }
}

function openFile(name, line) {
  state.current = name;
  const source = $('source');
  source.value = state.files.get(name).text;
  $('current-file').textContent = name;
  renderFileList();
  renderEditor();
  renderRuleFailures();
  if (line !== undefined) {
    const offset = offsetOf(source.value, { line, character: 0 });
    source.focus();
    source.setSelectionRange(offset, offset);
    source.scrollTop = Math.max(0, line * lineHeight() - 60);
    syncScroll();
  }
}

$('new-file-form').addEventListener('submit', (event) => {
  event.preventDefault();
  let name = $('new-file-name').value.trim();
  if (!name) return;
  if (!name.endsWith('.rules')) name += '.rules';
  if (!state.files.has(name)) state.files.set(name, { text: '', saved: null });
  $('new-file-name').value = '';
  openFile(name);
  scheduleCheck();
});

// --- Positions: 0-based lines and UTF-16 offsets within the line, as the server counts ----------

function offsetOf(text, position) {
  let offset = 0;
  for (let line = 0; line < position.line; line++) {
    const end = text.indexOf('\n', offset);
    if (end < 0) return text.length;
    offset = end + 1;
  }
  const end = text.indexOf('\n', offset);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(offset + position.character, lineEnd);
}

function positionOf(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

// --- Highlighting ---------------------------------------------------------------------------------

const KEYWORDS = new Set(('rule when then on unless within by and or not in is missing present param let table case else ' +
  'policy cap limit per exclusive priority rollout active from until group via of true false none where').split(' '));

/// The token class of every UTF-16 unit of a line.
function tokenClasses(line) {
  const classes = new Array(line.length).fill('');
  const pattern = /(#.*$)|("(?:[^"\\]|\\.)*"?)|(\d{4}-\d{2}-\d{2}(?:T[0-9:.]+Z?)?|\d+(?:\.\d+)?(?:ms|[smhdw]|%| ?[A-Z]{3}\b)?)|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|->|\?\?|[<>=+\-*/|])/g;
  let match;
  while ((match = pattern.exec(line)) !== null) {
    let kind = '';
    if (match[1] !== undefined) kind = 't-comment';
    else if (match[2] !== undefined) kind = 't-string';
    else if (match[3] !== undefined) kind = 't-number';
    else if (match[4] !== undefined) kind = 't-field';
    else if (match[5] !== undefined) kind = KEYWORDS.has(match[5]) ? 't-keyword' : '';
    else if (match[6] !== undefined) kind = 't-operator';
    for (let i = match.index; i < match.index + match[0].length; i++) classes[i] = kind;
    if (match[0].length === 0) pattern.lastIndex++;
  }
  return classes;
}

/// The highlighted copy of the text under the textarea, with the diagnostics underlined.
function renderEditor() {
  const text = state.current === null ? '' : state.files.get(state.current).text;
  const lines = text.split('\n');
  const marks = lines.map((line) => new Array(line.length + 1).fill(''));
  const diagnostics = state.diagnostics[state.current] || [];
  // Warnings first, so that an error's underline wins where both cover a character.
  for (const severity of ['warning', 'error']) {
    for (const diagnostic of diagnostics.filter((d) => d.severity === severity)) {
      const { start, end } = diagnostic.range;
      for (let line = start.line; line <= end.line && line < lines.length; line++) {
        const from = line === start.line ? start.character : 0;
        let to = line === end.line ? end.character : lines[line].length;
        if (to <= from) to = from + 1;  // an empty range still shows where it is
        for (let i = from; i < Math.min(to, lines[line].length + 1); i++) marks[line][i] = `d-${severity}`;
      }
    }
  }
  const fragment = document.createDocumentFragment();
  lines.forEach((line, number) => {
    const classes = tokenClasses(line);
    let start = 0;
    for (let i = 1; i <= line.length; i++) {
      if (i === line.length || classes[i] !== classes[start] || marks[number][i] !== marks[number][start]) {
        const className = [classes[start], marks[number][start]].join(' ').trim();
        const piece = line.slice(start, i);
        fragment.append(className ? element('span', { class: className }, piece) : document.createTextNode(piece));
        start = i;
      }
    }
    // A diagnostic at the end of a line (a missing `then`) underlines a space there.
    if (marks[number][line.length]) fragment.append(element('span', { class: marks[number][line.length] }, ' '));
    if (number < lines.length - 1) fragment.append(document.createTextNode('\n'));
  });
  // A trailing newline needs a line after it for the two layers to scroll alike.
  fragment.append(document.createTextNode('\n '));
  $('highlight').replaceChildren(fragment);
  syncScroll();
}

function syncScroll() {
  $('highlight').scrollTop = $('source').scrollTop;
  $('highlight').scrollLeft = $('source').scrollLeft;
}

// --- Checking as you type ---------------------------------------------------------------------------

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, 200);
}

async function check() {
  const sequence = ++state.checkSequence;
  try {
    const answer = await api('/api/check', { documents: documents() });
    if (sequence !== state.checkSequence) return;  // a later keystroke's answer is coming
    state.diagnostics = answer.files;
    renderProblems(answer);
    renderEditor();
    renderFileList();
  } catch (failure) {
    status(`Checking failed: ${failure.message}`, true);
  }
}

function renderProblems(answer) {
  const list = $('problems');
  list.replaceChildren();
  const names = Object.keys(state.diagnostics).sort((a, b) => (a === state.current ? -1 : b === state.current ? 1 : a.localeCompare(b)));
  for (const name of names) {
    for (const diagnostic of state.diagnostics[name]) {
      const item = element('li', { class: `problem ${diagnostic.severity}` });
      const where = `${diagnostic.file}:${diagnostic.range.start.line + 1}:${diagnostic.range.start.character + 1}`;
      item.append(element('span', { class: 'where', onclick: () => { if (state.files.has(diagnostic.file)) openFile(diagnostic.file, diagnostic.range.start.line); } }, where));
      item.append(element('span', { class: 'code' }, `${diagnostic.severity}[${diagnostic.code}]`));
      item.append(element('span', { class: 'message' }, diagnostic.message));
      for (const note of diagnostic.notes) item.append(element('div', { class: 'note' }, `note: ${note}`));
      if (diagnostic.help) item.append(element('div', { class: 'help' }, `help: ${diagnostic.help}`));
      if (diagnostic.fix && state.files.has(diagnostic.fix.file)) {
        item.append(element('div', { class: 'fix' },
          element('button', { type: 'button', class: 'apply-fix', onclick: () => applyFixes(diagnostic.fix.file, [diagnostic.fix]) }, `Fix: ${diagnostic.fix.title}`)));
      }
      list.append(item);
    }
  }
  $('problem-count').textContent = answer.errors + answer.warnings === 0 ? '(none)' : `(${answer.errors} errors, ${answer.warnings} warnings)`;
}

/// Applies edits to one file, last first and skipping overlaps, as `redress check --fix` does.
function applyFixes(name, fixes) {
  const file = state.files.get(name);
  let text = file.text;
  let lowest = Infinity;
  const placed = fixes.map((fix) => ({ fix, start: offsetOf(text, fix.range.start), end: offsetOf(text, fix.range.end) }))
    .sort((a, b) => b.start - a.start);
  for (const { fix, start, end } of placed) {
    if (end > lowest) continue;
    text = text.slice(0, start) + fix.newText + text.slice(end);
    lowest = start;
  }
  file.text = text;
  if (name === state.current) $('source').value = text;
  renderEditor();
  renderFileList();
  check();
}

$('fix-all-button').addEventListener('click', () => {
  const fixes = (state.diagnostics[state.current] || []).map((d) => d.fix).filter((fix) => fix && fix.file === state.current);
  if (fixes.length === 0) { status('No suggested fixes in this file'); return; }
  applyFixes(state.current, fixes);
  status(`Applied ${fixes.length} fix${fixes.length === 1 ? '' : 'es'}`);
});

// --- The editor's events -------------------------------------------------------------------------------

const source = $('source');
source.addEventListener('input', (event) => {
  if (state.current === null) return;
  state.files.get(state.current).text = source.value;
  renderEditor();
  renderFileList();
  scheduleCheck();
  const typed = event.data || '';
  if (typed === '.' || (state.completion && /^[A-Za-z0-9_]+$/.test(typed))) complete();
  else hideCompletion();
});
source.addEventListener('scroll', syncScroll);
source.addEventListener('keydown', (event) => {
  if (event.key === ' ' && event.ctrlKey) {
    event.preventDefault();
    complete();
    return;
  }
  if (event.key === 'Tab' && !state.completion) {
    event.preventDefault();
    document.execCommand('insertText', false, '  ');
    return;
  }
  if (!state.completion) return;
  const { items } = state.completion;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    state.completion.selected = (state.completion.selected + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
    renderCompletion();
  } else if (event.key === 'Enter' || event.key === 'Tab') {
    event.preventDefault();
    acceptCompletion(state.completion.selected);
  } else if (event.key === 'Escape') {
    hideCompletion();
  }
});
// Later, so that a click on a completion lands first; and only if the editor did not get the focus
// back meanwhile (a blur and focus in quick succession hid a list that had just opened).
source.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== source) hideCompletion(); }, 150));

function lineHeight() { return parseFloat(getComputedStyle(source).lineHeight) || 18; }

function characterWidth() {
  const probe = element('span', { class: 'probe' }, 'x'.repeat(100));
  probe.style.font = getComputedStyle(source).font;
  probe.style.position = 'absolute';
  probe.style.visibility = 'hidden';
  document.body.append(probe);
  const width = probe.getBoundingClientRect().width / 100;
  probe.remove();
  return width || 8;
}

/// Where a place of the text is on the screen (monospace: column × width, line × height).
function screenPoint(position) {
  const box = source.getBoundingClientRect();
  const padding = parseFloat(getComputedStyle(source).paddingLeft) || 0;
  return {
    x: box.left + padding + position.character * characterWidth() - source.scrollLeft,
    y: box.top + padding + (position.line + 1) * lineHeight() - source.scrollTop,
  };
}

/// The place of the text under the mouse.
function textPositionAt(clientX, clientY) {
  const box = source.getBoundingClientRect();
  const padding = parseFloat(getComputedStyle(source).paddingLeft) || 0;
  const line = Math.floor((clientY - box.top - padding + source.scrollTop) / lineHeight());
  const character = Math.floor((clientX - box.left - padding + source.scrollLeft) / characterWidth());
  return { line, character };
}

// The message and help of an underlined place, on hover.
source.addEventListener('mousemove', (event) => {
  const at = textPositionAt(event.clientX, event.clientY);
  const inside = (range) => (at.line > range.start.line || (at.line === range.start.line && at.character >= range.start.character)) &&
    (at.line < range.end.line || (at.line === range.end.line && at.character < Math.max(range.end.character, range.start.character + 1)));
  const found = (state.diagnostics[state.current] || []).find((d) => inside(d.range));
  clearTimeout(state.hoverTimer);
  if (found) {
    showTooltip(`${found.severity}[${found.code}]: ${found.message}` + (found.help ? `\nhelp: ${found.help}` : ''), event);
    return;
  }
  $('tooltip').hidden = true;
  // Elsewhere, after a pause: what the language services say about the word (a field's type,
  // an action's cost, a parameter's value).
  state.hoverTimer = setTimeout(async () => {
    try {
      const answer = await api('/api/hover', { documents: documents(), file: state.current, line: at.line, character: at.character });
      if (answer.text) showTooltip(answer.text.replace(/```[a-z]*\n?/g, '').replace(/`/g, ''), event);
    } catch (_) {
      // A hover that fails shows nothing; the status line is for what the user asked for.
    }
  }, 400);
});
source.addEventListener('mouseleave', () => { clearTimeout(state.hoverTimer); $('tooltip').hidden = true; });

function showTooltip(text, event) {
  const tooltip = $('tooltip');
  tooltip.textContent = text;
  tooltip.style.left = `${event.clientX + 12}px`;
  tooltip.style.top = `${event.clientY + 16}px`;
  tooltip.hidden = false;
}

// --- Completion -------------------------------------------------------------------------------------------

async function complete() {
  const name = state.current;
  const text = source.value;
  const caret = source.selectionStart;
  const position = positionOf(text, caret);
  try {
    const answer = await api('/api/complete', { documents: documents(), file: name, line: position.line, character: position.character });
    if (source.value !== text || source.selectionStart !== caret) return;  // typed on meanwhile
    const start = offsetOf(text, answer.range.start);
    const typed = text.slice(start, caret).toLowerCase();
    const items = answer.items.filter((item) => item.label.toLowerCase().startsWith(typed));
    if (items.length === 0) { hideCompletion(); return; }
    state.completion = { items, selected: 0, start, end: Math.max(caret, offsetOf(text, answer.range.end)) };
    renderCompletion();
    const point = screenPoint(positionOf(text, start));
    const popup = $('completion');
    popup.style.left = `${point.x}px`;
    popup.style.top = `${point.y + 2}px`;
  } catch (failure) {
    status(`Completion failed: ${failure.message}`, true);
  }
}

function renderCompletion() {
  const popup = $('completion');
  popup.replaceChildren();
  state.completion.items.forEach((item, index) => {
    const entry = element('li', { role: 'option', class: index === state.completion.selected ? 'selected' : '',
      onmousedown: (event) => { event.preventDefault(); acceptCompletion(index); } }, item.label);
    if (item.detail) entry.append(element('span', { class: 'detail' }, item.detail));
    popup.append(entry);
  });
  popup.hidden = false;
  const selected = popup.children[state.completion.selected];
  if (selected) selected.scrollIntoView({ block: 'nearest' });
}

function acceptCompletion(index) {
  const { items, start, end } = state.completion;
  const label = items[index].label;
  source.setSelectionRange(start, end);
  // insertText keeps the browser's undo history.
  document.execCommand('insertText', false, label);
  hideCompletion();
}

function hideCompletion() {
  state.completion = null;
  $('completion').hidden = true;
}

// --- Format and save ----------------------------------------------------------------------------------------

$('format-button').addEventListener('click', async () => {
  try {
    const answer = await api('/api/format', { documents: documents(), file: state.current });
    if (!answer.changed) { status(`${state.current} is formatted already`); return; }
    state.files.get(state.current).text = answer.text;
    source.value = answer.text;
    renderEditor();
    renderFileList();
    check();
    status(`Formatted ${state.current}`);
  } catch (failure) {
    status(failure.message, true);
  }
});

$('save-button').addEventListener('click', async () => {
  const changed = {};
  for (const [name, file] of state.files) if (file.text !== file.saved) changed[name] = file.text;
  if (Object.keys(changed).length === 0) { status('Nothing to save'); return; }
  try {
    const answer = await api('/api/save', { documents: { ...documents(), ...changed } });
    for (const name of Object.keys(changed)) state.files.get(name).saved = changed[name];
    renderFileList();
    status(answer.saved.length === 0 ? 'Nothing to save' : `Saved ${answer.saved.join(', ')}`);
  } catch (failure) {
    status(`Not saved: ${failure.message}`, true);
  }
});

// --- Tools ---------------------------------------------------------------------------------------------------

for (const tab of document.querySelectorAll('.tabs button')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('.tabs button')) other.classList.toggle('active', other === tab);
    for (const panel of document.querySelectorAll('.tab')) panel.hidden = panel.id !== `tab-${tab.dataset.tab}`;
  });
}

/// Runs a tool with its button disabled; failures go to the status line.
async function running(button, label, work) {
  button.disabled = true;
  status(`${label}…`);
  try {
    await work();
  } catch (failure) {
    status(failure.status === 499 ? `${label}: cancelled` : `${label}: ${failure.message}`, failure.status !== 499);
    return;
  } finally {
    button.disabled = false;
  }
}

for (const cancel of document.querySelectorAll('button.cancel')) {
  cancel.addEventListener('click', async () => {
    try {
      const answer = await api('/api/cancel', {});
      if (!answer.cancelled) status('Nothing is running');
    } catch (failure) {
      status(failure.message, true);
    }
  });
}

// Tests: the results, and the failing ones beside the rules in the editor.
$('run-tests').addEventListener('click', (event) => running(event.target, 'Running the tests', async () => {
  const answer = await api('/api/tests', { documents: documents() });
  const summary = $('tests-summary');
  summary.textContent = `${answer.passed} passed, ${answer.failed} failed` + (answer.errors.length ? `, ${answer.errors.length} test files with errors` : '');
  summary.className = answer.failed > 0 || answer.errors.length > 0 ? 'failed' : 'passed';
  const list = $('tests-results');
  list.replaceChildren();
  for (const error of answer.errors) list.append(element('li', { class: 'failed' }, element('pre', { class: 'comparison' }, `${error.file}: ${error.message}`)));
  for (const testCase of answer.cases.filter((c) => !c.passed)) {
    const item = element('li', { class: 'test-failure' }, element('strong', { class: 'failed' }, 'FAIL '), `${testCase.name} `,
      element('span', { class: 'where' }, `${testCase.file}:${testCase.line}`));
    const rules = element('div', {}, 'rules: ');
    for (const rule of testCase.rules) {
      rules.append(element('button', { type: 'button', onclick: () => { if (rule.file && state.files.has(rule.file)) openFile(rule.file, rule.line - 1); } }, rule.name), ' ');
    }
    item.append(rules, element('pre', { class: 'comparison' }, testCase.comparison || ''));
    list.append(item);
  }
  state.failures = answer.cases.filter((c) => !c.passed);
  renderRuleFailures();
  status(summary.textContent);
}));

function renderRuleFailures() {
  const list = $('rule-failures');
  list.replaceChildren();
  for (const testCase of state.failures) {
    for (const rule of testCase.rules.filter((r) => r.file === state.current)) {
      list.append(element('li', {}, `✗ line ${rule.line}: rule ${rule.name} — test “${testCase.name}” failed in the last run (${testCase.file}:${testCase.line})`));
    }
  }
}

// Explain one event.
$('run-explain').addEventListener('click', (event) => running(event.target, 'Explaining', async () => {
  const id = $('explain-id').value.trim();
  const answer = await api('/api/explain', { documents: documents(), event: id ? null : $('explain-event').value, id: id || null });
  $('explain-summary').textContent = `Explaining ${answer.explained}`;
  const list = $('explain-results');
  list.replaceChildren();
  const shown = answer.rules.filter((rule) => rule.outcome !== 'not triggered');
  if (shown.length === 0) list.append(element('li', {}, 'No rule is triggered by this event.'));
  for (const rule of shown) {
    const item = element('li', {}, element('strong', { class: rule.outcome === 'decided' ? 'passed' : 'failed' }, `${rule.rule}: ${rule.outcome}`),
      rule.detail ? ` — ${rule.detail}` : '', ' ', element('span', { class: 'where' }, `${rule.file}:${rule.line}`));
    const lines = rule.parts.map((part) => `${part.value.padEnd(7)} ${part.text}` + (part.values.length ? `   (${part.values.join(', ')})` : ''));
    if (rule.missing.length) lines.push(`missing: ${rule.missing.join(', ')}`);
    if (lines.length) item.append(element('pre', { class: 'explanation' }, lines.join('\n')));
    list.append(item);
  }
  status(`Explained ${answer.explained}`);
}));

// Simulate: the totals, charts by rule, week and segment, and what policies held back.
$('run-simulate').addEventListener('click', (event) => running(event.target, 'Simulating', async () => {
  const segment = $('segment-field').value;
  const answer = await api('/api/simulate', { documents: documents(), by: segment ? [segment] : [] });
  $('simulation').hidden = false;
  $('sim-total').textContent = answer.total;
  $('sim-counts').textContent = `${answer.decisions} decisions for ${answer.customers} customers, from ${answer.events} events` +
    (answer.badLines ? ` (${answer.badLines} lines could not be read)` : '');
  barChart($('chart-rules'), answer.byRule);
  columnChart($('chart-weeks'), answer.byWeek);
  $('segment-title').textContent = answer.segmentFields.length ? `Cost by ${answer.segmentFields.join(', ')}` : 'Cost by segment (choose a field above)';
  barChart($('chart-segments'), answer.bySegment);
  const table = $('held-back');
  table.replaceChildren(element('tr', {}, ...['policy', 'decisions held back', 'saved', 'for example'].map((h) => element('th', {}, h))));
  for (const line of answer.heldBack) {
    const examples = (answer.heldBackExamples[line.key] || []).join('; ');
    table.append(element('tr', {}, element('td', {}, line.key), element('td', { class: 'number' }, line.decisions),
      element('td', { class: 'number' }, line.cost), element('td', { class: 'examples' }, examples)));
  }
  if (answer.heldBack.length === 0) table.append(element('tr', {}, element('td', { colspan: '4' }, 'No decision was held back by a policy.')));
  $('sim-report').srcdoc = answer.html;
  status(`Simulated: ${answer.total}`);
}));

/// Horizontal bars, one per line (rule, segment), longest first as the server sorts them.
function barChart(container, lines) {
  container.replaceChildren();
  if (lines.length === 0) { container.append(element('p', {}, 'Nothing to show.')); return; }
  const rowHeight = 20, labelWidth = 230, barWidth = 260, width = labelWidth + barWidth + 130;
  const maximum = Math.max(1, ...lines.map((line) => Math.abs(line.costMinor)));
  const chart = svgElement('svg', { width, height: lines.length * rowHeight + 8, viewBox: `0 0 ${width} ${lines.length * rowHeight + 8}`, role: 'img' });
  lines.forEach((line, index) => {
    const y = 4 + index * rowHeight;
    chart.append(svgElement('text', { x: labelWidth - 6, y: y + 14, 'text-anchor': 'end', 'font-size': 12 }, line.key));
    chart.append(svgElement('rect', { x: labelWidth, y: y + 3, height: rowHeight - 6, width: Math.max(1, barWidth * Math.abs(line.costMinor) / maximum), fill: '#1f77b4' }));
    chart.append(svgElement('text', { x: labelWidth + barWidth + 6, y: y + 14, 'font-size': 12 }, `${line.cost} (${line.decisions})`));
  });
  container.append(chart);
}

/// Columns over time (weeks), in order.
function columnChart(container, lines) {
  container.replaceChildren();
  if (lines.length === 0) { container.append(element('p', {}, 'Nothing to show.')); return; }
  const height = 160, bottom = 36, columnWidth = Math.max(14, Math.min(48, Math.floor(560 / lines.length))), width = lines.length * columnWidth + 20;
  const maximum = Math.max(1, ...lines.map((line) => Math.abs(line.costMinor)));
  const chart = svgElement('svg', { width, height: height + bottom, viewBox: `0 0 ${width} ${height + bottom}`, role: 'img' });
  lines.forEach((line, index) => {
    const x = 10 + index * columnWidth;
    const barHeight = Math.max(1, (height - 10) * Math.abs(line.costMinor) / maximum);
    const bar = svgElement('rect', { x: x + 2, y: height - barHeight, width: columnWidth - 4, height: barHeight, fill: '#2ca02c' });
    bar.append(svgElement('title', {}, `${line.key}: ${line.cost} (${line.decisions} decisions)`));
    chart.append(bar);
    chart.append(svgElement('text', { x: x + columnWidth / 2, y: height + 12, 'text-anchor': 'middle', 'font-size': 9 }, line.key.slice(-3)));
  });
  container.append(chart);
}

// Sweep a parameter: the cost curve.
$('run-sweep').addEventListener('click', (event) => running(event.target, 'Sweeping', async () => {
  const answer = await api('/api/sweep', { documents: documents(), parameter: $('sweep-parameter').value, values: $('sweep-values').value });
  const table = $('sweep-table');
  table.replaceChildren(element('tr', {}, element('th', {}, answer.parameter), element('th', {}, 'decisions'), element('th', {}, 'cost')));
  for (const point of answer.points) {
    table.append(element('tr', {}, element('td', {}, point.value), element('td', { class: 'number' }, point.decisions), element('td', { class: 'number' }, point.cost)));
  }
  curveChart($('chart-sweep'), answer.points);
  status(`Swept ${answer.parameter} over ${answer.points.length} values`);
}));

function curveChart(container, points) {
  container.replaceChildren();
  if (points.length === 0) return;
  const width = 520, height = 220, left = 50, bottom = 30;
  const maximum = Math.max(1, ...points.map((point) => point.costMinor));
  const step = points.length > 1 ? (width - left - 20) / (points.length - 1) : 0;
  const place = (point, index) => ({ x: left + index * step, y: 10 + (height - bottom - 10) * (1 - point.costMinor / maximum) });
  const chart = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  chart.append(svgElement('polyline', { fill: 'none', stroke: '#d62728', 'stroke-width': 2, points: points.map((p, i) => { const at = place(p, i); return `${at.x},${at.y}`; }).join(' ') }));
  points.forEach((point, index) => {
    const at = place(point, index);
    const dot = svgElement('circle', { cx: at.x, cy: at.y, r: 4, fill: '#d62728' });
    dot.append(svgElement('title', {}, `${point.value}: ${point.cost}`));
    chart.append(dot);
    chart.append(svgElement('text', { x: at.x, y: height - 10, 'text-anchor': 'middle', 'font-size': 11 }, point.value));
  });
  container.append(chart);
}

// Diff against the saved files, with its cost.
$('run-diff').addEventListener('click', (event) => running(event.target, 'Comparing', async () => {
  const against = $('diff-against').value.trim();
  const answer = await api('/api/diff', { documents: documents(), against: against || null });
  const { diff } = answer;
  const cost = diff.cost;
  $('diff-cost').textContent = cost
    ? `Cost: ${cost.oldCost} ${against ? `at ${against}` : 'saved'} → ${cost.cost} edited (${cost.delta}${cost.deltaPercent ? `, ${cost.deltaPercent}` : ''})`
    : 'No history to price the change (start the studio with --events FILE).';
  const list = $('diff-changes');
  list.replaceChildren();
  if (diff.rules.length + diff.declarations.length + diff.schema.length + diff.catalog.length === 0) list.append(element('li', {}, `No changes against ${against ? against : 'the saved files'}.`));
  for (const rule of diff.rules) {
    const item = element('li', {}, element('strong', {}, `${rule.status} rule ${rule.name}`), rule.oldName ? ` (was ${rule.oldName})` : '');
    for (const change of rule.changes) item.append(element('div', {}, `• ${change.text}`));
    list.append(item);
  }
  for (const declaration of diff.declarations) {
    const item = element('li', {}, element('strong', {}, `${declaration.status} ${declaration.kind} ${declaration.name}`));
    for (const change of declaration.changes) item.append(element('div', {}, `• ${change.text}`));
    if (declaration.usedBy.length) item.append(element('div', { class: 'note' }, `used by ${declaration.usedBy.join(', ')}`));
    list.append(item);
  }
  for (const change of [...diff.schema, ...diff.catalog]) list.append(element('li', {}, change.text));
  const table = $('diff-rules');
  table.replaceChildren();
  if (cost) {
    table.append(element('tr', {}, ...['rule', 'saved', 'edited', 'change'].map((h) => element('th', {}, h))));
    for (const row of cost.byRule) {
      table.append(element('tr', {}, element('td', {}, row.rule), element('td', { class: 'number' }, row.oldCost),
        element('td', { class: 'number' }, row.cost), element('td', { class: 'number' }, row.delta)));
    }
  }
  status(cost ? `Compared: ${cost.delta}` : 'Compared');
}));

// --- Start ------------------------------------------------------------------------------------------------------

async function start() {
  try {
    const ruleSet = await api('/api/ruleset');
    state.ruleSet = ruleSet;
    $('ruleset-name').textContent = `— ${ruleSet.name}`;
    document.title = `Redress studio — ${ruleSet.name}`;
    for (const file of ruleSet.files) state.files.set(file.name, { text: file.text, saved: file.text });
    $('history-summary').textContent = ruleSet.eventFiles.length
      ? `${ruleSet.eventLines} events from ${ruleSet.eventFiles.map((f) => f.split('/').pop()).join(', ')}`
      : 'No history (start with --events FILE to simulate).';
    const segment = $('segment-field');
    segment.append(element('option', { value: '' }, '(none)'));
    for (const field of ruleSet.fields) segment.append(element('option', { value: field }, field));
    const parameter = $('sweep-parameter');
    for (const p of ruleSet.parameters) parameter.append(element('option', { value: p.name }, `${p.name} (${p.value})`));
    parameter.addEventListener('change', () => {
      const chosen = ruleSet.parameters.find((p) => p.name === parameter.value);
      if (chosen) $('sweep-values').value = chosen.value;
    });
    if (ruleSet.parameters.length) $('sweep-values').value = ruleSet.parameters[0].value;
    const first = ruleSet.files.length ? ruleSet.files[0].name : null;
    if (first) openFile(first);
    renderFileList();
    await check();
    status(`Opened ${ruleSet.files.length} rule files`);
  } catch (failure) {
    status(`Cannot open the rule set: ${failure.message}`, true);
  }
}

start();
