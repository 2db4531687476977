/**
 * The merge panel's page (webview/merge-panel-main.ts) in Chromium: three inputs and their overlap per block,
 * edited from the keyboard; what it posts to the host (the settings on each edit, Save Recipe… and Merge) has the
 * protocol's shape; no CSP violation in either theme.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFromMergePanel, type MergePanelSettings, type MergePanelToHost, type MergePanelToWebview } from '../../src/shared/merge-panel-protocol.js';
import { useWebviewSession, type WebviewPage } from './harness.js';

const session = useWebviewSession('merge-panel');

const SETTINGS: MergePanelSettings = {
  inputs: [
    { path: '/loras/subject.safetensors', weight: 1 },
    { path: '/loras/watercolor-style.safetensors', weight: 0.8 },
    { path: '/loras/soft-lighting.safetensors', weight: 1 },
  ],
  method: 'ziplora',
  lambda: 0.03,
  rank: null,
  rankEnergy: null,
  output: '/loras/subject+watercolor-style+soft-lighting.safetensors',
  blocks: [],
};

const BLOCKS = ['text_encoder', 'unet.down_blocks.0', 'unet.down_blocks.1', 'unet.down_blocks.2', 'unet.mid_block', 'unet.up_blocks.1', 'unet.up_blocks.2', 'unet.up_blocks.3'];

const STATE: MergePanelToWebview = { type: 'panelState', settings: SETTINGS, limits: { minInputs: 2, maxInputs: 8, maxWeight: 4, blockMethods: ['zip', 'direct', 'skip'] } };
const OVERLAP: MergePanelToWebview = {
  type: 'overlap',
  inputs: SETTINGS.inputs.map((i) => i.path),
  overlap: {
    status: 'done',
    overlap: {
      pairs: [[0, 1], [0, 2], [1, 2]],
      blocks: BLOCKS.map((block, b) => ({ block, meanAbsCosine: [0.08 + 0.1 * b, b === 0 ? null : 0.9 - 0.1 * b, 0.35] })),
    },
  },
};

/** The page's posted messages in the merge panel's protocol (the harness records them untyped). */
async function posted(view: WebviewPage): Promise<MergePanelToHost[]> {
  return (await view.posted()) as unknown as MergePanelToHost[];
}

async function waitForPosted<T extends MergePanelToHost['type']>(view: WebviewPage, type: T, predicate: (m: Extract<MergePanelToHost, { type: T }>) => boolean = () => true): Promise<Extract<MergePanelToHost, { type: T }>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (await posted(view)).filter((m): m is Extract<MergePanelToHost, { type: T }> => m.type === type).find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no "${type}" message was posted; posted: ${JSON.stringify(await posted(view)).slice(0, 800)}`);
    await view.page.waitForTimeout(25);
  }
}

async function openPanel(theme: 'dark' | 'light'): Promise<WebviewPage> {
  const view = await session.open(theme);
  await waitForPosted(view, 'ready');
  await view.send(STATE as never);
  await view.send(OVERLAP as never);
  await view.page.locator('.merge-blocks').waitFor();
  return view;
}

/** The data-focus key of the focused control (custom elements keep focus on their host). */
function focusedKey(view: WebviewPage): Promise<string | null> {
  return view.page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-focus]')?.dataset.focus ?? null);
}

test('three inputs with their weights, and each pair’s overlap per block as shaded cells', async () => {
  const view = await openPanel('dark');
  const page = view.page;
  const rows = page.locator('.merge-inputs tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual(await page.locator('.merge-inputs .input-label').allInnerTexts(), ['input 1', 'input 2', 'input 3']);
  assert.match(await rows.nth(1).innerText(), /watercolor-style\.safetensors/);
  assert.equal(await page.locator('[data-focus="weight-1"]').evaluate((f) => (f as HTMLInputElement).value), '0.8');
  assert.match(await page.locator('.file-kind').innerText(), /3 inputs/);
  // Rows = blocks in the order sent, columns = the three pairs, then a weight per input and the method.
  assert.deepEqual(await page.locator('.merge-blocks tbody .block-name').allInnerTexts(), BLOCKS);
  assert.deepEqual(await page.locator('.merge-blocks thead tr:nth-child(2) th').allInnerTexts(), ['1↔2', '1↔3', '2↔3', '1', '2', '3']);
  const midRow = page.locator('tr[data-block="unet.mid_block"]');
  assert.deepEqual(await midRow.locator('.heat').allInnerTexts(), ['0.48', '0.50', '0.35']);
  // Shaded relative to the table's largest value, 0.80: 0.48 is 6 tenths of it.
  assert.match((await midRow.locator('.heat').first().getAttribute('class')) ?? '', /\bheat-6\b/);
  assert.match((await page.locator('tr[data-block="unet.down_blocks.0"] .heat').nth(1).getAttribute('class')) ?? '', /\bheat-10\b/);
  assert.equal(await page.locator('tr[data-block="text_encoder"] .heat').nth(1).innerText(), '—', 'a pair with no measured layer in the block');
  assert.equal(await midRow.locator('vscode-textfield').count(), 3, 'a weight per input in each block');
  assert.deepEqual(await view.cspViolations(), []);
  assert.deepEqual(view.errors, []);
  await view.screenshot('dark-merge-panel');
  await page.close();
});

test('keyboard: Tab walks the inputs in order, a weight typed is posted, Enter on Save Recipe… posts the settings', async () => {
  const view = await openPanel('dark');
  const page = view.page;
  await page.locator('[data-focus="weight-0"]').focus();
  const order: (string | null)[] = [await focusedKey(view)];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    order.push(await focusedKey(view));
  }
  assert.deepEqual(order, ['weight-0', 'remove-0', 'weight-1', 'remove-1', 'weight-2']);
  // Back to input 2's weight, and type over it.
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focusedKey(view), 'weight-1');
  await view.clearPosted();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0.5');
  const changed = await waitForPosted(view, 'changed', (m) => m.settings.inputs[1].weight === 0.5);
  assert.deepEqual(changed.settings.inputs.map((i) => i.weight), [1, 0.5, 1]);

  // A block weight: input 3 left out of the middle block.
  await page.locator('[data-focus="block-weight-unet.mid_block-2"]').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0');
  await waitForPosted(view, 'changed', (m) => m.settings.blocks.length === 1);
  assert.match((await page.locator('tr[data-block="unet.mid_block"]').getAttribute('class')) ?? '', /custom-block/, 'the edited block is marked');

  // An invalid weight holds the buttons back, and says why.
  await page.locator('[data-focus="weight-2"]').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('9');
  assert.equal(await page.locator('[data-focus="save-recipe"]').getAttribute('disabled'), '');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1');
  assert.equal(await page.locator('[data-focus="save-recipe"]').getAttribute('disabled'), null);

  await view.clearPosted();
  await page.locator('[data-focus="save-recipe"]').focus();
  await page.keyboard.press('Enter');
  const save = await waitForPosted(view, 'saveRecipe');
  assert.ok(isFromMergePanel(save), 'the host accepts the message');
  assert.deepEqual(Object.keys(save).sort(), ['settings', 'type']);
  assert.deepEqual(save.settings, {
    ...SETTINGS,
    inputs: [SETTINGS.inputs[0], { ...SETTINGS.inputs[1], weight: 0.5 }, SETTINGS.inputs[2]],
    blocks: [{ block: 'unet.mid_block', weights: [1, 1, 0] }],
  });

  // Space on Merge posts the same settings to merge.
  await page.locator('[data-focus="merge"]').focus();
  await page.keyboard.press('Space');
  const merge = await waitForPosted(view, 'merge');
  assert.deepEqual(merge.settings, save.settings);
  assert.deepEqual(view.errors, []);
  await page.close();
});

test('λ auto, a block method, removing an input (block weights follow), and the running state', async () => {
  const view = await openPanel('light');
  const page = view.page;
  await view.clearPosted();
  await page.locator('[data-focus="lambda-auto"]').focus();
  await page.keyboard.press('Space');
  await waitForPosted(view, 'changed', (m) => m.settings.lambda === 'auto');
  assert.equal(await page.locator('[data-focus="lambda"]').getAttribute('disabled'), '', 'the λ field waits while auto is on');

  await page.locator('[data-focus="block-weight-unet.down_blocks.1-0"]').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0.25');
  await waitForPosted(view, 'changed', (m) => m.settings.blocks.some((b) => b.block === 'unet.down_blocks.1'));
  await page.locator('[data-focus="block-method-text_encoder"]').evaluate((select) => {
    (select as HTMLSelectElement).value = 'skip';
    select.dispatchEvent(new Event('change'));
  });
  const withSkip = await waitForPosted(view, 'changed', (m) => m.settings.blocks.some((b) => b.method === 'skip'));
  assert.deepEqual(withSkip.settings.blocks, [
    { block: 'unet.down_blocks.1', weights: [0.25, 1, 1] },
    { block: 'text_encoder', method: 'skip' },
  ]);

  await view.clearPosted();
  await page.locator('[data-focus="remove-0"]').focus();
  await page.keyboard.press('Enter');
  const removed = await waitForPosted(view, 'changed', (m) => m.settings.inputs.length === 2);
  assert.deepEqual(removed.settings.inputs.map((i) => i.path), [SETTINGS.inputs[1].path, SETTINGS.inputs[2].path]);
  assert.deepEqual(removed.settings.blocks, [{ block: 'unet.down_blocks.1', weights: [1, 1] }, { block: 'text_encoder', method: 'skip' }]);
  await page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.focus === 'remove-0', undefined, { timeout: 2000 }).catch(() => undefined);
  assert.equal(await focusedKey(view), 'remove-0', 'the keyboard stays in the list');
  // Two inputs: the two-file wording, and the overlap is computed again by the host.
  assert.deepEqual(await page.locator('.merge-inputs .input-label').allInnerTexts(), ['content', 'style']);
  assert.match(await page.locator('section[aria-labelledby="blocks-heading"]').innerText(), /Comparing the inputs pair by pair/);

  // Inputs added by the host (Add LoRAs…): the old overlap is not shown for the new set.
  await view.send({ ...STATE, settings: { ...removed.settings, inputs: [...removed.settings.inputs, { path: '/loras/extra.safetensors', weight: 1 }] } } as never);
  assert.equal(await page.locator('.merge-inputs tbody tr').count(), 3);
  assert.match(await page.locator('section[aria-labelledby="blocks-heading"]').innerText(), /Comparing the inputs pair by pair/);

  await view.send({ type: 'running', running: true } as never);
  assert.equal(await page.locator('[data-focus="merge"]').getAttribute('disabled'), '');
  assert.equal(await page.locator('[data-focus="cancel-merge"]').isVisible(), true);
  await view.clearPosted();
  await page.locator('[data-focus="cancel-merge"]').focus();
  await page.keyboard.press('Enter');
  await waitForPosted(view, 'cancelMerge');
  await view.send({ type: 'outcome', kind: 'error', lines: ['The merge did not finish (cancelled or failed).'] } as never);
  // The outcome is drawn on the panel's next render, not within send().
  await page.locator('.merge-outcome', { hasText: /did not finish/ }).waitFor({ timeout: 5000 }).catch(() => undefined);
  assert.match(await page.locator('.merge-outcome').innerText(), /did not finish/);
  assert.deepEqual(await view.cspViolations(), []);
  assert.deepEqual(view.errors, []);
  await page.close();
});

test('both themes: the panel with block rules and λ auto shows the rules, without errors or CSP violations', async () => {
  for (const theme of ['dark', 'light'] as const) {
    const view = await session.open(theme);
    await waitForPosted(view, 'ready');
    const settings: MergePanelSettings = { ...SETTINGS, lambda: 'auto', blocks: [{ block: 'unet.mid_block', weights: [1, 1, 0] }, { block: 'text_encoder', method: 'skip' }] };
    await view.send({ ...STATE, settings } as never);
    await view.send(OVERLAP as never);
    const page = view.page;
    await page.locator('.merge-blocks').waitFor();
    assert.deepEqual(await page.locator('tr.custom-block .block-name').allInnerTexts(), ['text_encoder', 'unet.mid_block']);
    assert.equal(await page.locator('[data-focus="block-weight-unet.mid_block-2"]').evaluate((f) => (f as HTMLInputElement).value), '0');
    assert.equal(await page.locator('[data-focus="block-method-text_encoder"]').evaluate((s) => (s as HTMLSelectElement).value), 'skip');
    assert.deepEqual(await view.cspViolations(), []);
    assert.deepEqual(view.errors, []);
    // Tall enough for every block row (the README's pictures come from npm run screenshots, in VS Code).
    await page.setViewportSize({ width: 1280, height: 1160 });
    await view.screenshot(`${theme}-merge-panel-rules`);
    await page.close();
  }
});
