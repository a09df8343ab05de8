import { isLcmPrimitive, type LcmStruct } from './lcm-schema.js';

/** `lcm-gen`'s dimension modes, hashed as a number. */
const DIMENSION_CONST = 0;
const DIMENSION_VAR = 1;

/**
 * A 64-bit value as two uint32 halves. The hash runs on these rather than on BigInt: V8's
 * optimizing compiler in Node 20 aborts the process ("RepresentationChangerError … SignedBigInt64")
 * when `BigInt.asIntN(64, …)` arithmetic in a hot loop gets optimized.
 */
interface U64 {
  hi: number;
  lo: number;
}

/** `v + add` modulo 2^64, where `addHi`/`addLo` are the halves of the addend. */
function add64(v: U64, addHi: number, addLo: number): void {
  const lo = v.lo + addLo;
  v.hi = (v.hi + addHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  v.lo = lo >>> 0;
}

/** lcmgen.c `hash_update`: `v = ((v << 8) ^ (v >> 55)) + c` in signed 64-bit, `>>` arithmetic. */
function hashUpdate(v: U64, c: number): void {
  // `c` is a C `char`: signed, so bytes ≥ 0x80 (and lengths ≥ 128) count as negative.
  const signedChar = ((c & 0xff) << 24) >> 24;
  const signed = v.hi | 0;
  const hi = (((v.hi << 8) | (v.lo >>> 24)) ^ (signed >> 31)) >>> 0;
  const lo = ((v.lo << 8) ^ (signed >> 23)) >>> 0;
  v.hi = hi;
  v.lo = lo;
  add64(v, signedChar < 0 ? 0xffffffff : 0, signedChar >>> 0);
}

function hashString(v: U64, s: string): void {
  const bytes = new TextEncoder().encode(s);
  hashUpdate(v, bytes.length);
  for (const b of bytes) hashUpdate(v, b);
}

function toBigInt(v: U64): bigint {
  return (BigInt(v.hi) << 32n) | BigInt(v.lo);
}

/**
 * The base hash `lcm-gen` computes from a struct's own declaration (member names,
 * primitive type names and dimensions; nested struct types contribute only through
 * {@link lcmFingerprint}). Returned as an unsigned 64-bit value.
 */
export function lcmBaseHash(struct: LcmStruct): bigint {
  return toBigInt(baseHash(struct));
}

function baseHash(struct: LcmStruct): U64 {
  const v: U64 = { hi: 0, lo: 0x12345678 };
  for (const m of struct.members) {
    hashString(v, m.name);
    if (isLcmPrimitive(m.type)) hashString(v, m.type);
    const dims = m.dimensions ?? [];
    hashUpdate(v, dims.length);
    for (const d of dims) {
      if ('fixed' in d) {
        hashUpdate(v, DIMENSION_CONST);
        hashString(v, d.spelling ?? String(d.fixed));
      } else {
        hashUpdate(v, DIMENSION_VAR);
        hashString(v, d.sizeMember);
      }
    }
  }
  return v;
}

/** Structs reachable from `struct` through members (itself only when it is on a cycle). */
function reachable(struct: LcmStruct): Set<LcmStruct> {
  const seen = new Set<LcmStruct>();
  const stack = [struct];
  while (stack.length > 0) {
    for (const m of stack.pop()!.members) {
      if (isLcmPrimitive(m.type) || seen.has(m.type)) continue;
      seen.add(m.type);
      stack.push(m.type);
    }
  }
  return seen;
}

/**
 * `lcm-gen`'s recursive hash walks every path through the type graph, which is exponential
 * for types that nest others more than once at several levels. A struct from which no cycle
 * can be reached hashes the same on every path, so its result is kept in `memo`.
 */
class RecursiveHasher {
  private readonly memo = new Map<LcmStruct, U64>();
  private readonly pathFree = new Map<LcmStruct, boolean>();

  private isPathFree(struct: LcmStruct): boolean {
    let free = this.pathFree.get(struct);
    if (free === undefined) {
      const all = reachable(struct);
      free = !all.has(struct) && [...all].every((s) => !reachable(s).has(s));
      this.pathFree.set(struct, free);
    }
    return free;
  }

  hash(struct: LcmStruct, parents: readonly LcmStruct[]): U64 {
    // A type already on the path contributes nothing, which ends recursion through cycles.
    if (parents.includes(struct)) return { hi: 0, lo: 0 };
    const known = this.memo.get(struct);
    if (known) return known;
    const path = [...parents, struct];
    const v = baseHash(struct);
    for (const m of struct.members) {
      if (isLcmPrimitive(m.type)) continue;
      const child = this.hash(m.type, path);
      add64(v, child.hi, child.lo);
    }
    // Rotating left by one bit per level makes the position of a nested type matter.
    const result = { hi: ((v.hi << 1) | (v.lo >>> 31)) >>> 0, lo: ((v.lo << 1) | (v.hi >>> 31)) >>> 0 };
    if (this.isPathFree(struct)) this.memo.set(struct, result);
    return result;
  }
}

/**
 * The fingerprint that leads every encoded message of `struct`: the base hash plus the
 * fingerprints of nested struct types, rotated left one bit per nesting level, exactly as
 * the LCM type specification and `lcm-gen` define it. Unsigned 64-bit.
 */
export function lcmFingerprint(struct: LcmStruct): bigint {
  return toBigInt(new RecursiveHasher().hash(struct, []));
}
