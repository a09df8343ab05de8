import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { parseBusUrl } from './bus-url.js';

test('parses the three kinds of bus URL with their defaults', () => {
  assert.deepEqual(parseBusUrl('memory:'), { kind: 'memory', name: '', url: 'memory:' });
  assert.deepEqual(parseBusUrl('memory:robot-1'), { kind: 'memory', name: 'robot-1', url: 'memory:robot-1' });
  assert.deepEqual(parseBusUrl('nats://'), {
    kind: 'nats',
    servers: [{ host: '127.0.0.1', port: 4222 }],
    host: '127.0.0.1',
    port: 4222,
    prefix: 'framebus',
    auth: { kind: 'none' },
    tls: undefined,
    url: 'nats://127.0.0.1:4222',
  });
  const nats = parseBusUrl('nats://broker.lan:4333?prefix=lab.robot1');
  assert.ok(nats.kind === 'nats');
  assert.deepEqual([nats.host, nats.port, nats.prefix, nats.url], ['broker.lan', 4333, 'lab.robot1', 'nats://broker.lan:4333?prefix=lab.robot1']);
  assert.equal(parseBusUrl('tls://broker.lan').url, 'tls://broker.lan:4222');
  const lcm = parseBusUrl('lcm://239.255.76.67:7667?ttl=0');
  assert.equal(lcm.kind, 'lcm');
  assert.equal(lcm.url, 'lcm://239.255.76.67:7667?ttl=0');
  assert.equal(parseBusUrl('udpm://239.255.76.67:7667').url, 'lcm://239.255.76.67:7667?ttl=0');
});

test('a bad bus URL names what is wrong and shows good ones', () => {
  for (const [url, why] of [
    ['', /empty/],
    ['tcp://x', /unknown scheme tcp/],
    ['camera', /no scheme/],
    ['nats://h:4222/path', /only have credentials, servers and \?options/],
    ['nats://h?prefix=a.*', /prefix/],
  ] as const) {
    assert.throws(() => parseBusUrl(url), (e: unknown) => e instanceof InvalidArgumentError && why.test(e.message), url);
  }
});
