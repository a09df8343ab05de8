import { readdir, readFile, realpath } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` puts the viewer bundle, found from this module's location. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Files larger than this are not served (the viewer bundle is about 0.1 MB), bytes. */
const MAX_FILE_BYTES = 16 * 2 ** 20;

/** A static file found for a request path. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

/**
 * The built viewer page, read into memory once when a server starts. A page load then costs
 * no file-system round trips, which matter when the server shares its event loop with an
 * encoder; rebuilding the page needs a server restart. Only regular files inside the root
 * are served, so `..` or a link leading out cannot reach anything else.
 */
export class StaticFiles {
  private constructor(private readonly files: ReadonlyMap<string, StaticFile>) {}

  /** Reads every file under `root`; a missing root gives an empty set (the page is not built). */
  static async load(root: string): Promise<StaticFiles> {
    const files = new Map<string, StaticFile>();
    let base: string;
    try {
      base = await realpath(root);
    } catch {
      return new StaticFiles(files);
    }
    for (const entry of await readdir(base, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const body = await readFile(path);
      if (body.length > MAX_FILE_BYTES) continue;
      const urlPath = `/${relative(base, path).split(sep).join('/')}`;
      files.set(urlPath, { body, contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' });
    }
    return new StaticFiles(files);
  }

  /** The file a URL path names; `/` means `index.html`. Undefined when there is none. */
  get(urlPath: string): StaticFile | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return undefined;
    }
    return this.files.get(decoded === '/' ? '/index.html' : decoded);
  }
}
