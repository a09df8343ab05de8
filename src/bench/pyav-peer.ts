import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { MissingDependencyError } from '../core/errors.js';

/**
 * LeRobot's pyav backend (`decode_video_frames_torchvision`), one request per line: seek to
 * the key frame before the first timestamp, decode forward to the last, keep the nearest
 * frame of each timestamp and convert it to RGB. Times are measured inside Python
 * (perf_counter), so the pipe and process start-up are not counted. A "cold" request opens
 * the file inside the timing and closes it after; warm requests reuse the open container.
 */
const SCRIPT = `
import av, json, sys, time
open_files = {}
def fetch(path, ts, cold):
    c0 = time.process_time()
    t0 = time.perf_counter()
    container = av.open(path) if cold else open_files.get(path)
    if container is None:
        container = open_files[path] = av.open(path)
    stream = container.streams.video[0]
    tb = stream.time_base
    first, last = min(ts), max(ts)
    container.seek(int(first / tb), backward=True, any_frame=False, stream=stream)
    loaded = []
    for frame in container.decode(stream):
        t = float(frame.pts * tb)
        loaded.append((t, frame))
        if t >= last:
            break
    chosen = [min(loaded, key=lambda x: abs(x[0] - q)) for q in ts]
    for _, frame in chosen:
        frame.to_ndarray(format="rgb24")
    ms = (time.perf_counter() - t0) * 1000
    cpu_ms = (time.process_time() - c0) * 1000
    if cold:
        container.close()
    return {"ms": ms, "cpu_ms": cpu_ms, "times": [t for t, _ in chosen]}
print(json.dumps({"version": av.__version__}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps(fetch(req["path"], req["ts"], req["cold"])), flush=True)
`;

/** A long-lived Python process with PyAV (Debian's python3-av) answering fetches. */
export class PyavPeer {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly rl: Interface,
    /** PyAV's version. */
    readonly version: string,
  ) {}

  /** @throws MissingDependencyError when `python` cannot import av. */
  static async start(python = '/usr/bin/python3'): Promise<PyavPeer> {
    const child = spawn(python, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const failed = new Promise<never>((_, reject) => child.once('error', reject));
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    try {
      const first = await Promise.race([lines.next(), failed]);
      if (first.done) throw new Error(stderr.trim() || 'it exited');
      return new PyavPeer(child, lines, rl, (JSON.parse(first.value) as { version: string }).version);
    } catch (error) {
      child.kill();
      throw new MissingDependencyError(`PyAV did not start with ${python} (install Debian's python3-av): ${(error as Error).message}`, { cause: error });
    }
  }

  /** Fetches the frames at `ts` (seconds) of `path`; returns PyAV's own wall and CPU time (ms, all its threads) and the chosen frames' times. */
  async fetch(path: string, ts: number[], cold: boolean): Promise<{ ms: number; cpu_ms: number; times: number[] }> {
    this.child.stdin.write(`${JSON.stringify({ path, ts, cold })}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error('PyAV exited during a fetch.');
    return JSON.parse(line.value) as { ms: number; cpu_ms: number; times: number[] };
  }

  /** Ends the process. */
  async close(): Promise<void> {
    this.rl.close();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
