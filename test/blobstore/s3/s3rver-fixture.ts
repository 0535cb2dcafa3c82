import { createHash } from 'node:crypto';
import type { Server, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { newS3Location, S3Location } from '../../../src/blobstore/s3/s3-connection';

// s3rver ships no types; this is the part of its API the tests use.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer: Server };

export const BUCKET = 'test';

/**
 * A real S3-protocol server (s3rver) on loopback, storing into `directory`. It records every request it receives, so
 * tests can assert how many requests an operation cost, and it can be killed (connections cut, like a crash) and
 * started again on the same port and directory.
 */
export class S3rverFixture {
  /** `METHOD url` of every request received since the last `resetRequests()`. */
  requests: string[] = [];
  port = 0;
  private server: InstanceType<typeof S3rver> | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly directory: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new S3rver({ port: this.port, address: '127.0.0.1', silent: true, directory: this.directory, configureBuckets: [{ name: BUCKET }] });
    const { port } = await server.run();
    this.port = port;
    server.httpServer.on('request', (req: IncomingMessage) => this.requests.push(`${req.method} ${req.url}`));
    server.httpServer.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
  }

  /** Stops accepting and cuts every open connection, as a crashed or partitioned S3 would. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = server.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  resetRequests(): void {
    this.requests = [];
  }

  location(prefix = ''): S3Location {
    return newS3Location({ endpoint: this.endpoint, bucket: BUCKET, prefix, accessKey: 'S3RVER', secretKey: 'S3RVER', idleTimeoutMs: 5000 });
  }
}

/** Every object name under `{prefix}cas/`, straight from the server (independent of any index). */
export async function listCasObjects(s3: S3Location): Promise<string[]> {
  const names: string[] = [];
  for (;;) {
    // v1 with markers: s3rver cannot make v2 continuation tokens on Node 20 (DES is gone from OpenSSL 3).
    const page = await s3.client.listObjectsQuery(s3.bucket, `${s3.prefix}cas/`, names.at(-1) ?? '', { Delimiter: '', MaxKeys: 1000 });
    for (const o of page.objects) if (o.name) names.push(o.name);
    if (!page.isTruncated) return names;
  }
}

/** The `{sha256}-{size}` of an object's actual content. */
export async function contentKeyOf(s3: S3Location, name: string): Promise<string> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of await s3.client.getObject(s3.bucket, name)) {
    hash.update(c as Buffer);
    size += (c as Buffer).byteLength;
  }
  return `${hash.digest('hex')}-${size}`;
}
