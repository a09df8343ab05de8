import { InvalidArgumentError } from '../core/errors.js';
import { isLcmPrimitive, lcmQualifiedName, lcmSizeMembers, type LcmDimension, type LcmMember, type LcmPrimitive, type LcmStruct } from './lcm-schema.js';

/**
 * JSON in, LCM values out: the inverse of `lcmValueToJson` (see lcm-json.ts for the form),
 * a little more lenient, as people type it: `int64_t` also as a JSON number when it is a safe
 * integer, byte arrays also as arrays of numbers, array length members optional (checked
 * against the arrays when given).
 */

const INT_RANGES: Partial<Record<LcmPrimitive, [number, number]>> = {
  int8_t: [-128, 127],
  int16_t: [-32768, 32767],
  int32_t: [-(2 ** 31), 2 ** 31 - 1],
  byte: [0, 255],
};
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const FLOAT_MAX = 3.4028234663852886e38;
const MAX_DEPTH = 64;

function show(v: unknown): string {
  const text = JSON.stringify(v);
  if (text === undefined) return String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function misfit(field: string, expected: string, got: unknown): never {
  throw new InvalidArgumentError(`${field}: expected ${expected}, got ${show(got)}.`);
}

function primitive(type: LcmPrimitive, v: unknown, field: string): unknown {
  const range = INT_RANGES[type];
  if (range) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) misfit(field, `an integer from ${range[0]} to ${range[1]} (${type})`, v);
    return v;
  }
  switch (type) {
    case 'int64_t': {
      let n: bigint | undefined;
      if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
      else if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) n = BigInt(v);
      if (n === undefined || n < INT64_MIN || n > INT64_MAX) misfit(field, 'an int64_t: a decimal string such as "-42", or a JSON number up to 2^53', v);
      return n;
    }
    case 'float':
    case 'double': {
      const n = typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v) ? Number(v) : v;
      if (typeof n !== 'number') misfit(field, `a number (${type}; "NaN", "Infinity" and "-Infinity" as strings)`, v);
      if (type === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) misfit(field, 'a number within the float range (±3.4e38)', v);
      return n;
    }
    case 'boolean':
      if (typeof v !== 'boolean') misfit(field, 'true or false', v);
      return v;
    case 'string':
      if (typeof v !== 'string') misfit(field, 'a string', v);
      if (v.includes('\0')) misfit(field, 'a string without NUL characters', v);
      return v;
  }
  return v;
}

function bytes(v: unknown, field: string): Uint8Array {
  if (typeof v === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) misfit(field, 'bytes as a base64 string or an array of integers 0-255', v);
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (!Array.isArray(v)) misfit(field, 'bytes as a base64 string or an array of integers 0-255', v);
  return Uint8Array.from(v.map((b, i) => primitive('byte', b, `${field}[${i}]`) as number));
}

class Converter {
  private lengths = new Map<string, number>();

  constructor(private depth: number) {}

  struct(struct: LcmStruct, json: unknown, field: string): Record<string, unknown> {
    if (this.depth > MAX_DEPTH) throw new InvalidArgumentError(`${field}: nests deeper than ${MAX_DEPTH} levels.`);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) misfit(field, `an object (${lcmQualifiedName(struct)})`, json);
    const input = json as Record<string, unknown>;
    const sizes = lcmSizeMembers(struct);
    const names = new Set(struct.members.map((m) => m.name));
    for (const key of Object.keys(input)) {
      if (!names.has(key)) {
        const fields = struct.members.filter((m) => !sizes.has(m.name)).map((m) => m.name);
        throw new InvalidArgumentError(`${field}.${key}: ${lcmQualifiedName(struct)} has no member ${key}; its members are ${fields.join(', ') || 'none'}.`);
      }
    }
    const saved = this.lengths;
    this.lengths = new Map();
    const out: Record<string, unknown> = {};
    for (const m of struct.members) {
      if (sizes.has(m.name)) continue;
      const path = `${field}.${m.name}`;
      if (!(m.name in input)) throw new InvalidArgumentError(`${path}: missing (${describe(m)}).`);
      out[m.name] = this.member(m, input[m.name], path, 0);
    }
    for (const name of sizes) {
      const given = input[name];
      const derived = this.lengths.get(name) ?? 0;
      if (given !== undefined && given !== derived && given !== String(derived)) {
        throw new InvalidArgumentError(`${field}.${name}: is ${show(given)}, but the arrays it sizes have ${derived} elements (leave it out: it is derived).`);
      }
    }
    this.lengths = saved;
    return out;
  }

  private member(m: LcmMember, v: unknown, field: string, dim: number): unknown {
    const dims = m.dimensions ?? [];
    if (dim === dims.length) {
      if (isLcmPrimitive(m.type)) return primitive(m.type, v, field);
      this.depth++;
      try {
        return new Converter(this.depth).struct(m.type, v, field);
      } finally {
        this.depth--;
      }
    }
    const d = dims[dim];
    const last = dim === dims.length - 1;
    const items = m.type === 'byte' && last ? bytes(v, field) : v;
    if (!(Array.isArray(items) || items instanceof Uint8Array)) misfit(field, `an array (dimension ${dim + 1} of ${dims.length})`, v);
    this.checkLength(d, items.length, field);
    if (items instanceof Uint8Array) return items;
    return items.map((e, i) => this.member(m, e, `${field}[${i}]`, dim + 1));
  }

  private checkLength(d: LcmDimension, n: number, field: string): void {
    if ('fixed' in d) {
      if (n !== d.fixed) throw new InvalidArgumentError(`${field}: expected ${d.fixed} elements, got ${n}.`);
      return;
    }
    const known = this.lengths.get(d.sizeMember);
    if (known === undefined) this.lengths.set(d.sizeMember, n);
    else if (known !== n) throw new InvalidArgumentError(`${field}: has ${n} elements, but another array sized by ${d.sizeMember} has ${known}.`);
  }
}

function describe(m: LcmMember): string {
  const type = isLcmPrimitive(m.type) ? m.type : lcmQualifiedName(m.type);
  const dims = (m.dimensions ?? []).map((d) => `[${'fixed' in d ? d.fixed : d.sizeMember}]`).join('');
  return `${type}${dims}`;
}

/**
 * Converts JSON (parsed, e.g. from `JSON.parse`) into a value of `struct` that its
 * `MessageType` encodes.
 * @throws InvalidArgumentError naming the first field that does not fit, e.g.
 *   `twist_t.linear[2]: expected a number (double…), got "fast".`
 */
export function lcmValueFromJson(struct: LcmStruct, json: unknown): Record<string, unknown> {
  return new Converter(0).struct(struct, json, struct.name);
}
