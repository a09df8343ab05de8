import { InvalidArgumentError } from '../../core/errors.js';

/** The subject prefix framebus uses on NATS when the URL names none. */
export const DEFAULT_NATS_PREFIX = 'framebus';

/** Channel characters that stay as they are in a NATS subject; every other byte is `%HH`. */
const PLAIN = /^[A-Za-z0-9_\-/:=+@,~]$/;
const PREFIX = /^[A-Za-z0-9_\-/:=+@,~]+(\.[A-Za-z0-9_\-/:=+@,~]+)*$/;

/**
 * Checks a subject prefix: dot-separated tokens without wildcards or spaces.
 * @throws InvalidArgumentError naming what a good prefix looks like.
 */
export function validateNatsPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new InvalidArgumentError(
      `NATS subject prefix ${JSON.stringify(prefix)} is not valid; use dot-separated tokens of letters, digits, _ - / : = + @ , ~ (e.g. 'framebus' or 'lab.robot1').`,
    );
  }
}

/**
 * Escapes a channel name into one NATS subject token. NATS reserves `.` (token separator),
 * `*` and `>` (wildcards) and whitespace; those and every byte outside a safe set become
 * `%HH` (UTF-8, upper-case hex), so every channel is exactly one token and the mapping
 * reverses exactly.
 * @throws InvalidArgumentError for an empty channel.
 */
export function escapeChannel(channel: string): string {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new InvalidArgumentError('A channel name must be a non-empty string, e.g. "camera/front".');
  }
  let out = '';
  for (const ch of channel) {
    if (PLAIN.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Reverses `escapeChannel`; `undefined` when `token` is not something it produces. */
export function unescapeChannel(token: string): string | undefined {
  if (token.length === 0) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i];
    if (ch === '%') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (PLAIN.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return undefined;
    }
  }
  const decoded = Buffer.from(bytes).toString('utf8');
  // Reject bytes that are not UTF-8 or were escaped needlessly: one channel, one spelling.
  return escapeChannel(decoded) === token ? decoded : undefined;
}

/** The NATS subject that carries `channel` under `prefix`. */
export function channelToSubject(prefix: string, channel: string): string {
  return `${prefix}.${escapeChannel(channel)}`;
}

/** The channel a subject under `prefix` carries; `undefined` for any other subject. */
export function subjectToChannel(prefix: string, subject: string): string | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const token = subject.slice(prefix.length + 1);
  return token.includes('.') ? undefined : unescapeChannel(token);
}
