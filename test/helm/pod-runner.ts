import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { RenderedObject } from './chart-renderer';

type K8sObject = RenderedObject['object'];

interface Container {
  name: string;
  command: string[];
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: unknown;
}

/**
 * A stand-in for a cluster on one machine, as root: a bridge and one network namespace per "host" (pod or Service),
 * names resolved per namespace through /etc/netns/NAME/hosts (which `ip netns exec` mounts over /etc/hosts). Pods run
 * their rendered container's command, args and env (secretKeyRef, fieldRef and $(VAR) resolved as the kubelet does)
 * as real processes; volumes become directories (ConfigMap/Secret files written, emptyDir/PVC empty) and each
 * mountPath in args is rewritten to its directory.
 */
export class NetnsCluster {
  private readonly hosts = new Map<string, string>(); // DNS name → IP
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private nextIp = 10;

  constructor(
    private readonly prefix: string,
    /** /24 network, e.g. "10.213.7". */
    private readonly net24: string,
    private readonly dir: string,
    private readonly objects: K8sObject[],
  ) {}

  get bridgeIp(): string {
    return `${this.net24}.1`;
  }

  static available(): string | undefined {
    if (process.getuid?.() !== 0) return 'not root';
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
      return undefined;
    } catch (err) {
      return `ip netns unavailable: ${(err as Error).message}`;
    }
  }

  async up(): Promise<void> {
    ip('link', 'add', `${this.prefix}br`, 'type', 'bridge');
    ip('addr', 'add', `${this.bridgeIp}/24`, 'dev', `${this.prefix}br`);
    ip('link', 'set', `${this.prefix}br`, 'up');
  }

  /** A new host (network namespace) on the bridge, answering to `names`; returns its IP. */
  addHost(id: string, names: string[]): string {
    const ns = `${this.prefix}-${id}`;
    const addr = `${this.net24}.${this.nextIp++}`;
    const veth = `${this.prefix}${this.namespaces.length}`;
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    ip('link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}p`);
    ip('link', 'set', `${veth}h`, 'master', `${this.prefix}br`, 'up');
    ip('link', 'set', `${veth}p`, 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', `${veth}p`);
    ip('-n', ns, 'link', 'set', `${veth}p`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const n of names) this.hosts.set(n, addr);
    return addr;
  }

  /** Writes every namespace's hosts file (call after the last addHost, before starting processes). */
  async writeHosts(): Promise<void> {
    const text = ['127.0.0.1 localhost', ...[...this.hosts].map(([n, a]) => `${a} ${n}`)].join('\n') + '\n';
    for (const ns of this.namespaces) {
      await fsp.mkdir(`/etc/netns/${ns}`, { recursive: true });
      await fsp.writeFile(`/etc/netns/${ns}/hosts`, text);
    }
  }

  /** Runs a process in host `id`'s namespace. */
  exec(id: string, argv: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
    const out = require('node:fs').openSync(log, 'a') as number;
    const child = spawn('ip', ['netns', 'exec', `${this.prefix}-${id}`, ...argv], { env, stdio: ['ignore', out, out] });
    this.children.push(child);
    return child;
  }

  /** Starts replica `index` of a rendered workload (Deployment or StatefulSet) on host `id`. */
  async startPod(workload: K8sObject, index: number, id: string, appDir: string): Promise<ChildProcess> {
    const podName = `${workload.metadata.name}-${index}`;
    const spec = (workload as unknown as { spec: { template: { spec: { containers: Container[]; volumes?: Volume[] } } } }).spec.template.spec;
    const c = spec.containers[0];
    const podDir = path.join(this.dir, podName);
    const mounts = new Map<string, string>();
    for (const m of c.volumeMounts ?? []) {
      const vdir = path.join(podDir, m.name);
      await fsp.mkdir(vdir, { recursive: true, mode: 0o755 });
      await fsp.chmod(vdir, 0o755);
      const v = spec.volumes?.find((x) => x.name === m.name);
      if (v?.configMap) for (const [k, text] of Object.entries(this.data('ConfigMap', v.configMap.name))) await fsp.writeFile(path.join(vdir, k), text);
      if (v?.secret) {
        const data = this.data('Secret', v.secret.secretName);
        for (const it of v.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) await fsp.writeFile(path.join(vdir, it.path), data[it.key], { mode: 0o400 });
      }
      mounts.set(m.mountPath, vdir); // emptyDir and PVC stay empty directories
    }
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) env[e.name] = this.data('Secret', e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key];
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    }
    const remap = (a: string) => {
      let s = a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
      for (const [mp, d] of mounts) if (s === mp || s.startsWith(`${mp}/`)) s = d + s.slice(mp.length);
      return s.replace(/^\/app\//, `${appDir}/`);
    };
    const argv = [...c.command.map((x) => (x === 'node' ? process.execPath : x)), ...c.args.map(remap)];
    await fsp.mkdir(podDir, { recursive: true });
    return this.exec(id, argv, { PATH: process.env.PATH, HOME: podDir, ...env }, path.join(podDir, 'log'));
  }

  /** A Service with several endpoints: a TCP proxy on its own host, a new connection to each endpoint in turn. */
  startServiceProxy(id: string, port: number, endpoints: string[]): ChildProcess {
    const script = `const net=require('net');const eps=${JSON.stringify(endpoints)};let i=0;net.createServer((c)=>{const [h,p]=eps[i++%eps.length].split(':');const u=net.connect(Number(p),h);c.pipe(u).pipe(c);const end=()=>{c.destroy();u.destroy()};c.on('error',end);u.on('error',end);c.on('close',end);u.on('close',end)}).listen(${port},'0.0.0.0')`;
    return this.exec(id, [process.execPath, '-e', script], { PATH: process.env.PATH }, path.join(this.dir, `${id}.log`));
  }

  async down(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const ns of this.namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
      await fsp.rm(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    try {
      ip('link', 'del', `${this.prefix}br`);
    } catch {
      /* already gone */
    }
  }

  private data(kind: string, name: string): Record<string, string> {
    const o = this.objects.find((x) => x.kind === kind && x.metadata.name === name) as unknown as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
    if (!o) throw new Error(`no rendered ${kind} ${name}`);
    return { ...(o.data ?? {}), ...(o.stringData ?? {}) };
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves once host:port accepts TCP connections (from this, the root namespace, over the bridge). */
export async function waitForPort(host: string, port: number, timeoutMs = 30_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 100))) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
  }
}
