import { spawn } from 'node:child_process';

/** A recorder running in a child process (test/store/record-child.ts), to be killed mid-write. */
export interface RecorderChild {
  /** Resolves with the path the recording is written under (a partial name until it is closed). */
  readonly started: Promise<string>;
  /** Frames handed to the recording so far: frame id → Date.now() when handed over. */
  readonly written: Map<number, number>;
  /** Resolves when the child has exited. */
  readonly exited: Promise<unknown>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the realtime 30 fps recorder child writing `path` with a flush interval in seconds. */
export function startRecorderChild(path: string, flushIntervalSeconds: number): RecorderChild {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/record-child.ts', path, String(flushIntervalSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const written = new Map<number, number>();
  let ready!: (path: string) => void;
  const started = new Promise<string>((resolve) => (ready = resolve));
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('ready ')) {
        ready(line.slice('ready '.length));
        continue;
      }
      const [id, at] = line.split(' ').map(Number);
      if (at) written.set(id, at);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { started, written, exited, kill: (signal) => child.kill(signal) };
}
