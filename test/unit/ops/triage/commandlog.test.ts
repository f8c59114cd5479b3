import { afterEach, describe, expect, it } from 'vitest'
import { MonitorEngine } from '../../../../src/metrics/engine.js'
import { markdownReport } from '../../../../src/ops/triage/report.js'
import { evaluate, summarize } from '../../../../src/ops/triage/rules.js'
import { commandLogGroupsOf } from '../../../../src/ops/triage/triage.js'
import type { TriageInput, TriageReport } from '../../../../src/ops/triage/types.js'
import { LoggingNode } from '../../metrics/commandlog-node.js'
import { wired } from '../../metrics/fake-node.js'
import { topologyOf } from '../../metrics/fake-node.js'
import { replyFixture } from '../../metrics/fixtures.js'
import { triageInput } from './fixtures.js'

const replicatedInput = (over: Partial<TriageInput>) =>
  triageInput(over, { mode: 'replicated', shards: 1, nodes: 2 })

const engines: MonitorEngine[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** One round of the monitor over simulated nodes, as triage measures them. */
async function measured(nodes: LoggingNode[]): Promise<MonitorEngine> {
  const byPort = new Map(nodes.map((n) => [n.port, n]))
  const engine = new MonitorEngine(undefined, topologyOf(nodes), {
    intervalMs: 200,
    timeoutMs: 150,
    connect: async ({ port }) => byPort.get(port)!.connection(),
  })
  engines.push(engine)
  await engine.poll()
  return engine
}

function report(i: TriageInput): TriageReport {
  const findings = evaluate(i)
  return {
    at: 0,
    durationSeconds: 5,
    deployment: i.snapshot.deployment,
    counts: { critical: 0, warning: 0, info: 0 },
    findings,
    ...summarize(i),
    keys: i.keys,
    nodes: [],
  }
}

describe('triage: COMMANDLOG large requests and replies (Valkey 8.1+)', () => {
  it('each pattern is a finding on the node of its largest entry, by address: a warning from 1 MiB, a note below', async () => {
    const [a, b] = wired([new LoggingNode(7700, 'valkey', '8.1.1'), new LoggingNode(7701, 'valkey', '8.1.1')])
    a.logs['large-request'] = replyFixture('commandlog/valkey-8.1-large-request.json').reply as unknown[]
    a.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply.json').reply as unknown[]
    b.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply-node-b.json').reply as unknown[]
    const groups = commandLogGroupsOf(await measured([a, b]))
    expect(groups!.largeReplies[0].nodes).toEqual(['127.0.0.1:7700', '127.0.0.1:7701'])

    const found = evaluate(replicatedInput({ commandLogGroups: groups })).filter(
      (f) => f.category === 'workload',
    )
    expect(found.map((f) => [f.severity, f.node, f.summary])).toEqual([
      [
        'warning',
        '127.0.0.1:7700',
        'large reply: HGETALL cart:* replied up to 3.2 MiB on 127.0.0.1:7700 (2 entries on 127.0.0.1:7700, 127.0.0.1:7701)',
      ],
      [
        'warning',
        '127.0.0.1:7700',
        'large reply: LRANGE queue:jobs replied up to 1.5 MiB on 127.0.0.1:7700 (1 entry)',
      ],
      [
        'warning',
        '127.0.0.1:7701',
        'large reply: MGET img:* replied up to 1.3 MiB on 127.0.0.1:7701 (1 entry)',
      ],
      [
        'warning',
        '127.0.0.1:7700',
        'large reply: GET img:* replied up to 1.0 MiB on 127.0.0.1:7700 (1 entry)',
      ],
      [
        'warning',
        '127.0.0.1:7700',
        'large request: RPUSH queue:jobs sent up to 1.3 MiB to 127.0.0.1:7700 (1 entry)',
      ],
      ['warning', '127.0.0.1:7700', 'large request: MIGRATE sent up to 1.1 MiB to 127.0.0.1:7700 (1 entry)'],
      [
        'warning',
        '127.0.0.1:7700',
        'large request: SET img:* sent up to 1.0 MiB to 127.0.0.1:7700 (1 entry)',
      ],
      // 600 KiB: logged because the node's threshold was lowered; under kvtop's 1 MiB, a note.
      ['info', '127.0.0.1:7700', 'large reply: KEYS * replied up to 600.0 KiB on 127.0.0.1:7700 (1 entry)'],
    ])
    expect(found[0].action).toContain('client 10.0.3.7:51234 "checkout-api"')
    expect(found[0].evidence).toEqual({
      kind: 'large-reply',
      maxBytes: 3355443,
      count: 2,
      nodes: ['127.0.0.1:7700', '127.0.0.1:7701'],
    })
    expect(JSON.stringify(found)).not.toContain('s3cr3t-Pa55')
  })

  it('the report: JSON workload.commandLog and report.md tables by pattern, the AUTH password masked', async () => {
    const [a] = wired([new LoggingNode(7710, 'valkey', '8.1.1')])
    a.logs['large-request'] = replyFixture('commandlog/valkey-8.1-large-request.json').reply as unknown[]
    a.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply.json').reply as unknown[]
    const r = report(replicatedInput({ commandLogGroups: commandLogGroupsOf(await measured([a])) }))
    expect(r.workload.commandLog!.largeReplies[0]).toEqual({
      pattern: 'HGETALL cart:*',
      count: 1,
      maxBytes: 3355443,
      nodes: ['127.0.0.1:7710'],
      example: 'HGETALL cart:77',
    })
    const migrate = r.workload.commandLog!.largeRequests.find((g) => g.pattern === 'MIGRATE')!
    expect(migrate.example).toContain('AUTH *** KEYS')
    const md = markdownReport(r)
    expect(md).toContain('### Large requests by pattern (COMMANDLOG)')
    expect(md).toContain('### Large replies by pattern (COMMANDLOG)')
    expect(md).toContain('| `HGETALL cart:*` | 1 | 3.2 MiB | 1 |')
    expect(JSON.stringify(r) + md).not.toContain('s3cr3t-Pa55')
  })

  it('a deployment without COMMANDLOG (Redis, Valkey 8.0): no such findings, no such sections', async () => {
    const nodes = wired([new LoggingNode(7720, 'redis', '7.2.4'), new LoggingNode(7721, 'valkey', '8.0.2')])
    const groups = commandLogGroupsOf(await measured(nodes))
    expect(groups).toBeUndefined()
    const r = report(replicatedInput({ ...(groups ? { commandLogGroups: groups } : {}) }))
    expect(r.findings).toEqual([])
    expect(r.workload).not.toHaveProperty('commandLog')
    expect(markdownReport(r)).not.toContain('COMMANDLOG')
  })
})
