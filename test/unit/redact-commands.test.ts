import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatSlowlog, formatSlowlogGroups } from '../../src/metrics/format.js'
import { groupSlowlog } from '../../src/metrics/log-groups.js'
import { formatArgs, parseLogEntries } from '../../src/metrics/log-reply.js'
import { toSlowlogEntry, type NodeRef, type SlowlogEntry } from '../../src/metrics/slowlog.js'
import { markdownReport, prepareOutDir, writeReports } from '../../src/ops/triage/report.js'
import { summarize } from '../../src/ops/triage/rules.js'
import type { TriageInput, TriageReport } from '../../src/ops/triage/types.js'
import { redact, redactCommandArgs, redactDeep } from '../../src/redact.js'

/** Commands that carry secrets, as a client sends them; every secret has "Secret" in it. */
const COMMANDS: string[][] = [
  ['CONFIG', 'SET', 'requirepass', 'Cfg-Secret-1'],
  ['config', 'set', 'maxmemory', '1gb', 'masterauth', 'Cfg-Secret-2'],
  [
    'ACL',
    'SETUSER',
    'app',
    'on',
    '>Acl-Secret-3',
    '<Acl-Secret-4',
    '#Secret5a5a5a',
    '!Secret6b6b',
    '~*',
    '+@all',
  ],
  [
    'MIGRATE',
    '10.0.0.2',
    '6379',
    '',
    '0',
    '5000',
    'COPY',
    'AUTH2',
    'miguser',
    'Mig-Secret-7',
    'KEYS',
    'a',
    'b',
  ],
  ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'AUTH', 'Mig-Secret-8', 'KEYS', 'auth', 'x'],
  ['AUTH', 'Auth-Secret-9'],
  ['auth', 'app', 'Auth-Secret-10'],
  ['HELLO', '3', 'AUTH', 'app', 'Hello-Secret-11', 'SETNAME', 'c1'],
  ['SENTINEL', 'SET', 'mymaster', 'auth-pass', 'Sentinel-Secret-12'],
]

describe('redactCommandArgs: the one place command arguments lose their secrets', () => {
  it('masks passwords, keeps user names, keys and the rest', () => {
    expect(COMMANDS.map((c) => redactCommandArgs(c))).toEqual([
      ['CONFIG', 'SET', 'requirepass', '***'],
      ['config', 'set', 'maxmemory', '1gb', 'masterauth', '***'],
      ['ACL', 'SETUSER', 'app', 'on', '>***', '<***', '#***', '!***', '~*', '+@all'],
      ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'COPY', 'AUTH2', 'miguser', '***', 'KEYS', 'a', 'b'],
      ['MIGRATE', '10.0.0.2', '6379', '', '0', '5000', 'AUTH', '***', 'KEYS', 'auth', 'x'],
      ['AUTH', '***'],
      ['auth', 'app', '***'],
      ['HELLO', '3', 'AUTH', 'app', '***', 'SETNAME', 'c1'],
      ['SENTINEL', 'SET', 'mymaster', 'auth-pass', '***'],
    ])
    expect(redactCommandArgs(['SET', 'requirepass', 'v'])).toEqual(['SET', 'requirepass', 'v'])
    expect(redactCommandArgs(['GET', '>k'])).toEqual(['GET', '>k'])
  })

  it('the same commands written out as text (redis-cli style, MONITOR lines) lose them too', () => {
    for (const c of COMMANDS) {
      expect(redact(c.map((a) => (a === '' ? '""' : a)).join(' '))).not.toMatch(/Secret/)
      const monitor = `1700000000.123456 [0 10.0.0.9:5555] ${c.map((a) => JSON.stringify(a)).join(' ')}`
      expect(redact(monitor)).not.toMatch(/Secret/)
    }
    expect(redact('"CONFIG" "SET" "requirepass" "Mon Secret with spaces"')).toBe(
      '"CONFIG" "SET" "requirepass" "***"',
    )
    expect(redact('ACL SETUSER app on ">Quoted Secret" ~* +@all')).toBe('ACL SETUSER app on ">***" ~* +@all')
    expect(redact('MIGRATE h 6379 "" 0 5000 AUTH Mig-Secret KEYS a')).toBe(
      'MIGRATE h 6379 "" 0 5000 AUTH *** KEYS a',
    )
    // Prose stays prose.
    expect(redact('Authenticate with IAM auth tokens over TLS')).toBe(
      'Authenticate with IAM auth tokens over TLS',
    )
  })

  it('redactDeep masks `args` arrays of JSON documents by position, not only by content', () => {
    expect(redactDeep({ type: 'slowlog', args: ['CONFIG', 'SET', 'requirepass', 'pw'] })).toEqual({
      type: 'slowlog',
      args: ['CONFIG', 'SET', 'requirepass', '***'],
    })
    // Elsewhere, data stays as it is (a list of keys may start with "auth").
    expect(redactDeep({ keys: ['auth', 'session:1'] })).toEqual({ keys: ['auth', 'session:1'] })
  })
})

const node: NodeRef = { id: 'n1', address: '10.0.0.1:6379', shard: 0, role: 'primary' }

function slowlogReply(): unknown[] {
  return COMMANDS.map((args, i) => [
    COMMANDS.length - i,
    1700000000,
    20000 + i,
    args.map((a) => Buffer.from(a)),
    Buffer.from('10.0.0.9:5555'),
    Buffer.from(''),
  ])
}

describe('slowlog output never shows a secret', () => {
  const entries: SlowlogEntry[] = parseLogEntries(slowlogReply()).map((e) => toSlowlogEntry(e, node))

  it('the parsed entries (the JSON of `kvtop slowlog --json`) are masked', () => {
    expect(entries).toHaveLength(COMMANDS.length)
    expect(JSON.stringify(entries)).not.toMatch(/Secret/)
    expect(JSON.stringify(redactDeep(entries))).not.toMatch(/Secret/)
    expect(entries[0].args).toEqual(['CONFIG', 'SET', 'requirepass', '***'])
  })

  it('the text views (entries, groups) are masked', () => {
    expect(formatSlowlog(entries)).not.toMatch(/Secret/)
    expect(formatSlowlogGroups(groupSlowlog(entries))).not.toMatch(/Secret/)
  })

  it('formatArgs masks arguments that did not come through the parser', () => {
    expect(formatArgs({ args: ['CONFIG', 'SET', 'requirepass', 'Raw Secret'] })).toBe(
      'CONFIG SET requirepass ***',
    )
  })
})

describe('triage reports never show a secret from the slowlog', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

  function report(groups: TriageInput['slowlogGroups']): TriageReport {
    const input = {
      snapshot: { at: 0, nodes: [], cluster: {}, deployment: { mode: 'cluster', shards: 1, nodes: 1 } },
      openSlots: [],
      extras: [],
      slowlogGroups: groups,
      keys: { sampled: 0, bigKeys: [], hotKeys: [], notes: [] },
      durationSeconds: 10,
    } as unknown as TriageInput
    return {
      at: 0,
      durationSeconds: 10,
      deployment: input.snapshot.deployment,
      counts: { critical: 0, warning: 0, info: 0 },
      findings: [],
      ...summarize(input),
      keys: input.keys,
      nodes: [],
    }
  }

  it('report.md and triage.json, from parsed slowlog entries', async () => {
    const entries = parseLogEntries(slowlogReply()).map((e) => toSlowlogEntry(e, node))
    const r = report(groupSlowlog(entries))
    expect(r.workload.slowlog.length).toBeGreaterThan(0)
    const dir = mkdtempSync(join(tmpdir(), 'kvtop-triage-redact-'))
    dirs.push(dir)
    await writeReports(prepareOutDir(dir, false), r)
    const md = readFileSync(join(dir, 'report.md'), 'utf8')
    const json = readFileSync(join(dir, 'triage.json'), 'utf8')
    expect(json).toMatch(/requirepass|masterauth/)
    expect(json).toContain('SETUSER app')
    expect(md + json).not.toMatch(/Secret/)
    expect(markdownReport(r)).not.toMatch(/Secret/)
  })

  it('triage.json, from groups whose examples were never masked (single-word secrets)', () => {
    const raw = COMMANDS.map((args, i) =>
      toSlowlogEntry({ id: i, at: 0, value: 1000 + i, args, client: '10.0.0.9:5555' }, node),
    )
    const r = report(groupSlowlog(raw))
    expect(r.workload.slowlog.map((g) => g.example).join('\n')).toMatch(/Secret/)
    expect(JSON.stringify(redactDeep(r))).not.toMatch(/Secret/)
  })
})
