import type { ConnectedTarget } from '../../connect/target.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { RDB_OPCODE } from '../../data/rdb/constants.js'
import { buildDumpPayload } from '../../data/rdb/dump.js'
import { openRawNode } from '../../wire/node.js'
import { RespError } from '../../wire/reply-parser.js'
import { UsageError } from '../../errors.js'

/** FUNCTION RESTORE on every primary: a payload of FUNCTION2 records. */
export async function restoreFunctions(
  deployment: ConnectedTarget,
  libraries: Buffer[],
  label: number,
  replace: boolean | undefined,
  warn: (m: string) => void,
): Promise<number> {
  const caps = deployment.capabilities
  if (caps && !versionAtLeast(caps.version, '7.0.0')) {
    warn(`${libraries.length} function libraries not restored: the target (${caps.version}) has no functions`)
    return 0
  }
  const parts: Buffer[] = []
  for (const code of libraries) {
    const len = Buffer.alloc(5)
    let n: number
    if (code.length < 64) {
      len[0] = code.length
      n = 1
    } else if (code.length < 16384) {
      len[0] = 0x40 | (code.length >> 8)
      len[1] = code.length & 0xff
      n = 2
    } else {
      len[0] = 0x80
      len.writeUInt32BE(code.length, 1)
      n = 5
    }
    parts.push(Buffer.from([RDB_OPCODE.FUNCTION2]), len.subarray(0, n), code)
  }
  // The payload carries a version like a DUMP payload, checked the same way.
  const body = Buffer.concat(parts)
  const payload = buildDumpPayload(body[0], body.subarray(1), label)
  for (const node of deployment.primaries) {
    const conn = await openRawNode(deployment.spec, node, { name: 'kvtop-restore' })
    try {
      const reply = await conn.call(['FUNCTION', 'RESTORE', payload, replace ? 'REPLACE' : 'APPEND'])
      if (reply instanceof RespError) {
        if (/already exists/i.test(reply.message)) {
          throw new UsageError(
            `function libraries from the file already exist on ${node.address}: nothing was restored`,
            {
              code: 'exists',
              hint: 'Pass --replace to overwrite them.',
            },
          )
        }
        warn(`function libraries not restored on ${node.address}: ${reply.message}`)
        return 0
      }
    } finally {
      conn.close()
    }
  }
  return libraries.length
}
