/** The extension tests' entry (`extensionTestsPath`): runs every bundled suite with mocha in the extension host. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // No colours: the reporter's output reaches the terminal through the browser console.
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  const suiteDir = path.join(__dirname, 'suite');
  // Numbered file names set the order: activation is checked before anything activates the extension.
  for (const file of readdirSync(suiteDir).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(suiteDir, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
  });
}
