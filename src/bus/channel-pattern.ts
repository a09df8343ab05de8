import { InvalidArgumentError } from '../core/errors.js';

/**
 * Channel patterns are regular expressions matched against whole channel names, as LCM
 * subscriptions are: `'camera/.*'`, `'.*'` for everything, or an escaped literal name.
 */

const META = new Set(['.', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '\\']);

/** The pattern that matches exactly `channel`. */
export function exactPattern(channel: string): string {
  let out = '';
  for (const ch of channel) out += META.has(ch) ? `\\${ch}` : ch;
  return out;
}

/** The one channel name `pattern` matches when it is a plain (possibly escaped) literal, else `undefined`. */
export function literalChannel(pattern: string): string | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined;
      out += next;
      i++;
    } else if (META.has(ch)) {
      return undefined;
    } else {
      out += ch;
    }
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Compiles a channel pattern to a test of whole channel names.
 * @throws InvalidArgumentError when `pattern` is not a valid regular expression.
 */
export function compilePattern(pattern: string): (channel: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new InvalidArgumentError("A channel pattern must be a non-empty regular expression, e.g. '.*' or 'camera/.*'.");
  }
  const literal = literalChannel(pattern);
  if (literal !== undefined) return (channel) => channel === literal;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    throw new InvalidArgumentError(
      `Channel pattern ${JSON.stringify(pattern)} is not a valid regular expression (${(error as Error).message}); e.g. '.*' or 'camera/.*'.`,
    );
  }
  return (channel) => re.test(channel);
}
