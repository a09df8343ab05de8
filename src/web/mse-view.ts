/**
 * The viewer's MSE mode: plays a live fMP4 stream from the server's `/fmp4/<name>` WebSocket
 * in a `<video>` element through Media Source Extensions, audio included. One append is in
 * flight at a time; played-out ranges are removed before the buffer fills; the element is
 * kept near the live edge. State for people and tests is on `window.framebusMse`.
 */

/** What the page publishes on `window.framebusMse`. Times are `performance.timeOrigin + performance.now()` ms. */
export interface MseHookState {
  mimeType: string | null;
  /** Fragments received (after the init segment). */
  chunks: number;
  bytes: number;
  /** `waiting` events the element fired after it first played. */
  waiting: number;
  /** Media times (s) of the first 100 of those, and how much was buffered ahead then (s). */
  waitingAt: { time: number; ahead: number }[];
  /** Recently presented frames: media time (s) and when (absolute ms), oldest first, at most 900. */
  frames: { mediaTime: number; at: number }[];
  /** Timings of the newest packaged segment, as the server sent them. */
  timings: Record<string, number> | null;
  segment: number;
  ended: boolean;
  error: string | null;
}

declare global {
  interface Window {
    framebusMse: MseHookState;
  }
}

import { LiveEdgeControl } from './live-edge.js';

/** Seconds kept behind the playhead; older media is removed before appending. */
const KEEP_BEHIND_S = 10;
/** Seconds behind the buffered end after which the element jumps to the live edge. */
const MAX_LAG_S = 3;
const MAX_FRAMES = 900;

/**
 * Plays stream `name` in a new card in `container`. `targetLatency` (s), when given, holds the
 * element near the live edge (see `LiveEdgeControl`): with audio it is how much media stays
 * buffered past the playhead at the lowest, held by playing slightly faster or slower, and
 * each stall raises it by 50 ms; video alone plays at 1.25x while more than that is buffered.
 * By default it plays at normal speed and only jumps when it falls 3 s behind.
 */
export function startMseView(container: HTMLElement, name: string, showStatus: (text: string, isError?: boolean) => void, targetLatency?: number): void {
  const hook: MseHookState = { mimeType: null, chunks: 0, bytes: 0, waiting: 0, waitingAt: [], frames: [], timings: null, segment: -1, ended: false, error: null };
  window.framebusMse = hook;
  const fail = (text: string) => {
    hook.error = text;
    showStatus(text, true);
  };

  const card = document.createElement('section');
  card.className = 'card';
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  const mute = document.createElement('button');
  mute.textContent = 'Unmute';
  mute.addEventListener('click', () => {
    video.muted = !video.muted;
    mute.textContent = video.muted ? 'Unmute' : 'Mute';
  });
  const timings = document.createElement('pre');
  timings.className = 'timings';
  card.append(video, mute, timings);
  container.append(card);

  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  const queue: ArrayBuffer[] = [];
  let buffer: SourceBuffer | undefined;
  let started = false;
  let gotInit = false;
  let edge: LiveEdgeControl | undefined;

  const pump = () => {
    if (!buffer || buffer.updating || source.readyState !== 'open') return;
    const ranges = buffer.buffered;
    if (ranges.length > 0 && video.currentTime - ranges.start(0) > KEEP_BEHIND_S) {
      buffer.remove(ranges.start(0), video.currentTime - KEEP_BEHIND_S / 2);
      return;
    }
    const next = queue.shift();
    if (!next) return;
    if (started && ranges.length > 0) edge?.beforeAppend(ranges.end(ranges.length - 1));
    try {
      buffer.appendBuffer(next);
    } catch (error) {
      if ((error as DOMException).name === 'QuotaExceededError' && ranges.length > 0 && video.currentTime > ranges.start(0) + 1) {
        queue.unshift(next);
        buffer.remove(ranges.start(0), video.currentTime - 1);
      } else {
        fail(`Cannot append media: ${(error as Error).message}`);
      }
    }
  };

  const keepLive = () => {
    if (!buffer || buffer.buffered.length === 0) return;
    const ranges = buffer.buffered;
    const end = ranges.end(ranges.length - 1);
    if (!started) {
      started = true;
      // A late joiner's media starts after 0; a seek when it need not would decode the first frames twice.
      if (video.currentTime < ranges.start(0)) video.currentTime = ranges.start(0);
      void video.play().catch((error: Error) => fail(`Cannot play: ${error.message}`));
    } else if (end - video.currentTime > MAX_LAG_S) {
      video.currentTime = end - 0.5;
    } else {
      edge?.appended(end);
    }
  };

  source.addEventListener('sourceopen', () => {
    if (hook.mimeType) open(hook.mimeType);
  });
  const open = (mimeType: string) => {
    if (buffer || source.readyState !== 'open') return;
    if (!MediaSource.isTypeSupported(mimeType)) return fail(`This browser cannot play ${mimeType}.`);
    buffer = source.addSourceBuffer(mimeType);
    if (targetLatency !== undefined) edge = new LiveEdgeControl(video, targetLatency, /opus|mp4a|flac/.test(mimeType));
    buffer.mode = 'segments';
    buffer.addEventListener('updateend', () => {
      keepLive();
      pump();
    });
    pump();
  };

  video.addEventListener('waiting', () => {
    if (!started || video.currentTime === 0) return;
    hook.waiting++;
    edge?.stalled();
    const ranges = video.buffered;
    const ahead = ranges.length > 0 ? ranges.end(ranges.length - 1) - video.currentTime : 0;
    if (hook.waitingAt.length < 100) hook.waitingAt.push({ time: video.currentTime, ahead });
  });
  const onFrame = (_now: number, meta: { mediaTime: number }) => {
    hook.frames.push({ mediaTime: meta.mediaTime, at: performance.timeOrigin + performance.now() });
    if (hook.frames.length > MAX_FRAMES) hook.frames.splice(0, hook.frames.length - MAX_FRAMES);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);

  const url = new URL(location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `/fmp4/${encodeURIComponent(name)}`;
  url.hash = '';
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
    if (typeof event.data !== 'string') {
      if (hook.mimeType === null) return;
      if (gotInit) hook.chunks++;
      gotInit = true;
      hook.bytes += event.data.byteLength;
      queue.push(event.data);
      pump();
      return;
    }
    const message = JSON.parse(event.data) as { type: string; mimeType?: string; segment?: number; timings?: Record<string, number>; error?: string };
    if (message.type === 'init' && message.mimeType) {
      hook.mimeType = message.mimeType;
      showStatus(`live fMP4: ${name}`);
      open(message.mimeType);
    } else if (message.type === 'timings' && message.timings) {
      hook.timings = message.timings;
      hook.segment = message.segment ?? -1;
      timings.textContent = `segment ${hook.segment}\n${Object.entries(message.timings)
        .map(([k, v]) => `${k}: ${Math.round(v * 10) / 10}`)
        .join('\n')}`;
    } else if (message.type === 'end') {
      hook.ended = true;
      if (message.error) fail(`The stream failed: ${message.error}`);
      else showStatus('stream ended');
    }
  });
  ws.addEventListener('close', () => {
    if (!hook.ended) showStatus('Disconnected. Reload to reconnect.', true);
  });
}
