import { Readable, Transform } from 'node:stream';
import type { Logger } from 'pino';
import { Digest } from '../../digest/digest';
import { BlobWriter } from '../blob-store';

/**
 * Passes `source` through to the reader and copies every chunk into `fill` as it goes (one read of the slow tier
 * serves both). The fill is committed when the source ends (so the next read hits the fast tier) and aborted when the
 * source fails or the reader goes away; fill errors are logged and otherwise ignored: the read still succeeds.
 */
export function fillingStream(source: Readable, fill: BlobWriter, digest: Digest, logger?: Logger): Readable {
  let filling = true;
  const stop = (err: unknown) => {
    if (!filling) return;
    filling = false;
    logger?.debug({ err, digest: `${digest}` }, 'read cache: fill abandoned');
    void fill.abort().catch(() => undefined);
  };
  const tee = new Transform({
    highWaterMark: 256 * 1024,
    transform(chunk: Buffer, _enc, done) {
      if (!filling) return done(null, chunk);
      // Waiting for the (local, fast) write keeps memory bounded when the fast tier is slower than the network.
      fill.write(chunk).then(
        () => done(null, chunk),
        (err) => {
          stop(err);
          done(null, chunk);
        },
      );
    },
    flush(done) {
      if (!filling) return done();
      filling = false;
      fill.commit().then(
        () => done(),
        (err) => {
          logger?.warn({ err, digest: `${digest}` }, 'read cache: could not commit the fill (e.g. the slow tier returned bytes that do not match the digest)');
          void fill.abort().catch(() => undefined);
          done();
        },
      );
    },
  });
  source.on('error', (err) => {
    stop(err);
    tee.destroy(err);
  });
  tee.on('close', () => {
    if (!tee.writableFinished) source.destroy();
    stop(new Error('reader went away'));
  });
  return source.pipe(tee);
}
