import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
/** The README's layers, top to bottom: a folder imports only folders listed before it. */
const LAYERS = ['core', 'codec', 'source', 'wire', 'bus', 'store', 'media', 'server', 'web', 'bench', 'cli'];

/** Library modules (no tests, no generated code) and the modules each imports, type imports included. */
function importGraph(): Map<string, string[]> {
  const files = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('generated'))
    .map((f) => normalize(f));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)[^'"`]*?from '(\.{1,2}\/[^']+)'/gm)].map((m) => normalize(join(dirname(file), m[1].replace(/\.js$/, '.ts'))));
    graph.set(file, targets.filter((t) => !relative(src, join(src, t)).startsWith('..')));
  }
  return graph;
}

test('no import cycles in src/, type-only imports included', () => {
  const graph = importGraph();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
  assert.ok(graph.size > 100, `read only ${graph.size} modules`);
});

test('no folder imports a folder above it in the layer list', () => {
  const layer = (file: string) => LAYERS.indexOf(file.split('/')[0]);
  const upward = [...importGraph()].flatMap(([file, targets]) =>
    targets.filter((t) => layer(file) >= 0 && layer(t) > layer(file)).map((t) => `${file} → ${t}`),
  );
  assert.deepEqual(upward, []);
});

test('no library module over 400 lines', () => {
  const long = [...importGraph().keys()]
    .map((f) => [f, readFileSync(join(src, f), 'utf8').split('\n').length - 1] as const)
    .filter(([, lines]) => lines > 400)
    .map(([f, lines]) => `${f}: ${lines}`);
  assert.deepEqual(long, []);
});
