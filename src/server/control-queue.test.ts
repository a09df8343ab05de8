import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, TransportError } from '../core/errors.js';
import { ControlQueue, SupersededError } from './control-queue.js';

/** A socket's room as the test decides it: `open()` lets waiting calls run. */
function gate() {
  let room = true;
  let waiters: ((room: boolean) => void)[] = [];
  return {
    room: (): Promise<boolean> => (room ? Promise.resolve(true) : new Promise((resolve) => waiters.push(resolve))),
    fill() {
      room = false;
    },
    release(value = true) {
      room = value;
      for (const resolve of waiters) resolve(value);
      waiters = [];
    },
  };
}

const settle = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: Error) => ({ error }));
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('calls run one at a time in arrival order', async () => {
  const queue = new ControlQueue(gate().room);
  const order: string[] = [];
  const call = (name: string) => async () => {
    order.push(`${name} start`);
    await tick();
    order.push(`${name} end`);
    return name;
  };
  assert.deepEqual(await Promise.all([queue.push(call('a')), queue.push(call('b')), queue.push(call('c'))]), ['a', 'b', 'c']);
  assert.deepEqual(order, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
});

test('while the socket is full, 10,000 seeks leave one waiting; the latest runs once there is room', async () => {
  const socket = gate();
  const queue = new ControlQueue(socket.room);
  socket.fill();
  const ran: number[] = [];
  const results = Array.from({ length: 10_000 }, (_, i) => settle(queue.push(async () => ran.push(i), { supersedable: true, supersedes: true })));
  await tick();
  assert.deepEqual(ran, [], 'nothing runs without room');
  socket.release();
  const settled = await Promise.all(results);
  assert.deepEqual(ran, [9999]);
  assert.ok(settled.slice(0, 9999).every((s) => 'error' in s && s.error instanceof SupersededError));
  assert.match((settled[0] as { error: Error }).error.message, /Superseded by a later seek/);
});

test('a seek supersedes only the seeks waiting right before it, never a pause, play or step after one', async () => {
  const socket = gate();
  const queue = new ControlQueue(socket.room);
  socket.fill();
  const ran: string[] = [];
  const push = (name: string, mode = {}) => settle(queue.push(async () => ran.push(name), mode));
  const seek = { supersedable: true, supersedes: true };
  const step = { supersedable: true };
  const calls = [push('seek 1', seek), push('pause'), push('step', step), push('seek 2', seek), push('seek 3', seek)];
  socket.release();
  const settled = await Promise.all(calls);
  assert.deepEqual(ran, ['seek 1', 'pause', 'seek 3']);
  assert.ok('error' in settled[2] && settled[2].error instanceof SupersededError, 'the step before a seek is superseded');
});

test('a queue full of calls that cannot be superseded refuses more, saying why', async () => {
  const socket = gate();
  const queue = new ControlQueue(socket.room, 2);
  socket.fill();
  const kept = [queue.push(async () => 1), queue.push(async () => 2)];
  await assert.rejects(queue.push(async () => 3), (error: Error) => error instanceof InvalidArgumentError && /Too many requests at once \(2 waiting\)/.test(error.message));
  socket.release();
  assert.deepEqual(await Promise.all(kept), [1, 2]);
});

test('a failing call rejects with its own error and the next one still runs', async () => {
  const queue = new ControlQueue(gate().room);
  const failing = queue.push(async () => {
    throw new InvalidArgumentError('step must be a non-zero whole number');
  });
  await assert.rejects(failing, /step must be/);
  assert.equal(await queue.push(async () => 'next'), 'next');
});

test('when the viewer leaves, waiting calls are rejected and none runs; later calls are refused', async () => {
  const socket = gate();
  const queue = new ControlQueue(socket.room);
  socket.fill();
  let ran = false;
  const waiting = settle(
    queue.push(async () => {
      ran = true;
    }),
  );
  socket.release(false);
  const result = await waiting;
  assert.ok('error' in result && result.error instanceof TransportError);
  assert.equal(ran, false);
  await assert.rejects(queue.push(async () => undefined), TransportError);
});
