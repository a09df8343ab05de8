import type { CompressedMessage } from './compressed-message.js';
import { localNowNs } from './connection.js';
import { StreamView, type ViewContext } from './stream-view.js';
import { captureTimeNs, endSession, negotiate, type WebRtcResource } from './webrtc-signaling.js';

/** Chromium's frame reader for a video track (MediaStreamTrackProcessor), not yet in the DOM typings. */
interface TrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}
declare const MediaStreamTrackProcessor: { new (init: { track: MediaStreamTrack }): TrackProcessor } | undefined;

/**
 * One H.264 topic played over WHEP: the browser's WebRTC stack receives and decodes it (with
 * `jitterBufferTarget = 0`), each frame is drawn on the card's canvas as it comes out of the
 * decoder, and its capture time is read from its RTP timestamp. The peer connection also
 * carries the operator's `commands` DataChannel (unreliable, unordered) for the teleop panel.
 */
export class WebRtcStreamView extends StreamView {
  /** The unreliable channel for operator commands, open once connected. */
  readonly commands: RTCDataChannel;
  private readonly pc = new RTCPeerConnection();
  private resource: WebRtcResource | undefined;
  private lastBytes = 0;
  private closed = false;

  constructor(topic: string, context: ViewContext) {
    super(topic, 'video', context);
    this.commands = this.pc.createDataChannel('commands', { ordered: false, maxRetransmits: 0 });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.ontrack = (event) => void this.play(event.track);
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed' || this.pc.connectionState === 'disconnected') this.card.notice(`WebRTC ${this.pc.connectionState}; reload to reconnect.`);
    };
    this.start().catch((error: Error) => this.card.notice(`WHEP: ${error.message}`));
    addEventListener('pagehide', () => this.close());
  }

  /** Nothing arrives over the WebSocket for a WebRTC stream. */
  push(_message: CompressedMessage, _logTime: bigint): void {}

  /** Ends the WHEP session. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    endSession(this.resource, this.pc);
  }

  override refresh(): void {
    this.pc
      .getStats()
      .then((report) => {
        report.forEach((entry: { type: string; bytesReceived?: number; codecId?: string }) => {
          if (entry.type !== 'inbound-rtp' || entry.bytesReceived === undefined) return;
          this.receivedBytes(entry.bytesReceived - this.lastBytes);
          this.lastBytes = entry.bytesReceived;
          const codec = entry.codecId ? (report.get(entry.codecId) as { sdpFmtpLine?: string } | undefined) : undefined;
          const profile = /profile-level-id=([0-9a-f]{6})/i.exec(codec?.sdpFmtpLine ?? '')?.[1];
          this.state.codec = profile ? `avc1.${profile} (WebRTC)` : 'H.264 (WebRTC)';
        });
      })
      .catch(() => undefined);
    super.refresh();
  }

  private async start(): Promise<void> {
    this.resource = await negotiate(this.pc, `/whep/${encodeURIComponent(this.state.topic)}`);
    for (const receiver of this.pc.getReceivers()) receiver.jitterBufferTarget = 0;
  }

  private async play(track: MediaStreamTrack): Promise<void> {
    if (typeof MediaStreamTrackProcessor === 'undefined') {
      this.card.notice('This browser cannot read WebRTC video frames (no MediaStreamTrackProcessor); use ?transport=websocket.');
      return;
    }
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done || this.closed) {
        frame?.close();
        return;
      }
      const rtp = (frame as VideoFrame & { metadata(): { rtpTimestamp?: number } }).metadata().rtpTimestamp;
      const captureNs = rtp === undefined ? localNowNs() + this.context.clockOffsetNs() : captureTimeNs(rtp, localNowNs() + this.context.clockOffsetNs());
      this.state.waiting = false;
      this.state.width = frame.displayWidth;
      this.state.height = frame.displayHeight;
      // No server receive time travels with an RTP frame, so publish → drawn is reported as capture → drawn.
      this.show(frame, frame.displayWidth, frame.displayHeight, captureNs, captureNs);
      frame.close();
    }
  }
}
