import type { Server } from '@grpc/grpc-js';
import type { Http2Session } from 'node:http2';
import type { EventEmitter } from 'node:events';

/** grpc-js's private fields this reaches into (checked at run time; test/integration/bytestream watches them). */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, number> };
  http2Servers?: Map<EventEmitter, unknown>;
}

/**
 * grpc-js applies 'grpc-node.flow_control_window' to client channels only: a server keeps HTTP/2's 64 KiB receive
 * windows, so an upload stalls for a WINDOW_UPDATE after every 64 KiB. This sets the server's stream window (in the
 * SETTINGS it sends) and connection window (a WINDOW_UPDATE per new connection). Call `beforeBind` before
 * bindAsync and `afterBind` after it; both return false if grpc-js's internals changed (then windows stay default).
 */
export const serverReceiveWindow = {
  beforeBind(server: Server, bytes: number): boolean {
    const s = server as unknown as ServerInternals;
    if (!s.commonServerOptions) return false;
    s.commonServerOptions.settings = { ...s.commonServerOptions.settings, initialWindowSize: bytes };
    return true;
  },
  afterBind(server: Server, bytes: number): boolean {
    const servers = (server as unknown as ServerInternals).http2Servers;
    if (!(servers instanceof Map) || servers.size === 0) return false;
    for (const h2 of servers.keys()) h2.on('session', (session: Http2Session) => {
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        // A session closed before it started keeps its default window.
      }
    });
    return true;
  },
};
