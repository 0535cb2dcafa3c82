import { ServerInterceptingCall, ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors';
import { constants as http2 } from 'node:http2';

/** grpc-js's private fields this reaches into (checked at run time; test/integration/limits.test.ts watches them). */
interface BaseInternals {
  decoder?: { maxReadMessageLength?: number; write?: (data: Buffer) => Buffer[] };
  stream?: { close?: (code: number) => void; closed?: boolean; destroyed?: boolean; writableFinished?: boolean; once?: (event: 'close', fn: () => void) => void };
}

/** The innermost call (grpc-js's own, which owns the HTTP/2 stream), under any number of interceptors. */
function baseOf(call: ServerInterceptingCallInterface): BaseInternals | undefined {
  let c: unknown = call;
  for (let i = 0; i < 16 && c instanceof ServerInterceptingCall; i++) c = (c as unknown as { nextCall: unknown }).nextCall;
  return c instanceof BaseServerInterceptingCall ? (c as unknown as BaseInternals) : undefined;
}

/**
 * What grpc-js offers no public hook for, per call: a receive limit of its own and a reset of the HTTP/2 stream. Both
 * return false if grpc-js's internals changed; then its server-wide receive limit still applies (with its own message),
 * and a stalled reader is left to the connection's keepalive.
 */
export const callInternals = {
  /**
   * Refuses request messages over `bytes` as soon as their 5-byte prefix announces the length, before any of the body
   * is buffered: `onTooLarge(length)` is called once (it should end the call) and later data is dropped.
   */
  receiveLimit(call: ServerInterceptingCallInterface, bytes: number, onTooLarge: (length: number) => void): boolean {
    const decoder = baseOf(call)?.decoder;
    const write = decoder?.write;
    if (!decoder || typeof write !== 'function' || typeof decoder.maxReadMessageLength !== 'number') return false;
    decoder.maxReadMessageLength = bytes;
    let refused = false;
    decoder.write = (data: Buffer): Buffer[] => {
      if (refused) return [];
      try {
        return write.call(decoder, data);
      } catch (err) {
        // StreamDecoder: "Received message larger than max (<length> vs <max>)".
        const m = /larger than max \((\d+) vs/.exec((err as Error).message);
        if (!m) throw err;
        refused = true;
        onTooLarge(Number(m[1]));
        return [];
      }
    };
    return true;
  },

  /** Resets the call's HTTP/2 stream (the client sees CANCELLED): for a client that stopped reading its responses. */
  reset(call: ServerInterceptingCallInterface): boolean {
    const stream = baseOf(call)?.stream;
    if (!stream || typeof stream.close !== 'function') return false;
    if (!stream.closed && !stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
    return true;
  },

  /**
   * Closes the call's HTTP/2 stream `graceMs` after its status was sent, unless the client has closed its side by
   * then: a client that never ends its request would otherwise keep the stream open. RST_STREAM(NO_ERROR) once the
   * response went out in full (HTTP/2 §8.1: the client stops sending and keeps the response), CANCEL otherwise.
   */
  closeAfter(call: ServerInterceptingCallInterface, graceMs: number): boolean {
    const stream = baseOf(call)?.stream;
    if (!stream || typeof stream.close !== 'function' || typeof stream.once !== 'function') return false;
    if (stream.closed || stream.destroyed) return true;
    const timer = setTimeout(() => {
      if (!stream.closed && !stream.destroyed) stream.close!(stream.writableFinished ? http2.NGHTTP2_NO_ERROR : http2.NGHTTP2_CANCEL);
    }, graceMs);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
    return true;
  },
};
