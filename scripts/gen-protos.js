#!/usr/bin/env node
// Generates src/gen/protos.{js,d.ts} from protos/ with protobufjs-cli (no protoc needed).
// Static code: fastest protobufjs codec, `bytes` fields decode as Buffer views, int64 as Long (exact).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const protoDir = path.join(root, 'protos');
const outDir = path.join(root, 'src', 'gen');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function protoFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return protoFiles(p);
    return e.name.endsWith('.proto') ? [path.relative(protoDir, p)] : [];
  }).sort();
}

const js = path.join(outDir, 'protos.js');
const dts = path.join(outDir, 'protos.d.ts');
const inputs = protoFiles(protoDir);
// Entry points only: imports are resolved from protos/ through -p, and listing them again duplicates types.
const entries = ['build/bazel/remote/execution/v2/remote_execution.proto', 'build/bazel/remote/asset/v1/remote_asset.proto', 'google/bytestream/bytestream.proto',
  'google/rpc/error_details.proto', 'google/rpc/code.proto', ...inputs.filter((f) => f.startsWith('rustexec/'))];
const newest = Math.max(...inputs.map((f) => fs.statSync(path.join(protoDir, f)).mtimeMs), fs.statSync(__filename).mtimeMs);
if (fs.existsSync(dts) && fs.statSync(dts).mtimeMs >= newest) process.exit(0);

fs.mkdirSync(outDir, { recursive: true });
execFileSync(bin('pbjs'), ['-t', 'static-module', '-w', 'commonjs', '--no-verify', '--no-convert', '--no-delimited', '--force-long', '-p', protoDir, '-o', js, ...entries.map((f) => path.join(protoDir, f))], { cwd: protoDir, stdio: 'inherit' });
execFileSync(bin('pbts'), ['--no-comments', '-o', dts, js], { stdio: 'inherit' });
console.log(`generated ${path.relative(root, js)} from ${inputs.length} protos`);
