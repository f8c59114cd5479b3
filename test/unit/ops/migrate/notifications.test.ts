import { describe, expect, it } from 'vitest'
import {
  notificationProblems,
  notifyFlags,
  type NotificationReport,
} from '../../../../src/ops/migrate/notifications.js'

const report = (over: Partial<NotificationReport>): NotificationReport => ({
  node: '10.0.0.1:6379',
  via: 'config',
  missing: [],
  unverified: [],
  silentDbs: [],
  ...over,
})

describe('--live: notify-keyspace-events classes', () => {
  it('A stands for every class kvtop relies on (g$lshzxet); K and E are channels, not classes', () => {
    const a = notifyFlags('AKE')
    for (const c of 'g$lshzxetKE') expect(a.has(c), c).toBe(true)
    expect(notifyFlags('Kg$').has('l')).toBe(false)
  })

  it('names what is missing and the letters to add; K is needed when neither channel is on', () => {
    expect(
      notificationProblems(
        report({ setting: 'g$K', channel: 'keyspace', missing: ['l', 's', 'h', 'z', 't', 'x', 'e'] }),
      ),
    ).toEqual([
      {
        code: 'notifications-incomplete',
        message:
          'keyspace notifications on 10.0.0.1:6379 lack what --live relies on (notify-keyspace-events is "g$K"): l (list), s (set), h (hash), z (sorted set), t (stream), x (expired), e (evicted); add "lshztxe" (or set KEA)',
      },
    ])
    expect(notificationProblems(report({ setting: 'A', missing: [] }))[0].message).toMatch(
      /lack what --live relies on \(notify-keyspace-events is "A"\): K \(keyspace events\); add "K"/,
    )
    // A probe (CONFIG refused) has no setting to quote.
    expect(
      notificationProblems(report({ via: 'probe', channel: 'keyevent', missing: ['t'] }))[0].message,
    ).toBe(
      'keyspace notifications on 10.0.0.1:6379 lack what --live relies on: t (stream); add "t" (or set KEA)',
    )
  })

  it('nothing reaching kvtop is said per db; all classes there and delivered is no problem', () => {
    expect(notificationProblems(report({ via: 'probe', silentDbs: [0, 3] })).map((p) => p.message)).toEqual([
      'keyspace notifications do not reach kvtop from 10.0.0.1:6379 (db 0): --live cannot follow changes',
      'keyspace notifications do not reach kvtop from 10.0.0.1:6379 (db 3): --live cannot follow changes',
    ])
    expect(notificationProblems(report({ setting: 'AKE', channel: 'keyspace' }))).toEqual([])
    expect(notificationProblems(report({ via: 'probe', channel: 'keyspace', unverified: ['e'] }))).toEqual([])
  })
})
