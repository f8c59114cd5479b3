import type { Redis } from 'ioredis'
import { explainIamFailure } from '../wire/connect-errors.js'
import type { TokenAuth } from '../wire/spec.js'

export type { TokenAuth }
export { explainIamFailure }

/**
 * Keep one open connection authenticated: a reconnect uses the current token (not the one the
 * connection was created with, which expires after 15 minutes), and AUTH is re-sent before the
 * 12-hour limit. Timers are unref'd and cleared when the connection ends.
 */
export function keepTokenAuthenticated(client: Redis, auth: TokenAuth): void {
  client.on('reconnecting', () => {
    client.options.password = auth.current()
  })
  const timer = setInterval(() => {
    const token = auth.current()
    client.options.password = token
    if (client.status !== 'ready') return
    client.auth(auth.username, token).catch((err: Error) => {
      // A failed re-AUTH leaves the connection to be dropped at the limit; the reconnect then
      // authenticates afresh. Surface it on the client like any other connection error.
      client.emit('error', err)
    })
  }, auth.reauthIntervalMs)
  timer.unref()
  client.once('end', () => clearInterval(timer))
}
