import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../core/errors.js';
import { maskBusUrl, parseNatsUrl, MASK } from './nats-url.js';

const NO_ENV = {};

test('parses seed lists, credentials, TLS and options in the NATS conventions', () => {
  const u = parseNatsUrl('nats://robot:s3cret@a.lan:4222,b.lan:4223,[::1]:4224?prefix=lab.robot1', NO_ENV);
  assert.deepEqual(u.servers, [
    { host: 'a.lan', port: 4222 },
    { host: 'b.lan', port: 4223 },
    { host: '::1', port: 4224 },
  ]);
  assert.equal(u.prefix, 'lab.robot1');
  assert.ok(u.auth.kind === 'user' && u.auth.user === 'robot' && u.auth.password.reveal() === 's3cret');
  assert.equal(u.url, `nats://robot:${MASK}@a.lan:4222,b.lan:4223,[::1]:4224?prefix=lab.robot1`);
  assert.equal(u.tls, undefined);

  const t = parseNatsUrl('tls://a:4443,nats://b:4443?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem&creds=/r.creds', NO_ENV);
  assert.deepEqual(t.tls, { caFile: '/etc/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  assert.deepEqual(t.auth, { kind: 'creds', file: '/r.creds' });
  assert.equal(t.url, 'tls://a:4443,b:4443?creds=/r.creds&ca=/etc/ca.pem&cert=/c.pem&key=/k.pem');
  assert.ok(parseNatsUrl('nats://h?tls=1', NO_ENV).tls);
  assert.deepEqual(parseNatsUrl('nats://h?nkey=/n.seed', NO_ENV).auth, { kind: 'nkey', file: '/n.seed' });
  const tok = parseNatsUrl('nats://h?token=abc', NO_ENV);
  assert.ok(tok.auth.kind === 'token' && tok.auth.token.reveal() === 'abc');
  assert.equal(tok.url, `nats://h:4222?token=${MASK}`);
});

test('secrets come from FRAMEBUS_NATS_PASSWORD and FRAMEBUS_NATS_TOKEN', () => {
  const u = parseNatsUrl('nats://robot@h', { FRAMEBUS_NATS_PASSWORD: 'pw' });
  assert.ok(u.auth.kind === 'user' && u.auth.password.reveal() === 'pw');
  assert.equal(u.url, `nats://robot:${MASK}@h:4222`);
  const t = parseNatsUrl('nats://h', { FRAMEBUS_NATS_TOKEN: 'tk' });
  assert.ok(t.auth.kind === 'token' && t.auth.token.reveal() === 'tk');
  assert.equal(t.url, `nats://h:4222?token=${MASK}`);
  assert.throws(() => parseNatsUrl('nats://robot@h', NO_ENV), /FRAMEBUS_NATS_PASSWORD/);
  assert.throws(() => parseNatsUrl('nats://h?token=', NO_ENV), /FRAMEBUS_NATS_TOKEN/);
});

test('bad NATS URLs are refused with a reason and never echo a secret', () => {
  for (const [url, why] of [
    ['nats://u:pw1234@h:99999', /port 99999/],
    ['nats://u:pw1234@h?token=x', /more than one kind of credentials/],
    ['nats://u:pw1234@h?colour=red', /unknown option "colour"/],
    ['nats://u:pw1234@h?cert=/c.pem', /cert= and key= together/],
    ['nats://u:pw1234@h?tls=maybe', /tls=1 or tls=0/],
    ['nats://u:pw1234@h/x', /only have credentials/],
    ['nats://u:pw1234@h?prefix=a.*', /prefix/],
    ['http://u:pw1234@h', /must start with nats:\/\/ or tls:\/\//],
    ['nats://u:pw1234@bad host', /not host:port/],
  ] as const) {
    assert.throws(
      () => parseNatsUrl(url, NO_ENV),
      (e: unknown) => e instanceof InvalidArgumentError && why.test(e.message) && !e.message.includes('pw1234'),
      url,
    );
  }
});

const secretArb = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~!$*'), minLength: 1, maxLength: 24 }).map((s) => `Zq${s}`);
const hostArb = fc.constantFrom('a.lan', 'nats-1', '127.0.0.1', '[::1]', 'h');
const serversArb = fc.array(fc.tuple(hostArb, fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 4 }).map((list) => list.map(([h, p]) => `${h}:${p}`).join(','));

test('property: parsing keeps servers and user, and the canonical URL never holds the password or token', () => {
  fc.assert(
    fc.property(fc.constantFrom('nats', 'tls'), fc.constantFrom('robot', 'op.1', 'a-b'), secretArb, serversArb, fc.boolean(), (scheme, user, secret, servers, asToken) => {
      const url = asToken ? `${scheme}://${servers}?token=${encodeURIComponent(secret)}` : `${scheme}://${user}:${encodeURIComponent(secret)}@${servers}`;
      const parsed = parseNatsUrl(url, NO_ENV);
      assert.equal(parsed.servers.length, servers.split(',').length);
      if (asToken) assert.ok(parsed.auth.kind === 'token' && parsed.auth.token.reveal() === secret);
      else assert.ok(parsed.auth.kind === 'user' && parsed.auth.user === user && parsed.auth.password.reveal() === secret);
      for (const text of [parsed.url, JSON.stringify(parsed), inspect(parsed, { depth: 9 }), String(parsed.auth.kind === 'user' ? parsed.auth.password : '')]) {
        assert.ok(!text.includes(secret), text);
      }
      // The canonical form names the same servers, user and options.
      const again = parseNatsUrl(parsed.url.replace(`:${MASK}@`, '@').replace(`token=${MASK}`, 'token='), { FRAMEBUS_NATS_PASSWORD: 'x', FRAMEBUS_NATS_TOKEN: 'y' });
      assert.deepEqual(again.servers, parsed.servers);
      assert.equal(again.url, parsed.url);
    }),
    { numRuns: 300 },
  );
});

test('property: maskBusUrl hides the password and token of any URL, valid or not', () => {
  fc.assert(
    fc.property(fc.constantFrom('nats', 'tls', 'natz', 'lcm'), secretArb, fc.constantFrom('', '@', '/', 'a@b/c'), fc.string({ maxLength: 20 }), fc.boolean(), (scheme, secretBase, raw, junk, asToken) => {
      // Typed without percent-encoding, a password may hold `@` and `/`.
      const secret = asToken ? secretBase : `${secretBase}${raw}`;
      const url = asToken ? `${scheme}://h${junk.replace(/[?&#]/g, '')}?a=1&token=${secret}&b=2` : `${scheme}://me:${secret}@h${junk.replace(/[@?#]/g, '')}?prefix=x@y`;
      const masked = maskBusUrl(url);
      assert.ok(!masked.includes(secret), masked);
      assert.ok(masked.includes(MASK));
    }),
    { numRuns: 300 },
  );
});
