import { LcmTypeError } from './lcm-type-lexer.js';
import type { LcmConstDeclaration, LcmStructDeclaration, LcmWord } from './lcm-type-parser.js';
import {
  LCM_CONST_TYPES,
  LCM_PRIMITIVES,
  type LcmConstant,
  type LcmConstType,
  type LcmDimension,
  type LcmMember,
  type LcmPrimitive,
  type LcmStruct,
} from './lcm-schema.js';

const INTEGER_TYPES = new Set<string>(['int8_t', 'int16_t', 'int32_t', 'int64_t']);
const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int8_t: [-(1n << 7n), (1n << 7n) - 1n],
  int16_t: [-(1n << 15n), (1n << 15n) - 1n],
  int32_t: [-(1n << 31n), (1n << 31n) - 1n],
  int64_t: [-(1n << 63n), (1n << 63n) - 1n],
};
const FLOAT_MAX = 3.4028234663852886e38;
/** liblcm's C code holds array lengths in an `int`. */
const MAX_FIXED_LENGTH = 2 ** 31 - 1;

/** An integer as C's `strtoll(text, &end, 0)` reads it, whole text only: decimal, `0x` hex or `0` octal. */
export function parseCInteger(text: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2];
  const magnitude = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === '0' ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return m[1] === '-' ? -magnitude : magnitude;
}

function parseCFloat(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function qualify(pkg: string, name: string): string {
  return pkg ? `${pkg}.${name}` : name;
}

function constant(c: LcmConstDeclaration): LcmConstant {
  const type = c.type.text;
  if (!(LCM_CONST_TYPES as readonly string[]).includes(type)) {
    throw new LcmTypeError(c.type, `expected a const type (${LCM_CONST_TYPES.join(', ')}), found ${JSON.stringify(type)}.`);
  }
  const base = { name: c.name.text, type: type as LcmConstType, spelling: c.value.text, ...(c.comment ? { comment: c.comment } : {}) };
  if (INTEGER_TYPES.has(type)) {
    const v = parseCInteger(c.value.text);
    if (v === undefined) throw new LcmTypeError(c.value, `expected an integer value for ${type} (decimal, 0x hex or 0 octal), found ${JSON.stringify(c.value.text)}.`);
    const [min, max] = INTEGER_RANGES[type];
    if (v < min || v > max) throw new LcmTypeError(c.value, `expected a value in [${min}, ${max}] for ${type}, found ${c.value.text}.`);
    return { ...base, value: type === 'int64_t' ? v : Number(v) };
  }
  const v = parseCFloat(c.value.text);
  if (v === undefined) throw new LcmTypeError(c.value, `expected a floating point value for ${type}, found ${JSON.stringify(c.value.text)}.`);
  if (type === 'float' && Math.abs(v) > FLOAT_MAX) throw new LcmTypeError(c.value, `expected a value within the float range, found ${c.value.text}.`);
  if (!Number.isFinite(v)) throw new LcmTypeError(c.value, `expected a finite value for ${type}, found ${c.value.text}.`);
  return { ...base, value: v };
}

interface Building {
  readonly declaration: LcmStructDeclaration;
  readonly struct: LcmStruct & { members: LcmMember[] };
}

function dimension(word: LcmWord, constants: readonly LcmConstant[], earlier: readonly LcmMember[]): LcmDimension {
  if (/^[0-9]/.test(word.text)) {
    const n = parseCInteger(word.text);
    if (n === undefined || n <= 0n || n > BigInt(MAX_FIXED_LENGTH)) {
      throw new LcmTypeError(word, `expected an array length from 1 to ${MAX_FIXED_LENGTH}, found ${JSON.stringify(word.text)}.`);
    }
    return { fixed: Number(n), spelling: word.text };
  }
  const c = constants.find((k) => k.name === word.text);
  if (c) {
    if (!INTEGER_TYPES.has(c.type)) throw new LcmTypeError(word, `expected an integer const as array length; ${c.name} is ${c.type}.`);
    const n = BigInt(c.value);
    if (n <= 0n || n > BigInt(MAX_FIXED_LENGTH)) {
      throw new LcmTypeError(word, `expected an array length from 1 to ${MAX_FIXED_LENGTH}; const ${c.name} is ${c.spelling}.`);
    }
    // The LCM rule: a const length is a fixed length, hashed as the const's value text.
    return { fixed: Number(n), spelling: c.spelling, constant: c.name };
  }
  const m = earlier.find((e) => e.name === word.text);
  if (!m) {
    throw new LcmTypeError(word, `expected an array length: a number, a const or an integer member declared before; ${JSON.stringify(word.text)} is none of these.`);
  }
  if (m.dimensions?.length || !INTEGER_TYPES.has(m.type as string)) {
    throw new LcmTypeError(word, `expected an integer (int8_t … int64_t) scalar member as array length; ${m.name} is not one.`);
  }
  return { sizeMember: m.name };
}

/**
 * Turns parsed struct declarations (from any number of files) into `LcmStruct`s: member types
 * resolved by package (a plain name is in the declaring file's package), array lengths bound
 * to constants or earlier members, constants checked against their types. Structs may refer
 * to each other in any order and recursively.
 * @throws LcmTypeError naming the file, line and column of the first problem.
 */
export function resolveLcmStructs(declarations: readonly LcmStructDeclaration[]): LcmStruct[] {
  const byName = new Map<string, Building>();
  for (const d of declarations) {
    const name = qualify(d.package, d.name.text);
    if ((LCM_PRIMITIVES as readonly string[]).includes(d.name.text)) throw new LcmTypeError(d.name, `expected a struct name; ${d.name.text} is a primitive type.`);
    const prior = byName.get(name);
    if (prior) {
      const p = prior.declaration.name;
      throw new LcmTypeError(d.name, `expected a new type name; ${name} is already declared at ${p.file}:${p.line}:${p.column}.`);
    }
    const struct = { package: d.package, name: d.name.text, members: [] as LcmMember[], ...(d.comment ? { comment: d.comment } : {}) };
    byName.set(name, { declaration: d, struct });
  }
  for (const { declaration: d, struct } of byName.values()) {
    const constants: LcmConstant[] = [];
    const names = new Set<string>();
    const claim = (w: LcmWord): void => {
      if (names.has(w.text)) throw new LcmTypeError(w, `expected a new name; ${w.text} is already declared in ${qualify(d.package, d.name.text)}.`);
      names.add(w.text);
    };
    for (const c of d.constants) {
      claim(c.name);
      constants.push(constant(c));
    }
    if (constants.length > 0) (struct as { constants?: LcmConstant[] }).constants = constants;
    for (const m of d.members) {
      claim(m.name);
      const typeText = m.type.text;
      let type: LcmPrimitive | LcmStruct;
      if ((LCM_PRIMITIVES as readonly string[]).includes(typeText)) type = typeText as LcmPrimitive;
      else {
        const target = byName.get(typeText.includes('.') ? typeText : qualify(d.package, typeText));
        if (!target) {
          throw new LcmTypeError(m.type, `expected a primitive (${LCM_PRIMITIVES.join(', ')}) or a struct declared in the given files; ${JSON.stringify(typeText)} is neither.`);
        }
        type = target.struct;
      }
      const dimensions = m.dimensions.map((w) => dimension(w, constants, struct.members));
      struct.members.push({ name: m.name.text, type, ...(dimensions.length ? { dimensions } : {}), ...(m.comment ? { comment: m.comment } : {}) });
    }
  }
  return [...byName.values()].map((b) => b.struct);
}
