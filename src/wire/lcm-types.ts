import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileSystemError, InvalidArgumentError, NotFoundError } from '../core/errors.js';
import type { LcmStruct } from './lcm-schema.js';
import { lcmMessageType, type LcmMessageType } from './lcm-struct-codec.js';
import { parseLcmFile, type LcmStructDeclaration } from './lcm-type-parser.js';
import { resolveLcmStructs } from './lcm-type-resolver.js';
import { FRAMEBUS_MESSAGE_TYPES } from './messages.js';

/**
 * A value of an LCM struct loaded at run time: one property per member except array length
 * members (int8/16/32, float, double and byte are numbers, int64 bigints, a one-dimensional
 * byte array a `Uint8Array`, nested structs objects, other arrays arrays).
 */
export type LcmValue = { [member: string]: unknown };

/** One `.lcm` file's text and the name to show for it in errors. */
export interface LcmSource {
  readonly file: string;
  readonly text: string;
}

/** A set of LCM types, by name and by fingerprint. */
export class LcmTypes {
  /** Every type, in the order the files and declarations were given. */
  readonly types: readonly LcmMessageType<LcmValue>[];
  private readonly byName: Map<string, LcmMessageType<LcmValue>>;
  private readonly byPrint: Map<bigint, LcmMessageType<LcmValue>>;

  constructor(types: readonly LcmMessageType<LcmValue>[]) {
    this.types = types;
    this.byName = new Map(types.map((t) => [t.name, t]));
    // Two types with one fingerprint (e.g. a renamed copy) are one wire type: the first names it.
    this.byPrint = new Map([...types].reverse().map((t) => [t.fingerprint, t]));
  }

  /** The structs of {@link types}. */
  get structs(): readonly LcmStruct[] {
    return this.types.map((t) => t.struct);
  }

  /**
   * The type called `name` (`package.name`, or `name` when that is unambiguous).
   * @throws NotFoundError listing the names that exist.
   */
  get(name: string): LcmMessageType<LcmValue> {
    const exact = this.byName.get(name);
    if (exact) return exact;
    const short = this.types.filter((t) => t.struct.name === name);
    if (short.length === 1) return short[0];
    const known = this.types.map((t) => t.name).sort();
    throw new NotFoundError(
      `No LCM type ${JSON.stringify(name)}${short.length > 1 ? ' (ambiguous: give the package)' : ''}; the loaded types are: ${known.join(', ') || 'none'}.`,
    );
  }

  /** The (first) type whose fingerprint is `fingerprint`, if loaded. */
  byFingerprint(fingerprint: bigint): LcmMessageType<LcmValue> | undefined {
    return this.byPrint.get(fingerprint);
  }

  /** These types and `other`'s; on a name in both, this set's type wins. */
  merge(other: LcmTypes | readonly LcmMessageType<unknown>[]): LcmTypes {
    const more = (other instanceof LcmTypes ? other.types : other) as readonly LcmMessageType<LcmValue>[];
    return new LcmTypes([...this.types, ...more.filter((t) => !this.byName.has(t.name))]);
  }
}

/**
 * The LCM types declared in `sources`, parsed and resolved together (a struct may use types
 * from any of them).
 * @throws LcmTypeError naming the file, line and column of the first problem.
 */
export function lcmTypesFromSources(sources: readonly LcmSource[]): LcmTypes {
  const declarations: LcmStructDeclaration[] = [];
  for (const s of sources) declarations.push(...parseLcmFile(s.text, s.file));
  return new LcmTypes(resolveLcmStructs(declarations).map((s) => lcmMessageType<LcmValue>(s)));
}

/** Every `.lcm` file among `paths`: files as given, folders searched recursively (sorted). */
export async function findLcmFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const visit = async (p: string, given: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(p);
    } catch (cause) {
      if (given) throw new NotFoundError(`${p}: no such .lcm file or folder.`, { cause });
      return;
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(p)).sort();
      } catch (cause) {
        throw new FileSystemError(`${p}: cannot list the folder: ${(cause as Error).message}`, { cause });
      }
      for (const e of entries) await visit(path.join(p, e), false);
    } else if (given || p.endsWith('.lcm')) {
      files.push(p);
    }
  };
  for (const p of paths) await visit(p, true);
  return [...new Set(files)];
}

/**
 * Loads LCM types at run time from `.lcm` files and folders (searched recursively for
 * `*.lcm`, as `lcm-gen` takes them): the same `MessageType`s `framebus lcm-gen` generates
 * code for, without a build step.
 * @throws InvalidArgumentError for no paths; NotFoundError for a path that does not exist;
 *   LcmTypeError (with file, line and column) for a file that does not parse or resolve.
 */
export async function loadLcmTypes(paths: readonly string[]): Promise<LcmTypes> {
  if (!Array.isArray(paths) || paths.length === 0) throw new InvalidArgumentError('Give at least one .lcm file or folder to load types from.');
  const files = await findLcmFiles(paths);
  const sources: LcmSource[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (cause) {
      throw new FileSystemError(`${file}: cannot read: ${(cause as Error).message}`, { cause });
    }
  }
  return lcmTypesFromSources(sources);
}

/**
 * The types a bus tool knows: framebus's own (`framebus.video_packet_t`, …) and `loaded`'s
 * (which win on a name in both).
 */
export function busTypes(loaded?: LcmTypes): LcmTypes {
  const own = new LcmTypes(FRAMEBUS_MESSAGE_TYPES as readonly LcmMessageType<LcmValue>[]);
  return loaded ? loaded.merge(own) : own;
}
