import { afterEach, describe, expect, it } from 'vitest'
import {
  aclRulesAllow,
  parseGetUserRules,
  probeCapabilities,
  PROBED,
} from '../../../src/connect/capabilities.js'
import type { ConnectionSpec } from '../../../src/connect/client.js'
import { ConnectError } from '../../../src/errors.js'
import { fakeServer, handshakeThen, type FakeServer, type Handler } from '../wire/fake-server.js'

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`
const array = (items: string[]) => `*${items.length}\r\n${items.join('')}`
const NIL = '$-1\r\n'
const err = (message: string) => `-${message}\r\n`

/** A COMMAND INFO entry: name, arity, flags, keys, ACL categories (Redis 6 shape, no subcommands). */
const entry = (name: string, categories: string[] = ['@slow']) =>
  array([bulk(name), ':-1\r\n', array([]), ':0\r\n', ':0\r\n', ':0\r\n', array(categories.map(bulk))])

const spec = (port: number, timeoutMs = 2000): ConnectionSpec => ({
  endpoint: { host: '127.0.0.1', port, tls: false, db: 0 },
  insecure: false,
  timeoutMs,
  natMap: new Map(),
})

/** Would change the server if executed, in any context. */
function changesServer(args: string[]): boolean {
  const [name, sub = ''] = args.map((a) => a.toUpperCase())
  if (name === 'DEBUG') return args.length > 1
  if (
    /^(SHUTDOWN|REPLICAOF|SLAVEOF|SAVE|BGSAVE|BGREWRITEAOF|SYNC|PSYNC|FLUSHALL|FLUSHDB|MIGRATE|RESTORE|MONITOR)$/.test(
      name,
    )
  )
    return true
  if (name === 'CLUSTER') return /^(ADDSLOTS|DELSLOTS|SETSLOT|MEET|FAILOVER|FORGET|RESET)$/.test(sub)
  if (name === 'ACL') return /^(SAVE|LOAD|SETUSER|DELUSER)$/.test(sub)
  if (name === 'CONFIG') return sub !== 'GET'
  return false
}

const servers: FakeServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
async function server(handler: Handler): Promise<FakeServer> {
  const s = await fakeServer(handshakeThen(handler))
  servers.push(s)
  return s
}

describe('ACL rules as ACL GETUSER prints them', () => {
  it('apply in order, by name, subcommand or category; the last that concerns the command wins', () => {
    expect(aclRulesAllow('+@all -config -shutdown', 'shutdown', ['@admin', '@dangerous'])).toBe(false)
    expect(aclRulesAllow('+@all -config -shutdown', 'bgsave', ['@admin', '@dangerous'])).toBe(true)
    expect(aclRulesAllow('+@all -@dangerous +bgsave', 'bgsave', ['@admin', '@dangerous'])).toBe(true)
    expect(aclRulesAllow('+@all -@dangerous', 'sync', ['@admin', '@dangerous'])).toBe(false)
    expect(aclRulesAllow('-@all +@read', 'sync', ['@admin'])).toBe(false)
    expect(aclRulesAllow('+@all -acl|setuser', 'acl|setuser', ['@admin'])).toBe(false)
    expect(aclRulesAllow('+@all -acl|setuser', 'acl|deluser', ['@admin'])).toBe(true)
    expect(aclRulesAllow('+@all -cluster +cluster|meet', 'cluster|meet', [])).toBe(true)
    expect(aclRulesAllow('+@all -cluster +cluster|meet', 'cluster|setslot', [])).toBe(false)
    expect(aclRulesAllow('allcommands', 'shutdown', [])).toBe(true)
    expect(aclRulesAllow('', 'shutdown', [])).toBe(false)
  })

  it('come from the user and each of its selectors', () => {
    const reply = [
      'flags',
      ['on'],
      'commands',
      '+@all -shutdown',
      'keys',
      '~*',
      'selectors',
      [['commands', '-@all +shutdown', 'keys', '~x']],
    ]
    expect(parseGetUserRules(reply)).toEqual(['+@all -shutdown', '-@all +shutdown'])
    expect(parseGetUserRules(['flags', ['on']])).toBeUndefined()
  })
})

describe('probeCapabilities on servers that might run whatever they are sent', () => {
  it('Redis 5 with CONFIG and SHUTDOWN renamed: refusals from COMMAND INFO, nothing acting sent', async () => {
    const renamed = new Set(['config', 'shutdown'])
    const s = await server((args) => {
      const [name, sub = ''] = args.map((a) => a.toLowerCase())
      if (name === 'info')
        return bulk(sub === 'server' ? 'redis_version:5.0.14\r\nos:Linux\r\n' : 'cluster_enabled:0\r\n')
      if (name === 'command' && sub === 'info')
        return array(
          args
            .slice(2)
            .map((n) => n.toLowerCase())
            .map((n) => (renamed.has(n) || n === 'acl' || n === 'commandlog' ? NIL : entry(n))),
        )
      if (renamed.has(name) || name === 'acl' || name === 'commandlog')
        return err(`ERR unknown command \`${args[0]}\`, with args beginning with: `)
      if (name === 'cluster')
        return err(`ERR Unknown subcommand or wrong number of arguments for '${args[1]}'. Try CLUSTER HELP.`)
      return changesServer(args) ? '+DONE\r\n' : NIL
    })
    const caps = await probeCapabilities(spec(s.port))
    expect(s.commands.filter(changesServer)).toEqual([])
    expect(caps).toMatchObject({ engine: 'redis', version: '5.0.14', provider: 'self-managed' })
    expect(caps.refused.sort()).toEqual(['config', 'shutdown'])
    expect(caps.refusals.every((r) => r.reason === 'disabled')).toBe(true)
    expect(caps.unsupported.sort()).toEqual(
      ['acl deluser', 'acl load', 'acl save', 'acl setuser', 'cluster slot-stats', 'commandlog'].sort(),
    )
    // No ACL before Redis 6: every command the server has is allowed.
    expect(caps.unknown).toEqual([])
  })

  it('a user allowed neither ACL DRYRUN nor ACL GETUSER: the unsent commands stay unknown', async () => {
    const s = await server((args) => {
      const [name, sub = ''] = args.map((a) => a.toLowerCase())
      if (name === 'info') return bulk(sub === 'server' ? 'redis_version:7.2.4\r\n' : 'cluster_enabled:0\r\n')
      if (name === 'acl' && sub === 'whoami') return bulk('app')
      if (name === 'acl' || (name === 'config' && sub === 'get'))
        return err(`NOPERM this user has no permissions to run the '${name}|${sub}' command`)
      if (name === 'command' && sub === 'info')
        return array(args.slice(2).map((n) => (n.toLowerCase() === 'commandlog' ? NIL : entry(n))))
      if (name === 'commandlog') return err("ERR unknown command 'COMMANDLOG', with args beginning with: ")
      return changesServer(args) ? '+DONE\r\n' : NIL
    })
    const caps = await probeCapabilities(spec(s.port))
    expect(s.commands.filter(changesServer)).toEqual([])
    const unsent = Object.keys(PROBED).filter((n) => !PROBED[n].send)
    expect(caps.unknown.sort()).toEqual(unsent.sort())
    expect(caps.refused).toEqual(['config'])
    expect(caps.unsupported).toEqual(['commandlog'])
  })

  it("ACL DRYRUN answers for the unsent commands, in the server's words", async () => {
    const s = await server((args) => {
      const [name, sub = ''] = args.map((a) => a.toLowerCase())
      if (name === 'info') return bulk(sub === 'server' ? 'redis_version:7.2.4\r\n' : 'cluster_enabled:1\r\n')
      if (name === 'acl' && sub === 'whoami') return bulk('app')
      if (name === 'acl' && sub === 'dryrun')
        return args[3].toLowerCase() === 'sync'
          ? bulk("User app has no permissions to run the 'sync' command")
          : '+OK\r\n'
      if (name === 'acl' && sub === 'getuser') return array([bulk('commands'), bulk('+@all')])
      if (name === 'command' && sub === 'info') return array(args.slice(2).map((n) => entry(n)))
      if (name === 'config')
        return array([bulk(args[2]), bulk(args[2] === 'enable-debug-command' ? 'yes' : '0')])
      return changesServer(args) ? '+DONE\r\n' : NIL
    })
    const caps = await probeCapabilities(spec(s.port))
    expect(s.commands.filter(changesServer)).toEqual([])
    expect(s.commands.some((c) => c[0] === 'ACL' && c[1] === 'DRYRUN' && c[3] === 'SHUTDOWN')).toBe(true)
    expect(caps.clusterEnabled).toBe(true)
    expect(caps.refusals).toEqual([
      {
        command: 'sync',
        reason: 'acl',
        message: "NOPERM this user has no permissions to run the 'sync' command",
      },
    ])
    expect(caps.unknown).toEqual([])
  })

  it("Redis 6.2, no ACL DRYRUN: the user's rules from ACL GETUSER, with COMMAND INFO's categories", async () => {
    const dangerous = new Set(['sync', 'psync', 'shutdown', 'debug', 'bgsave', 'migrate'])
    const s = await server((args) => {
      const [name, sub = ''] = args.map((a) => a.toLowerCase())
      if (name === 'info')
        return bulk(sub === 'server' ? 'redis_version:6.2.14\r\n' : 'cluster_enabled:0\r\n')
      if (name === 'acl' && sub === 'whoami') return bulk('app')
      if (name === 'acl' && sub === 'dryrun')
        return err("ERR Unknown subcommand or wrong number of arguments for 'DRYRUN'. Try ACL HELP.")
      if (name === 'acl' && sub === 'getuser')
        return array([
          bulk('flags'),
          array([bulk('on')]),
          bulk('commands'),
          bulk('+@all -@dangerous +bgsave'),
        ])
      if (name === 'command' && sub === 'info')
        return array(
          args
            .slice(2)
            .map((n) => entry(n, dangerous.has(n.toLowerCase()) ? ['@admin', '@dangerous'] : ['@slow'])),
        )
      if (name === 'config') return array([])
      return changesServer(args) ? '+DONE\r\n' : NIL
    })
    const caps = await probeCapabilities(spec(s.port))
    expect(s.commands.filter(changesServer)).toEqual([])
    expect(caps.refused.sort()).toEqual(['debug', 'migrate', 'psync', 'shutdown', 'sync'])
    expect(caps.refusals[0].message).toMatch(/\(ACL GETUSER\)$/)
    expect(caps.unknown).toEqual([])
  })

  it('DEBUG allowed by the ACL but protected by enable-debug-command no', async () => {
    const s = await server((args) => {
      const [name, sub = ''] = args.map((a) => a.toLowerCase())
      if (name === 'info')
        return bulk(sub === 'server' ? 'redis_version:7.0.15\r\n' : 'cluster_enabled:0\r\n')
      if (name === 'acl' && sub === 'whoami') return bulk('default')
      if (name === 'acl' && sub === 'dryrun') return '+OK\r\n'
      if (name === 'command' && sub === 'info') return array(args.slice(2).map((n) => entry(n)))
      if (name === 'config')
        return array([bulk(args[2]), bulk(args[2] === 'enable-debug-command' ? 'no' : '0')])
      return changesServer(args) ? '+DONE\r\n' : NIL
    })
    const caps = await probeCapabilities(spec(s.port))
    expect(caps.refusals).toEqual([expect.objectContaining({ command: 'debug', reason: 'protected' })])
  })

  it('a server that stops answering after the handshake: exit 3 naming it, within the timeout', async () => {
    const s = await server(() => undefined)
    const started = Date.now()
    const failure = await probeCapabilities(spec(s.port, 300)).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(ConnectError)
    expect((failure as ConnectError).message).toBe(`no answer from 127.0.0.1:${s.port} within 0.3s`)
    expect(Date.now() - started).toBeLessThan(2000)
  })
})
