/**
 * framebus: encode camera and generated video once, then publish, record, seek, export and
 * view the same packets. This entry point gathers the public API of every layer.
 */
export * from './core/index.js';

export { VideoEncoder, type VideoEncoderOptions } from './codec/video-encoder.js';
export { VideoDecoder, type VideoDecoderOptions, type DecoderStats } from './codec/video-decoder.js';
export { KeyframeGate, type WaitingEvent, type WaitReason } from './codec/keyframe-gate.js';
export { createImageCodec, type ImageCodec, type ImageCodecOptions, type EncodedImage } from './codec/image-codec.js';
export { PixelConverter } from './codec/pixel-converter.js';
export { splitAnnexB, h264NalType, h265NalType, type NalUnit } from './codec/annexb.js';
export { parseH264Sps, h264CodecString, buildAvcC, findH264ParameterSets, type H264Sps } from './codec/h264-sps.js';
export { isKeyAccessUnit } from './codec/keyframe-detect.js';
export { psnr } from './codec/psnr.js';

export type { FrameSource, SourceInfo } from './source/frame-source.js';
export { SyntheticSource, readFrameCode, type SyntheticSourceOptions } from './source/synthetic-source.js';
export { FileSource, type FileSourceOptions } from './source/file-source.js';
export { PngFolderSource, type PngFolderSourceOptions } from './source/png-folder-source.js';
export { openSource, type OpenSourceOptions } from './source/open-source.js';
export { sampleVideoPath } from './source/sample-video.js';

export type { MessageType } from './wire/message-type.js';
export * from './wire/messages.js';

export { Bus, type BusOptions } from './bus/bus.js';
export type { ByteTransport, ReceivedInfo, TransportStats } from './bus/transport.js';
export { publishSource, type PublishSourceOptions, type PublishSourceResult } from './bus/publish-source.js';
export { watchTopics, type TopicRate, type TopicWatcher } from './bus/watch-topics.js';
export { PacketGuard, type PacketGuardOptions, type GuardVerdict } from './bus/packet-guard.js';

export { Recording, RecordingStream, type RecordingSummary, type StreamOptions } from './store/recording.js';
export { RecordingReader, type RecordingReaderOptions, type FrameAtOptions, type StreamInfo } from './store/recording-reader.js';
export { recover, type RecoverSummary } from './store/recover.js';
export { recordSource } from './store/record-source.js';
export { BusRecorder, recordBus, type BusRecorderOptions, type TopicRecordStats } from './store/bus-recorder.js';
export { playRecording } from './store/playback.js';
export { recordingInfo } from './store/recording-info.js';
export { extractFrames } from './store/extract-frames.js';

export { Mp4Writer, writeMp4, type Mp4WriterOptions, type Mp4Summary } from './media/mp4-writer.js';
export { encodeToMp4 } from './media/encode-to-mp4.js';
export { probeVideo, type ProbeResult } from './media/probe.js';
export { exportClip, type ExportOptions } from './media/export.js';
export { importVideo, type ImportOptions } from './media/import.js';

export { startLiveServer, serveLiveFeeds } from './server/live-server.js';
export { startReplayServer } from './server/replay-server.js';
export { runDemo, type DemoOptions, type DemoHandle, type DemoSummary } from './server/demo.js';
