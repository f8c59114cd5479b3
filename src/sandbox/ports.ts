import { readFileSync } from 'node:fs'
import net from 'node:net'

/** True when nothing listens on 127.0.0.1:port and we may bind it. */
function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** First port in `ports` that is taken, or undefined when all are free. */
export async function firstTakenPort(ports: number[]): Promise<number | undefined> {
  for (const port of ports) if (!(await isPortFree(port))) return port
  return undefined
}

/** The kernel's ephemeral (local) port range: where outgoing connections get their source port. */
export interface PortRange {
  low: number
  high: number
}

const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range'

/**
 * Read the ephemeral port range. Where it cannot be read (not Linux), assume the widest of the
 * usual ones: Linux's 32768-60999 and the IANA (macOS, Windows) 49152-65535.
 */
export function ephemeralPortRange(file = EPHEMERAL_RANGE_FILE): PortRange {
  try {
    const [low, high] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number)
    if (Number.isInteger(low) && Number.isInteger(high) && low >= 1 && low <= high && high <= 65535)
      return { low, high }
  } catch {
    // fall through
  }
  return { low: 32768, high: 65535 }
}

/** The cluster bus port of a node: its port + 10000 (as redis-server computes it). */
const BUS_OFFSET = 10000
/** Below this, ports belong to well-known services more often than not. */
const MIN_PORT = 10000
const MAX_PORT = 65535

/**
 * The bases from which `count` consecutive ports (and, `withBus`, their bus ports) all lie in
 * [MIN_PORT, MAX_PORT] and outside the ephemeral range, as inclusive intervals [first, last].
 */
export function portBaseWindows(count: number, withBus: boolean, range: PortRange): [number, number][] {
  // Allowed single ports: [MIN_PORT, low - 1] and [high + 1, MAX_PORT].
  const allowed: [number, number][] = [
    [MIN_PORT, Math.min(MAX_PORT, range.low - 1)],
    [Math.max(MIN_PORT, range.high + 1), MAX_PORT],
  ].filter(([a, b]) => a <= b) as [number, number][]
  // Bases whose block [base, base + count - 1] fits in one allowed interval.
  const blocks = (offset: number): [number, number][] =>
    allowed
      .map(([a, b]): [number, number] => [a - offset, b - offset - (count - 1)])
      .filter(([a, b]) => a <= b)
  const windows: [number, number][] = []
  for (const [a, b] of blocks(0)) {
    if (!withBus) {
      windows.push([a, b])
      continue
    }
    for (const [c, d] of blocks(BUS_OFFSET)) {
      const lo = Math.max(a, c)
      const hi = Math.min(b, d)
      if (lo <= hi) windows.push([lo, hi])
    }
  }
  return windows
}

interface PortBlockOptions {
  /** The ephemeral range to stay out of (default: the kernel's). */
  range?: PortRange
  /** A number in [0, 1) (default Math.random). */
  random?: () => number
  /** Whether all these ports are free (default: try binding each on 127.0.0.1). */
  allFree?: (ports: number[]) => Promise<boolean>
  attempts?: number
}

/**
 * Find `count` consecutive free ports whose cluster-bus ports (+10000) are free too, all outside
 * the kernel's ephemeral range: a port found free there can be taken by an outgoing connection's
 * source port before redis-server binds it. Chosen at random so that parallel test runs rarely
 * collide, and checked, never assumed.
 */
export async function findFreePortBlock(
  count: number,
  withBus: boolean,
  options: PortBlockOptions = {},
): Promise<number> {
  const range = options.range ?? ephemeralPortRange()
  const random = options.random ?? Math.random
  const allFree = options.allFree ?? (async (ports: number[]) => (await firstTakenPort(ports)) === undefined)
  const windows = portBaseWindows(count, withBus, range)
  const total = windows.reduce((n, [a, b]) => n + (b - a + 1), 0)
  if (total === 0) {
    throw new Error(
      `no ${count} consecutive ports${withBus ? ' (with bus ports +10000)' : ''} outside the ephemeral range ${range.low}-${range.high} (${EPHEMERAL_RANGE_FILE})`,
    )
  }
  for (let attempt = 0; attempt < (options.attempts ?? 200); attempt++) {
    let pick = Math.floor(random() * total)
    let base = windows[0][0]
    for (const [a, b] of windows) {
      if (pick <= b - a) {
        base = a + pick
        break
      }
      pick -= b - a + 1
    }
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const all = withBus ? [...ports, ...ports.map((p) => p + BUS_OFFSET)] : ports
    if (await allFree(all)) return base
  }
  throw new Error(`could not find ${count} free ports on 127.0.0.1`)
}
