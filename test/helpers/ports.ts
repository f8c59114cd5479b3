import { findFreePortBlock } from '../../src/sandbox/ports.js'

/**
 * A free port on 127.0.0.1 for a server a test starts itself, outside the kernel's ephemeral range.
 * `listen(0)` hands out an ephemeral port: once closed, an outgoing connection can take it as its
 * source port before the test's server binds it. `withBus`: its cluster bus port (+10000) too.
 */
export function freePort(withBus = false): Promise<number> {
  return findFreePortBlock(1, withBus)
}
