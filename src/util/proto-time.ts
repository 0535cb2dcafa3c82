import Long from 'long';
import { protobuf, ProtobufPb } from '../proto';

type Time = { seconds?: Long | number | string | null; nanos?: number | null } | null | undefined;

/**
 * The fields of a Timestamp (epoch) or Duration for milliseconds, as a plain object: the stream serializers encode it
 * as they would a protobufjs instance, without creating one (the scheduler's assignments, once per decision).
 */
export function timeFields(ms: number): { seconds: Long; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A google.protobuf.Timestamp for epoch milliseconds. */
export function toTimestamp(ms: number): ProtobufPb.Timestamp {
  return protobuf.Timestamp.create(timeFields(ms));
}

/** A google.protobuf.Duration for milliseconds. */
export function toDuration(ms: number): ProtobufPb.Duration {
  return protobuf.Duration.create(timeFields(ms));
}

/** Milliseconds of a Duration or Timestamp; 0 when absent. */
export function durationMs(d: Time): number {
  if (!d) return 0;
  const s = d.seconds ?? 0;
  const seconds = typeof s === 'number' ? s : Long.isLong(s) ? s.toNumber() : Long.fromValue(s).toNumber();
  return seconds * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

/** Whole milliseconds from one Timestamp to another; undefined unless both are set. */
export function spanMs(start: Time, end: Time): number | undefined {
  return start && end ? durationMs(end) - durationMs(start) : undefined;
}
