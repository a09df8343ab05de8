import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { resolveSendLimits, SendGate } from './send-gate.js';

const MiB = 2 ** 20;

/** A socket whose unsent bytes the test sets, recording pauses of reading. */
function fakeSocket() {
  return {
    bufferedAmount: 0,
    reading: true,
    pause() {
      this.reading = false;
    },
    resume() {
      this.reading = true;
    },
  };
}

beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

test('a viewer that reads has room; one over the limit waits until it drains', async () => {
  const socket = fakeSocket();
  const gate = new SendGate(socket, { maxBufferedBytes: MiB, stallTimeoutMs: 10_000 }, () => assert.fail('not a stall'));
  assert.equal(gate.hasRoom, true);
  assert.equal(await gate.room(), true);
  socket.bufferedAmount = MiB + 1;
  gate.afterWrite();
  assert.equal(gate.hasRoom, false);
  let answer: boolean | undefined;
  void gate.room().then((room) => (answer = room));
  mock.timers.tick(1000);
  await Promise.resolve();
  assert.equal(answer, undefined, 'still waiting while the socket is full');
  socket.bufferedAmount = MiB;
  mock.timers.tick(10);
  await Promise.resolve();
  assert.equal(answer, true);
  assert.equal(gate.hasRoom, true);
  gate.dispose();
});

test('a viewer over the limit for the stall timeout is reported once, with the amount, the time and the limit', () => {
  const socket = fakeSocket();
  const stalls: string[] = [];
  const gate = new SendGate(socket, { maxBufferedBytes: 8 * MiB, stallTimeoutMs: 5000 }, (reason) => stalls.push(reason));
  socket.bufferedAmount = 9 * MiB;
  gate.afterWrite();
  mock.timers.tick(3000);
  // Reading a little, back under the limit, starts the clock again.
  socket.bufferedAmount = 7 * MiB;
  mock.timers.tick(10);
  socket.bufferedAmount = 9 * MiB;
  gate.afterWrite();
  mock.timers.tick(4900);
  assert.deepEqual(stalls, [], 'not stalled yet: 4.9 s over the limit since it last read');
  mock.timers.tick(200);
  assert.deepEqual(stalls, ['Viewer not reading: 9.0 MiB unsent for 5 s (limit 8.0 MiB)']);
  mock.timers.tick(60_000);
  assert.equal(stalls.length, 1);
  assert.equal(gate.hasRoom, false, 'a stalled gate has no room');
});

test('with an infinite stall timeout a full socket is never reported', () => {
  const socket = fakeSocket();
  const gate = new SendGate(socket, { maxBufferedBytes: MiB, stallTimeoutMs: Infinity }, () => assert.fail('closed'));
  socket.bufferedAmount = 2 * MiB;
  gate.afterWrite();
  mock.timers.tick(3_600_000);
  assert.equal(gate.hasRoom, false);
  gate.dispose();
});

test('answers provoked past twice the limit stop reading the client until its socket is under the limit again', () => {
  const socket = fakeSocket();
  const gate = new SendGate(socket, { maxBufferedBytes: MiB, stallTimeoutMs: 10_000 }, () => undefined);
  socket.bufferedAmount = 2 * MiB;
  gate.afterWrite();
  assert.equal(socket.reading, true, 'at twice the limit it still reads');
  socket.bufferedAmount = 2 * MiB + 1;
  gate.afterWrite();
  assert.equal(socket.reading, false);
  socket.bufferedAmount = MiB + 1;
  mock.timers.tick(10);
  assert.equal(socket.reading, false, 'still over the limit');
  socket.bufferedAmount = 0;
  mock.timers.tick(10);
  assert.equal(socket.reading, true);
  gate.dispose();
});

test('disposing releases every waiter with no room and reads again, so a closing handshake can finish', async () => {
  const socket = fakeSocket();
  const gate = new SendGate(socket, { maxBufferedBytes: MiB }, () => undefined);
  socket.bufferedAmount = 3 * MiB;
  gate.afterWrite();
  const waiting = [gate.room(), gate.room()];
  gate.dispose();
  assert.deepEqual(await Promise.all(waiting), [false, false]);
  assert.equal(await gate.room(), false);
  assert.equal(socket.reading, true);
});

test('limits are checked: a size or timeout that is not positive is refused with the range', () => {
  assert.deepEqual(resolveSendLimits(), { maxBufferedBytes: 2 * MiB, stallTimeoutMs: 10_000 });
  for (const limits of [{ maxBufferedBytes: 0 }, { maxBufferedBytes: 1.5 }, { maxBufferedBytes: Infinity }, { stallTimeoutMs: 0 }, { stallTimeoutMs: NaN }, { stallTimeoutMs: -1 }]) {
    assert.throws(() => resolveSendLimits(limits), InvalidArgumentError, JSON.stringify(limits));
  }
  assert.throws(() => resolveSendLimits({ stallTimeoutMs: -1 }), /stallTimeoutMs must be a number of ms above 0 \(Infinity never closes\), got -1/);
});
