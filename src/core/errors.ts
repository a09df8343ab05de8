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
