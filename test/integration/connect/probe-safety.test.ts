import net from 'node:net'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * The capability probe (and the commands built on it) never sends a command that would change the
 * server if it were executed, in whatever context: a proxy or a "compatible" server may not honour
 * the pub/sub or MULTI context that would keep it from running. A recording proxy between kvtop
 * and redis-server parses the client-to-server RESP stream and keeps every command's name.
 */

/** Commands that change the server if executed: never sent by discover, status or migrate plan. */
const FORBIDDEN: Record<string, true | string[]> = {
  SHUTDOWN: true,
  REPLICAOF: true,
  SLAVEOF: true,
  SAVE: true,
  BGSAVE: true,
  BGREWRITEAOF: true,
  SYNC: true,
  PSYNC: true,
  FLUSHALL: true,
  FLUSHDB: true,
  MIGRATE: true,
  RESTORE: true,
  'RESTORE-ASKING': true,
  FAILOVER: true,
  SWAPDB: true,
  CLUSTER: [
    'ADDSLOTS',
    'ADDSLOTSRANGE',
    'DELSLOTS',
    'DELSLOTSRANGE',
    'SETSLOT',
    'MEET',
    'FAILOVER',
    'FORGET',
    'RESET',
    'REPLICATE',
    'SAVECONFIG',
    'BUMPEPOCH',
    'SET-CONFIG-EPOCH',
    'FLUSHSLOTS',
  ],
  ACL: ['SAVE', 'LOAD', 'SETUSER', 'DELUSER'],
  CONFIG: ['SET', 'REWRITE', 'RESETSTAT'],
  MODULE: ['LOAD', 'LOADEX', 'UNLOAD'],
  SCRIPT: ['FLUSH', 'KILL'],
  FUNCTION: ['FLUSH', 'DELETE', 'LOAD', 'RESTORE', 'KILL'],
  CLIENT: ['KILL', 'PAUSE'],
  SLOWLOG: ['RESET'],
  LATENCY: ['RESET'],
  COMMANDLOG: ['RESET'],
}

/** Name and subcommand (upper case), and the argument count. */
interface Recorded {
  name: string
  sub: string
  argc: number
}

function isForbidden(c: Recorded): boolean {
  // DEBUG with any argument may act (DEBUG SLEEP, DEBUG RELOAD, DEBUG SEGFAULT).
  if (c.name === 'DEBUG') return c.argc > 1
  const rule = FORBIDDEN[c.name]
  return rule === true || (Array.isArray(rule) && rule.includes(c.sub))
}

/** Commands out of a client-to-server RESP stream (arrays of bulk strings, or inline commands). */
function parseClientStream(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = []
  let pos = 0
  while (pos < buf.length) {
    const nl = buf.indexOf('\r\n', pos)
    if (nl < 0) break
    if (buf[pos] !== 0x2a) {
      const line = buf.subarray(pos, nl).toString('latin1').trim()
      if (line) commands.push(line.split(/\s+/))
      pos = nl + 2
      continue
    }
    const n = Number(buf.subarray(pos + 1, nl).toString('latin1'))
    let p = nl + 2
    const args: string[] = []
    for (let i = 0; i < n; i++) {
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

interface RecordingProxy {
  port: number
  recorded: Recorded[]
  connections: () => number
  reset(): void
  close(): void
}

/** A TCP proxy to 127.0.0.1:targetPort that forwards bytes both ways and records every command. */
async function recordingProxy(targetPort: number, listenPort = 0): Promise<RecordingProxy> {
  const recorded: Recorded[] = []
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    connections++
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    let pending: Buffer = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      const { commands, rest } = parseClientStream(pending)
      pending = Buffer.from(rest)
      for (const args of commands)
        recorded.push({
          name: (args[0] ?? '').toUpperCase(),
          sub: (args[1] ?? '').toUpperCase(),
          argc: args.length,
        })
      upstream.write(chunk)
    })
    upstream.pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((res) => server.listen(listenPort, '127.0.0.1', () => res()))
  return {
    port: (server.address() as net.AddressInfo).port,
    recorded,
    connections: () => connections,
    reset: () => {
      recorded.length = 0
      connections = 0
    },
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

const show = (cs: Recorded[]) => cs.map((c) => `${c.name} ${c.sub}`.trim())

/** Recorded commands the server flags as writes (COMMAND INFO, asked as the sandbox's admin). */
async function writeCommands(admin: Redis, recorded: Recorded[]): Promise<string[]> {
  const names = [...new Set(recorded.map((c) => c.name.toLowerCase()))]
  const infos = (await admin.call('COMMAND', 'INFO', ...names)) as (unknown[] | null)[]
  const writes = new Set<string>()
  names.forEach((name, i) => {
    const flags = (infos[i]?.[2] as string[] | undefined) ?? []
    if (flags.includes('write')) writes.add(name.toUpperCase())
  })
  return show(recorded.filter((c) => writes.has(c.name)))
}

type Flavor = 'redis' | 'elasticache' | 'memorydb'
interface Side {
  sb: TestSandbox
  proxy: RecordingProxy
  /** The sandbox's URL (with its password) pointed at the proxy. */
  url: string
  admin: Redis
}

const sides = new Map<Flavor, Side>()
const FLAVORS: Flavor[] = ['redis', 'elasticache', 'memorydb']

beforeAll(async () => {
  await Promise.all(
    FLAVORS.map(async (flavor) => {
      const sb = await startSandbox(
        flavor === 'memorydb'
          ? { shards: 1, replicas: 0, flavor, password: 'Mdb-Probe-Safety-71' }
          : { shards: 0, replicas: 0, flavor },
      )
      const port = sb.summary.nodes[0].port
      const proxy = await recordingProxy(port)
      const admin = await sb.admin()
      // A cluster announces the proxy as its node address: every connection kvtop opens to the
      // node (topology, per-node clients) goes through the proxy too.
      if (flavor === 'memorydb') await admin.config('SET', 'cluster-announce-port', String(proxy.port))
      const url = sb.url.replace(`:${port}`, `:${proxy.port}`)
      sides.set(flavor, { sb, proxy, url, admin })
    }),
  )
})

afterAll(async () => {
  for (const side of sides.values()) side.proxy.close()
  await Promise.all([...sides.values()].map((s) => s.sb.down()))
})

function expectNothingForbidden(proxy: RecordingProxy): void {
  const sent = proxy.recorded
  // The proxy saw the traffic: at least the handshake's INFO.
  expect(sent.some((c) => c.name === 'INFO')).toBe(true)
  expect(show(sent.filter(isForbidden)), `sent: ${show(sent).join(', ')}`).toEqual([])
}

describe('the recording proxy', () => {
  it('parses commands split across reads and pipelined in one', () => {
    const stream = Buffer.from(
      '*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nACL\r\n$6\r\nDRY',
    )
    const first = parseClientStream(stream)
    expect(first.commands).toEqual([['INFO', 'server'], ['PING']])
    const second = parseClientStream(
      Buffer.concat([first.rest, Buffer.from('RUN\r\n$8\r\nSHUTDOWN\r\nPING\r\n')]),
    )
    expect(second.commands).toEqual([['ACL', 'DRYRUN', 'SHUTDOWN'], ['PING']])
    expect(second.rest.length).toBe(0)
    expect(isForbidden({ name: 'SHUTDOWN', sub: '', argc: 1 })).toBe(true)
    expect(isForbidden({ name: 'DEBUG', sub: 'SLEEP', argc: 3 })).toBe(true)
    expect(isForbidden({ name: 'ACL', sub: 'DRYRUN', argc: 4 })).toBe(false)
    expect(isForbidden({ name: 'CONFIG', sub: 'GET', argc: 3 })).toBe(false)
  })
})

describe.each(FLAVORS)('through a recording proxy, %s flavor', (flavor) => {
  it('discover sends nothing that would change the server, and reports the same refusals', async () => {
    const { proxy, url, admin } = sides.get(flavor)!
    proxy.reset()
    const r = await runCli(['discover', url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expectNothingForbidden(proxy)
    expect(await writeCommands(admin, proxy.recorded)).toEqual([])
    // The probe itself went through the proxy: its metadata questions were recorded.
    expect(show(proxy.recorded)).toEqual(expect.arrayContaining(['COMMAND INFO', 'ACL DRYRUN']))
    const caps = JSON.parse(r.stdout).capabilities as {
      refused: string[]
      refusals: { command: string; reason: string }[]
      unknown: string[]
    }
    // The probe learned every verdict without sending the commands: nothing left unjudged.
    expect(caps.unknown).toEqual([])
    if (flavor === 'redis') expect(caps.refused).toEqual([])
    const elasticache = [
      'config',
      'sync',
      'psync',
      'bgsave',
      'save',
      'bgrewriteaof',
      'debug',
      'migrate',
      'replicaof',
      'slaveof',
      'shutdown',
    ]
    const memorydb = [
      ...elasticache,
      'module',
      'acl setuser',
      'acl deluser',
      'acl load',
      'acl save',
      'cluster addslots',
      'cluster delslots',
      'cluster setslot',
    ]
    if (flavor === 'elasticache') expect([...caps.refused].sort()).toEqual([...elasticache].sort())
    if (flavor === 'memorydb') expect([...caps.refused].sort()).toEqual([...memorydb].sort())
    // Each refusal by the flavor's ACL is reported as one.
    expect(caps.refusals.every((x) => x.reason === 'acl')).toBe(true)
    for (const allowed of ['dump', 'monitor', 'restore', 'scan', 'cluster meet'])
      expect(caps.refused).not.toContain(allowed)
  })

  it('status sends nothing that would change the server', async () => {
    const { proxy, url, admin } = sides.get(flavor)!
    proxy.reset()
    const r = await runCli(['status', url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expectNothingForbidden(proxy)
    expect(await writeCommands(admin, proxy.recorded)).toEqual([])
  })
})

describe('migrate plan, both sides through recording proxies', () => {
  const pairs: [Flavor, Flavor][] = [
    ['redis', 'elasticache'],
    ['elasticache', 'memorydb'],
    ['memorydb', 'redis'],
  ]
  it.each(pairs)('%s -> %s', async (from, to) => {
    const source = sides.get(from)!
    const target = sides.get(to)!
    source.proxy.reset()
    target.proxy.reset()
    const r = await runCli(['migrate', 'plan', '--source', source.url, '--target', target.url, '--json'])
    // 0 go or 1 no-go: either way a plan, not an error.
    expect([0, 1], r.stderr).toContain(r.code)
    // A plan may write and delete a scratch key of its own (documented: the DUMP-version and
    // notification probes); it never sends anything in the forbidden list.
    expectNothingForbidden(source.proxy)
    expectNothingForbidden(target.proxy)
  })
})
