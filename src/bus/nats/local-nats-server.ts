import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOwned } from '../../core/owned-child.js';
import { InvalidArgumentError, MissingDependencyError, TransportError } from '../../core/errors.js';

/** Options of a throwaway local NATS server. */
export interface LocalNatsServerOptions {
  /** Largest message the server accepts, bytes (its `max_payload`). Default: the server's, 1 MiB. */
  maxPayload?: number;
  /** Milliseconds to wait for the server to listen. Default 10,000. */
  timeoutMs?: number;
}

/** The path of `nats-server`. @throws MissingDependencyError when it is not installed. */
export function findNatsServer(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/bin']) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new MissingDependencyError('nats-server is not installed; on Debian: apt-get install nats-server.');
}

/**
 * A `nats-server` child process on 127.0.0.1 with a port the kernel chose, for tests and
 * benchmarks. Stop it with `stop()`; it also dies with this process, however that ends (a
 * SIGKILL included).
 */
export class LocalNatsServer {
  private readonly killOnExit = () => this.child.kill();

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** The port it listens on. */
    readonly port: number,
  ) {
    process.once('exit', this.killOnExit);
  }

  /** The URL to give `Bus.open` or `NatsTransport.connect`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server and waits until it listens.
   * @throws MissingDependencyError when nats-server is not installed; TransportError when it
   *   does not start.
   */
  static async start(options: LocalNatsServerOptions = {}): Promise<LocalNatsServer> {
    const binary = findNatsServer();
    const { maxPayload, timeoutMs = 10_000 } = options;
    if (maxPayload !== undefined && !(Number.isInteger(maxPayload) && maxPayload >= 1024)) {
      throw new InvalidArgumentError(`maxPayload must be a whole number of bytes ≥ 1024, got ${String(maxPayload)}.`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'framebus-nats-'));
    const args = ['-a', '127.0.0.1', '-p', '-1'];
    if (maxPayload !== undefined) {
      const config = join(dir, 'nats.conf');
      await writeFile(config, `max_payload: ${maxPayload}\n`);
      args.push('-c', config);
    }
    const child = spawnOwned(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.unref();
    (child.stderr as NodeJS.ReadableStream & { unref?: () => void }).unref?.();
    const port = await new Promise<number>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => fail(new TransportError(`nats-server did not start within ${timeoutMs} ms. Its log:\n${log}`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill();
        reject(error);
      };
      child.on('error', (cause) => fail(new TransportError(`Cannot run ${binary}: ${cause.message}.`, { cause })));
      child.on('exit', (code) => fail(new TransportError(`nats-server exited with code ${code} before listening. Its log:\n${log}`)));
      const onLog = (chunk: Buffer) => {
        if (log.length < 16_384) log += chunk.toString();
        const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
        if (!m) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.stderr?.off('data', onLog);
        resolve(Number(m[1]));
      };
      child.stderr?.on('data', onLog);
    }).catch(async (error: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw error;
    });
    // Keep draining its log so the server never blocks on a full pipe.
    child.stderr?.resume();
    return new LocalNatsServer(child, dir, port);
  }

  /** Stops the server and removes its files. Idempotent. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      // Unref'd while running so it never keeps this process alive; wait for it now.
      this.child.ref();
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
