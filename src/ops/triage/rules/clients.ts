import { formatBytes } from '../../../format/units.js'
import { THRESHOLDS } from '../../../metrics/thresholds.js'
import { when, type TriageRule } from './rule.js'

export const blockedClients: TriageRule = {
  name: 'blocked-clients',
  scope: 'node',
  check: (n) =>
    when((n.clients.blocked ?? 0) > 0, () => ({
      severity: 'info',
      category: 'clients',
      node: n.address,
      summary: `${n.clients.blocked} client${n.clients.blocked === 1 ? '' : 's'} blocked on ${n.address} (BLPOP, XREAD BLOCK, WAIT ...)`,
      why: 'Normal for queue consumers; unexpected ones hold connections and can hide a stalled producer.',
      action: 'CLIENT LIST on the node shows them (flags=b); check that their producers are running.',
    })),
}

export const clientBuffers: TriageRule = {
  name: 'client-buffers',
  scope: 'extras',
  check: (e) =>
    (e.clients ?? [])
      .filter((c) => c.omem >= THRESHOLDS.outputBufferBytes || c.qbuf >= THRESHOLDS.queryBufferBytes)
      .map((c) => ({
        severity: 'warning',
        category: 'clients',
        node: e.address,
        summary: `client ${c.addr}${c.name ? ` "${c.name}"` : ''} holds ${formatBytes(Math.max(c.omem, c.qbuf))} of ${c.omem >= c.qbuf ? 'output' : 'query'} buffer (cmd ${c.cmd})`,
        why: 'Buffers count against memory; past the client-output-buffer-limit the client is disconnected.',
        action:
          'A slow reader or a huge reply (KEYS, HGETALL on a big hash, a pub/sub backlog): fix the client or the command.',
      })),
}

export const clientsNearMax: TriageRule = {
  name: 'clients-near-max',
  scope: 'extras',
  check: (e, input) => {
    const connected = input.snapshot.nodes.find((n) => n.address === e.address)?.clients.connected
    return when(
      !!e.maxclients && !!connected && connected >= e.maxclients * THRESHOLDS.clientsFraction,
      () => ({
        severity: 'warning',
        category: 'clients',
        node: e.address,
        summary: `${connected} of ${e.maxclients} client connections in use on ${e.address}`,
        why: 'At maxclients new connections are refused.',
        action: 'Look at the top addresses below for a leak or a missing pool.',
      }),
    )
  },
}
