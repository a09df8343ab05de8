import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { logToStderr } from '../core/log.js';
import { checkOutputPath } from '../core/output-file.js';
import type { VideoPacket } from '../core/packet.js';
import { secondsToNs, nsToSeconds } from '../core/time.js';
import { RecordingReader, type RecordingReaderOptions } from '../store/recording-reader.js';
import { isVideoStreamCodec, keyframeAtOrBefore } from '../store/stream-index.js';
import { writeMp4, type Mp4Summary } from './mp4-writer.js';
import { KeyframeGate } from '../codec/keyframe-gate.js';

/** What to export. */
export interface ExportOptions extends RecordingReaderOptions {
  /** The video stream. Default: the recording's only video stream. */
  stream?: string;
  /** Start of the clip, seconds from the stream's first frame. Default 0. */
  start?: number;
  /** End of the clip (the last frame shown is the one at or before it), seconds from the first frame. Default: the last frame. */
  end?: number;
  /** Fragmented MP4 (playable while written, for MSE). Default false: one `moov` up front (faststart). */
  fragmented?: boolean;
  /** Called after each packet is written. */
  onProgress?: (done: number, total: number) => void;
}

/** What an export wrote. */
export interface ExportSummary extends Mp4Summary {
  output: string;
  stream: string;
  /** Frames shown (packets from the key packet before the start are stored but hidden by the edit list). */
  frames: number;
  /** Timestamp of the first frame shown, ns since the Unix epoch. */
  start: bigint;
  /** Timestamp of the last frame shown. */
  end: bigint;
}

/**
 * Exports a time range of a recorded video stream as an MP4 (faststart, for browsers and
 * players) or fragmented MP4, without re-encoding: the recorded packets become the samples.
 * The file starts at the key packet at or before the range start; an edit list hides the
 * frames before it, so playback starts exactly at the frame shown at `start`. The clip appears
 * at `output` only once it is complete (replacing a file there); a failed export leaves nothing.
 * @throws NotFoundError for an unknown stream; InvalidArgumentError for a non-video stream, a
 *   range that is negative, reversed or past the end, or an output that is the recording
 *   itself, a folder or a special file (checked before anything is read); MalformedDataError
 *   when a damaged file holds no readable packets where its index lists them.
 */
export async function exportClip(recordingPath: string, output: string, options: ExportOptions = {}): Promise<ExportSummary> {
  await checkOutputPath(output, { inputs: [recordingPath], overwrite: true });
  const reader = await RecordingReader.open(recordingPath, options);
  try {
    const name = options.stream ?? (await onlyVideoStream(reader));
    const info = await reader.stream(name);
    if (!isVideoStreamCodec(info.codec)) throw new InvalidArgumentError(`Stream ${name} is ${info.codec}; only H.264, H.265 and AV1 streams export to MP4.`);
    const from = info.start + offset(options.start ?? 0, 'start');
    const to = options.end === undefined ? info.end : info.start + offset(options.end, 'end');
    if (from > info.end) throw new InvalidArgumentError(`The clip starts at ${options.start} s, after the stream's last frame at ${nsToSeconds(info.end - info.start)} s.`);
    if (to < from) throw new InvalidArgumentError(`The clip ends (${options.end} s) before it starts (${options.start ?? 0} s).`);
    const k = keyframeAtOrBefore(info.keyframes, from);
    if (k < 0) throw new InvalidArgumentError(`Stream ${name} has no key packet at or before ${options.start ?? 0} s, so no clip can start there.`);
    const packets: VideoPacket[] = [];
    // Packets after a gap (a damaged chunk left out) cannot decode until the next key packet:
    // a clip holds only what plays as recorded.
    const gate = new KeyframeGate();
    let undecodable = 0;
    for await (const item of reader.packets(name, { start: info.keyframes[k].timestamp, end: to })) {
      if (gate.admit(item as VideoPacket)) packets.push(item as VideoPacket);
      else undecodable++;
    }
    if (undecodable > 0) (options.warn ?? logToStderr)(`${recordingPath}: ${undecodable} packets of ${name} follow a gap in the stream and were left out of the clip.`);
    // The stream's index promised packets here; a damaged file may not hold them.
    if (packets.length === 0) throw new MalformedDataError(`Stream ${name} of ${recordingPath} has no readable packets from ${options.start ?? 0} s on, although its index lists some; \`framebus recover\` rebuilds the index.`);
    // The frame on screen at `from` is the last one at or before it.
    const shown = packets.filter((p) => p.timestamp <= from).pop() ?? packets[0];
    const visible = packets.filter((p) => p.timestamp >= shown.timestamp);
    let done = 0;
    const summary = await writeMp4(
      output,
      (function* () {
        for (const p of packets) {
          yield p;
          done++;
          options.onProgress?.(done, packets.length);
        }
      })(),
      { fragmented: options.fragmented, presentationStart: shown.timestamp, inputs: [recordingPath] },
    );
    return { ...summary, output, stream: name, frames: visible.length, start: shown.timestamp, end: visible[visible.length - 1].timestamp };
  } finally {
    await reader.close();
  }
}

function offset(seconds: number, what: string): bigint {
  const ns = secondsToNs(seconds, what);
  if (ns < 0n) throw new InvalidArgumentError(`${what} must not be negative, got ${seconds} s.`);
  return ns;
}

async function onlyVideoStream(reader: RecordingReader): Promise<string> {
  const video = (await reader.streams()).filter((s) => isVideoStreamCodec(s.codec));
  if (video.length !== 1) {
    throw new InvalidArgumentError(
      video.length === 0 ? `${reader.path} has no video stream to export.` : `${reader.path} has several video streams (${video.map((s) => s.name).join(', ')}); name one.`,
    );
  }
  return video[0].name;
}
