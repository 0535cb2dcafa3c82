import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { defaultConfig, InstanceConfig, ServerConfig } from '../../src/config/server-config';
import { silentLogger } from '../../src/logging/logger';
import { Clients, createClients } from './clients';

export interface TestServer {
  address: string;
  port: number;
  dataDir: string;
  frontend: Frontend;
  clients: Clients;
  /** Closes the clients and the server and deletes the data directory. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Overrides on top of defaultConfig (one instance "" on disk under a temp dir). */
  config?: Partial<ServerConfig>;
  /** Builds the instances from the temp data dir (see twoInstances). */
  instances?: (dataDir: string) => Record<string, InstanceConfig>;
}

/** Starts the cache frontend on a free loopback port with a fresh temp-dir store, and connects clients to it. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-test-'));
  const config: ServerConfig = { ...defaultConfig(dataDir), listen: '127.0.0.1:0', ...options.config };
  if (options.instances) config.instances = options.instances(dataDir);
  const frontend = await startFrontend(config, silentLogger());
  const address = `127.0.0.1:${frontend.port}`;
  const clients = createClients(address);
  return {
    address,
    port: frontend.port,
    dataDir,
    frontend,
    clients,
    close: async () => {
      clients.close();
      await frontend.close();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Two instances with separate storage: "main" on disk (SHA-256 only) and "team/b" in memory (behind a verifying store). */
export function twoInstances(dataDir: string): Record<string, InstanceConfig> {
  return {
    main: {
      digestFunction: 'sha256',
      digestFunctions: ['sha256'],
      cas: { filesystem: { path: path.join(dataDir, 'main', 'cas'), maxBytes: 1e9 } },
      ac: { filesystem: { path: path.join(dataDir, 'main', 'ac'), maxBytes: 1024 ** 3 } },
    },
    'team/b': {
      digestFunction: 'sha256',
      cas: { verifying: { memory: { maxBytes: 64 * 1024 * 1024 } } },
      ac: { memory: { maxBytes: 16 * 1024 * 1024 } },
    },
  };
}
