// Bundles the browser viewer (src/web) into dist/web with esbuild, after generating its
// protobuf decoders.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import foxgloveSchemas from '@foxglove/schemas/internal.js';
import { pbjs } from 'protobufjs-cli';

/** The Foxglove schemas the viewer draws, as `foxgloveMessageSchemas` names them. */
const VIEWER_SCHEMAS = ['CompressedVideo', 'CompressedImage'];
const GENERATED = 'src/web/generated/foxglove.js';

/**
 * Writes static decoders (pbjs `static-module`, decode only) for the viewer's schemas. They
 * run on protobufjs/minimal, so the page compiles about 110 KB less script than with the full
 * library and skips parsing each channel's FileDescriptorSet before its first frame.
 */
async function generateDecoders() {
  const { foxgloveMessageSchemas, generateProto } = foxgloveSchemas;
  const dir = mkdtempSync(join(tmpdir(), 'framebus-proto-'));
  try {
    const protos = VIEWER_SCHEMAS.map((name) => {
      const path = join(dir, `${name}.proto`);
      writeFileSync(path, generateProto(foxgloveMessageSchemas[name], []));
      return path;
    });
    mkdirSync('src/web/generated', { recursive: true });
    const only = ['--no-create', '--no-encode', '--no-verify', '--no-convert', '--no-delimited', '--no-typeurl', '--no-service'];
    await promisify(pbjs.main)(['-t', 'static-module', '-w', 'es6', ...only, '--force-number', '--dts', '-o', GENERATED, ...protos]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const entry = 'src/web/viewer.ts';
mkdirSync('dist/web', { recursive: true });
if (existsSync(entry)) {
  await generateDecoders();
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
