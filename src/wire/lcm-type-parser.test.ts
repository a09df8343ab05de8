import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { findLcmFiles, lcmTypesFromSources } from './lcm-types.js';
import { LcmTypeError } from './lcm-type-lexer.js';

const REPO = path.resolve(import.meta.dirname, '../..');

function parse(text: string): ReturnType<typeof lcmTypesFromSources> {
  return lcmTypesFromSources([{ file: 'bad.lcm', text }]);
}

function fails(text: string, line: number, column: number, message: RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => {
      assert.ok(error instanceof LcmTypeError, `${String(error)}`);
      assert.deepEqual([error.file, error.line, error.column], ['bad.lcm', line, column], error.message);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`bad.lcm:${line}:${column}: expected `), error.message);
      return true;
    },
  );
}

test('the LCM type language: every construct parses into the struct lcm-gen would build', () => {
  const types = parse(`
    // line comment
    /// doc comment for pkg
    package a.b;
    /* block
     * comment */
    struct point_t { double x, y; int8_t n; int16_t z[n][0x2]; }
    struct outer_t {
      const int64_t BIG = 0x7fffffffffffffff;
      const double E = -1.5e+3;
      const int32_t N = 010;  /// trailing doc
      a.b.point_t points[N];
      point_t one;
      string s; boolean ok; byte raw; float f; int32_t count; int64_t big[count];
    }
  `);
  const outer = types.get('a.b.outer_t').struct;
  assert.deepEqual(
    outer.constants?.map((c) => [c.name, c.value, c.spelling, c.comment]),
    [
      ['BIG', 0x7fffffffffffffffn, '0x7fffffffffffffff', undefined],
      ['E', -1500, '-1.5e+3', undefined],
      ['N', 8, '010', 'trailing doc'],
    ],
  );
  assert.deepEqual(outer.members[0].dimensions, [{ fixed: 8, spelling: '010', constant: 'N' }]);
  assert.equal(outer.members[0].type, types.get('point_t').struct);
  assert.deepEqual(types.get('point_t').struct.members.map((m) => m.name), ['x', 'y', 'n', 'z']);
});

test('.lcm errors name file, line and column and say what was expected', () => {
  fails('struct a_t { int32_t x }', 1, 24, /expected ";" after the member, found "}"/);
  fails('package p;\nstruct a_t {\n  int32_t x;\n  foo_t y;\n}', 4, 3, /"foo_t" is neither/);
  fails('struct a_t {\n  byte data[size];\n  int32_t size;\n}', 2, 13, /integer member declared before/);
  fails('struct a_t { double d; byte b[d]; }', 1, 31, /integer \(int8_t … int64_t\) scalar member/);
  fails('struct a_t { int32_t x; string x; }', 1, 32, /x is already declared/);
  fails('struct a_t { const int8_t C = 200; }', 1, 31, /\[-128, 127\] for int8_t, found 200/);
  fails('struct a_t { const float C = 1e39; }', 1, 30, /float range/);
  fails('struct a_t { const double C = 0x10; }', 1, 31, /floating point value/);
  fails('struct a_t { const string C = 1; }', 1, 20, /const type/);
  fails('struct a_t { const double C = 1.5; int8_t v[C]; }', 1, 45, /integer const as array length/);
  fails('struct a_t { int8_t v[0]; }', 1, 23, /array length from 1/);
  fails('struct a_t { int8_t v[2; }', 1, 24, /"]" after the array length/);
  fails('struct a_t {\n  /* never closed\n', 2, 3, /"\*\/" to close this comment/);
  fails('enum e_t { A, B }', 1, 1, /enums are deprecated/);
  fails('struct 9_t { }', 1, 8, /struct name/);
  fails('struct a_t { int32_t x; }\nstruct a_t { int32_t y; }', 2, 8, /already declared at bad\.lcm:1:8/);
  fails('struct a_t { int32_t x;', 1, 24, /found the end of the file/);
  fails('hello', 1, 1, /expected "package" or "struct", found "hello"/);
});

test('types that nest others twice at 60 levels load at once (lcm-gen’s hash walk is exponential there)', () => {
  const structs = Array.from({ length: 60 }, (_, i) => `struct t${i}_t { ${i === 59 ? 'int8_t leaf;' : `t${i + 1}_t a; t${i + 1}_t b;`} }`);
  const types = parse(`package deep;\n${structs.join('\n')}`);
  assert.equal(types.types.length, 60);
  assert.equal(typeof types.get('deep.t0_t').fingerprint, 'bigint');
});

/** A text edit: delete, insert or replace a span, or duplicate one elsewhere. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom('{', '}', '[', ']', ';', ',', '=', '/*', '*/', '//', '\n', ' ', 'struct', 'package', 'const', 'int8_t', 'x', '0x', '-', '.', '9', 'a.b.c_t', 'string'),
      fc.string({ maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 40 }), to: fc.nat() }),
);

function apply(text: string, edits: readonly unknown[]): string {
  for (const e of edits as ({ kind: 'delete'; at: number; length: number } | { kind: 'insert'; at: number; text: string } | { kind: 'duplicate'; from: number; length: number; to: number })[]) {
    const n = text.length + 1;
    if (e.kind === 'delete') text = text.slice(0, e.at % n) + text.slice((e.at % n) + e.length);
    else if (e.kind === 'insert') text = text.slice(0, e.at % n) + e.text + text.slice(e.at % n);
    else {
      const piece = text.slice(e.from % n, (e.from % n) + e.length);
      text = text.slice(0, e.to % n) + piece + text.slice(e.to % n);
    }
  }
  return text;
}

test('1,200 mutated .lcm files: each loads or fails with an LcmTypeError at a position inside the file', async () => {
  const files = await findLcmFiles([path.join(REPO, 'lcm'), path.join(REPO, 'test/lcm')]);
  const corpus = await Promise.all(files.map(async (f) => ({ file: path.basename(f), text: await readFile(f, 'utf8') })));
  assert.ok(corpus.length >= 8);
  let loaded = 0;
  fc.assert(
    fc.property(fc.constantFrom(...corpus), fc.array(edit, { minLength: 1, maxLength: 4 }), (source, edits) => {
      const text = apply(source.text, edits);
      // The other files stay intact, so cross-file references still resolve when the edit spares them.
      const others = corpus.filter((c) => c !== source);
      try {
        const types = lcmTypesFromSources([...others, { file: source.file, text }]);
        for (const t of types.types) t.fingerprint.toString(16);
        loaded++;
      } catch (error) {
        if (!(error instanceof LcmTypeError)) throw error;
        const lines = (error.file === source.file ? text : others.find((o) => o.file === error.file)!.text).split('\n');
        assert.ok(error.line >= 1 && error.line <= lines.length, error.message);
        assert.ok(error.column >= 1 && error.column <= lines[error.line - 1].length + 1, error.message);
        assert.match(error.message, /^[\w.-]+:\d+:\d+: expected /);
      }
    }),
    { numRuns: 1200, seed: 20261201 },
  );
  // The corpus exercises both outcomes.
  assert.ok(loaded > 50 && loaded < 1150, `${loaded} of 1200 mutations loaded`);
});
