// The extension's manifest and its start of `redress lsp`, without VS Code: `vscode` and
// `vscode-languageclient/node` (not installed here: the npm registry is out of reach) are
// replaced by recording fakes. Run with `node --test editors/vscode/test/extension.test.js`.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const Module = require('module');

const root = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// What the fakes saw.
const seen = { clients: [], commands: new Map(), errors: [], configurationListeners: [] };
let settings = {};
let folders = [];

class FakeLanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
    seen.clients.push(this);
  }
  async start() {
    if (settings.failStart) throw new Error('spawn redress ENOENT');
    this.started = true;
  }
  async stop() {
    this.stopped = true;
  }
}

const fakeVscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key) => settings[`${section}.${key}`] }),
    get workspaceFolders() {
      return folders;
    },
    onDidChangeConfiguration: (listener) => {
      seen.configurationListeners.push(listener);
      return { dispose() {} };
    },
  },
  commands: {
    registerCommand: (name, callback) => {
      seen.commands.set(name, callback);
      return { dispose() {} };
    },
  },
  window: { showErrorMessage: (message) => seen.errors.push(message) },
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return fakeVscode;
  if (request === 'vscode-languageclient/node') return { LanguageClient: FakeLanguageClient };
  return load.call(this, request, parent, isMain);
};
const extension = require(path.join(root, manifest.main));

function reset(newSettings = {}, newFolders = []) {
  seen.clients = [];
  seen.commands = new Map();
  seen.errors = [];
  seen.configurationListeners = [];
  settings = newSettings;
  folders = newFolders;
}

test('activation starts `redress lsp` over stdio for rule files', async () => {
  reset();
  await extension.activate({ subscriptions: [] });
  assert.strictEqual(seen.clients.length, 1);
  const client = seen.clients[0];
  assert.strictEqual(client.id, 'redress', 'the id makes the library read redress.trace.server');
  assert.deepStrictEqual(client.serverOptions, { command: 'redress', args: ['lsp'] });
  assert.deepStrictEqual(client.clientOptions.documentSelector, [{ scheme: 'file', language: 'redress' }]);
  assert.ok(client.started);
  await extension.deactivate();
  assert.ok(client.stopped);
});

test('redress.path: a name, an absolute path, a path in the workspace', () => {
  const workspace = [{ uri: { fsPath: '/home/cx/rules' } }];
  assert.strictEqual(extension.serverCommand(undefined, workspace), 'redress');
  assert.strictEqual(extension.serverCommand('  ', workspace), 'redress');
  assert.strictEqual(extension.serverCommand('redress-nightly', workspace), 'redress-nightly');
  assert.strictEqual(extension.serverCommand('/opt/redress/bin/redress', workspace), '/opt/redress/bin/redress');
  assert.strictEqual(extension.serverCommand('.build/debug/redress', workspace), '/home/cx/rules/.build/debug/redress');
});

test('the configured command is the one started', async () => {
  reset({ 'redress.path': 'bin/redress' }, [{ uri: { fsPath: '/work/shop' } }]);
  await extension.activate({ subscriptions: [] });
  assert.deepStrictEqual(seen.clients[0].serverOptions, { command: '/work/shop/bin/redress', args: ['lsp'] });
  await extension.deactivate();
});

test('restart: the command and a change of redress.path start a new server', async () => {
  reset();
  await extension.activate({ subscriptions: [] });
  await seen.commands.get('redress.restartServer')();
  assert.strictEqual(seen.clients.length, 2);
  assert.ok(seen.clients[0].stopped && seen.clients[1].started);
  settings = { 'redress.path': '/usr/local/bin/redress' };
  seen.configurationListeners[0]({ affectsConfiguration: (key) => key === 'redress.path' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.strictEqual(seen.clients.length, 3);
  assert.strictEqual(seen.clients[2].serverOptions.command, '/usr/local/bin/redress');
  seen.configurationListeners[0]({ affectsConfiguration: () => false });
  await new Promise((resolve) => setImmediate(resolve));
  assert.strictEqual(seen.clients.length, 3);
  await extension.deactivate();
});

test('a command that cannot start is reported with the setting to change', async () => {
  reset({ 'redress.path': '/nowhere/redress', failStart: true });
  await extension.activate({ subscriptions: [] });
  assert.strictEqual(seen.errors.length, 1);
  assert.match(seen.errors[0], /\/nowhere\/redress lsp.*redress\.path/);
  await extension.deactivate();
});

test('the manifest names files that exist and agree with each other', () => {
  const [language] = manifest.contributes.languages;
  assert.strictEqual(language.id, 'redress');
  assert.deepStrictEqual(language.extensions, ['.rules']);
  const [grammar] = manifest.contributes.grammars;
  assert.strictEqual(grammar.language, language.id);
  const tmLanguage = JSON.parse(fs.readFileSync(path.join(root, grammar.path), 'utf8'));
  assert.strictEqual(tmLanguage.scopeName, grammar.scopeName);
  const configuration = JSON.parse(fs.readFileSync(path.join(root, language.configuration), 'utf8'));
  assert.strictEqual(configuration.comments.lineComment, '#');
  // VS Code compiles these with JavaScript's RegExp.
  new RegExp(configuration.wordPattern);
  new RegExp(configuration.indentationRules.increaseIndentPattern);
  new RegExp(configuration.indentationRules.decreaseIndentPattern);
  assert.ok(fs.existsSync(path.join(root, manifest.main)));
  assert.ok(manifest.dependencies['vscode-languageclient']);
  const properties = manifest.contributes.configuration.properties;
  assert.deepStrictEqual(Object.keys(properties).sort(), ['redress.path', 'redress.trace.server']);
  assert.deepStrictEqual(manifest.contributes.commands.map((c) => c.command), ['redress.restartServer']);
});

test('the word pattern takes amounts, durations, dates and names whole', () => {
  const configuration = JSON.parse(fs.readFileSync(path.join(root, 'language-configuration.json'), 'utf8'));
  const words = (text) => text.match(new RegExp(configuration.wordPattern, 'g'));
  assert.deepStrictEqual(words('when shipment.delay > 48h and x < 2.5% then refund 4.99 EUR'),
    ['when', 'shipment', 'delay', '48h', 'and', 'x', '2.5%', 'then', 'refund', '4.99', 'EUR']);
  assert.deepStrictEqual(words('active from 2026-12-01 until 2027-01-15T12:00+01:00'),
    ['active', 'from', '2026-12-01', 'until', '2027-01-15T12:00+01:00']);
});
