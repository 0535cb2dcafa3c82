import type { Client } from '@grpc/grpc-js';
import type { ReadinessCheck } from '../http/health';

/** Ready while a gRPC channel is connected (or connects within `waitMs`): a frontend's link to its scheduler. */
export function channelReady(client: Client, address: string, waitMs = 2000): ReadinessCheck {
  return () =>
    new Promise<void>((resolve, reject) => {
      client.waitForReady(Date.now() + waitMs, (err) => (err ? reject(new Error(`scheduler ${address} is not connected: ${err.message}`)) : resolve()));
    });
}
