/**
 * The linux-x64 .vsix installed in code-server activates and merges (test/vscode-package/run.ts, suite.ts). Like
 * tools/code-server/install.sh, it assumes an x86_64 Linux machine; the other packages are checked by content.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testInstalledPackage } from './run';

test('the linux-x64 package installs in code-server, activates from its extensions folder and merges on wasm', { timeout: 600_000 }, async () => {
  const [activationMs] = await testInstalledPackage(1);
  assert.ok(activationMs > 0);
});
