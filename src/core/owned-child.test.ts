import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Whether a watcher (`sh … framebus-watch <pid> …`) of `pid` runs. */
async function watched(pid: number): Promise<boolean> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').includes(`framebus-watch ${pid} `)) return true;
  }
  return false;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a child spawned owned dies with its parent, even when the parent is SIGKILLed; one that exits first takes its watcher along', { timeout: 60_000 }, async () => {
  const module = fileURLToPath(new URL('./owned-child.ts', import.meta.url));
  const script = `
    import { spawnOwned } from ${JSON.stringify(module)};
    const kept = spawnOwned('sleep', ['60'], { stdio: 'ignore' });
    const brief = spawnOwned('sleep', ['0.2'], { stdio: 'ignore' });
    console.log(JSON.stringify({ kept: kept.pid, brief: brief.pid }));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const { kept, brief } = JSON.parse(line) as { kept: number; brief: number };
  await sleep(1000);
  assert.ok(running(kept), 'the kept child runs while its parent does');
  assert.equal(await watched(kept), true, 'the kept child has its watcher');
  assert.equal(await watched(brief), false, 'the child that exited took its watcher along');
  parent.kill('SIGKILL');
  const deadline = performance.now() + 10_000;
  while (running(kept) && performance.now() < deadline) await sleep(50);
  assert.equal(running(kept), false, `sleep ${kept} outlived its SIGKILLed parent`);
});
