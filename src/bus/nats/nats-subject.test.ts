import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../core/errors.js';
import { channelToSubject, escapeChannel, subjectToChannel, unescapeChannel, validateNatsPrefix } from './nats-subject.js';

test('channels become one NATS token; reserved characters are escaped', () => {
  assert.equal(channelToSubject('framebus', 'camera/front'), 'framebus.camera/front');
  assert.equal(escapeChannel('a.b *>%'), 'a%2Eb%20%2A%3E%25');
  assert.equal(escapeChannel('é'), '%C3%A9');
  assert.equal(subjectToChannel('framebus', 'framebus.a%2Eb%20%2A%3E%25'), 'a.b *>%');
});

test('escaping reverses exactly for any channel, and the token never holds what NATS reserves', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), (channel) => {
      const token = escapeChannel(channel);
      assert.doesNotMatch(token, /[.*>\s]/);
      assert.equal(unescapeChannel(token), channel);
    }),
    { numRuns: 2000 },
  );
});

test('subjects framebus does not write map to no channel', () => {
  for (const subject of ['other.x', 'framebus.a.b', 'framebus.%zz', 'framebus.%61', 'framebus.', 'framebus.%FF']) {
    assert.equal(subjectToChannel('framebus', subject), undefined, subject);
  }
});

test('a bad prefix or empty channel is an InvalidArgumentError saying what is expected', () => {
  assert.throws(() => validateNatsPrefix('a.*'), (e: unknown) => e instanceof InvalidArgumentError && /e\.g\. 'framebus'/.test(e.message));
  assert.throws(() => validateNatsPrefix('a..b'), InvalidArgumentError);
  assert.doesNotThrow(() => validateNatsPrefix('lab.robot1'));
  assert.throws(() => escapeChannel(''), InvalidArgumentError);
});
