import { basename } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import { RecordingReader } from '../store/recording-reader.js';
import { RecordingsFolder } from './recordings-folder.js';
import { FoxgloveSession } from './foxglove-session.js';
import { ReplaySession } from './replay-session.js';
import { ViewerServer, type ViewerServerHandle, type ViewerServerOptions } from './viewer-server.js';

/** Options of {@link startReplayServer}: exactly one of `recordingsDir` and `file`. */
export interface ReplayServerOptions extends ViewerServerOptions {
  /** Serve the `.mcap` recordings in this folder (and its subfolders), and nothing outside it. */
  recordingsDir?: string;
  /** Serve this one recording. */
  file?: string;
}

/**
 * Parsed chunks each replay viewer's reader keeps (the reader's own default, 64 MiB, is sized
 * for one process reading one file, not for a reader per viewer).
 */
const VIEWER_CHUNK_CACHE_BYTES = 8 * 2 ** 20;

const CHOOSE_RECORDING = 'Choose a recording: add ?recording=<name> to the URL (the viewer page lists them).';

/** Where one viewer's recording comes from. */
interface Opened {
  path: string;
  name: string;
}

/**
 * Serves recordings for replay: the viewer page at the returned URL (with a folder, it lists
 * the recordings; `?recording=<name>` opens one) and the Foxglove WebSocket protocol on the
 * same port, where each viewer gets its own position, seek, frame step, play and speed. A
 * connection to a folder without `?recording=` gets `serverInfo` metadata `choose: 'true'`,
 * a status line saying how to choose, and no channels.
 * Names that lead outside the folder are refused (403), unknown ones answer 404.
 * @throws InvalidArgumentError unless exactly one of `recordingsDir` and `file` is given;
 *   NotFoundError when it does not exist.
 */
export async function startReplayServer(options: ReplayServerOptions): Promise<ViewerServerHandle> {
  if ((options.recordingsDir === undefined) === (options.file === undefined)) {
    throw new InvalidArgumentError('Give startReplayServer exactly one of recordingsDir (a folder of .mcap files) and file (one recording).');
  }
  const perViewer = { limits: options, log: options.log };
  const folder = options.recordingsDir !== undefined ? await RecordingsFolder.open(options.recordingsDir) : undefined;
  if (options.file !== undefined) await (await RecordingReader.open(options.file)).close();
  const sessions = new Set<ReplaySession>();

  /** True for a connection to a folder that names no recording yet. */
  const mustChoose = (url: URL): boolean => folder !== undefined && !url.searchParams.get('recording');
  const resolve = async (url: URL): Promise<Opened> => {
    if (!folder) return { path: options.file!, name: basename(options.file!) };
    const name = url.searchParams.get('recording');
    if (!name) throw new InvalidArgumentError(CHOOSE_RECORDING);
    return { path: await folder.resolve(name), name };
  };

  const server = await ViewerServer.listen(options, {
    api: async (path) => {
      if (path === 'info') {
        return folder ? { mode: 'replay', choose: true, recordings: await folder.list() } : { mode: 'replay', choose: false, recordings: [basename(options.file!)] };
      }
      if (path === 'recordings') return folder ? await folder.list() : [basename(options.file!)];
      return undefined;
    },
    checkUpgrade: async (url) => {
      if (!mustChoose(url)) await resolve(url);
      return undefined;
    },
    connect: (ws, url, label) => {
      if (mustChoose(url)) {
        // Nothing to play yet: say so in the protocol, so the viewer page (which connects while
        // it loads) lists the recordings and the Foxglove app shows how to pick one.
        const session = new FoxgloveSession(ws, label, { serverName: 'framebus replay', metadata: { mode: 'replay', choose: 'true' }, ...perViewer });
        session.status('warning', CHOOSE_RECORDING);
        return;
      }
      void (async () => {
        const { path, name } = await resolve(url);
        const reader = await RecordingReader.open(path, { warn: () => undefined, chunkCacheBytes: VIEWER_CHUNK_CACHE_BYTES });
        if (ws.readyState !== ws.OPEN) return reader.close();
        const session = await ReplaySession.start(ws, label, reader, name, perViewer);
        sessions.add(session);
        ws.on('close', () => sessions.delete(session));
      })().catch((error: Error) => ws.close(1011, `Cannot open the recording: ${error.message}`.slice(0, 120)));
    },
  });

  return {
    url: server.url,
    token: server.token,
    close: async () => {
      for (const session of sessions) session.close();
      await server.close();
    },
  };
}
