import { MalformedDataError } from '../core/errors.js';

/** Where in a `.lcm` file something is: 1-based line and column (UTF-16 units). */
export interface LcmSourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A `.lcm` file that does not parse or does not make sense (an unknown type, a length that is
 * not an earlier integer member, …). The message starts `file:line:column:` and says what was
 * expected there.
 */
export class LcmTypeError extends MalformedDataError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(at: LcmSourcePosition, message: string) {
    super(`${at.file}:${at.line}:${at.column}: ${message}`);
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
  }
}

/**
 * One token of a `.lcm` file. `word` is anything between white space and punctuation:
 * keywords, (dotted) names and numbers; `punct` is one of `{ } [ ] ; , =`; `comment` is the
 * text of a `//`, `///` or `/* *\/` comment, markers and leading spaces removed.
 */
export interface LcmToken extends LcmSourcePosition {
  readonly kind: 'word' | 'punct' | 'comment';
  readonly text: string;
  /** A comment after code on the same line (documents that code, not what follows). */
  readonly trailing?: boolean;
}

const PUNCT = new Set(['{', '}', '[', ']', ';', ',', '=', '(', ')']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** Strips a block comment's leading `*` column and surrounding blank lines. */
function blockCommentText(body: string): string {
  const lines = body.split('\n').map((l) => l.replace(/^\s*\*+ ?/, '').trim());
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n');
}

/**
 * Splits a `.lcm` file into tokens, as `lcm-gen`'s tokenizer does (comments kept, for the
 * documentation of the next declaration).
 * @throws LcmTypeError for a `/*` comment that never ends.
 */
export function lexLcm(text: string, file: string): LcmToken[] {
  const tokens: LcmToken[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (index: number): LcmSourcePosition => ({ file, line, column: index - lineStart + 1 });
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const start = at(i);
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      const body = text.slice(i, end).replace(/^\/+ */, '').trimEnd();
      const previous = tokens[tokens.length - 1];
      tokens.push({ kind: 'comment', text: body, ...start, ...(previous && previous.kind !== 'comment' && previous.line === line ? { trailing: true } : {}) });
      i = end;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const start = at(i);
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new LcmTypeError(start, 'expected "*/" to close this comment before the end of the file.');
      const body = text.slice(i + 2, end);
      tokens.push({ kind: 'comment', text: blockCommentText(body), ...start });
      for (let j = i; j < end; j++) {
        if (text[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
      }
      i = end + 2;
      continue;
    }
    if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, ...at(i) });
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && !isSpace(text[i]) && !PUNCT.has(text[i]) && !(text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))) i++;
    tokens.push({ kind: 'word', text: text.slice(start, i), ...at(start) });
  }
  return tokens;
}
