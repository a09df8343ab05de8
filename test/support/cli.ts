import { run } from '../../src/cli/main.js';

await run(process.argv);
