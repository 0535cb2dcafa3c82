import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../src/digest/digest';
import { SHA256, SHA256TREE } from '../../src/digest/digest-function';
import { Deadlined, Deadlines } from '../../src/scheduler/deadlines';
import { FreeSlotBuckets } from '../../src/scheduler/free-slot-buckets';
import { FakeClock } from '../helpers/fake-clock';
import { Ids } from '../../src/scheduler/ids';
import { InFlight } from '../../src/scheduler/in-flight';
import type { Task } from '../../src/scheduler/task';

/** Just what InFlight reads of a task. */
const taskFor = (d: Digest) => ({ request: { actionDigest: d } }) as unknown as Task;

describe('InFlight', () => {
  const hash = 'ab'.repeat(32);
  it('finds a task by instance, digest function and digest, and nothing across any of them', () => {
    const m = new InFlight();
    const d = Digest.of(hash, 10, SHA256);
    const t = taskFor(d);
    assert.equal(m.set('', d, t), true);
    assert.equal(m.get('', Digest.of(hash, 10, SHA256)), t, 'an equal digest (another object) finds it');
    assert.equal(m.get('other', d), undefined, 'another instance');
    assert.equal(m.get('', Digest.of(hash, 10, SHA256TREE)), undefined, 'another digest function');
    assert.equal(m.get('', Digest.of(hash, 11, SHA256)), undefined, 'the same hash with another size');
  });

  it('keeps the first holder of a place, and forgets a task only when it holds it', () => {
    const m = new InFlight();
    const first = taskFor(Digest.of(hash, 10, SHA256));
    const collided = taskFor(Digest.of(hash, 11, SHA256));
    m.set('', first.request.actionDigest, first);
    assert.equal(m.set('', collided.request.actionDigest, collided), false);
    m.delete('', collided.request.actionDigest, collided);
    assert.equal(m.get('', first.request.actionDigest), first, 'deleting the newcomer left the holder');
    m.delete('', first.request.actionDigest, first);
    assert.equal(m.get('', first.request.actionDigest), undefined);
  });

  it('tells apart hashes that share their first 32 bits (its table key): the later one runs on its own', () => {
    const m = new InFlight();
    const first = taskFor(Digest.of(`0123abcd${'0'.repeat(56)}`, 10, SHA256));
    const alike = taskFor(Digest.of(`0123abcd${'f'.repeat(56)}`, 10, SHA256));
    m.set('', first.request.actionDigest, first);
    assert.equal(m.get('', alike.request.actionDigest), undefined, 'not the task of another action');
    assert.equal(m.set('', alike.request.actionDigest, alike), false);
    m.delete('', alike.request.actionDigest, alike);
    assert.equal(m.get('', Digest.of(`0123abcd${'0'.repeat(56)}`, 10, SHA256)), first);
    const other = taskFor(Digest.of(`f123abcd${'0'.repeat(56)}`, 10, SHA256));
    assert.equal(m.set('', other.request.actionDigest, other), true, 'a hash differing in its first digits has its own place');
    assert.equal(m.get('', other.request.actionDigest), other);
  });
});

describe('FreeSlotBuckets', () => {
  const worker = (slots: number) => ({ slots, used: 0, bucket: -1, bucketIndex: -1, get freeSlots() { return this.slots - this.used; } });

  it('gives a worker with the most free slots, and follows changes and removals', () => {
    const b = new FreeSlotBuckets<ReturnType<typeof worker>>();
    const [a, c, d] = [worker(2), worker(4), worker(1)];
    [a, c, d].forEach((w) => b.add(w));
    assert.equal(b.peek(), c);
    c.used = 3; // 1 free
    b.update(c);
    assert.equal(b.peek(), a);
    a.used = 2; // none free
    b.update(a);
    assert.ok([c, d].includes(b.peek()!), 'one of the two with 1 free slot');
    b.remove(c);
    b.remove(d);
    assert.equal(b.peek(), a, 'only the full worker is left');
    assert.equal(b.peek()!.freeSlots, 0);
    assert.equal(b.size, 1);
    b.remove(a);
    assert.equal(b.peek(), undefined);
    b.remove(a); // twice: nothing
    assert.equal(b.size, 0);
  });

  it('keeps every worker findable through many moves (swap-removal keeps indexes right)', () => {
    const b = new FreeSlotBuckets<ReturnType<typeof worker>>();
    const ws = Array.from({ length: 50 }, () => worker(8));
    ws.forEach((w) => b.add(w));
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let i = 0; i < 2000; i++) {
      const w = ws[rnd(ws.length)];
      w.used = rnd(9);
      b.update(w);
      const best = Math.max(...ws.map((x) => x.freeSlots));
      assert.equal(b.peek()!.freeSlots, best);
    }
    for (const w of ws) b.remove(w);
    assert.equal(b.size, 0);
    assert.equal(b.peek(), undefined);
  });
});

describe('Ids', () => {
  it('names a number once asked, and reads back only its own names', () => {
    const ids = new Ids();
    const n = ids.next();
    const name = ids.name(n);
    assert.equal(ids.parse(name), n);
    assert.equal(ids.parse(new Ids().name(n)), undefined, "another process's prefix");
    assert.equal(ids.parse(`${name}x`), undefined);
    assert.equal(ids.parse(name.replace(/\d+$/, '0')), undefined);
    assert.equal(ids.parse(''), undefined);
  });
});

describe('FreeSlotBuckets with absurd slot counts', () => {
  it('takes a worker advertising 2^32 slots at once (no array sized by it) and still ranks it first', () => {
    const b = new FreeSlotBuckets<{ freeSlots: number; bucket: number; bucketIndex: number }>();
    const small = { freeSlots: 4, bucket: -1, bucketIndex: -1 };
    const huge = { freeSlots: 2 ** 32, bucket: -1, bucketIndex: -1 };
    const t = process.hrtime.bigint();
    b.add(small);
    b.add(huge);
    assert.ok(process.hrtime.bigint() - t < 1_000_000_000n, 'added within a second');
    assert.equal(b.peek(), huge);
    huge.freeSlots = 2 ** 32 - 1;
    b.update(huge);
    assert.equal(b.peek(), huge);
  });
});

describe('Deadlines', () => {
  interface Item extends Deadlined {
    name: string;
  }
  const item = (name: string): Item => ({ name, deadlineAtMs: 0, deadlineIndex: -1 });
  const setup = () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    const d = new Deadlines<Item>(clock, (i) => fired.push(`${i.name}@${clock.now()}`));
    return { clock, fired, d };
  };

  it('fires each at its time across durations, once, and never a cleared one', () => {
    const { clock, fired, d } = setup();
    const [a, b, c, e, f] = ['a', 'b', 'c', 'e', 'f'].map(item);
    d.set(a, 100);
    d.set(b, 30);
    clock.advance(10);
    d.set(c, 100);
    d.set(e, 30);
    d.set(f, 100);
    d.clear(c);
    d.clear(b); // the earliest: the timer armed for it fires for nothing, then re-arms
    clock.advance(100);
    assert.deepEqual(fired, ['e@40', 'a@100', 'f@110']);
    clock.advance(1000);
    assert.equal(fired.length, 3, 'nothing fires twice');
    assert.equal(clock.nextAt, undefined, 'no timer left armed');
  });

  it('moves a set deadline, and takes items set again after firing or clearing', () => {
    const { clock, fired, d } = setup();
    const [a, b] = ['a', 'b'].map(item);
    d.set(a, 50);
    d.set(b, 50);
    d.set(a, 200);
    clock.advance(60);
    assert.deepEqual(fired, ['b@50']);
    d.set(b, 50); // again, after firing
    d.clear(a);
    d.clear(a); // twice: nothing
    d.set(a, 10);
    clock.advance(300);
    assert.deepEqual(fired, ['b@50', 'a@70', 'b@110']);
  });

  it('close() forgets every deadline', () => {
    const { clock, fired, d } = setup();
    const [a, b] = ['a', 'b'].map(item);
    d.set(a, 10);
    d.set(b, 20);
    d.close();
    clock.advance(100);
    assert.deepEqual(fired, []);
    d.set(a, 5);
    clock.advance(5);
    assert.deepEqual(fired, ['a@105']);
  });
});
