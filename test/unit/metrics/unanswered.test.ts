import { describe, expect, it } from 'vitest'
import { ExitCode } from '../../../src/errors.js'
import { noNodeAnswered } from '../../../src/metrics/unanswered.js'
import type { Snapshot } from '../../../src/metrics/types.js'
import type { NatMap } from '../../../src/wire/spec.js'

/** A round's nodes: only what the check reads of them. */
const round = (nodes: { address: string; up: boolean; error?: string }[]) =>
  ({
    nodes: nodes.map((n, i) => ({ id: `n${i}`, state: n.up ? 'up' : 'down', ...n })),
  }) as unknown as Snapshot
const spec = (host: string, port: number, natMap: NatMap = new Map()) => ({
  endpoint: { host, port, tls: false, db: 0 },
  natMap,
})
const refused = (address: string) => ({
  address,
  up: false,
  error: `cannot connect to ${address}: connection refused`,
})

describe('noNodeAnswered', () => {
  it('nothing when one node answered, or when there is no node', () => {
    expect(
      noNodeAnswered(round([refused('10.0.0.1:6379'), { address: '10.0.0.2:6379', up: true }])),
    ).toBeUndefined()
    expect(noNodeAnswered(round([]))).toBeUndefined()
  })

  it('exit 3 naming the first five nodes with why; the generic hint when the endpoint is one of them', () => {
    const nodes = [1, 2, 3, 4, 5, 6, 7].map((i) => refused(`127.0.0.1:700${i}`))
    const err = noNodeAnswered(round(nodes), spec('127.0.0.1', 7001))!
    expect(err.exitCode).toBe(ExitCode.connect)
    expect(err.message).toBe(
      `no node answered: ${nodes
        .slice(0, 5)
        .map((n) => `${n.address} (${n.error})`)
        .join(', ')}, and 2 more`,
    )
    expect(err.hint).toBe('Check that the nodes are up and reachable from here (--timeout waits longer).')
  })

  it('announced addresses that are not the endpoint that answered: the hint names them and --nat-map', () => {
    const nodes = ['10.0.1.5:6379', '10.0.2.7:6379', '10.0.3.9:6379', '10.0.4.2:6379'].map(refused)
    const err = noNodeAnswered(round(nodes), spec('127.0.0.1', 16379))!
    expect(err.hint).toBe(
      '127.0.0.1:16379 answered, but the deployment announces its nodes as 10.0.1.5:6379, 10.0.2.7:6379, 10.0.3.9:6379 and 1 more. ' +
        'If those addresses cannot be reached from here (a NAT, Docker, a tunnel), map each one with ' +
        '--nat-map announced-host:port=reachable-host:port; otherwise check that the nodes are up (--timeout waits longer).',
    )
    // Mapped already: the map is not what is missing.
    const mapped = spec('127.0.0.1', 16379, new Map([['10.0.1.5:6379', { host: '127.0.0.1', port: 16379 }]]))
    expect(noNodeAnswered(round(nodes), mapped)!.hint).toMatch(/^Check that the nodes are up/)
  })
})
