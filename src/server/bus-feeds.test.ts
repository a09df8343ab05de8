import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomMemoryUrl, waitFor } from '../../test/support/bus-fixtures.js';
import { Bus } from '../bus/bus.js';
import { InvalidArgumentError } from '../core/errors.js';
import { twistMessageType } from '../wire/messages.js';
import { BusFeeds } from './bus-feeds.js';

test('a bus with more topics than maxFeeds: the first ones are served, the rest refused with one warning naming --topics', async () => {
  const bus = await Bus.open(randomMemoryUrl());
  const lines: string[] = [];
  const feeds = new BusFeeds(bus, { maxFeeds: 3, log: (line) => lines.push(line) });
  try {
    const twist = { timestamp_ns: 1n, linear: [0, 0, 0], angular: [0, 0, 0] };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) await bus.topic(`flood/${i}`, twistMessageType).publish(twist);
    }
    await waitFor(() => feeds.refused >= 47, 'the flood to arrive');
    assert.deepEqual(feeds.list().map((f) => f.topic), ['flood/0', 'flood/1', 'flood/2']);
    assert.equal(lines.length, 1, 'one warning for the flood (rate-limited)');
    assert.match(lines[0], /3 topics are served already; not serving "flood\/3".*--topics/);
  } finally {
    await feeds.close();
    await bus.close();
  }
});

test('maxFeeds that is not a whole number of topics ≥ 1 is an InvalidArgumentError', async () => {
  const bus = await Bus.open(randomMemoryUrl());
  try {
    for (const maxFeeds of [0, -1, 2.5, Number.NaN]) assert.throws(() => new BusFeeds(bus, { maxFeeds }), InvalidArgumentError);
  } finally {
    await bus.close();
  }
});
