// One error class for everything the protocol can refuse. `code` is stable and travels on the
// wire inside `error` frames, so peers and tests match on it, never on the message text.

export type ProtocolErrorCode =
  | 'DECODE_ERROR'
  | 'FRAME_TOO_LARGE'
  | 'LIMIT_EXCEEDED'
  | 'UNKNOWN_MESSAGE'
  | 'UNEXPECTED_MESSAGE'
  | 'UNKNOWN_SESSION'
  | 'VERSION_MISMATCH'
  | 'ROLE_MISMATCH'
  | 'INVALID_VALUE'
  | 'CHANNEL_CLOSED'
  | 'FLOW_CONTROL_ERROR'
  | 'REMOTE_ERROR'
  | 'INTERNAL_ERROR'

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode
  /** For REMOTE_ERROR: the code the peer sent. */
  readonly remoteCode: string | null

  constructor(code: ProtocolErrorCode, message: string, remoteCode: string | null = null) {
    super(message)
    this.name = 'ProtocolError'
    this.code = code
    this.remoteCode = remoteCode
  }

  static DECODE_ERROR(detail: string): ProtocolError {
    return new ProtocolError('DECODE_ERROR', `malformed frame: ${detail}`)
  }

  static FRAME_TOO_LARGE(size: number, max: number): ProtocolError {
    return new ProtocolError('FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the ${max}-byte limit`)
  }

  static LIMIT_EXCEEDED(field: string, value: number, max: number): ProtocolError {
    return new ProtocolError('LIMIT_EXCEEDED', `${field} is ${value}, above its bound of ${max}`)
  }

  static UNKNOWN_MESSAGE(type: number): ProtocolError {
    return new ProtocolError('UNKNOWN_MESSAGE', `unknown message type ${type}`)
  }

  static UNEXPECTED_MESSAGE(name: string, state: string, why = ''): ProtocolError {
    const tail = why ? `: ${why}` : ''
    return new ProtocolError('UNEXPECTED_MESSAGE', `${name} is not legal in state ${state}${tail}`)
  }

  static UNKNOWN_SESSION(name: string): ProtocolError {
    return new ProtocolError('UNKNOWN_SESSION', `${name} names a session id that is not this channel's session`)
  }

  static VERSION_MISMATCH(local: number, remote: number): ProtocolError {
    return new ProtocolError(
      'VERSION_MISMATCH',
      `peer speaks protocol version ${remote}, this build speaks ${local}: upgrade whichever side is older`
    )
  }

  static ROLE_MISMATCH(local: string, remote: string): ProtocolError {
    return new ProtocolError('ROLE_MISMATCH', `both peers claim role ${remote} (this side is ${local})`)
  }

  static INVALID_VALUE(field: string, why: string): ProtocolError {
    return new ProtocolError('INVALID_VALUE', `${field} ${why}`)
  }

  static CHANNEL_CLOSED(): ProtocolError {
    return new ProtocolError('CHANNEL_CLOSED', 'the session channel is closed')
  }

  static FLOW_CONTROL_ERROR(streamId: number, received: number, window: number): ProtocolError {
    return new ProtocolError(
      'FLOW_CONTROL_ERROR',
      `stream ${streamId} received ${received} bytes with a window of ${window}`
    )
  }

  static REMOTE_ERROR(code: string, message: string): ProtocolError {
    return new ProtocolError('REMOTE_ERROR', `peer reported ${code}: ${message}`, code)
  }

  /**
   * This side failed while handling a frame (a listener threw). The peer hears only the code: the
   * cause, kept locally for the log, may name files or state that are none of its business.
   */
  static INTERNAL_ERROR(cause: unknown): ProtocolError {
    return Object.assign(
      new ProtocolError('INTERNAL_ERROR', 'the peer failed while handling a frame and closed the channel'),
      { cause }
    )
  }
}
