import { endSession, negotiate, type WebRtcResource } from './webrtc-signaling.js';

/** What tests read from `window.framebus.whip`. */
export interface WhipHookState {
  /** True while the camera is being published. */
  publishing: boolean;
  /** The topic it is published on. */
  topic: string;
  /** Why the last attempt failed, or null. */
  error: string | null;
}

/**
 * The "publish my camera" button: the browser's camera (getUserMedia) sent over WHIP as
 * H.264 (preferred over the browser's other codecs), so the server publishes it on the bus
 * like any camera, without re-encoding.
 */
export class WhipCamera {
  readonly element = document.createElement('span');
  readonly state: WhipHookState = { publishing: false, topic: 'browser-camera', error: null };
  private readonly button = document.createElement('button');
  private readonly topic = document.createElement('input');
  private pc: RTCPeerConnection | undefined;
  private stream: MediaStream | undefined;
  private resource: WebRtcResource | undefined;

  constructor(private readonly problem: (message: string) => void) {
    this.element.className = 'whip';
    this.topic.value = this.state.topic;
    this.topic.size = 14;
    this.topic.title = 'topic to publish the camera on';
    this.button.textContent = 'publish my camera';
    this.button.addEventListener('click', () => (this.state.publishing ? this.stop() : void this.start()));
    this.element.append(this.topic, this.button);
    addEventListener('pagehide', () => this.stop());
  }

  private async start(): Promise<void> {
    this.button.disabled = true;
    this.state.error = null;
    this.state.topic = this.topic.value.trim() || 'browser-camera';
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: false });
      this.pc = new RTCPeerConnection();
      const transceiver = this.pc.addTransceiver(this.stream.getVideoTracks()[0], { direction: 'sendonly' });
      const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
      const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? ''));
      if (h264.length === 0) throw new Error('this browser cannot send H.264');
      transceiver.setCodecPreferences([...h264, ...codecs.filter((c) => c.mimeType === 'video/rtx')]);
      this.resource = await negotiate(this.pc, `/whip/${encodeURIComponent(this.state.topic)}`);
      this.state.publishing = true;
      this.button.textContent = 'stop my camera';
    } catch (error) {
      this.state.error = (error as Error).message;
      this.problem(`Cannot publish the camera: ${this.state.error}`);
      this.stop();
    } finally {
      this.button.disabled = false;
    }
  }

  private stop(): void {
    endSession(this.resource, this.pc);
    this.resource = undefined;
    this.pc = undefined;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    this.state.publishing = false;
    this.button.textContent = 'publish my camera';
  }
}
