import { describe, expect, it } from 'vitest'
import { parseClientList, slotMapView } from '../../../../src/ops/triage/collect.js'

describe('triage parsers', () => {
  it('CLIENT LIST lines', () => {
    const [c] = parseClientList(
      'id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=worker age=12 idle=3 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=20 tot-mem=1000 events=r cmd=blpop user=default redir=-1 resp=2\n',
    )
    expect(c).toEqual({
      addr: '127.0.0.1:5000',
      name: 'worker',
      cmd: 'blpop',
      flags: 'b',
      omem: 20,
      qbuf: 0,
      ageSeconds: 12,
      idleSeconds: 3,
    })
  })

  it("a node's slot map view ignores importing/migrating markers and replicas", () => {
    const text = [
      'aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461->-bbb]',
      'bbb 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922',
      'ccc 127.0.0.1:7002@17002 slave aaa 0 0 1 connected',
    ].join('\n')
    expect(slotMapView(text)).toBe('aaa=0-5460 bbb=5461-10922')
  })
})
