/**
 * framebus: encode camera and generated video once, then publish, record, seek, export and
 * view the same packets. This entry point gathers the public API of every layer.
 */
export * from './core/index.js';
export { logToStderr, type LogSink } from './core/log.js';

export { VideoEncoder } from './codec/video-encoder.js';
export type { VideoEncoderOptions } from './codec/video-encoder-options.js';
export { VideoDecoder, type VideoDecoderOptions, type DecoderStats } from './codec/video-decoder.js';
export { FramePool } from './codec/frame-pool.js';
export { KeyframeGate, type WaitingEvent, type WaitReason } from './codec/keyframe-gate.js';
export { createImageCodec, type ImageCodec, type ImageCodecOptions, type EncodedImage } from './codec/image-codec.js';
export { PixelConverter, type AvPlanes, type ConvertTarget } from './codec/pixel-converter.js';
export { splitAnnexB, h264NalType, h265NalType, type NalUnit } from './codec/annexb.js';
export { parseH264Sps, h264CodecString, buildAvcC, findH264ParameterSets, type H264Sps } from './codec/h264-sps.js';
export { isKeyAccessUnit } from './codec/keyframe-detect.js';
export { psnr } from './codec/psnr.js';

export type { FrameSource, SourceInfo } from './source/frame-source.js';
export { SyntheticSource, readFrameCode, type SyntheticSourceOptions } from './source/synthetic-source.js';
export { FileSource, type FileSourceOptions } from './source/file-source.js';
export { PngFolderSource, type PngFolderSourceOptions } from './source/png-folder-source.js';
export { openSource, isLiveSource, defaultFrameCap, SYNTHETIC_DEFAULTS, SYNTHETIC_ENCODE_FRAMES, type OpenSourceOptions } from './source/open-source.js';
export { sampleVideoPath } from './source/sample-video.js';

export type { MessageType } from './wire/message-type.js';
export type { LcmStruct, LcmMember } from './wire/lcm-schema.js';
export type { LcmMessageType } from './wire/lcm-struct-codec.js';
export type { LcmConstant, LcmConstType, LcmDimension, LcmPrimitive } from './wire/lcm-schema.js';
export { lcmMessageType, lazyLcmMessageType } from './wire/lcm-struct-codec.js';
export { lcmFingerprint } from './wire/lcm-fingerprint.js';
export { LcmTypeError, type LcmSourcePosition } from './wire/lcm-type-lexer.js';
export { loadLcmTypes, lcmTypesFromSources, findLcmFiles, busTypes, LcmTypes, type LcmSource, type LcmValue } from './wire/lcm-types.js';
export { generateLcmTypeScript, writeLcmTypeScript, type GeneratedModule, type LcmTypeScriptOptions } from './wire/lcm-typescript.js';
export { lcmJsonSchema, lcmValueToJson } from './wire/lcm-json.js';
export { lcmValueFromJson } from './wire/lcm-json-input.js';
export * from './wire/messages.js';

export { Bus, type BusOptions } from './bus/bus.js';
export type { BusStats, Topic, TopicProvider, MessageHandler, MessageInfo, Subscription, RawHandler, RawMessage } from './bus/topic.js';
export type { VideoTopic } from './bus/video/video-topic.js';
export type { VideoChannels } from './bus/video/video-channels.js';
export type { VideoPublisherOptions, VideoPublisherStats } from './bus/video/video-publisher.js';
export type {
  PacketHandler,
  VideoSubscribeOptions,
  VideoSubscription,
  VideoSubscriptionStats,
  FrameHandler,
  FrameSubscribeOptions,
} from './bus/video/video-subscriber.js';
export type { GopCacheOptions } from './bus/video/gop-cache.js';
export type { GopQueueOptions } from './bus/video/gop-queue.js';
export { NatsTransport, type NatsTransportOptions } from './bus/nats/nats-transport.js';
export type { NatsReconnectOptions } from './bus/nats/nats-connect-options.js';
export {
  parseNatsUrl,
  maskBusUrl,
  Secret,
  DEFAULT_NATS_URL,
  NATS_TOKEN_ENV,
  NATS_PASSWORD_ENV,
  type NatsUrl,
  type NatsAuth,
  type NatsTls,
  type NatsServerAddress,
  type SecretEnvironment,
} from './bus/nats/nats-url.js';
export { LocalNatsCluster, makeTestCertificates, type LocalNatsClusterOptions, type LocalNatsClusterAuth } from './bus/nats/local-nats-cluster.js';
export type { ReassemblerOptions } from './bus/nats/fragment-reassembler.js';
export type { LcmTransportOptions } from './bus/lcm/lcm-transport.js';
export type { LcmReassemblerOptions } from './bus/lcm/lcm-reassembler.js';
export type { ByteTransport, LinkListener, ReceivedInfo, TransportStats } from './bus/transport.js';
export { WebRtcTransport, type WebRtcTransportOptions, type WebRtcTransportStats } from './bus/webrtc/webrtc-transport.js';
export { WebRtcAnswerer, type AnswererOptions, type Answer, type AnswerSession } from './bus/webrtc/webrtc-answerer.js';
export { parseWebRtcUrl, WEBRTC_BUS_PATH, WEBRTC_LOOPBACK_URL, type WebRtcUrl } from './bus/webrtc/webrtc-url.js';
export type { LinkOptions, LinkStats } from './bus/webrtc/webrtc-link.js';
export type { SenderLimits } from './bus/webrtc/dc-sender.js';
export type { PeerOptions } from './bus/webrtc/ndc-peer.js';
export type { DialOptions } from './bus/webrtc/webrtc-dial.js';
export { publishSource, type PublishSourceOptions, type PublishSourceResult } from './bus/publish-source.js';
export { watchTopics, type TopicRate, type TopicWatcher, type WatchTopicsOptions } from './bus/watch-topics.js';
export { echoTopic, formatEchoed, type EchoedMessage } from './bus/topic-echo.js';
export { publishJson, type PublishJsonOptions } from './bus/json-publisher.js';
export { PacketGuard, type PacketGuardOptions, type GuardVerdict } from './bus/video/packet-guard.js';

export { Recording, RecordingStream, type RecordingSummary, type StreamOptions } from './store/recording.js';
export { RecordingReader, type RecordingReaderOptions, type FrameAtOptions, type RecordedChannel, type StreamInfo, type TimeRange } from './store/recording-reader.js';
export { recover, type RecoverSummary, type RecoverOptions } from './store/recover.js';
export type { ReadableCounts } from './store/mcap-salvage.js';
export { recordSource, type RecordSourceOptions, type RecordProgress } from './store/record-source.js';
export { BusRecorder, recordBus, type BusRecorderOptions, type TopicRecordStats } from './store/bus-recorder.js';
export { TelemetryChannel, readTelemetry, LCM_TYPE_METADATA, LCM_FINGERPRINT_METADATA, type RecordedTelemetry } from './store/telemetry-channel.js';
export { playRecording, SPEED_RANGE, type PlayOptions, type PlaySummary } from './store/play-recording.js';
export { recordingInfo, type RecordingInfoJson, type StreamSummaryJson, type RecordedTopicJson } from './store/recording-info.js';
export { extractFrames, type ExtractFramesOptions, type ExtractedFrame } from './store/extract-frames.js';
export type { McapFileWriter, McapFileWriterOptions } from './store/mcap-file-writer.js';
export type { StreamIndex, KeyframeEntry } from './store/stream-index.js';

export { Mp4Writer, writeMp4, type Mp4WriterOptions, type Mp4Summary } from './media/mp4-writer.js';
export { encodeToMp4, type ProgressCallback, type EncodeSummary } from './media/encode-to-mp4.js';
export { probeVideo, type ProbeResult } from './media/probe.js';
export { decodeVideoFrames, sharedVideoDecoderCache, VideoDecoderCache, type CachedRecording, type DecodeVideoFramesOptions } from './media/decode-video-frames.js';
export { VideoFileReader, type DecodedFormat, type FramesAtOptions, type VideoFileReaderOptions } from './media/video-file-reader.js';
export { concatVideos, type ConcatSegment, type ConcatSummary } from './media/concat-videos.js';
export { getVideoInfo, type VideoInfo } from './media/video-info.js';
export { exportClip, type ExportOptions, type ExportSummary } from './media/export.js';
export { importVideo, type ImportOptions, type ImportSummary } from './media/import.js';
export { SegmentStreamer } from './media/segment-streamer.js';
export type {
  Segment,
  SegmentStreamerOptions,
  SegmentAudioOptions,
  StreamEventListener,
  SegmentInput,
  SegmentAudio,
  SegmentTimings,
  StreamEvent,
  InitEvent,
  ChunkEvent,
  CompleteEvent,
  ErrorEvent,
  WarningEvent,
  StreamerCloseResult,
} from './media/segment-types.js';
export { Fmp4Muxer, FMP4_VIDEO_TIMESCALE, type Fmp4VideoTrack } from './media/fmp4-muxer.js';
export { SegmentFeed, type Fmp4Source, type Fmp4Receiver } from './media/fmp4-source.js';
export { PacketFmp4Stream } from './media/packet-fmp4.js';
export { AudioEncoder, AUDIO_CODECS, OPUS_SAMPLE_RATES, type AudioCodec, type AudioEncoderOptions, type AudioPacket } from './codec/audio-encoder.js';
export {
  StreamingVideoEncoder,
  type StreamingVideoEncoderOptions,
  type CameraEpisodeResult,
  type CameraEncoderSettings,
} from './media/streaming-video-encoder.js';
export type { CameraWorkerSummary } from './media/camera-encoder-protocol.js';
export { ImageStatsAccumulator, statsDownsampleStep, type ImageStats } from './media/image-stats.js';
export { recordCameras, type RecordCamerasOptions, type RecordCamerasSummary } from './media/record-cameras.js';

export { startLiveServer, serveLiveFeeds, type LiveServerOptions, type LiveFeedServerOptions, type LiveServerHandle } from './server/live-server.js';
export { webrtcRoutes, webrtcEndpointUrls, type WebRtcRoutesOptions, type WebRtcEndpoints, type WebRtcSession } from './server/webrtc-routes.js';
export type { MethodRoute, HttpRequest } from './server/method-routes.js';
export type { HttpAnswer } from './server/http-routes.js';
export { WhepSession, rtpTimestampOf, type WhepSessionStats, type WhepSessionOptions } from './server/whep-session.js';
export { WhipSession, type WhipSessionStats, type WhipSessionOptions } from './server/whip-session.js';
export { TeleopCommands, type CommandSink, type TeleopCommandStats } from './server/teleop-commands.js';
export { parseSdpOffer, type SdpOffer, type SdpMediaSection, type SdpH264Format } from './server/sdp-offer.js';
export { H264RtpDepacketizer, rtpPayload, type RtpAccessUnit, type H264RtpStats } from './codec/h264-rtp.js';
export type { ViewerServerHandle, ViewerServerOptions } from './server/viewer-server.js';
export type { SendLimits } from './server/send-gate.js';
export type { LiveFeeds, LiveVideoFeed, LiveImageFeed, LiveMessageFeed, Unsubscribe } from './server/live-feeds.js';
export { startReplayServer, type ReplayServerOptions } from './server/replay-server.js';
export { runDemo, type DemoOptions, type DemoHandle, type DemoSummary } from './server/demo.js';
export { serveFmp4 } from './server/fmp4-server.js';
export { runGeneratedDemo, type GeneratedDemoOptions } from './server/generated-demo.js';
export { streamSource, type SourceStreamOptions } from './server/source-stream.js';
export { runFmp4Stream, type Fmp4StreamHandle } from './server/fmp4-stream-run.js';
