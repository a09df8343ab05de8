import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnOwned } from '../../core/owned-child.js';
import { InvalidArgumentError, MissingDependencyError, TransportError } from '../../core/errors.js';
import { findNatsServer } from './local-nats-server.js';

const run = promisify(execFile);

/** How clients of a local cluster authenticate. Key material comes from the caller (e.g. `@nats-io/nkeys`, `@nats-io/jwt`). */
export type LocalNatsClusterAuth =
  /** No credentials. */
  | { kind: 'none' }
  /** User `framebus` with a random password (see `LocalNatsCluster.password`). */
  | { kind: 'password' }
  /** A user known by its NKey public key (`U…`); the client signs with the matching seed. */
  | { kind: 'nkey'; publicKey: string }
  /** NATS decentralized auth: an operator JWT, and account JWTs by account public key, preloaded in a memory resolver. */
  | { kind: 'operator'; operatorJwt: string; accounts: Readonly<Record<string, string>> };

/** Options of a throwaway local cluster. */
export interface LocalNatsClusterOptions {
  /** Cluster members, each routed to every other. Default 3. */
  nodes?: number;
  /** Client authentication. Default none. */
  auth?: LocalNatsClusterAuth;
  /** Client connections over TLS, with a CA and server certificate made by `openssl` now. Default false. */
  tls?: boolean;
  /** Also start a leaf node (plain, no auth) whose `leafnodes` remote points at every member. Default false. */
  leaf?: boolean;
  /** Largest message, bytes. Default: the server's, 1 MiB. */
  maxPayload?: number;
  /** Milliseconds to wait for a server to listen and route. Default 15,000. */
  timeoutMs?: number;
}

/** One `nats-server` of a local cluster. */
interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly monitorPort: number;
  readonly config: string;
  child: ChildProcess | undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingDependencyError('openssl is not installed; on Debian: apt-get install openssl.', { cause });
    throw new TransportError(`openssl ${args[0]} failed: ${(cause as { stderr?: string }).stderr ?? (cause as Error).message}`, { cause });
  }
}

/** Makes a CA and a server certificate for 127.0.0.1 signed by it, in `dir`; returns the CA's path. */
export async function makeTestCertificates(dir: string, name = 'ca'): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=framebus test ${name}`]);
  await openssl(dir, ['req', ...ec, '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`, '-subj', '/CN=127.0.0.1']);
  await writeFile(join(dir, `${name}-san.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(dir, ['x509', '-req', '-in', `${name}-server.csr`, '-CA', `${name}.pem`, '-CAkey', `${name}.key`, '-CAcreateserial', '-out', `${name}-server.pem`, '-days', '2', '-extfile', `${name}-san.ext`]);
  return { caFile: join(dir, `${name}.pem`), certFile: join(dir, `${name}-server.pem`), keyFile: join(dir, `${name}-server.key`) };
}

/**
 * A NATS cluster of `nats-server` processes on 127.0.0.1 (routes between every pair of
 * members), optionally with client auth, TLS and a leaf node, for tests and benchmarks.
 * Members can be killed and restarted on the same ports. `stop()` ends everything; the
 * servers also die with this process, however that ends (a SIGKILL included).
 */
export class LocalNatsCluster {
  /** The password of user `framebus` when `auth` is `'password'`. */
  readonly password = randomBytes(12).toString('base64url');
  /** The CA that signed the servers' certificates, when `tls` is on. */
  caFile: string | undefined;
  private readonly killAll = () => {
    for (const m of [...this.members, ...(this.leafMember ? [this.leafMember] : [])]) m.child?.kill('SIGKILL');
  };
  private members: Member[] = [];
  private leafMember: Member | undefined;

  private constructor(
    /** Folder of the configs and certificates; removed by `stop()`. */
    readonly dir: string,
    private readonly options: Required<Pick<LocalNatsClusterOptions, 'timeoutMs'>> & LocalNatsClusterOptions,
  ) {
    process.once('exit', this.killAll);
  }

  /**
   * Writes the configs, starts every member and waits until each routes to all others (and the
   * leaf node, if any, is connected).
   * @throws MissingDependencyError without nats-server or openssl; TransportError when a server does not start.
   */
  static async start(options: LocalNatsClusterOptions = {}): Promise<LocalNatsCluster> {
    const n = options.nodes ?? 3;
    if (!(Number.isInteger(n) && n >= 1 && n <= 9)) throw new InvalidArgumentError(`nodes must be a whole number from 1 to 9, got ${String(n)}.`);
    findNatsServer();
    const cluster = new LocalNatsCluster(await mkdtemp(join(tmpdir(), 'framebus-nats-cluster-')), { timeoutMs: 15_000, ...options });
    try {
      await cluster.configure(n);
      await Promise.all(cluster.members.map((m) => cluster.launch(m)));
      await cluster.waitRouted();
      if (cluster.leafMember) {
        await cluster.launch(cluster.leafMember);
        await cluster.waitFor(cluster.leafMember, 'leafz', (j) => Number(j.leafnodes) >= 1);
      }
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async configure(n: number): Promise<void> {
    const { auth = { kind: 'none' }, tls = false, leaf = false, maxPayload } = this.options;
    const ports = await Promise.all(Array.from({ length: n * 4 + 2 }, () => freePort()));
    const route = (i: number) => ports[n + i];
    const leafPort = (i: number) => ports[2 * n + i];
    const certs = tls ? await makeTestCertificates(this.dir) : undefined;
    this.caFile = certs?.caFile;
    for (let i = 0; i < n; i++) {
      const lines = [`server_name: n${i + 1}`, `listen: 127.0.0.1:${ports[i]}`, `http: 127.0.0.1:${ports[3 * n + i]}`];
      if (maxPayload !== undefined) lines.push(`max_payload: ${maxPayload}`);
      const routes = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => `nats-route://127.0.0.1:${route(j)}`);
      if (n > 1) lines.push(`cluster { name: framebus-test, listen: 127.0.0.1:${route(i)}, routes: [${routes.join(', ')}] }`);
      if (auth.kind === 'password') lines.push(`authorization { users = [ { user: framebus, password: "${this.password}" } ] }`);
      if (auth.kind === 'nkey') lines.push(`authorization { users = [ { nkey: ${auth.publicKey} } ] }`);
      if (auth.kind === 'operator') {
        const preload = Object.entries(auth.accounts).map(([k, v]) => `${k}: "${v}"`);
        lines.push(`operator: "${auth.operatorJwt}"`, 'resolver: MEMORY', `resolver_preload: { ${preload.join(', ')} }`);
      }
      if (certs) lines.push(`tls { cert_file: "${certs.certFile}", key_file: "${certs.keyFile}", ca_file: "${certs.caFile}", timeout: 5 }`);
      if (leaf) lines.push(`leafnodes { listen: 127.0.0.1:${leafPort(i)} }`);
      const config = join(this.dir, `n${i + 1}.conf`);
      await writeFile(config, `${lines.join('\n')}\n`);
      this.members.push({ name: `n${i + 1}`, clientPort: ports[i], monitorPort: ports[3 * n + i], config, child: undefined });
    }
    if (leaf) {
      const remotes = Array.from({ length: n }, (_, i) => `"nats-leaf://127.0.0.1:${leafPort(i)}"`);
      const lines = ['server_name: leaf', `listen: 127.0.0.1:${ports[4 * n]}`, `http: 127.0.0.1:${ports[4 * n + 1]}`, `leafnodes { remotes = [ { urls: [${remotes.join(', ')}] } ] }`];
      if (maxPayload !== undefined) lines.push(`max_payload: ${maxPayload}`);
      const config = join(this.dir, 'leaf.conf');
      await writeFile(config, `${lines.join('\n')}\n`);
      this.leafMember = { name: 'leaf', clientPort: ports[4 * n], monitorPort: ports[4 * n + 1], config, child: undefined };
    }
  }

  /** Client ports of the members, in order. */
  get ports(): number[] {
    return this.members.map((m) => m.clientPort);
  }

  /** Client port of the leaf node, if there is one. */
  get leafPort(): number | undefined {
    return this.leafMember?.clientPort;
  }

  /**
   * A client URL naming members `nodes` (indices, default all) as seeds, with this cluster's
   * credentials (the password in the URL), TLS CA and `extra` options such as `prefix=`.
   */
  url(nodes: readonly number[] = this.members.map((_, i) => i), extra = ''): string {
    const auth = this.options.auth?.kind === 'password' ? `framebus:${this.password}@` : '';
    const query = [this.caFile ? `ca=${this.caFile}` : '', extra].filter(Boolean).join('&');
    const seeds = nodes.map((i) => `127.0.0.1:${this.member(i).clientPort}`).join(',');
    return `${this.caFile ? 'tls' : 'nats'}://${auth}${seeds}${query ? `?${query}` : ''}`;
  }

  /** The leaf node's client URL (no auth, no TLS). */
  get leafUrl(): string {
    if (!this.leafMember) throw new InvalidArgumentError('This cluster was started without a leaf node.');
    return `nats://127.0.0.1:${this.leafMember.clientPort}`;
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (!m) throw new InvalidArgumentError(`The cluster has members 0 to ${this.members.length - 1}, not ${i}.`);
    return m;
  }

  /** Kills member `i` (SIGKILL by default: no goodbye to its clients) and waits until it is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.member(i).child;
    this.member(i).child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Unref'd while running so it never keeps this process alive; wait for it now.
    child.ref();
    child.kill(signal);
    await exited;
  }

  /** Freezes member `i` (SIGSTOP): its sockets stay open but it forwards nothing, like a hung server. `kill` still ends it. */
  pause(i: number): void {
    this.member(i).child?.kill('SIGSTOP');
  }

  /** Starts member `i` again with its config and ports, and waits until it routes to the others. */
  async restart(i: number): Promise<void> {
    await this.kill(i, 'SIGKILL');
    await this.launch(this.member(i));
    await this.waitRouted();
  }

  private async launch(m: Member): Promise<void> {
    const child = spawnOwned(findNatsServer(), ['-c', m.config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.unref();
    (child.stderr as NodeJS.ReadableStream & { unref?: () => void }).unref?.();
    m.child = child;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const done = (error?: Error) => {
        clearTimeout(timer);
        child.stderr?.off('data', onLog);
        child.removeAllListeners('exit');
        child.stderr?.resume();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => done(new TransportError(`nats-server ${m.name} did not start within ${this.options.timeoutMs} ms. Its log:\n${log}`)), this.options.timeoutMs);
      child.on('error', (cause) => done(new TransportError(`Cannot run nats-server: ${cause.message}.`, { cause })));
      child.on('exit', (code) => done(new TransportError(`nats-server ${m.name} exited with code ${code} before listening. Its log:\n${log}`)));
      const onLog = (chunk: Buffer) => {
        if (log.length < 32_768) log += chunk.toString();
        if (log.includes('Server is ready')) done();
      };
      child.stderr?.on('data', onLog);
    });
  }

  /** Polls a member's monitoring endpoint until `ok` holds. */
  private async waitFor(m: Member, endpoint: string, ok: (json: Record<string, unknown>) => boolean): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${m.monitorPort}/${endpoint}`);
        if (ok((await res.json()) as Record<string, unknown>)) return;
      } catch {
        // Not answering yet.
      }
      if (Date.now() > deadline) throw new TransportError(`nats-server ${m.name} did not reach a ready ${endpoint} within ${this.options.timeoutMs} ms.`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until every running member routes to every other running member. */
  private async waitRouted(): Promise<void> {
    const running = this.members.filter((m) => m.child);
    await Promise.all(running.map((m) => this.waitFor(m, 'routez', (j) => Number(j.num_routes) >= running.length - 1)));
  }

  /** Stops every server and removes the folder. Idempotent. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.killAll);
    const all = [...this.members, ...(this.leafMember ? [this.leafMember] : [])];
    await Promise.all(
      all.map(async (m) => {
        const child = m.child;
        m.child = undefined;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.ref();
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}
