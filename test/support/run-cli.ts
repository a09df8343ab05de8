import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The node arguments that start `framebus`: the built command (`bin/framebus.js`) when
 * `FRAMEBUS_TEST_CLI=dist` (the test script sets it after building, so each of the suite's
 * hundreds of CLI runs skips compiling the sources again), else the sources through tsx.
 */
export function cliNodeArgs(): string[] {
  if (process.env.FRAMEBUS_TEST_CLI === 'dist') return [fileURLToPath(new URL('../../bin/framebus.js', import.meta.url))];
  return ['--import', 'tsx', fileURLToPath(new URL('./cli.ts', import.meta.url))];
}

/** Runs `framebus …args` in a child process; resolves with its exit code and output. */
export function runCli(args: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
