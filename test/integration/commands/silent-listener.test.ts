import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, type CliResult } from '../../helpers/cli.js'
import { freePort } from '../../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * A listener that accepts TCP connections and never writes a byte: every command that connects
 * must give up within --timeout (plus a margin for a loaded machine) with exit 3 and a message
 * naming the address and the timeout, whichever side of a two-endpoint command the silent listener
 * is. The time is measured from the listener's first accepted connection to the process's exit:
 * node's start-up, which a loaded machine can stretch to seconds, is not what --timeout bounds. The
 * same for a listener that completes the handshake (AUTH, CLIENT SETNAME, SELECT) and then answers
 * nothing more: a proxy that handles the connection's own commands while its backend hangs.
 */
const TIMEOUT_S = 1
/**
 * From the first connection to exit: the 1 s timeout, at most one more connection's timeout after
 * a handshake that answered, and the process's shutdown on a loaded 2-core machine.
 */
const AFTER_CONNECT_LIMIT_MS = 4000

interface Listener {
  url: string
  address: string
  /** When the listener accepted its first connection since the last reset (Date.now()). */
  firstAcceptAt?: number
  close(): Promise<void>
}

/** Commands in a client-to-server RESP stream (arrays of bulk strings), with the unparsed rest. */
function commandsIn(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = []
  let pos = 0
  for (;;) {
    const nl = buf.indexOf('\r\n', pos)
    if (nl < 0 || buf[pos] !== 0x2a) break
    const n = Number(buf.subarray(pos + 1, nl).toString('latin1'))
    let p = nl + 2
    const args: string[] = []
    while (args.length < n) {
      const end = buf.indexOf('\r\n', p)
      if (end < 0) break
      const len = Number(buf.subarray(p + 1, end).toString('latin1'))
      if (end + 2 + len + 2 > buf.length) break
      args.push(buf.subarray(end + 2, end + 2 + len).toString('latin1'))
      p = end + 2 + len + 2
    }
    if (args.length < n) break
    commands.push(args)
    pos = p
  }
  return { commands, rest: buf.subarray(pos) }
}

/**
 * `silent`: accept, read, never write. `after-handshake`: answer AUTH, CLIENT and SELECT with +OK,
 * then nothing more (the first command that needs the server, INFO or any other, hangs).
 * `after-discovery`: the same, and a connection's first INFO answered as a plain standalone server's:
 * a node that stops answering once it was found.
 */
type Kind = 'silent' | 'after-handshake' | 'after-discovery'

async function listener(kind: Kind): Promise<Listener> {
  const port = await freePort()
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    result.firstAcceptAt ??= Date.now()
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    let pending: Buffer = Buffer.alloc(0)
    let infos = 0
    socket.on('data', (chunk: Buffer) => {
      if (kind === 'silent') return
      pending = Buffer.concat([pending, chunk])
      const { commands, rest } = commandsIn(pending)
      pending = Buffer.from(rest)
      for (const [name] of commands) {
        const command = name.toUpperCase()
        if (command === 'AUTH' || command === 'CLIENT' || command === 'SELECT') socket.write('+OK\r\n')
        else if (kind === 'after-discovery' && command === 'INFO' && infos++ === 0) {
          const info = 'redis_version:7.0.15\r\nrole:master\r\ncluster_enabled:0\r\nloading:0\r\n'
          socket.write(`$${info.length}\r\n${info}\r\n`)
        }
      }
    })
  })
  const result: Listener = {
    url: `redis://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((res) => server.close(() => res()))
    },
  }
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', () => res()))
  return result
}

const listeners: Partial<Record<Kind, Listener>> = {}
let sb: TestSandbox
let dir: string
let rdbFile: string
let respFile: string

beforeAll(async () => {
  listeners.silent = await listener('silent')
  listeners['after-handshake'] = await listener('after-handshake')
  listeners['after-discovery'] = await listener('after-discovery')
  sb = await startSandbox({ shards: 0, replicas: 0 })
  dir = mkdtempSync(join(tmpdir(), 'kvtop-silent-'))
  // A small valid RDB, made from the sandbox, and a small RESP log.
  const client = await sb.client()
  await client.set('silent:a', '1')
  await client.hset('silent:h', 'f', 'v')
  rdbFile = join(dir, 'small.rdb')
  const made = await runCli(['snapshot', 'create', sb.url, '--out', rdbFile, '--json'])
  expect(made.code, made.stderr).toBe(0)
  respFile = join(dir, 'small.resp')
  writeFileSync(respFile, '*3\r\n$3\r\nSET\r\n$8\r\nsilent:r\r\n$1\r\n1\r\n')
})

afterAll(async () => {
  await Promise.all(Object.values(listeners).map((l) => l.close()))
  await sb?.down()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const run = async (kind: Kind, args: string[]) => {
  listeners[kind]!.firstAcceptAt = undefined
  const r = await runCli([...args, '--timeout', String(TIMEOUT_S)], { timeoutMs: 30_000 })
  return { ...r, exitedAt: Date.now() }
}

describe.each(['silent', 'after-handshake', 'after-discovery'] as const)(
  'a listener that accepts and never answers (%s): exit 3 within --timeout',
  (kind) => {
    const url = () => listeners[kind]!.url
    let files = 0
    const file = (name: string) => join(dir, `${kind}-${files++}-${name}`)

    function expectTimeoutExit(r: CliResult & { exitedAt: number }): void {
      const { firstAcceptAt } = listeners[kind]!
      const afterConnect = firstAcceptAt === undefined ? undefined : r.exitedAt - firstAcceptAt
      const out = `exit ${r.code} after ${r.ms} ms (${afterConnect} ms after the first connection)\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
      expect(r.code, out).toBe(3)
      expect(r.stderr, out).toContain(`no answer from ${listeners[kind]!.address} within ${TIMEOUT_S}s`)
      expect(afterConnect, out).toBeDefined()
      expect(afterConnect!, out).toBeLessThan(AFTER_CONNECT_LIMIT_MS)
    }

    const single: [string, () => string[]][] = [
      ['discover', () => ['discover', url()]],
      ['status', () => ['status', url()]],
      ['slowlog', () => ['slowlog', url()]],
      ['replication', () => ['replication', url()]],
      ['triage', () => ['triage', url(), '--out', file('triage'), '--duration', '1']],
      ['scale', () => ['scale', url(), '--rebalance', '--dry-run']],
      ['snapshot create', () => ['snapshot', 'create', url(), '--out', file('never.rdb')]],
      ['snapshot restore', () => ['snapshot', 'restore', rdbFile, '--to', url()]],
      ['replay', () => ['replay', respFile, '--to', url(), '--format', 'resp']],
    ]
    // A node that stops answering once found: status and replication show it as down and then
    // fail, having read no node (exit 3); triage reports it. slowlog, which reads the nodes' logs
    // once, fails without a log: an empty one would say nothing was slow.
    for (const [name, args] of single) {
      if (kind === 'after-discovery' && name === 'triage') continue
      if (kind === 'after-discovery' && name === 'status') {
        it('status over it and a deployment that answers: that one shown, exit 3', async () => {
          const { address, url: silentUrl } = listeners[kind]!
          const r = await run(kind, ['status', silentUrl, sb.url, '--json'])
          expect(r.code, r.stderr).toBe(3)
          const { deployments } = JSON.parse(r.stdout) as {
            deployments: Record<string, { reachable: boolean; error?: { message: string; exitCode: number } }>
          }
          expect(deployments[silentUrl]).toMatchObject({
            reachable: false,
            error: { exitCode: 3, message: expect.stringContaining(`no node answered: ${address} (`) },
          })
          expect(deployments[sb.url]).toMatchObject({ reachable: true })
        })
      }
      if (kind === 'after-discovery' && (name === 'status' || name === 'replication')) {
        it(`${name}: the node shown down, then exit 3`, async () => {
          const { address } = listeners[kind]!
          const r = await run(kind, args())
          expect(r.code, r.stderr).toBe(3)
          expect(r.stdout).toMatch(new RegExp(`${address.replace(/\./g, '\\.')}.*(down|timeout)`))
          expect(r.stderr).toContain(`Error: no node answered: ${address} (`)
          expect(r.stderr).toContain('Check that the nodes are up and reachable from here')
          const json = await run(kind, [...args(), '--json'])
          expect(json.code, json.stderr).toBe(3)
          expect(JSON.parse(json.stdout)).toHaveProperty(name === 'status' ? 'nodes' : 'shards')
          const error = json.stderr
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { type: string; exitCode?: number; message?: string })
            .find((e) => e.type === 'error')
          expect(error).toMatchObject({
            exitCode: 3,
            message: expect.stringContaining(`no node answered: ${address}`),
          })
        })
        continue
      }
      if (kind === 'after-discovery' && name === 'slowlog') {
        it(name, async () => {
          const r = await run(kind, args())
          expect(r.code, r.stderr).toBe(3)
          expect(r.stdout).toBe('')
          expect(r.stderr).toContain(`no node answered: ${listeners[kind]!.address} (no reply within`)
        })
        continue
      }
      it(name, async () => expectTimeoutExit(await run(kind, args())))
    }

    const pair: [string, string[]][] = [
      ['verify', ['verify']],
      ['migrate plan', ['migrate', 'plan']],
      ['migrate run', ['migrate', 'run']],
    ]
    for (const [name, command] of pair) {
      const checkpoint = () => (name === 'migrate run' ? ['--checkpoint', file('checkpoint')] : [])
      it(`${name}, the silent one as source`, async () =>
        expectTimeoutExit(
          await run(kind, [...command, '--source', url(), '--target', sb.url, ...checkpoint()]),
        ))
      it(`${name}, the silent one as target`, async () =>
        expectTimeoutExit(
          await run(kind, [...command, '--source', sb.url, '--target', url(), ...checkpoint()]),
        ))
    }
  },
)
