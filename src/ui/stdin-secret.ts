import { text } from 'node:stream/consumers'
import { registerSecret } from '../redact.js'

/** A secret piped on standard input (`--password-stdin`): its first line, registered for redaction. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const line = (await text(stdin)).split(/\r?\n/)[0]
  registerSecret(line)
  return line
}
