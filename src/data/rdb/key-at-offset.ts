import { open } from 'node:fs/promises'
import { RDB_OPCODE } from './constants.js'
import { BufferCursor, RdbFormatError, readLen, readString } from './walker.js'

/** The key of the entry that starts at `offset` in an RDB file (for naming keys in reports). */
export async function keyAtOffset(path: string, offset: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    let size = 4096
    for (;;) {
      const buf = Buffer.alloc(size)
      const { bytesRead } = await handle.read(buf, 0, size, offset)
      const c = new BufferCursor(buf, 0, bytesRead)
      try {
        for (;;) {
          const op = c.buf[c.pos++]
          if (op === RDB_OPCODE.EXPIRETIME_MS) c.pos += 8
          else if (op === RDB_OPCODE.EXPIRETIME) c.pos += 4
          else if (op === RDB_OPCODE.FREQ) c.pos += 1
          else if (op === RDB_OPCODE.IDLE) readLen(c)
          else break
        }
        return Buffer.from(readString(c))
      } catch (err) {
        if (err instanceof RdbFormatError && err.truncated && bytesRead === size) {
          size *= 16
          continue
        }
        throw err
      }
    }
  } finally {
    await handle.close()
  }
}
