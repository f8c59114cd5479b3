import net from 'node:net'

/** True when nothing listens on 127.0.0.1:port and we may bind it. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
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

/**
 * Find `count` consecutive free ports whose cluster-bus ports (+10000) are free too. Chosen at
 * random in 20000-54000 so that parallel test runs rarely collide, and checked, never assumed.
 */
export async function findFreePortBlock(count: number, withBus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (54000 - 20000 - count))
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const all = withBus ? [...ports, ...ports.map((p) => p + 10000)] : ports
    if ((await firstTakenPort(all)) === undefined) return base
  }
  throw new Error(`could not find ${count} free ports on 127.0.0.1`)
}
