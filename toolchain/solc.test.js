// Tests of the solc-js wrapper (run: node --test toolchain/).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SOLC = path.join(__dirname, 'solc');

function solc(args, input) {
  return spawnSync(SOLC, args, { input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
}

function stdJson(sources, selection = ['abi', 'evm.bytecode.object']) {
  return JSON.stringify({
    language: 'Solidity',
    sources,
    settings: { outputSelection: { '*': { '*': selection } } },
  });
}

test('--version answers in native solc format', () => {
  const r = solc(['--version']);
  assert.strictEqual(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.strictEqual(lines[0], 'solc, the solidity compiler commandline interface');
  assert.match(lines[1], /^Version: 0\.8\.\d+\+commit\.[0-9a-f]{8}\./);
});

test('--standard-json compiles from stdin', () => {
  const src = '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; contract A { function f() external pure returns (uint) { return 7; } }';
  const r = solc(['--standard-json'], stdJson({ 'a.sol': { content: src } }));
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.contracts['a.sol'].A.evm.bytecode.object.length > 100);
  assert.deepStrictEqual(out.errors ?? [], []);
});

test('large output is written in full to a pipe', () => {
  // 60 contracts with full output selection: several MB of JSON, far above a pipe buffer.
  const sources = {};
  for (let i = 0; i < 60; i++) {
    sources[`c${i}.sol`] = { content: `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; contract C${i} { uint[] public xs; function push(uint x) external { xs.push(x * ${i}); } function sum() external view returns (uint s) { for (uint j; j < xs.length; j++) s += xs[j]; } }` };
  }
  const r = solc(['--standard-json'], stdJson(sources, ['*']));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.ok(r.stdout.length > 1_000_000, `output only ${r.stdout.length} bytes`);
  const out = JSON.parse(r.stdout); // parses only if nothing was cut
  assert.strictEqual(Object.keys(out.contracts).length, 60);
});

test('imports resolve through --base-path and --include-path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solc-wrapper-'));
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(dir, 'lib', 'L.sol'), '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; library L { function one() internal pure returns (uint) { return 1; } }');
  const src = '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; import "L.sol"; contract B { function f() external pure returns (uint) { return L.one(); } }';
  const r = solc(['--base-path', dir, '--include-path', path.join(dir, 'lib'), '--standard-json'], stdJson({ 'b.sol': { content: src } }));
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.contracts['b.sol'].B, JSON.stringify(out.errors));
});

test('compile errors are reported in the JSON output, like native solc', () => {
  const r = solc(['--standard-json'], stdJson({ 'bad.sol': { content: 'pragma solidity ^0.8.0; contract X { function }' } }));
  assert.strictEqual(r.status, 0);
  const out = JSON.parse(r.stdout);
  assert.ok(out.errors.some((e) => e.severity === 'error' && e.type === 'ParserError'));
});

test('invalid JSON input fails with a clear message', () => {
  const r = solc(['--standard-json'], '{not json');
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /cannot read Standard JSON input/);
});

test('unsupported invocations are refused', () => {
  for (const args of [['--bin', 'x.sol'], [], ['x.sol']]) {
    const r = solc(args);
    assert.strictEqual(r.status, 1, `args ${args}`);
    assert.match(r.stderr, /only --version and --standard-json|unsupported argument/);
  }
});
