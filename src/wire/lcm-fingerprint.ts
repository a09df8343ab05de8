import { isLcmPrimitive, type LcmStruct } from './lcm-schema.js';

/** `lcm-gen`'s dimension modes, hashed as a number. */
const DIMENSION_CONST = 0;
const DIMENSION_VAR = 1;

/** lcmgen.c `hash_update`: signed 64-bit arithmetic with an arithmetic right shift. */
function hashUpdate(v: bigint, c: number): bigint {
  // `c` is a C `char`: signed, so bytes ≥ 0x80 (and lengths ≥ 128) count as negative.
  const signedChar = BigInt(((c & 0xff) << 24) >> 24);
  return BigInt.asIntN(64, ((v << 8n) ^ (v >> 55n)) + signedChar);
}

function hashString(v: bigint, s: string): bigint {
  const bytes = new TextEncoder().encode(s);
  v = hashUpdate(v, bytes.length);
  for (const b of bytes) v = hashUpdate(v, b);
  return v;
}

/**
 * The base hash `lcm-gen` computes from a struct's own declaration (member names,
 * primitive type names and dimensions; nested struct types contribute only through
 * {@link lcmFingerprint}). Returned as an unsigned 64-bit value.
 */
export function lcmBaseHash(struct: LcmStruct): bigint {
  let v = 0x12345678n;
  for (const m of struct.members) {
    v = hashString(v, m.name);
    if (isLcmPrimitive(m.type)) v = hashString(v, m.type);
    const dims = m.dimensions ?? [];
    v = hashUpdate(v, dims.length);
    for (const d of dims) {
      if ('fixed' in d) {
        v = hashUpdate(v, DIMENSION_CONST);
        v = hashString(v, d.spelling ?? String(d.fixed));
      } else {
        v = hashUpdate(v, DIMENSION_VAR);
        v = hashString(v, d.sizeMember);
      }
    }
  }
  return BigInt.asUintN(64, v);
}

function recursiveHash(struct: LcmStruct, parents: readonly LcmStruct[]): bigint {
  // A type already on the path contributes nothing, which ends recursion through cycles.
  if (parents.includes(struct)) return 0n;
  const path = [...parents, struct];
  let v = lcmBaseHash(struct);
  for (const m of struct.members) {
    if (!isLcmPrimitive(m.type)) v = BigInt.asUintN(64, v + recursiveHash(m.type, path));
  }
  // Rotating left by one bit per level makes the position of a nested type matter.
  return BigInt.asUintN(64, (v << 1n) | (v >> 63n));
}

/**
 * The fingerprint that leads every encoded message of `struct`: the base hash plus the
 * fingerprints of nested struct types, rotated left one bit per nesting level, exactly as
 * the LCM type specification and `lcm-gen` define it. Unsigned 64-bit.
 */
export function lcmFingerprint(struct: LcmStruct): bigint {
  return recursiveHash(struct, []);
}
