import { errorMessage } from '../errors.js'
import type { TopologyNode } from './topology.js'

/** Run `fn` over the nodes, `limit` at a time, each bounded by `timeoutMs`: a dead node costs one timeout. */
export async function eachNode<T>(
  nodes: TopologyNode[],
  limit: number,
  timeoutMs: number,
  fn: (node: TopologyNode) => Promise<T>,
): Promise<({ ok: true; value: T } | { ok: false; error: string })[]> {
  const out: ({ ok: true; value: T } | { ok: false; error: string })[] = new Array(nodes.length)
  let next = 0
  const worker = async () => {
    while (next < nodes.length) {
      const i = next++
      let timer: NodeJS.Timeout | undefined
      try {
        const value = await Promise.race([
          fn(nodes[i]),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
          }),
        ])
        out[i] = { ok: true, value }
      } catch (err) {
        out[i] = { ok: false, error: errorMessage(err) }
      } finally {
        clearTimeout(timer)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker))
  return out
}
