import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { TokenStore } from '../../src/auth/token-store';
import { SCHEDULER_NODE_FLAGS } from '../../src/cmd/scheduler-node-flags';
import { parseServerConfig } from '../../src/config/server-config';
import { Chart, buildChartRenderer, CHART_DIR, RenderedObject } from './chart-renderer';

type K8sObject = RenderedObject['object'];

type Model = new (o: unknown) => { validate(): void };
/** kubernetes-models ships ES modules only; this CommonJS build loads them with a real dynamic import. */
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<Record<string, Model>>;

/** The Kubernetes (and CRD) schema of every kind the chart renders, from kubernetes-models. */
async function loadModels(): Promise<Record<string, Model>> {
  const [apps, core, policy, autoscaling, monitoring, keda] = await Promise.all(
    ['kubernetes-models/apps/v1', 'kubernetes-models/v1', 'kubernetes-models/policy/v1', 'kubernetes-models/autoscaling/v2', '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1', '@kubernetes-models/keda/keda.sh/v1alpha1'].map(importEsm),
  );
  return {
    'apps/v1/Deployment': apps.Deployment,
    'apps/v1/StatefulSet': apps.StatefulSet,
    'v1/Service': core.Service,
    'v1/ConfigMap': core.ConfigMap,
    'v1/Secret': core.Secret,
    'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
    'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
    'monitoring.coreos.com/v1/ServiceMonitor': monitoring.ServiceMonitor,
    'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject,
  };
}

/** The documented option sets (README "Deploy on Kubernetes"). */
const OPTION_SETS: Record<string, Record<string, unknown>> = {
  defaults: {},
  's3 external': { minio: { enabled: false }, storage: { s3: { endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'team-cache', existingSecret: 'aws-creds' } } },
  's3 external, chart-made credentials': { minio: { enabled: false }, storage: { s3: { endpoint: 'http://minio.storage:9000', accessKey: 'AKIAEXAMPLE', secretKey: 'secret-example-000' } } },
  'tls on': { tls: { enabled: true, existingSecret: 'rustexec-tls' } },
  'autoscaling off': { autoscaling: { enabled: false } },
  'autoscaling with an HPA': { autoscaling: { mode: 'hpa' } },
  'auth off, Deployment workers': { auth: { enabled: false }, worker: { kind: 'Deployment' } },
  'monitoring on, given tokens': {
    metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } }, grafanaDashboard: { enabled: true } },
    auth: { clients: [{ name: 'ci', token: 'ci-token-0123456789abcdef', instances: [''] }], workerToken: 'worker-token-0123456789', metricsToken: 'metrics-token-0123456789' },
  },
};

describe('Helm chart helm/rustexec', () => {
  let chart: Chart;
  let validateValues: (v: unknown) => boolean;
  let schemaErrors: () => unknown;
  let MODELS: Record<string, Model>;
  const rendered = new Map<string, K8sObject[]>();

  before(async () => {
    chart = await buildChartRenderer();
    MODELS = await loadModels();
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(await fsp.readFile(path.join(CHART_DIR, 'values.schema.json'), 'utf8')));
    validateValues = (v) => validate(v) as boolean;
    schemaErrors = () => validate.errors;
  });
  after(() => chart?.close());

  const find = (objects: K8sObject[], kind: string, component?: string) =>
    objects.filter((o) => o.kind === kind && (!component || o.metadata.labels?.['app.kubernetes.io/component'] === component));
  const container = (o: K8sObject) => (o as unknown as { spec: { template: { spec: { containers: { args: string[]; command: string[] }[] } } } }).spec.template.spec.containers[0];

  for (const [name, values] of Object.entries(OPTION_SETS)) {
    it(`renders with ${name}; every object validates against its Kubernetes schema`, async () => {
      const merged = await chart.values(values);
      assert.ok(validateValues(merged), `values.schema.json: ${JSON.stringify(schemaErrors())}`);
      const { objects, notes } = await chart.render(values);
      assert.ok(objects.length >= 10, `${objects.length} objects`);
      for (const o of objects) {
        const Model = MODELS[`${o.apiVersion}/${o.kind}`];
        assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind}`);
        assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
      }
      const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(names).size, names.length, 'object names are unique per kind');
      assert.match(notes, /--remote_executor=grpcs?:\/\/rx-rustexec-frontend\.ci\.svc:8980/);
      rendered.set(name, objects);
    });
  }

  it('wires frontends, scheduler and workers to each other, with probes on the side port', () => {
    const objects = rendered.get('defaults')!;
    const [frontend] = find(objects, 'Deployment', 'frontend');
    const [scheduler] = find(objects, 'Deployment', 'scheduler');
    const [worker] = find(objects, 'StatefulSet', 'worker');
    assert.equal((frontend as unknown as { spec: { replicas: number } }).spec.replicas, 2);
    assert.deepEqual(container(frontend).args.slice(0, 9), ['/app/dist/src/cmd/frontend-main.js', '--config', '/etc/rustexec/config/frontend.json', '--listen', '0.0.0.0:8980', '--http', '0.0.0.0:8981', '--scheduler', 'rx-rustexec-scheduler:8980']);
    // node runs the scheduler with the V8 flags the scale bench measures it with, then the script.
    assert.deepEqual(container(scheduler).args.slice(0, SCHEDULER_NODE_FLAGS.length + 3), [...SCHEDULER_NODE_FLAGS, '/app/dist/src/cmd/scheduler-main.js', '--config', '/etc/rustexec/config/scheduler.json']);
    const wargs = container(worker).args;
    for (const [flag, value] of [['--scheduler', 'rx-rustexec-scheduler:8980'], ['--cas', 'rx-rustexec-frontend:8980'], ['--run-as', '65534'], ['--token-file', '/etc/rustexec/auth/worker-token']]) {
      assert.equal(wargs[wargs.indexOf(flag) + 1], value, flag);
    }
    for (const d of [frontend, scheduler, worker]) {
      const c = container(d) as unknown as { livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } } };
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    }
    assert.deepEqual(find(objects, 'PodDisruptionBudget').map((p) => p.metadata.labels?.['app.kubernetes.io/component']).sort(), ['frontend', 'worker']);
    assert.equal((worker as unknown as { spec: { volumeClaimTemplates: unknown[] } }).spec.volumeClaimTemplates.length, 1, 'a persistent cache per worker');
  });

  it('renders configs and token files that the processes accept', () => {
    for (const [name, objects] of rendered) {
      const [cm] = find(objects, 'ConfigMap', 'config');
      const data = (cm as unknown as { data: Record<string, string> }).data;
      for (const file of ['frontend.json', 'scheduler.json']) assert.doesNotThrow(() => parseServerConfig(data[file], '/', file), `${name}: ${file}`);
      const sched = parseServerConfig(data['scheduler.json'], '/');
      const slow = (sched.instances[''].cas as { readCaching: { slow: { s3: { confirmMissing: boolean; endpoint: string } } } }).readCaching.slow.s3;
      assert.equal(slow.confirmMissing, true, 'the scheduler confirms unknown digests with HEAD');
      if (name === 's3 external') assert.equal(slow.endpoint, 'https://s3.eu-west-1.amazonaws.com');
      const tokens = find(objects, 'Secret', 'auth')[0] as unknown as { stringData: Record<string, string> } | undefined;
      if (name.startsWith('auth off')) {
        assert.equal(tokens, undefined);
        assert.ok(container(find(objects, 'Deployment', 'frontend')[0]).args.includes('--insecure'));
        continue;
      }
      assert.doesNotThrow(() => TokenStore.parse(tokens!.stringData['tokens.json'], 'tokens.json'), name);
      assert.doesNotThrow(() => TokenStore.parse(tokens!.stringData['metrics-tokens.json'], 'metrics-tokens.json'), name);
    }
  });

  it('scales workers on the scheduler queue: a KEDA Prometheus trigger or an HPA external metric, nothing when off', () => {
    const [so] = find(rendered.get('defaults')!, 'ScaledObject') as unknown as { spec: { scaleTargetRef: { kind: string; name: string }; triggers: { type: string; metadata: { query: string; threshold: string } }[] } }[];
    assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'rx-rustexec-worker' });
    assert.equal(so.spec.triggers[0].type, 'prometheus');
    assert.match(so.spec.triggers[0].metadata.query, /^sum\(rustexec_queue_actions\{namespace="ci", service="rx-rustexec-scheduler"\}\) or vector\(0\)$/);
    assert.equal(so.spec.triggers[0].metadata.threshold, '8');
    const [hpa] = find(rendered.get('autoscaling with an HPA')!, 'HorizontalPodAutoscaler') as unknown as { spec: { metrics: { external: { metric: { name: string } } }[] } }[];
    assert.equal(hpa.spec.metrics[0].external.metric.name, 'rustexec_queue_actions');
    const off = rendered.get('autoscaling off')!;
    assert.equal(find(off, 'ScaledObject').length + find(off, 'HorizontalPodAutoscaler').length, 0);
    assert.equal((find(off, 'StatefulSet')[0] as unknown as { spec: { replicas: number } }).spec.replicas, 2);
  });

  it('scrapes every component with the metrics token, and TLS where the server serves it', () => {
    const monitors = find(rendered.get('monitoring on, given tokens')!, 'ServiceMonitor') as unknown as { spec: { endpoints: { authorization: { credentials: { key: string } } }[] } }[];
    assert.equal(monitors.length, 3);
    for (const m of monitors) assert.equal(m.spec.endpoints[0].authorization.credentials.key, 'metrics-token');
    const tls = rendered.get('tls on')!;
    const fargs = container(find(tls, 'Deployment', 'frontend')[0]).args;
    assert.ok(fargs.includes('--tls-cert') && fargs.includes('--scheduler-ca'));
    const dash = find(rendered.get('monitoring on, given tokens')!, 'ConfigMap', 'dashboard')[0] as unknown as { data: Record<string, string> };
    assert.ok(JSON.parse(dash.data['rustexec.json']).panels.length > 5);
  });

  it('refuses option sets that cannot work', async () => {
    await assert.rejects(chart.render({ minio: { enabled: false } }), /storage\.s3\.endpoint is required/);
    await assert.rejects(chart.render({ tls: { enabled: true } }), /tls\.existingSecret is required/);
    assert.equal(validateValues(await chart.values({ worker: { kind: 'DaemonSet' } })), false);
    assert.equal(validateValues(await chart.values({ frontend: { replica: 2 } })), false, 'a misspelt key');
  });

  it('documents every key of values.yaml with a comment', async () => {
    const lines = (await fsp.readFile(path.join(CHART_DIR, 'values.yaml'), 'utf8')).split('\n');
    const indent = (l: string) => l.search(/\S/);
    const documented = (i: number) => /^\s*#/.test(lines[i - 1] ?? '');
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      if (!/^\s*[A-Za-z][\w-]*:/.test(line)) return;
      // A key has a comment right above it; keys two levels deep may instead sit in a documented block.
      let parent = i - 1;
      while (parent >= 0 && !(/^\s*[A-Za-z][\w-]*:/.test(lines[parent]) && indent(lines[parent]) < indent(line))) parent--;
      if (!documented(i) && !(indent(line) >= 4 && parent >= 0 && documented(parent))) undocumented.push(`${i + 1}: ${line.trim()}`);
    });
    assert.deepEqual(undocumented, []);
  });
});
