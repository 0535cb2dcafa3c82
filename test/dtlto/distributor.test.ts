import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, StatusError } from '../../src/grpc/status-error';
import { distribute } from '../../src/dtlto/distribute';
import { BackendHealth, FallbackJobRunner } from '../../src/dtlto/fallback-job-runner';
import { JobInfrastructureError, JobOutcome, JobRunner } from '../../src/dtlto/job-runner';
import { BackendJob } from '../../src/dtlto/jobs-file';
import { Limiter } from '../../src/dtlto/limiter';

const job = (n: number): BackendJob => ({ args: [`m${n}.o`], inputs: [`m${n}.o`, `m${n}.bc`], outputs: [`m${n}.native.o`] });
const ok = (remote: JobOutcome['remote']): JobOutcome => ({ exitCode: 0, stdout: '', stderr: '', remote });

class Scripted implements JobRunner {
  readonly ran: string[] = [];
  constructor(private readonly answer: (job: BackendJob) => Promise<JobOutcome>) {}
  run(j: BackendJob): Promise<JobOutcome> {
    this.ran.push(j.inputs[0]);
    return this.answer(j);
  }
}

class MemoryHealth implements BackendHealth {
  down = false;
  marks = 0;
  async knownDown() {
    return this.down;
  }
  async markDown() {
    this.marks++;
    const first = !this.down;
    this.down = true;
    return first;
  }
  async markUp() {
    this.down = false;
  }
}

describe('distribute', () => {
  it('runs every job at most `concurrency` at once and reports each', async () => {
    let inFlight = 0;
    let peak = 0;
    const runner = new Scripted(async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return ok('executed');
    });
    const reported: string[] = [];
    const r = await distribute([...Array(20).keys()].map(job), runner, 4, (rep) => void reported.push(rep.job.inputs[0]));
    assert.deepEqual(r, { ok: true });
    assert.equal(reported.length, 20);
    assert.equal(peak, 4);
  });

  it('returns the first failing job with its diagnostics and starts no job after it', async () => {
    const runner = new Scripted(async (j) => (j.inputs[0] === 'm2.o' ? { ...ok('executed'), exitCode: 1, stderr: "error: unknown target CPU 'x'\n" } : ok('cached')));
    const r = await distribute([...Array(10).keys()].map(job), runner, 1, () => undefined);
    assert.ok(!r.ok && 'failed' in r);
    assert.equal(r.failed.job.inputs[0], 'm2.o');
    assert.match(r.failed.outcome.stderr, /unknown target CPU/);
    assert.deepEqual(runner.ran, ['m0.o', 'm1.o', 'm2.o']);
  });

  it('turns a runner error into an error result naming it', async () => {
    const runner = new Scripted(async () => {
      throw new JobInfrastructureError('m0: no worker offers clang=22');
    });
    const r = await distribute([job(0)], runner, 8, () => undefined);
    assert.deepEqual(r, { ok: false, error: { job: job(0), message: 'm0: no worker offers clang=22' } });
  });
});

describe('FallbackJobRunner', () => {
  const unreachable = () => new StatusError(Code.UNAVAILABLE, 'connect ECONNREFUSED');
  const setup = (fallback: 'local' | 'fail', remote: (j: BackendJob) => Promise<JobOutcome>) => {
    const warnings: string[] = [];
    const health = new MemoryHealth();
    const local = new Scripted(async () => ok('local'));
    const r = new Scripted(remote);
    return { runner: new FallbackJobRunner(r, local, fallback, health, (m) => warnings.push(m), 'grpc://h:1'), remote: r, local, health, warnings };
  };

  it('runs a job locally when the backend is unreachable, warns once, and stops trying the backend', async () => {
    const s = setup('local', async () => {
      throw unreachable();
    });
    const first = await s.runner.run(job(0));
    assert.equal(first.remote, 'local');
    assert.match(first.reason ?? '', /the backend at grpc:\/\/h:1 is unreachable/);
    await s.runner.run(job(1));
    assert.deepEqual(s.remote.ran, ['m0.o'], 'the second job does not try the backend');
    assert.deepEqual(s.local.ran, ['m0.o', 'm1.o']);
    assert.equal(s.warnings.length, 1);
  });

  it('with RUSTEXEC_FALLBACK=fail, fails instead of running locally', async () => {
    const s = setup('fail', async () => {
      throw unreachable();
    });
    await assert.rejects(s.runner.run(job(0)), /m0\.native\.o: the backend at grpc:\/\/h:1 is unreachable.*RUSTEXEC_FALLBACK=fail/);
    assert.deepEqual(s.local.ran, []);
  });

  it('never reruns a job the compiler failed: its diagnostics are the answer', async () => {
    const s = setup('local', async () => ({ ...ok('executed'), exitCode: 1, stderr: 'error: bad\n' }));
    const r = await s.runner.run(job(0));
    assert.equal(r.exitCode, 1);
    assert.equal(r.remote, 'executed');
    assert.deepEqual(s.local.ran, []);
  });

  it('falls back on a backend error status without marking the backend down', async () => {
    const s = setup('local', async () => {
      throw new JobInfrastructureError('the backend could not run m0: no worker offers clang=22', Code.FAILED_PRECONDITION);
    });
    const r = await s.runner.run(job(0));
    assert.equal(r.remote, 'local');
    assert.match(r.reason ?? '', /no worker offers clang=22/);
    assert.equal(s.health.marks, 0);
  });
});

describe('Limiter', () => {
  it('keeps FIFO order and hands a freed slot to the next waiter', async () => {
    const l = new Limiter(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => l.run(async () => void order.push(n))));
    assert.deepEqual(order, [1, 2, 3]);
    assert.throws(() => new Limiter(0), /positive integer/);
  });
});
