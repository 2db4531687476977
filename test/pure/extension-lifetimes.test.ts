/** The host's bounded helpers: the ring of recent items and the set of owned disposables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisposableSet } from '../../src/extension/disposables';
import { RecentItems } from '../../src/extension/recent-items';

test('RecentItems keeps the last N items, oldest first, in fixed memory', () => {
  const recent = new RecentItems<number>(3);
  assert.deepEqual(recent.toArray(), []);
  recent.push(1);
  recent.push(2);
  assert.deepEqual(recent.toArray(), [1, 2]);
  for (let i = 3; i <= 1000; i++) recent.push(i);
  assert.deepEqual(recent.toArray(), [998, 999, 1000]);
  recent.push(1001);
  assert.deepEqual(recent.toArray(), [999, 1000, 1001]);
  assert.throws(() => new RecentItems(0), /positive integer/);
});

test('DisposableSet disposes what it owns once, newest first, and forgets what was disposed elsewhere', () => {
  const disposed: string[] = [];
  const item = (name: string) => ({ dispose: () => void disposed.push(name) });
  const set = new DisposableSet();
  const first = set.add(item('first'));
  set.add(item('second'));
  const closedByUser = set.add(item('closed'));
  assert.equal(set.size, 3);
  set.forget(closedByUser);
  assert.equal(set.size, 2);
  set.dispose();
  assert.deepEqual(disposed, ['second', 'first']);
  assert.equal(set.size, 0);
  set.dispose();
  assert.deepEqual(disposed, ['second', 'first'], 'a second dispose disposes nothing again');
  assert.equal(first, set.add(first), 'add returns what it was given');
});
