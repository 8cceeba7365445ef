// The Redress extension: the grammar and the language configuration are declared in
// package.json and need no code; this starts `redress lsp` (the Language Server Protocol over
// stdio) for the checker's messages, completion, hover, definitions, outline, formatting and
// quick fixes, through Microsoft's client library (`npm install` in this folder).
'use strict';

const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

// The command from `redress.path`: a bare name is left to PATH; a relative path is taken
// from the first workspace folder, so `.build/debug/redress` works in a checkout.
function serverCommand(configured, folders) {
  const command = configured && configured.trim() !== '' ? configured.trim() : 'redress';
  if (path.isAbsolute(command) || !/[\\/]/.test(command)) return command;
  const base = folders && folders.length > 0 ? folders[0].uri.fsPath : process.cwd();
  return path.resolve(base, command);
}

async function start() {
  const command = serverCommand(vscode.workspace.getConfiguration('redress').get('path'), vscode.workspace.workspaceFolders);
  // The client id `redress` makes the library read the `redress.trace.server` setting.
  client = new LanguageClient(
    'redress',
    'Redress',
    { command, args: ['lsp'] },
    {
      // Only saved files: a rule set is a directory, and an untitled buffer belongs to none.
      documentSelector: [{ scheme: 'file', language: 'redress' }],
      outputChannelName: 'Redress',
    },
  );
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    vscode.window.showErrorMessage(
      `Redress: could not start \`${command} lsp\`: ${error && error.message ? error.message : error}. ` +
        'Set "redress.path" to the redress command.',
    );
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

async function restart() {
  await stop();
  await start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('redress.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('redress.path')) restart();
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverCommand };
