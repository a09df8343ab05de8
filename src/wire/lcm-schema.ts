import { InvalidArgumentError } from '../core/errors.js';

/** The primitive types of the LCM type language, spelled as in `.lcm` files. */
export const LCM_PRIMITIVES = [
  'int8_t',
  'int16_t',
  'int32_t',
  'int64_t',
  'float',
  'double',
  'string',
  'boolean',
  'byte',
] as const;
export type LcmPrimitive = (typeof LCM_PRIMITIVES)[number];

/**
 * One array dimension of a member: a fixed length (`double linear[3]`, or `double cov[N]`
 * with `const int32_t N = 9;` in the struct) or the name of an earlier integer member that
 * holds the length (`byte data[data_size]`).
 */
export type LcmDimension =
  | {
      readonly fixed: number;
      /**
       * The text `lcm-gen` hashes into the fingerprint: the literal as written (`0x10` is not
       * `16`) or the value text of the named constant. Default `String(fixed)`.
       */
      readonly spelling?: string;
      /** The `const` that gave the length, when one did. */
      readonly constant?: string;
    }
  | { readonly sizeMember: string };

/** The types a `const` declaration may have. */
export const LCM_CONST_TYPES = ['int8_t', 'int16_t', 'int32_t', 'int64_t', 'float', 'double'] as const;
export type LcmConstType = (typeof LCM_CONST_TYPES)[number];

/** A `const` declared in a struct: part of the type's API, not of its encoding or fingerprint. */
export interface LcmConstant {
  readonly name: string;
  readonly type: LcmConstType;
  /** The value: a `bigint` for `int64_t`, a `number` otherwise. */
  readonly value: number | bigint;
  /** The value as written in the `.lcm` file, e.g. `0x1F`. */
  readonly spelling: string;
  /** The comment written just before it, if any. */
  readonly comment?: string;
}

/** One member of an LCM struct, in declaration order. */
export interface LcmMember {
  readonly name: string;
  /** A primitive, or another struct (nested: encoded inline without its fingerprint). */
  readonly type: LcmPrimitive | LcmStruct;
  /** Array dimensions, outermost first; empty or absent for a scalar. */
  readonly dimensions?: readonly LcmDimension[];
  /** The comment written just before it, if any. */
  readonly comment?: string;
}

/**
 * An LCM struct as declared in a `.lcm` file. Members may refer to other structs, even
 * cyclically (build the member arrays first, then fill them in).
 */
export interface LcmStruct {
  /** The `package` of the `.lcm` file, e.g. `'framebus'`; empty for none. */
  readonly package: string;
  /** The struct name, e.g. `'video_packet_t'`. */
  readonly name: string;
  readonly members: readonly LcmMember[];
  /** Its `const` declarations, in order; absent for none. */
  readonly constants?: readonly LcmConstant[];
  /** The comment written just before it, if any. */
  readonly comment?: string;
}

/** `package.name`, the name LCM tools show for a type. */
export function lcmQualifiedName(struct: LcmStruct): string {
  return struct.package ? `${struct.package}.${struct.name}` : struct.name;
}

export function isLcmPrimitive(type: LcmMember['type']): type is LcmPrimitive {
  return typeof type === 'string';
}

const SIZE_TYPES: readonly LcmPrimitive[] = ['int8_t', 'int16_t', 'int32_t', 'int64_t'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The members whose values are array lengths (named by a later member's dimension). Values
 * of a struct omit them: the encoder derives them from the arrays' lengths.
 */
export function lcmSizeMembers(struct: LcmStruct): ReadonlySet<string> {
  const sizes = new Set<string>();
  for (const m of struct.members) {
    for (const d of m.dimensions ?? []) if ('sizeMember' in d) sizes.add(d.sizeMember);
  }
  return sizes;
}

/**
 * Checks what `lcm-gen` would check for one struct: identifiers, unique member names,
 * non-negative fixed lengths, and length members that are integers declared earlier.
 * @throws InvalidArgumentError naming the struct and member at fault.
 */
export function validateLcmStruct(struct: LcmStruct): void {
  const where = lcmQualifiedName(struct);
  if (!IDENTIFIER.test(struct.name) || (struct.package && !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(struct.package))) {
    throw new InvalidArgumentError(`LCM struct name ${JSON.stringify(where)} is not a valid identifier.`);
  }
  const seen = new Map<string, LcmMember>();
  for (const m of struct.members) {
    if (!IDENTIFIER.test(m.name)) {
      throw new InvalidArgumentError(`${where}: member name ${JSON.stringify(m.name)} is not a valid identifier.`);
    }
    if (seen.has(m.name)) throw new InvalidArgumentError(`${where}: member ${m.name} is declared twice.`);
    if (isLcmPrimitive(m.type) && !(LCM_PRIMITIVES as readonly string[]).includes(m.type)) {
      throw new InvalidArgumentError(`${where}.${m.name}: unknown LCM type ${JSON.stringify(m.type)}.`);
    }
    for (const d of m.dimensions ?? []) {
      if ('fixed' in d) {
        if (!Number.isSafeInteger(d.fixed) || d.fixed < 0) {
          throw new InvalidArgumentError(`${where}.${m.name}: fixed array length ${d.fixed} must be a non-negative integer.`);
        }
        continue;
      }
      const size = seen.get(d.sizeMember);
      if (!size || size.dimensions?.length || !SIZE_TYPES.includes(size.type as LcmPrimitive)) {
        throw new InvalidArgumentError(
          `${where}.${m.name}: array length ${d.sizeMember} must be an integer member declared before it.`,
        );
      }
    }
    seen.set(m.name, m);
  }
}
