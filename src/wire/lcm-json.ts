import { isLcmPrimitive, lcmQualifiedName, lcmSizeMembers, type LcmMember, type LcmPrimitive, type LcmStruct } from './lcm-schema.js';

/**
 * The JSON form of LCM values, shared by `framebus echo`, `pub`, the viewer and recordings:
 * - an object per struct, one property per member except array length members;
 * - `int64_t` as a decimal string (JSON numbers lose precision past 2^53; ns timestamps are
 *   past it); other integers as numbers;
 * - `float`/`double` as numbers, except NaN and ±Infinity, which JSON lacks: `"NaN"`,
 *   `"Infinity"`, `"-Infinity"`;
 * - a byte array's last dimension as one base64 string (`byte data[n]` → `"AAEC"`,
 *   `byte tiles[r][4]` → `["AAECAw==", …]`);
 * - other arrays as JSON arrays.
 */

const NON_FINITE = ['NaN', 'Infinity', '-Infinity'];

function primitiveSchema(type: LcmPrimitive): object {
  switch (type) {
    case 'int64_t':
      return { type: 'string', pattern: '^-?[0-9]+$' };
    case 'int8_t':
    case 'int16_t':
    case 'int32_t':
      return { type: 'integer' };
    case 'float':
    case 'double':
      // A plain number type, which Foxglove lists and plots; the rare non-finite values come as strings.
      return { type: 'number', description: `${type}; NaN and ±Infinity as the strings ${NON_FINITE.map((n) => `"${n}"`).join(', ')}` };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'byte':
      return { type: 'integer', minimum: 0, maximum: 255 };
  }
}

function memberSchema(member: LcmMember, depth: number): object {
  const dims = member.dimensions ?? [];
  if (member.type === 'byte' && dims.length > 0) {
    const bytes = { type: 'string', contentEncoding: 'base64' };
    return dims.slice(1).reduce<object>((inner) => ({ type: 'array', items: inner }), bytes);
  }
  const element = isLcmPrimitive(member.type) ? primitiveSchema(member.type) : structSchema(member.type, depth + 1);
  return dims.reduceRight<object>((inner) => ({ type: 'array', items: inner }), element);
}

function structSchema(struct: LcmStruct, depth: number): object {
  // Recursive schemas are legal in LCM; past a few levels describe the rest loosely.
  if (depth > 8) return { type: 'object' };
  const sizes = lcmSizeMembers(struct);
  const members = struct.members.filter((m) => !sizes.has(m.name));
  return {
    title: lcmQualifiedName(struct),
    ...(struct.comment ? { description: struct.comment } : {}),
    type: 'object',
    properties: Object.fromEntries(
      members.map((m) => [m.name, m.comment ? { ...memberSchema(m, depth), description: m.comment } : memberSchema(m, depth)]),
    ),
    required: members.map((m) => m.name),
  };
}

/** The JSON Schema of an LCM struct's values in the JSON form {@link lcmValueToJson} gives. */
export function lcmJsonSchema(struct: LcmStruct): object {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...structSchema(struct, 0) };
}

/** A decoded LCM value in its JSON form (see the top of this module). */
export function lcmValueToJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(lcmValueToJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lcmValueToJson(v)]));
  }
  return value;
}
