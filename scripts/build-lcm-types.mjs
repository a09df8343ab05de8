// Generates src/wire/generated/ from lcm/*.lcm with `framebus lcm-gen`, run from source by tsx
// (the build runs this before tsc, so the compiled CLI does not exist yet).
import { run } from '../src/cli/main.ts';

await run(['node', 'framebus', 'lcm-gen', 'lcm', '--out', 'src/wire/generated', '--runtime', '../lcm-struct-codec.js']);
