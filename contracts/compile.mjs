#!/usr/bin/env node
// Compiles contracts/src/*.sol with solcjs (the npm package `solc`, installed in tools/) and writes
// one artifact per contract to contracts/artifacts/<Name>.json: { contractName, sourceName, compiler,
// abi, bytecode, deployedBytecode }. solcjs runs offline; nothing is imported from outside src/.
//
//   npm install --prefix tools && node contracts/compile.mjs
//
// The artifacts are committed, so building aomi never needs a compiler. `--check` compiles and fails
// if a committed artifact differs (a stale artifact is a bug).

import { createRequire } from 'node:module'
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(here, '..', 'tools', 'package.json'))
let solc
try {
  solc = require('solc')
} catch {
  console.error('solc is not installed: run `npm install --prefix tools` first')
  process.exit(1)
}

const srcDir = join(here, 'src')
const outDir = join(here, 'artifacts')
const check = process.argv.includes('--check')

const sources = Object.fromEntries(
  readdirSync(srcDir)
    .filter((f) => f.endsWith('.sol'))
    .sort()
    .map((f) => [f, { content: readFileSync(join(srcDir, f), 'utf8') }])
)

const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
}

const output = JSON.parse(solc.compile(JSON.stringify(input)))
const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
for (const e of output.errors ?? []) console.error(e.formattedMessage)
if (errors.length > 0) process.exit(1)

let stale = 0
for (const [sourceName, contracts] of Object.entries(output.contracts)) {
  for (const [contractName, c] of Object.entries(contracts)) {
    const artifact = {
      contractName,
      sourceName: `src/${sourceName}`,
      compiler: `solc ${solc.version()}`,
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    }
    const path = join(outDir, `${contractName}.json`)
    const text = JSON.stringify(artifact, null, 2) + '\n'
    if (check) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
        console.error(`stale artifact: ${path}`)
        stale++
      }
    } else {
      writeFileSync(path, text)
      console.log(`wrote artifacts/${contractName}.json`)
    }
  }
}
if (stale > 0) process.exit(1)
