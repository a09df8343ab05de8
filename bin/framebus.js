#!/usr/bin/env node
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist')) throw error;
  process.stderr.write('framebus: the command is not built yet; run `npm run build` in the framebus folder (npm install does it).\n');
  process.exit(2);
}
await cli.run(process.argv);
