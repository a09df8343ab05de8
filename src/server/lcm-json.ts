import { isLcmPrimitive, lcmQualifiedName, lcmSizeMembers, type LcmMember, type LcmPrimitive, type LcmStruct } from '../wire/lcm-schema.js';

/**
 * How LCM messages look as JSON for viewers: 64-bit integers become decimal strings (JSON
 * numbers lose precision past 2^53, and ns timestamps are past it), byte arrays base64
 * strings, everything else as is.
 */

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
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'byte':
      return { type: 'integer', minimum: 0, maximum: 255 };
  }
}

function memberSchema(member: LcmMember, depth: number): object {
  const element = isLcmPrimitive(member.type) ? primitiveSchema(member.type) : structSchema(member.type, depth + 1);
  const dims = member.dimensions ?? [];
  if (dims.length === 1 && member.type === 'byte') return { type: 'string', contentEncoding: 'base64' };
  return dims.reduceRight<object>((inner) => ({ type: 'array', items: inner }), element);
}

function structSchema(struct: LcmStruct, depth: number): object {
  // Recursive schemas are legal in LCM; past a few levels describe the rest loosely.
  if (depth > 8) return { type: 'object' };
  const sizes = lcmSizeMembers(struct);
  const members = struct.members.filter((m) => !sizes.has(m.name));
  return {
    title: lcmQualifiedName(struct),
    type: 'object',
    properties: Object.fromEntries(members.map((m) => [m.name, memberSchema(m, depth)])),
    required: members.map((m) => m.name),
  };
}

/** The JSON Schema of an LCM struct's values in the JSON form {@link lcmValueToJson} gives. */
export function lcmJsonSchema(struct: LcmStruct): object {
  return structSchema(struct, 0);
}

/** A decoded LCM value in its JSON form: bigints as decimal strings, byte arrays as base64. */
export function lcmValueToJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(lcmValueToJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lcmValueToJson(v)]));
  }
  return value;
}
