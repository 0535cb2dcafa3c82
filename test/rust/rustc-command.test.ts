import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { re, REv2 } from '../../src/proto';
import { classifyCommand, withoutQuitFlag } from '../../src/rust/rustc-command';

interface Spawn {
  mnemonic: string;
  arguments: string[];
  environmentVariables: { name: string; value: string }[];
  outputs: string[];
}

// Captured from the offline rules_rust example's execution logs (Bazel 4.2.3), pipelined and not.
const FIXTURE = path.join(__dirname, '../../../test/rust/fixtures/example-actions.json');
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<'pipelined' | 'nonPipelined', Spawn[]>;

const command = (s: Pick<Spawn, 'arguments' | 'outputs'> & Partial<Spawn>): REv2.Command =>
  re.Command.create({ arguments: s.arguments, environmentVariables: s.environmentVariables ?? [], outputFiles: s.outputs });

function expectedKind(s: Spawn): string {
  if (s.mnemonic === 'RustcMetadata') return 'rustc-metadata';
  if (s.mnemonic === 'RustcBootstrap') return 'rustc-bin';
  return s.outputs.some((o) => o.endsWith('.rlib')) ? 'rustc-rlib' : 'rustc-bin';
}

describe('classifyCommand on the rules_rust example', () => {
  for (const mode of ['pipelined', 'nonPipelined'] as const) {
    it(`classifies every ${mode} action by its shape`, () => {
      assert.ok(fixture[mode].length >= 17);
      for (const s of fixture[mode]) assert.equal(classifyCommand(command(s)).kind, expectedKind(s), `${s.mnemonic} ${s.outputs.join(' ')}`);
    });
  }

  it('gives both actions of a pipelined crate the same pair argv, rmeta and rlib paths', () => {
    const spawns = fixture.pipelined;
    const metas = spawns.filter((s) => s.mnemonic === 'RustcMetadata');
    assert.equal(metas.length, 14);
    for (const m of metas) {
      const meta = classifyCommand(command(m));
      const rlibSpawn = spawns.find((s) => s.mnemonic === 'Rustc' && s.outputs[0] === meta.rlibPath);
      assert.ok(rlibSpawn, `the Rustc partner of ${meta.rmetaPath}`);
      const rlib = classifyCommand(command(rlibSpawn));
      assert.deepEqual(rlib.pairArgv, meta.pairArgv);
      assert.equal(rlib.rmetaPath, meta.rmetaPath);
      assert.equal(meta.crateName, rlib.crateName);
      assert.notEqual(meta.paramFile, rlib.paramFile, 'param files have different names');
      assert.deepEqual(withoutQuitFlag(m.arguments).length, m.arguments.length - 2);
    }
  });
});

describe('classifyCommand on unrelated actions', () => {
  const others: [string, string[], string[]][] = [
    ['a genrule', ['/bin/bash', '-c', 'echo hi > bazel-out/k8-fastbuild/bin/x.txt'], ['bazel-out/k8-fastbuild/bin/x.txt']],
    ['a genrule that mentions rustc', ['/bin/bash', '-c', 'rustc --version > v.txt'], ['v.txt']],
    ['a C compile', ['/usr/bin/gcc', '-c', 'a.c', '-o', 'a.o'], ['a.o']],
    ['a tool named like the wrapper but without rustc', ['bin/process_wrapper', '--', '/usr/bin/env', 'true'], ['out.rlib']],
    ['a quit flag with two outputs', ['pw/process_wrapper', '--rustc-quit-on-rmeta', 'true', '--', 'tc/bin/rustc', '@p'], ['a.rmeta', 'b.rlib']],
    ['a static library', ['tc/bin/rustc', '--crate-type=staticlib', 'lib.rs'], ['libx.a']],
    ['an empty command', [], []],
    ['cargo', ['/usr/bin/cargo', 'build'], ['target/debug/x']],
  ];
  for (const [what, argv, outputs] of others) {
    it(`leaves ${what} as "other"`, () => assert.equal(classifyCommand(command({ arguments: argv, outputs })).kind, 'other'));
  }

  it('recognises a proc-macro and a direct rustc rlib compile', () => {
    assert.equal(classifyCommand(command({ arguments: ['pw/process_wrapper', '--', 'tc/bin/rustc', '@x.params'], outputs: ['libderive-1.so'] })).kind, 'rustc-proc-macro');
    assert.equal(classifyCommand(command({ arguments: ['tc/bin/rustc', '--crate-name=foo', '--crate-type=rlib', 'lib.rs'], outputs: ['libfoo-9.rlib'] })).kind, 'rustc-rlib');
  });
});

describe('classifyCommand on hollow-rlib metadata actions', () => {
  const env = (bootstrap: boolean) => (bootstrap ? [{ name: 'RUSTC_BOOTSTRAP', value: '1' }] : []);

  it('classifies Buck2 metadata-full (-Zno-codegen on the command line) as metadata, never paired', () => {
    const argv = ['tc/bin/rustc', '--crate-name=foo', '--crate-type=rlib', '-Zno-codegen', '--emit=link=buck-out/meta/libfoo-7.rlib', 'src/lib.rs'];
    const rc = classifyCommand(command({ arguments: argv, outputs: ['buck-out/meta/libfoo-7.rlib'], environmentVariables: env(true) }));
    assert.deepEqual([rc.kind, rc.hollow, rc.rmetaPath, rc.rlibPath, rc.pairArgv, rc.crateName], ['rustc-metadata', true, 'buck-out/meta/libfoo-7.rlib', undefined, undefined, 'foo']);
    const split = classifyCommand(command({ arguments: ['tc/bin/rustc', '-Z', 'no-codegen', 'lib.rs'], outputs: ['libfoo-7.rlib'] }));
    assert.equal(split.kind, 'rustc-metadata');
  });

  it('classifies rules_rust no-codegen pipelining (-hollow.rlib, RUSTC_BOOTSTRAP=1, flags in a param file) as metadata', () => {
    const argv = ['pw/process_wrapper', '--subst', 'pwd=${pwd}', '--', 'tc/bin/rustc', '@out/libfoo-h1-hollow.rlib-0.params'];
    const rc = classifyCommand(command({ arguments: argv, outputs: ['out/libfoo-h1-hollow.rlib'], environmentVariables: env(true) }));
    assert.deepEqual([rc.kind, rc.hollow], ['rustc-metadata', true]);
  });

  it('keeps the full rlib of the same crate, and a -hollow name without RUSTC_BOOTSTRAP, as rlib actions', () => {
    const full = classifyCommand(command({ arguments: ['tc/bin/rustc', '--crate-name=foo', '--emit=link=out/libfoo-7.rlib', 'src/lib.rs'], outputs: ['out/libfoo-7.rlib'], environmentVariables: env(true) }));
    assert.equal(full.kind, 'rustc-rlib');
    const named = classifyCommand(command({ arguments: ['pw/process_wrapper', '--', 'tc/bin/rustc', '@p'], outputs: ['out/libfoo-h1-hollow.rlib'] }));
    assert.equal(named.kind, 'rustc-rlib');
  });
});
