import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * Spawns `command` so that it ends with this process however this process ends, SIGKILL
 * included (which no exit handler sees): a `sh` beside it waits for the end of a pipe only
 * this process holds, then kills the child with SIGKILL if it is still running the same
 * program. The watcher goes as soon as the child exits. Neither keeps this process alive.
 * For servers started for tests and benchmarks (nats-server), which outlived a killed test.
 */
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  if (child.pid === undefined) return child;
  const program = command.split('/').pop()!.slice(0, 15);
  const watcher = spawn('sh', ['-c', 'read _; [ "$(cat /proc/$1/comm 2>/dev/null)" = "$2" ] && kill -9 "$1"', 'framebus-watch', String(child.pid), program], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watcher.on('error', () => undefined);
  watcher.unref();
  (watcher.stdin as Socket | null)?.unref();
  child.once('exit', () => watcher.kill('SIGKILL'));
  return child;
}
