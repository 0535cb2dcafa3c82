import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { re, REv2 } from '../../src/proto';
import { blobOf, bytes, digestProto, num, randomBlob, TestBlob } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';

const treeBlob = (tree: REv2.Tree.$Properties) => blobOf(Buffer.from(re.Tree.encode(re.Tree.create(tree)).finish()));

describe('ActionCache', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { maxInlineBytes: 1000 } });
  });
  after(() => server.close());

  const ac = () => server.clients.ac;
  const upload = async (...blobs: TestBlob[]) => {
    const res = await server.clients.cas.batchUpdateBlobs({ requests: blobs.map((b) => ({ digest: b.digest, data: b.data })) });
    for (const r of res.responses) assert.equal(r.status?.code ?? 0, Code.OK, r.status?.message ?? '');
  };
  /** A fresh action digest (the AC does not require the Action itself to be in the CAS). */
  const newAction = () => randomBlob(40).digest;

  describe('UpdateActionResult and GetActionResult', () => {
    it('round-trips a result with output files, stdout/stderr digests and metadata', async () => {
      const [out, stdout, stderr] = [randomBlob(100), blobOf('compiled ok\n'), blobOf('warning: unused\n')];
      await upload(out, stdout, stderr);
      const action = newAction();
      const result: REv2.ActionResult.$Properties = {
        outputFiles: [{ path: 'bin/tool', digest: out.digest, isExecutable: true }],
        exitCode: 0,
        stdoutDigest: stdout.digest,
        stderrDigest: stderr.digest,
        executionMetadata: { worker: 'worker-1', queuedTimestamp: { seconds: Long.fromNumber(1700000000), nanos: 5 } },
      };
      const stored = await ac().updateActionResult({ actionDigest: action, actionResult: result });
      assert.equal(stored.outputFiles[0].path, 'bin/tool');

      const got = await ac().getActionResult({ actionDigest: action });
      assert.equal(got.outputFiles.length, 1);
      assert.equal(got.outputFiles[0].path, 'bin/tool');
      assert.equal(got.outputFiles[0].isExecutable, true);
      assert.equal(got.outputFiles[0].digest?.hash, out.hash);
      assert.equal(num(got.outputFiles[0].digest?.sizeBytes), out.size);
      assert.equal(got.stdoutDigest?.hash, stdout.hash);
      assert.equal(got.stderrDigest?.hash, stderr.hash);
      assert.equal(got.executionMetadata?.worker, 'worker-1');
      assert.equal(num(got.executionMetadata?.queuedTimestamp?.seconds), 1700000000);
      assert.equal(bytes(got.stdoutRaw).byteLength, 0, 'nothing is inlined unless asked');
      assert.equal(bytes(got.outputFiles[0].contents).byteLength, 0);
    });

    it('keeps a failed action result (non-zero exit code) when a client uploads one', async () => {
      const action = newAction();
      await ac().updateActionResult({ actionDigest: action, actionResult: { exitCode: 3 } });
      assert.equal((await ac().getActionResult({ actionDigest: action })).exitCode, 3);
    });

    it('replaces an entry on a second update', async () => {
      const action = newAction();
      await ac().updateActionResult({ actionDigest: action, actionResult: { exitCode: 1 } });
      await ac().updateActionResult({ actionDigest: action, actionResult: { exitCode: 0 } });
      assert.equal((await ac().getActionResult({ actionDigest: action })).exitCode, 0);
    });

    it('answers an unknown action with NOT_FOUND naming its digest', async () => {
      const action = newAction();
      await expectStatus(ac().getActionResult({ actionDigest: action }), Code.NOT_FOUND, action.hash);
    });

    it('rejects an update without action_result, or with a malformed output digest or path, naming the field', async () => {
      await expectStatus(ac().updateActionResult({ actionDigest: newAction() }), Code.INVALID_ARGUMENT, 'action_result is missing');
      await expectStatus(
        ac().updateActionResult({ actionDigest: newAction(), actionResult: { outputFiles: [{ path: 'out', digest: digestProto('xyz', 3) }] } }),
        Code.INVALID_ARGUMENT,
        'output_files[0].digest',
        'xyz',
      );
      await expectStatus(
        ac().updateActionResult({ actionDigest: newAction(), actionResult: { outputFiles: [{ path: '../escape', digest: blobOf('x').digest }] } }),
        Code.INVALID_ARGUMENT,
        'output_files[0].path',
        '../escape',
      );
      await expectStatus(ac().updateActionResult({ actionDigest: digestProto('ABC', 1), actionResult: {} }), Code.INVALID_ARGUMENT, 'action_digest');
    });
  });

  describe('inlining', () => {
    const out1 = blobOf('first output file');
    const out2 = blobOf('second output file');
    const stdout = blobOf('hello from stdout');
    const stderr = blobOf('hello from stderr');
    const action = randomBlob(40).digest;
    before(async () => {
      await upload(out1, out2, stdout, stderr);
      await ac().updateActionResult({
        actionDigest: action,
        actionResult: {
          outputFiles: [
            { path: 'a.txt', digest: out1.digest },
            { path: 'b.txt', digest: out2.digest },
          ],
          stdoutDigest: stdout.digest,
          stderrDigest: stderr.digest,
        },
      });
    });

    it('inlines stdout only when inline_stdout is set', async () => {
      const got = await ac().getActionResult({ actionDigest: action, inlineStdout: true });
      assert.equal(bytes(got.stdoutRaw).toString(), 'hello from stdout');
      assert.equal(bytes(got.stderrRaw).byteLength, 0);
      assert.equal(got.stdoutDigest?.hash, stdout.hash, 'the digest stays set');
    });

    it('inlines stderr only when inline_stderr is set', async () => {
      const got = await ac().getActionResult({ actionDigest: action, inlineStderr: true });
      assert.equal(bytes(got.stderrRaw).toString(), 'hello from stderr');
      assert.equal(bytes(got.stdoutRaw).byteLength, 0);
    });

    it('inlines exactly the output files named in inline_output_files', async () => {
      const got = await ac().getActionResult({ actionDigest: action, inlineOutputFiles: ['b.txt', 'not/an/output'] });
      const byPath = new Map(got.outputFiles.map((f) => [f.path, bytes(f.contents).toString()]));
      assert.deepEqual(Object.fromEntries(byPath), { 'a.txt': '', 'b.txt': 'second output file' });
      assert.equal(got.outputFiles[1].digest?.hash, out2.hash);
    });

    it('does not inline more than the configured limit, smallest first, and keeps the digests', async () => {
      const big = randomBlob(900);
      const small = randomBlob(200);
      await upload(big, small);
      const action2 = newAction();
      await ac().updateActionResult({ actionDigest: action2, actionResult: { stdoutDigest: big.digest, stderrDigest: small.digest } });
      const got = await ac().getActionResult({ actionDigest: action2, inlineStdout: true, inlineStderr: true });
      assert.ok(bytes(got.stderrRaw).equals(small.data), 'the 200-byte stderr fits the 1000-byte budget');
      assert.equal(bytes(got.stdoutRaw).byteLength, 0, 'the 900-byte stdout does not fit what is left');
      assert.equal(got.stdoutDigest?.hash, big.hash);
    });
  });

  describe('completeness checking', () => {
    it('treats an entry whose output file is not in the CAS as NOT_FOUND', async () => {
      const action = newAction();
      const never = randomBlob(64);
      await ac().updateActionResult({ actionDigest: action, actionResult: { outputFiles: [{ path: 'lost', digest: never.digest }] } });
      await expectStatus(ac().getActionResult({ actionDigest: action }), Code.NOT_FOUND, action.hash);
      // Once the blob is uploaded the same entry is served again.
      await upload(never);
      assert.equal((await ac().getActionResult({ actionDigest: action })).outputFiles[0].path, 'lost');
    });

    it('treats an entry whose stdout blob is missing as NOT_FOUND', async () => {
      const action = newAction();
      await ac().updateActionResult({ actionDigest: action, actionResult: { stdoutDigest: randomBlob(10).digest } });
      await expectStatus(ac().getActionResult({ actionDigest: action, inlineStdout: true }), Code.NOT_FOUND);
    });

    it('checks the files inside output directory trees, and the tree blob itself', async () => {
      const inside = randomBlob(30);
      const tree = treeBlob({ root: { files: [{ name: 'f', digest: inside.digest }] } });
      const withTree = newAction();
      await ac().updateActionResult({ actionDigest: withTree, actionResult: { outputDirectories: [{ path: 'out', treeDigest: tree.digest }] } });
      await expectStatus(ac().getActionResult({ actionDigest: withTree }), Code.NOT_FOUND, withTree.hash); // the tree blob is missing
      await upload(tree);
      await expectStatus(ac().getActionResult({ actionDigest: withTree }), Code.NOT_FOUND, withTree.hash); // a file inside the tree is missing
      await upload(inside);
      assert.equal((await ac().getActionResult({ actionDigest: withTree })).outputDirectories[0].path, 'out');
    });

    it('serves an entry that references only the empty blob', async () => {
      const action = newAction();
      await ac().updateActionResult({ actionDigest: action, actionResult: { outputFiles: [{ path: 'empty', digest: blobOf('').digest }], stdoutDigest: blobOf('').digest } });
      const got = await ac().getActionResult({ actionDigest: action, inlineStdout: true, inlineOutputFiles: ['empty'] });
      assert.equal(got.outputFiles[0].path, 'empty');
      assert.equal(bytes(got.stdoutRaw).byteLength, 0);
    });
  });
});
