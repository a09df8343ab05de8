import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { compilePattern, exactPattern, literalChannel } from './channel-pattern.js';

test('an exact pattern matches its channel and nothing else', () => {
  for (const channel of ['camera/front', 'a.b*c', 'x(1)|y', 'plain']) {
    const matches = compilePattern(exactPattern(channel));
    assert.equal(matches(channel), true);
    assert.equal(matches(`${channel}x`), false);
    assert.equal(literalChannel(exactPattern(channel)), channel);
  }
});

test('regular expressions match whole channel names, as LCM does', () => {
  const camera = compilePattern('camera/.*');
  assert.equal(camera('camera/front'), true);
  assert.equal(camera('xcamera/front'), false);
  assert.equal(compilePattern('.*')('anything'), true);
  assert.equal(literalChannel('camera/.*'), undefined);
});

test('a pattern that is not a regular expression is an InvalidArgumentError with an example', () => {
  assert.throws(() => compilePattern('camera/('), (e: unknown) => e instanceof InvalidArgumentError && /e\.g\. '\.\*'/.test(e.message));
  assert.throws(() => compilePattern(''), InvalidArgumentError);
});
