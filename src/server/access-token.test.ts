import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateToken, isLoopbackHost, tokenRequired } from './access-token.js';

test('loopback hosts are recognised; everything reachable from elsewhere is not', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', 'localhost.example.com', '']) assert.equal(isLoopbackHost(host), false, host);
});

test('binding beyond loopback turns the token on; on loopback only when asked', () => {
  assert.equal(tokenRequired('127.0.0.1'), false);
  assert.equal(tokenRequired('127.0.0.1', true), true);
  assert.equal(tokenRequired('0.0.0.0'), true);
  assert.equal(tokenRequired('0.0.0.0', false), true);
  assert.equal(tokenRequired('192.168.1.10'), true);
  assert.equal(tokenRequired('::'), true);
});

test('tokens are long and random', () => {
  const a = generateToken();
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(a, generateToken());
});
