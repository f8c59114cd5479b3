#!/usr/bin/env node
// npm run demo: a 3-shard sandbox with a replica each, a mixed workload, and the live view.
// On a TTY it opens `kvtop top` (q quits); piped, it prints `kvtop status --watch` for a while.
// The sandbox is stopped at the end unless --keep is given.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../bin/kvtop.js', import.meta.url))
const keep = process.argv.includes('--keep')
const name = 'demo'
const kvtop = (args, opts = {}) => spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', ...opts })

const status = spawnSync(process.execPath, [bin, 'sandbox', 'status', '--json'], { encoding: 'utf8' })
const running =
  status.status === 0 &&
  JSON.parse(status.stdout).sandboxes.some((s) => s.name === name && s.nodes.some((n) => n.up))
if (!running) {
  const up = kvtop(['sandbox', 'up', '--name', name, '--shards', '3', '--replicas', '1'])
  if (up.status !== 0) process.exit(up.status ?? 1)
}

// The load generator never writes to the terminal: the dashboard owns it, and a progress line would
// land on top of its frame. Its output is kept (the tail only) and its summary printed at the end.
const load = spawn(
  process.execPath,
  [bin, 'sandbox', 'load', '--profile', `sandbox:${name}`, '--rate', '2000', '--keys', '20000'],
  { stdio: ['ignore', 'pipe', 'pipe'] },
)
const loadOutput = { stdout: '', stderr: '' }
const keepTail = (stream) => (d) => (loadOutput[stream] = (loadOutput[stream] + d).slice(-4000))
load.stdout.on('data', keepTail('stdout'))
load.stderr.on('data', keepTail('stderr'))
const loadExit = new Promise((r) => load.once('exit', (c) => r(c)))

const { COMMANDS } = await import('../dist/commands/index.js')
const has = (id) => id in COMMANDS
let code = 0
if (process.stdout.isTTY && has('top')) {
  code = kvtop(['top', '--profile', `sandbox:${name}`]).status ?? 0
} else if (has('status')) {
  const seconds = Number(process.env.KVTOP_DEMO_SECONDS ?? 10)
  code =
    kvtop(['status', '--profile', `sandbox:${name}`, '--watch', '--interval', '2'], {
      timeout: seconds * 1000,
      killSignal: 'SIGINT',
    }).status ?? 0
} else {
  await new Promise((r) => setTimeout(r, 3000))
  code = kvtop(['discover', '--profile', `sandbox:${name}`]).status ?? 0
}

load.kill('SIGINT')
const loadCode = await loadExit
const loadSummary = loadOutput.stdout.trim().split('\n').pop()
if (loadSummary) console.log(`load: ${loadSummary}`)
if (loadCode !== 0 && loadOutput.stderr.trim()) process.stderr.write(`load: ${loadOutput.stderr.trim()}\n`)
if (!keep) {
  kvtop(['sandbox', 'down', '--name', name])
} else {
  // Run from the checkout: `kvtop` is on PATH only after npm i -g or npm link; npx finds the package's bin.
  console.log(`Sandbox '${name}' is still running: npx kvtop sandbox down --name ${name}`)
}
process.exit(code)
