#!/usr/bin/env node
// Runs test files in the order given (node 20's `node --test` sorts its file list, so the longest files would start
// wherever the alphabet puts them), with the same TAP output and summary lines, and a non-zero exit on any failure.
'use strict';
const { run } = require('node:test');
const { tap } = require('node:test/reporters');

const [concurrency, timeout, ...files] = process.argv.slice(2);
const stream = run({ files, concurrency: Number(concurrency), timeout: Number(timeout) });
stream.on('test:fail', () => (process.exitCode = 1));
stream.compose(tap).pipe(process.stdout);
