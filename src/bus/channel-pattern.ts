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

/** The alternatives of `pattern` at its top level (not inside a group or a character class). */
function topLevelAlternatives(pattern: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let from = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') {
      inClass = true;
      // A `]` first in a class (after an optional `^`) is a literal.
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      out.push(pattern.slice(from, i));
      from = i + 1;
    }
  }
  out.push(pattern.slice(from));
  return out;
}

/** The literal text every name `alternative` matches begins with (escapes resolved). */
function literalPrefix(alternative: string): string {
  let prefix = '';
  for (let i = 0; i < alternative.length; i++) {
    const ch = alternative[i];
    const escaped = ch === '\\' && i + 1 < alternative.length && !/[A-Za-z0-9]/.test(alternative[i + 1]);
    if (!escaped && META.has(ch)) {
      // `ab?`, `ab*`, `ab{0,1}`: the character before a quantifier may be absent.
      if ('?*{'.includes(ch) && prefix.length > 0) prefix = prefix.slice(0, -1);
      return prefix;
    }
    if (escaped) i++;
    prefix += alternative[i];
  }
  return prefix;
}

/**
 * A pattern that matches every channel `pattern` matches (and maybe more) and that a
 * backtracking regular expression engine matches in time linear in the name: each top-level
 * alternative becomes its exact name when it is a literal, else its literal prefix followed by
 * `.*`. For patterns from untrusted peers (a pattern such as `(a+)+b` would otherwise hold the
 * process for minutes on one name); the peer filters what it receives by its own pattern.
 * @throws InvalidArgumentError when `pattern` is not a valid channel pattern.
 */
export function coveringPattern(pattern: string): string {
  compilePattern(pattern);
  const covers = new Set<string>();
  for (const alternative of topLevelAlternatives(pattern)) {
    const literal = literalChannel(alternative);
    covers.add(literal !== undefined ? exactPattern(literal) : `${exactPattern(literalPrefix(alternative))}.*`);
  }
  return [...covers].join('|');
}
