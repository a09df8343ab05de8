// Bundles the browser viewer (src/web) into dist/web with esbuild.
import { build } from 'esbuild';
import { existsSync, mkdirSync, cpSync } from 'node:fs';

const entry = 'src/web/viewer.ts';
mkdirSync('dist/web', { recursive: true });
if (existsSync(entry)) {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'chrome110',
    outfile: 'dist/web/viewer.js',
    sourcemap: true,
    minify: true,
    logLevel: 'warning',
  });
  if (existsSync('src/web/static')) cpSync('src/web/static', 'dist/web', { recursive: true });
}
