import type { Channel } from '@foxglove/ws-protocol';
import { compressedMessageDecoder, type CompressedMessageDecoder } from './compressed-message.js';
import { Connection, localNowNs, type ChannelMessage } from './connection.js';
import { ImageStreamView } from './image-stream-view.js';
import { PLAYBACK_TOPIC, type PlaybackState } from '../server/replay-protocol.js';
import type { FramebusHook } from './page-hook.js';
import { ReplayControls } from './replay-controls.js';
import { startMseView } from './mse-view.js';
import { MAX_LATENCY_SAMPLES, type LatencySample, type StreamState } from './stream-state.js';
import { askServerClock } from './server-clock.js';
import type { StreamView, ViewContext } from './stream-view.js';
import { TelemetryView } from './telemetry-view.js';
import { VideoStreamView } from './video-stream-view.js';
import { webrtcControls, type Transport } from './webrtc-controls.js';
import { WebRtcStreamView } from './webrtc-view.js';

const hook: FramebusHook = { mode: 'connecting', connected: false, error: null, streams: [], latencySamples: [], replay: null, telemetry: [] };
window.framebus = hook;

const grid = document.getElementById('grid') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;
const others = document.getElementById('messages') as HTMLElement;

function showStatus(text: string, isError = false): void {
  status.textContent = text;
  status.classList.toggle('error', isError);
  if (isError) hook.error = text;
}

/** Lists a replay server's recordings as links (the URL chose none). */
async function chooseRecording(): Promise<void> {
  hook.mode = 'choose';
  const response = await fetch('/api/recordings');
  if (!response.ok) throw new Error(`the server answered ${response.status} for its recordings`);
  const recordings = (await response.json()) as string[];
  showStatus(recordings.length ? 'Choose a recording' : 'No recordings in this folder');
  const list = document.createElement('ul');
  list.className = 'recordings';
  for (const name of recordings) {
    const link = document.createElement('a');
    const url = new URL(location.href);
    url.searchParams.set('recording', name);
    link.href = url.toString();
    link.textContent = name;
    const item = document.createElement('li');
    item.append(link);
    list.append(item);
  }
  grid.append(list);
}

function connect(): void {
  // WebSocket by default: it measured lower here (`bench webrtc`, quiet machine: glass-to-glass
  // p50 14 ms against 18–21 ms over WHEP); `?transport=webrtc` plays over WHEP (and the teleop
  // panel rides on its DataChannel).
  const transport: Transport = new URL(location.href).searchParams.get('transport') === 'webrtc' ? 'webrtc' : 'websocket';
  const controls = webrtcControls(transport, hook, (message) => showStatus(message, true));
  const wsUrl = new URL(location.href);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.pathname = '/';
  wsUrl.hash = '';

  const views = new Map<number, { view: StreamView; decode: CompressedMessageDecoder }>();
  const messageLines = new Map<number, HTMLElement>();
  const telemetry = new Map<number, TelemetryView>();
  let replay: ReplayControls | undefined;
  let live = true;
  let lastSeekId = -1;
  let closing = false;

  const context: ViewContext = {
    clockOffsetNs: () => connection.clock.offsetNs,
    get live() {
      return live;
    },
    onDrawn: (sample) => {
      hook.latencySamples.push(sample);
      if (hook.latencySamples.length > MAX_LATENCY_SAMPLES) hook.latencySamples.shift();
    },
  };

  const addChannel = (channel: Channel) => {
    let view: StreamView | undefined;
    if (channel.schemaName === 'foxglove.CompressedVideo' && live && transport === 'webrtc') {
      const webrtc = new WebRtcStreamView(channel.topic, context);
      controls.adopt(webrtc);
      hook.streams.push(webrtc.state);
      grid.append(webrtc.card.element);
      views.set(channel.id, { view: webrtc, decode: compressedMessageDecoder(channel) });
      return;
    }
    if (channel.schemaName === 'foxglove.CompressedVideo') view = new VideoStreamView(channel.topic, context);
    else if (channel.schemaName === 'foxglove.CompressedImage') view = new ImageStreamView(channel.topic, context);
    if (view) {
      let decode: CompressedMessageDecoder;
      try {
        decode = compressedMessageDecoder(channel);
      } catch (error) {
        view.card.notice((error as Error).message);
        grid.append(view.card.element);
        return;
      }
      views.set(channel.id, { view, decode });
      hook.streams.push(view.state);
      grid.append(view.card.element);
    } else if (channel.topic !== PLAYBACK_TOPIC && channel.encoding === 'json' && channel.schemaEncoding === 'jsonschema') {
      const card = new TelemetryView(channel.topic, channel.schemaName);
      telemetry.set(channel.id, card);
      hook.telemetry.push(card.state);
      grid.append(card.element);
    } else if (channel.topic !== PLAYBACK_TOPIC) {
      const line = document.createElement('li');
      line.textContent = `${channel.topic} (${channel.schemaName})`;
      others.append(line);
      messageLines.set(channel.id, line);
    }
    connection.subscribe(channel);
  };

  const onMessage = ({ channel, logTime, data }: ChannelMessage) => {
    const stream = views.get(channel.id);
    if (stream) {
      try {
        stream.view.push(stream.decode(data), logTime);
      } catch (error) {
        console.warn(`framebus: ${channel.topic}: unreadable message: ${(error as Error).message}`);
      }
      return;
    }
    const text = new TextDecoder().decode(data);
    if (channel.topic === PLAYBACK_TOPIC && replay) {
      const state = JSON.parse(text) as PlaybackState;
      if (state.seek_id !== lastSeekId) {
        lastSeekId = state.seek_id;
        // The server resends each telemetry channel's recent history after a seek.
        for (const card of telemetry.values()) card.reset();
        for (const { view: v } of views.values()) {
          if (!(v instanceof VideoStreamView)) continue;
          const target = state.targets.find((t) => t.topic === v.state.topic)?.timestamp_ns;
          v.seek(target ? BigInt(target) : undefined, !state.playing);
        }
      }
      replay.update(state);
      return;
    }
    const card = telemetry.get(channel.id);
    if (card) {
      try {
        card.push(JSON.parse(text));
      } catch {
        console.warn(`framebus: ${channel.topic}: a message that is not JSON`);
      }
      return;
    }
    const line = messageLines.get(channel.id);
    if (line) line.textContent = `${channel.topic}: ${text.slice(0, 200)}`;
  };

  const connection = new Connection(wsUrl.toString(), {
    onServerInfo: (metadata) => {
      if (metadata.choose === 'true') {
        closing = true;
        connection.close();
        chooseRecording().catch((error: Error) => showStatus(`Cannot list the recordings: ${error.message}`, true));
        return;
      }
      hook.connected = true;
      live = metadata.mode !== 'replay';
      hook.mode = live ? 'live' : 'replay';
      if (live) {
        controls.show();
        askServerClock(connection.clock, '/api/clock', localNowNs);
      }
      showStatus(live ? 'live' : `replay: ${metadata.recording ?? ''}`);
      if (!live) {
        replay = new ReplayControls(connection, (message) => showStatus(message, true));
        hook.replay = replay.hook;
        document.body.append(replay.element);
      }
    },
    onChannel: (channel) => {
      addChannel(channel);
      if (channel.topic === PLAYBACK_TOPIC && replay) {
        replay.load().catch((error: Error) => showStatus(`Cannot load the recording index: ${error.message}`, true));
      }
    },
    onMessage,
    onProblem: (message) => showStatus(message, true),
    onClose: (code, reason) => {
      hook.connected = false;
      if (closing) return;
      showStatus(`Disconnected (${code}${reason ? `: ${reason}` : ''}). Reload to reconnect.`, true);
    },
  });

  setInterval(() => {
    for (const { view } of views.values()) view.refresh();
    for (const card of telemetry.values()) card.refresh();
  }, 250);
}

// `?fmp4=<name>` plays that live fMP4 stream through MSE instead of the Foxglove channels;
// `&latency=<s>` chases the live edge.
const fmp4 = new URLSearchParams(location.search).get('fmp4');
if (fmp4 !== null) {
  window.framebusEarlySocket?.ws.close();
  const latency = Number(new URLSearchParams(location.search).get('latency') ?? NaN);
  startMseView(grid, fmp4, showStatus, Number.isFinite(latency) && latency > 0 ? latency : undefined);
} else {
  connect();
}
