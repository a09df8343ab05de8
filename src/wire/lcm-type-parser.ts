import { lexLcm, LcmTypeError, type LcmSourcePosition, type LcmToken } from './lcm-type-lexer.js';

/** A name or number in a `.lcm` file with where it was written. */
export interface LcmWord extends LcmSourcePosition {
  readonly text: string;
}

/** `const <type> <name> = <value>, …;` inside a struct, one entry per name. */
export interface LcmConstDeclaration {
  readonly type: LcmWord;
  readonly name: LcmWord;
  readonly value: LcmWord;
  readonly comment?: string;
}

/** `<type> <name>[<dim>]…;` inside a struct, one entry per name. */
export interface LcmMemberDeclaration {
  /** As written: a primitive, `name` (same package) or `package.name`. */
  readonly type: LcmWord;
  readonly name: LcmWord;
  /** Each dimension as written: a number, a `const` or an earlier member. */
  readonly dimensions: readonly LcmWord[];
  readonly comment?: string;
}

/** `struct <name> { … }` with the package in force where it was declared. */
export interface LcmStructDeclaration {
  readonly package: string;
  readonly name: LcmWord;
  readonly constants: readonly LcmConstDeclaration[];
  readonly members: readonly LcmMemberDeclaration[];
  readonly comment?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function describe(token: LcmToken | undefined): string {
  return token === undefined ? 'the end of the file' : JSON.stringify(token.text);
}

/** Reads tokens left to right; comments are set aside as the documentation of what follows. */
class TokenStream {
  private i = 0;
  private pendingComment: string | undefined;
  private readonly tokens: LcmToken[];

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.tokens = lexLcm(text, file);
  }

  /** The next non-comment token, without taking it. */
  peek(): LcmToken | undefined {
    while (this.i < this.tokens.length && this.tokens[this.i].kind === 'comment') {
      const c = this.tokens[this.i++].text;
      this.pendingComment = this.pendingComment === undefined ? c : `${this.pendingComment}\n${c}`;
    }
    return this.tokens[this.i];
  }

  /** Takes a comment on the same line right after the last token, if there is one. */
  takeTrailing(): string | undefined {
    const t = this.tokens[this.i];
    if (t?.kind !== 'comment' || !t.trailing) return undefined;
    this.i++;
    return t.text.trim() === '' ? undefined : t.text;
  }

  /** The comments read since the last call, joined. */
  takeComment(): string | undefined {
    this.peek();
    const c = this.pendingComment;
    this.pendingComment = undefined;
    return c === undefined || c.trim() === '' ? undefined : c;
  }

  /** Where the next token is, or the end of the file. */
  here(): LcmSourcePosition {
    const t = this.peek();
    if (t) return t;
    const last = this.tokens[this.tokens.length - 1];
    return last ? { file: this.file, line: last.line, column: last.column + last.text.length } : { file: this.file, line: 1, column: 1 };
  }

  fail(expected: string): never {
    throw new LcmTypeError(this.here(), `expected ${expected}, found ${describe(this.peek())}.`);
  }

  accept(punct: string): boolean {
    const t = this.peek();
    if (t?.kind !== 'punct' || t.text !== punct) return false;
    this.i++;
    return true;
  }

  expect(punct: string, what = JSON.stringify(punct)): void {
    if (!this.accept(punct)) this.fail(what);
  }

  /** A word matching `pattern`, described as `expected` in the error otherwise. */
  word(expected: string, pattern?: RegExp): LcmWord {
    const t = this.peek();
    if (t?.kind !== 'word' || (pattern && !pattern.test(t.text))) this.fail(expected);
    this.i++;
    return { file: t.file, line: t.line, column: t.column, text: t.text };
  }
}

function parseDimensions(s: TokenStream): LcmWord[] {
  const dims: LcmWord[] = [];
  while (s.accept('[')) {
    dims.push(s.word('an array length (a number, a const or an earlier integer member)'));
    s.expect(']', '"]" after the array length');
  }
  return dims;
}

function parseConst(s: TokenStream, comment: string | undefined, into: LcmConstDeclaration[]): void {
  const type = s.word('a const type (int8_t, int16_t, int32_t, int64_t, float or double)');
  const first = into.length;
  do {
    const name = s.word('a const name (letters, digits and _, not starting with a digit)', IDENTIFIER);
    s.expect('=', '"=" and the const value');
    const value = s.word('a const value (a number)');
    into.push({ type, name, value, comment });
  } while (s.accept(','));
  s.expect(';', '";" after the const declaration');
  const trailing = s.takeTrailing();
  if (trailing) for (let i = first; i < into.length; i++) into[i] = { ...into[i], comment: trailing };
}

function parseStruct(s: TokenStream, pkg: string, comment: string | undefined): LcmStructDeclaration {
  const name = s.word('a struct name (letters, digits and _, not starting with a digit)', IDENTIFIER);
  s.expect('{', '"{" to open the struct');
  const constants: LcmConstDeclaration[] = [];
  const members: LcmMemberDeclaration[] = [];
  for (;;) {
    const doc = s.takeComment();
    if (s.accept('}')) break;
    const first = s.word('a member type, "const" or "}"', DOTTED);
    if (first.text === 'const') {
      parseConst(s, doc, constants);
      continue;
    }
    if (first.text === 'struct' || first.text === 'enum') {
      throw new LcmTypeError(first, `expected a member type; a ${first.text} cannot be declared inside a struct.`);
    }
    const start = members.length;
    do {
      const member = s.word('a member name (letters, digits and _, not starting with a digit)', IDENTIFIER);
      members.push({ type: first, name: member, dimensions: parseDimensions(s), comment: doc });
    } while (s.accept(','));
    s.expect(';', '";" after the member');
    const trailing = s.takeTrailing();
    if (trailing) for (let i = start; i < members.length; i++) members[i] = { ...members[i], comment: trailing };
  }
  return { package: pkg, name, constants, members, comment };
}

/**
 * Parses one `.lcm` file: `package` statements and `struct` declarations with their members
 * and constants, as written (names are resolved by `resolveLcmStructs`). `file` names the
 * file in error messages.
 * @throws LcmTypeError at the first token that does not fit the grammar.
 */
export function parseLcmFile(text: string, file: string): LcmStructDeclaration[] {
  const s = new TokenStream(text, file);
  const structs: LcmStructDeclaration[] = [];
  let pkg = '';
  for (;;) {
    const doc = s.takeComment();
    if (s.peek() === undefined) return structs;
    const keyword = s.word('"package" or "struct"');
    if (keyword.text === 'package') {
      pkg = s.word('a package name such as "robot" or "robot.sensors"', DOTTED).text;
      s.expect(';', '";" after the package name');
    } else if (keyword.text === 'struct') {
      structs.push(parseStruct(s, pkg, doc));
    } else if (keyword.text === 'enum') {
      throw new LcmTypeError(keyword, 'expected "package" or "struct"; LCM enums are deprecated and not supported.');
    } else {
      throw new LcmTypeError(keyword, `expected "package" or "struct", found ${JSON.stringify(keyword.text)}.`);
    }
  }
}
