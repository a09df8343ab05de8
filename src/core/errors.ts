/**
 * Every error framebus throws on purpose is a `FramebusError` with a stable `code`, so
 * callers can branch on the kind of failure without parsing messages.
 */
export class FramebusError extends Error {
  /** Stable machine-readable kind, e.g. `'invalid-argument'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A value passed in by a caller (API argument, CLI flag) is out of range or malformed. */
export class InvalidArgumentError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', message, options);
  }
}

/** Bytes from outside (a packet, a datagram, a file) do not parse. */
export class MalformedDataError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('malformed-data', message, options);
  }
}

/** A codec could not be opened, or failed on data it accepted. */
export class CodecError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('codec', message, options);
  }
}

/** A file, device, stream or topic that was asked for does not exist. */
export class NotFoundError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not-found', message, options);
  }
}

/** A requested time is farther from any frame than the allowed tolerance. */
export class OutOfToleranceError extends FramebusError {
  /** The requested timestamp, ns since the Unix epoch. */
  readonly requested: bigint;
  /** The nearest timestamp that exists, ns since the Unix epoch. */
  readonly nearest: bigint;

  constructor(message: string, requested: bigint, nearest: bigint) {
    super('out-of-tolerance', message);
    this.requested = requested;
    this.nearest = nearest;
  }
}

/** A connection, server or transport failed or was closed. */
export class TransportError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('transport', message, options);
  }
}

/** A required external program or system package is missing. */
export class MissingDependencyError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('missing-dependency', message, options);
  }
}

/** A file or folder could not be read or written: permission, a full disk, a read-only or special file system. */
export class FileSystemError extends FramebusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('file-system', message, options);
  }
}

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'the file is too large for its file system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EIO: 'an input/output error',
};

/**
 * The typed error for a failed file-system call, one line: `doing` says what was tried
 * (e.g. `Cannot create /x/y.mp4`), `then` (a sentence) what the caller kept or what to do.
 * Missing paths become NotFoundError, a folder or a non-folder in the wrong place
 * InvalidArgumentError, everything else FileSystemError.
 */
export function fileSystemError(error: unknown, doing: string, then?: string): FramebusError {
  if (error instanceof FramebusError) return error;
  const code = (error as { code?: string } | undefined)?.code ?? '';
  const after = then ? ` ${then}` : '';
  if (code === 'ENOENT') return new NotFoundError(`${doing}: no such file or folder.${after}`, { cause: error });
  if (code === 'EISDIR') return new InvalidArgumentError(`${doing}: it is a folder, not a file.${after}`, { cause: error });
  if (code === 'ENOTDIR') return new InvalidArgumentError(`${doing}: a part of the path is a file, not a folder.${after}`, { cause: error });
  const reason = FS_REASONS[code] ?? (error as Error)?.message ?? String(error);
  return new FileSystemError(`${doing}: ${reason}.${after}`, { cause: error });
}

/**
 * The frame nearest to a requested dataset timestamp is not within the tolerance (LeRobot's
 * `FrameTimestampError`). `requested`/`nearest` are ns on the file's own time line.
 */
export class FrameTimestampError extends OutOfToleranceError {
  constructor(
    message: string,
    requested: bigint,
    nearest: bigint,
    /** The requested time, seconds. */
    readonly requestedS: number,
    /** The nearest frame's time, seconds. */
    readonly nearestS: number,
  ) {
    super(message, requested, nearest);
  }
}

/**
 * A video's container gives no trustworthy presentation times (raw streams, AVI, times that
 * do not rise), so frames cannot be found by timestamp; decode it in order instead.
 */
export class UnreliableTimestampsError extends MalformedDataError {}
