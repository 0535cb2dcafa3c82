import Long from 'long';
import { protobuf, ProtobufPb } from '../proto';

export function toTimestamp(ms: number): ProtobufPb.Timestamp {
  const seconds = Math.floor(ms / 1000);
  return protobuf.Timestamp.create({ seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

/** Milliseconds of a Duration; 0 when absent. */
export function durationMs(d: ProtobufPb.IDuration | null | undefined): number {
  if (!d) return 0;
  return Long.fromValue(d.seconds ?? 0).toNumber() * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}
