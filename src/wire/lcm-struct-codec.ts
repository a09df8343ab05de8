import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { LcmReader, LcmWriter, lcmStringSize } from './lcm-encoding.js';
import { lcmFingerprint } from './lcm-fingerprint.js';
import {
  isLcmPrimitive,
  lcmQualifiedName,
  lcmSizeMembers,
  validateLcmStruct,
  type LcmDimension,
  type LcmMember,
  type LcmPrimitive,
  type LcmStruct,
} from './lcm-schema.js';
import type { MessageType } from './message-type.js';

export type { LcmMember, LcmStruct } from './lcm-schema.js';

/** A `MessageType` whose encoding is the LCM encoding of `struct`. */
export interface LcmMessageType<T> extends MessageType<T> {
  /** The schema this type encodes, as declared in its `.lcm` file. */
  readonly struct: LcmStruct;
}

/** Nesting deeper than this can only come from a recursive schema fed hostile bytes. */
const MAX_NESTING = 64;
/** liblcm's generated C code holds array lengths in an `int`. */
const MAX_LENGTH = 2 ** 31 - 1;

const FIXED_SIZES: Partial<Record<LcmPrimitive, number>> = {
  int8_t: 1,
  boolean: 1,
  byte: 1,
  int16_t: 2,
  int32_t: 4,
  float: 4,
  int64_t: 8,
  double: 8,
};
/** The smallest string: an int32 length of 1 and the NUL. */
const MIN_STRING_SIZE = 5;

type Fields = Record<string, unknown>;
type Lengths = Map<string, number>;

interface CompiledMember {
  readonly name: string;
  readonly type: LcmPrimitive | LcmStruct;
  readonly dimensions: readonly LcmDimension[];
  /** `package.struct.member`, for error messages. */
  readonly label: string;
  /** True for a member that holds an array length and is not part of the value. */
  readonly isLength: boolean;
}

interface CompiledStruct {
  readonly name: string;
  readonly members: readonly CompiledMember[];
}

/**
 * Encodes and decodes values of one LCM struct (and the structs nested in it) by walking its
 * schema. Values are plain objects keyed by member name, without the array length members:
 * int8/16/32, float and double are `number`, int64 is `bigint`, byte is `number` and a
 * one-dimensional byte array is a `Uint8Array`, other arrays are JS arrays.
 */
class LcmStructCodec {
  private readonly compiled = new Map<LcmStruct, CompiledStruct>();
  private readonly minSizes = new Map<LcmStruct, number>();

  compile(struct: LcmStruct): CompiledStruct {
    let c = this.compiled.get(struct);
    if (c) return c;
    validateLcmStruct(struct);
    const name = lcmQualifiedName(struct);
    const lengths = lcmSizeMembers(struct);
    const members = struct.members.map(
      (m: LcmMember): CompiledMember => ({
        name: m.name,
        type: m.type,
        dimensions: m.dimensions ?? [],
        label: `${name}.${m.name}`,
        isLength: lengths.has(m.name),
      }),
    );
    c = { name, members };
    this.compiled.set(struct, c);
    for (const m of members) if (!isLcmPrimitive(m.type)) this.compile(m.type);
    return c;
  }

  // ---- encoding: a sizing pass, then a writing pass into an exact buffer ----

  structSize(struct: LcmStruct, value: unknown, label: string, depth: number): number {
    const c = this.compile(struct);
    const fields = this.fields(value, label, depth);
    const lengths = this.lengths(c, fields);
    let size = 0;
    for (const m of c.members) {
      size += m.isLength ? FIXED_SIZES[m.type as LcmPrimitive]! : this.valueSize(m, fields[m.name], 0, lengths, depth);
    }
    return size;
  }

  writeStruct(w: LcmWriter, struct: LcmStruct, value: unknown, depth: number): void {
    const c = this.compile(struct);
    const fields = value as Fields;
    const lengths = this.lengths(c, fields);
    for (const m of c.members) {
      if (m.isLength) {
        const n = lengths.get(m.name) ?? 0;
        this.writePrimitive(w, m.type as LcmPrimitive, m.type === 'int64_t' ? BigInt(n) : n, m.label);
      }
      else this.writeValue(w, m, fields[m.name], 0, lengths, depth);
    }
  }

  private fields(value: unknown, label: string, depth: number): Fields {
    if (depth > MAX_NESTING) throw new InvalidArgumentError(`${label} nests deeper than ${MAX_NESTING} levels.`);
    if (typeof value !== 'object' || value === null) {
      throw new InvalidArgumentError(`${label} must be an object, got ${value === null ? 'null' : typeof value}.`);
    }
    return value as Fields;
  }

  /** The length each length member must carry, read off the arrays that use it. */
  private lengths(c: CompiledStruct, fields: Fields): Lengths {
    const lengths: Lengths = new Map();
    const visit = (m: CompiledMember, v: unknown, dim: number): void => {
      const d = m.dimensions[dim];
      if (!(Array.isArray(v) || v instanceof Uint8Array)) {
        throw new InvalidArgumentError(`${m.label} must be an array (dimension ${dim + 1} of ${m.dimensions.length}).`);
      }
      if ('fixed' in d) {
        if (v.length !== d.fixed) {
          throw new InvalidArgumentError(`${m.label} must have ${d.fixed} elements in dimension ${dim + 1}, got ${v.length}.`);
        }
      } else {
        const known = lengths.get(d.sizeMember);
        if (known === undefined) lengths.set(d.sizeMember, v.length);
        else if (known !== v.length) {
          throw new InvalidArgumentError(
            `${m.label} has ${v.length} elements in dimension ${dim + 1}, but ${d.sizeMember} is already ${known} from another array.`,
          );
        }
      }
      if (dim + 1 < m.dimensions.length) for (const e of v as unknown[]) visit(m, e, dim + 1);
    };
    for (const m of c.members) if (m.dimensions.length > 0) visit(m, fields[m.name], 0);
    return lengths;
  }

  private valueSize(m: CompiledMember, v: unknown, dim: number, lengths: Lengths, depth: number): number {
    if (dim === m.dimensions.length) return this.scalarSize(m, v, depth);
    const items = v as ArrayLike<unknown>;
    const fixed = isLcmPrimitive(m.type) ? FIXED_SIZES[m.type] : undefined;
    if (fixed !== undefined && dim === m.dimensions.length - 1) return items.length * fixed;
    let size = 0;
    for (let i = 0; i < items.length; i++) size += this.valueSize(m, items[i], dim + 1, lengths, depth);
    return size;
  }

  private scalarSize(m: CompiledMember, v: unknown, depth: number): number {
    if (!isLcmPrimitive(m.type)) return this.structSize(m.type, v, m.label, depth + 1);
    if (m.type === 'string') return lcmStringSize(v as string, m.label);
    return FIXED_SIZES[m.type]!;
  }

  private writeValue(w: LcmWriter, m: CompiledMember, v: unknown, dim: number, lengths: Lengths, depth: number): void {
    if (dim === m.dimensions.length) {
      if (isLcmPrimitive(m.type)) this.writePrimitive(w, m.type, v, m.label);
      else this.writeStruct(w, m.type, v, depth + 1);
      return;
    }
    if (m.type === 'byte' && dim === m.dimensions.length - 1 && v instanceof Uint8Array) {
      w.raw(v, m.label);
      return;
    }
    const items = v as ArrayLike<unknown>;
    for (let i = 0; i < items.length; i++) this.writeValue(w, m, items[i], dim + 1, lengths, depth);
  }

  private writePrimitive(w: LcmWriter, type: LcmPrimitive, v: unknown, label: string): void {
    switch (type) {
      case 'int8_t':
        return w.int8(v as number, label);
      case 'int16_t':
        return w.int16(v as number, label);
      case 'int32_t':
        return w.int32(v as number, label);
      case 'int64_t':
        return w.int64(v as bigint, label);
      case 'float':
        return w.float(v as number, label);
      case 'double':
        return w.double(v as number, label);
      case 'boolean':
        return w.boolean(v as boolean, label);
      case 'byte':
        return w.byte(v as number, label);
      case 'string':
        return w.string(v as string);
    }
  }

  // ---- decoding ----

  readStruct(r: LcmReader, struct: LcmStruct, depth: number): Fields {
    const c = this.compile(struct);
    if (depth > MAX_NESTING) throw new MalformedDataError(`${r.what}: ${c.name} nests deeper than ${MAX_NESTING} levels.`);
    const fields: Fields = {};
    const lengths: Lengths = new Map();
    for (const m of c.members) {
      if (m.isLength) lengths.set(m.name, this.readLength(r, m));
      else {
        if (m.dimensions.length > 0) this.checkArrayFits(r, m, lengths);
        fields[m.name] = this.readValue(r, m, 0, lengths, depth);
      }
    }
    return fields;
  }

  private readLength(r: LcmReader, m: CompiledMember): number {
    const raw = this.readPrimitive(r, m.type as LcmPrimitive, m.label) as number | bigint;
    if (raw < 0 || raw > MAX_LENGTH) {
      throw new MalformedDataError(`${r.what}: array length ${m.label} = ${String(raw)} is out of range.`);
    }
    return Number(raw);
  }

  /**
   * Refuses an array whose declared lengths need more bytes than remain, before anything is
   * allocated for it: every element takes at least its type's minimum size.
   */
  private checkArrayFits(r: LcmReader, m: CompiledMember, lengths: Lengths): void {
    let count = 1;
    for (const d of m.dimensions) {
      count *= 'fixed' in d ? d.fixed : lengths.get(d.sizeMember)!;
      // Even elements that take no bytes cost memory once allocated.
      if (count > r.remaining) break;
    }
    const needed = count * Math.max(1, this.minSize(m.type));
    if (needed > r.remaining) {
      const dims = m.dimensions.map((d) => ('fixed' in d ? d.fixed : `${d.sizeMember}=${lengths.get(d.sizeMember)}`));
      throw new MalformedDataError(
        `${r.what}: ${m.label}[${dims.join('][')}] needs at least ${needed} bytes but only ${r.remaining} remain.`,
      );
    }
  }

  private minSize(type: LcmPrimitive | LcmStruct): number {
    if (isLcmPrimitive(type)) return type === 'string' ? MIN_STRING_SIZE : FIXED_SIZES[type]!;
    const known = this.minSizes.get(type);
    if (known !== undefined) return known;
    // Provisional 0 ends the recursion for a struct that contains itself.
    this.minSizes.set(type, 0);
    let size = 0;
    for (const m of type.members) {
      let count = 1;
      for (const d of m.dimensions ?? []) count *= 'fixed' in d ? d.fixed : 0;
      size += count * this.minSize(m.type);
    }
    this.minSizes.set(type, size);
    return size;
  }

  private readValue(r: LcmReader, m: CompiledMember, dim: number, lengths: Lengths, depth: number): unknown {
    if (dim === m.dimensions.length) {
      return isLcmPrimitive(m.type) ? this.readPrimitive(r, m.type, m.label) : this.readStruct(r, m.type, depth + 1);
    }
    const d = m.dimensions[dim];
    const n = 'fixed' in d ? d.fixed : lengths.get(d.sizeMember)!;
    if (m.type === 'byte' && dim === m.dimensions.length - 1) return r.raw(n, m.label);
    const items = new Array<unknown>(n);
    for (let i = 0; i < n; i++) items[i] = this.readValue(r, m, dim + 1, lengths, depth);
    return items;
  }

  private readPrimitive(r: LcmReader, type: LcmPrimitive, label: string): unknown {
    switch (type) {
      case 'int8_t':
        return r.int8(label);
      case 'int16_t':
        return r.int16(label);
      case 'int32_t':
        return r.int32(label);
      case 'int64_t':
        return r.int64(label);
      case 'float':
        return r.float(label);
      case 'double':
        return r.double(label);
      case 'boolean':
        return r.boolean(label);
      case 'byte':
        return r.byte(label);
      case 'string':
        return r.string(label);
    }
  }
}

/**
 * A `MessageType` for an LCM struct: fingerprint and encoding exactly as `lcm-gen`'s
 * generated code produces them (8-byte big-endian fingerprint, then the members in order,
 * big-endian, nested structs inline without fingerprints).
 *
 * `T` must match the schema: one property per member except array length members, which
 * the encoder fills in from the arrays. Decoded byte arrays are views into the input bytes.
 * @throws InvalidArgumentError when the schema is not a valid LCM struct.
 */
export function lcmMessageType<T>(struct: LcmStruct): LcmMessageType<T> {
  const codec = new LcmStructCodec();
  const name = codec.compile(struct).name;
  const fingerprint = lcmFingerprint(struct);
  return {
    name,
    fingerprint,
    struct,
    encode(value: T): Uint8Array {
      const w = new LcmWriter(8 + codec.structSize(struct, value, name, 0));
      w.uint64(fingerprint);
      codec.writeStruct(w, struct, value, 0);
      return w.bytes;
    },
    decode(bytes: Uint8Array): T {
      if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${name}.decode needs a Uint8Array.`);
      const r = new LcmReader(bytes, name);
      const got = r.uint64('fingerprint');
      if (got !== fingerprint) {
        throw new MalformedDataError(
          `Not a ${name}: fingerprint expected 0x${fingerprint.toString(16).padStart(16, '0')}, got 0x${got.toString(16).padStart(16, '0')}.`,
        );
      }
      const value = codec.readStruct(r, struct, 0);
      if (r.remaining !== 0) {
        throw new MalformedDataError(`${name}: ${r.remaining} unexpected bytes after the end of the message.`);
      }
      return value as T;
    },
  };
}

/**
 * Like {@link lcmMessageType}, for a struct whose `members` is a getter that may only be read
 * once every module has loaded: generated modules of mutually recursive types import each
 * other. The members are read (and the fingerprint computed) on first use.
 */
export function lazyLcmMessageType<T>(struct: LcmStruct): LcmMessageType<T> {
  let real: LcmMessageType<T> | undefined;
  const get = (): LcmMessageType<T> => (real ??= lcmMessageType<T>(struct));
  return {
    name: lcmQualifiedName(struct),
    struct,
    get fingerprint() {
      return get().fingerprint;
    },
    encode: (value) => get().encode(value),
    decode: (bytes) => get().decode(bytes),
  };
}
