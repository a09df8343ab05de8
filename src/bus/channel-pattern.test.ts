import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../core/errors.js';
import { compilePattern, coveringPattern, exactPattern, literalChannel } from './channel-pattern.js';

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

test('a covering pattern keeps exact names and literal prefixes, and turns the rest into .*', () => {
  assert.equal(coveringPattern('camera/front'), 'camera/front');
  assert.equal(coveringPattern('camera/.*'), 'camera/.*');
  assert.equal(coveringPattern('camera|imu|robot/.*/image'), 'camera|imu|robot/.*');
  assert.equal(coveringPattern('a\\.bc?'), 'a\\.b.*');
  assert.equal(coveringPattern('x[|]y|z'), 'x.*|z');
  assert.equal(coveringPattern('(a+)+b'), '.*');
  assert.equal(coveringPattern(exactPattern('x(1)|y')), exactPattern('x(1)|y'));
  assert.throws(() => coveringPattern('camera/('), InvalidArgumentError);
  // What would backtrack for minutes on this name is a single linear-time pass with its cover.
  assert.equal(compilePattern(coveringPattern('(a+)+b'))(`${'a'.repeat(40)}c`), true);
});

test('a covering pattern matches every name its pattern matches, and is a union of literals and literal.* (property)', () => {
  const token = fc.constantFrom('a', 'b', '/', '.', '.*', '\\.', '\\d', 'b?', 'a+', '[ab]', '[^/]*', '(a|b)', '|', '^', '$', '{1,2}', 'x*');
  const safe = /^(?:(?:[^\\.*+?^$()[\]{}|]|\\[^A-Za-z0-9])*(?:\.\*)?)(?:\|(?:(?:[^\\.*+?^$()[\]{}|]|\\[^A-Za-z0-9])*(?:\.\*)?))*$/;
  fc.assert(
    fc.property(fc.array(token, { minLength: 1, maxLength: 8 }), fc.array(fc.stringMatching(/^[ab/.x]{0,6}$/), { maxLength: 10 }), (tokens, names) => {
      const pattern = tokens.join('');
      let matches: (channel: string) => boolean;
      try {
        matches = compilePattern(pattern);
      } catch {
        return; // not a regular expression: refused by both
      }
      const cover = coveringPattern(pattern);
      assert.match(cover, safe, `${JSON.stringify(pattern)} → ${JSON.stringify(cover)}`);
      const covers = compilePattern(cover);
      for (const name of names) if (matches(name)) assert.ok(covers(name), `${JSON.stringify(pattern)} matches ${JSON.stringify(name)} but its cover ${JSON.stringify(cover)} does not`);
    }),
    { numRuns: 2000 },
  );
});
