import type { Redis } from 'ioredis'
import { ConnectError } from '../errors.js'

/**
 * Short-lived tokens used as passwords (ElastiCache / MemoryDB IAM authentication). The owner
 * (src/aws/iam-token.ts) keeps `current()` valid by refreshing it in the background; the
 * connection layer only reads it, so nothing here knows about AWS.
 */
export interface TokenAuth {
  /** The user the tokens authenticate (the ElastiCache user id / MemoryDB user name). */
  readonly username: string
  /** A token valid now (each is valid for 15 minutes; the owner refreshes well before that). */
  current(): string
  /** Send AUTH with a fresh token on open connections this often: the services drop IAM connections after 12 h. */
  readonly reauthIntervalMs: number
}

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

/** An authentication failure with an IAM token: say what to check at AWS, not the password. */
export function explainIamFailure(err: ConnectError): ConnectError {
  if (err.code !== 'auth-failed') return err
  return new ConnectError(`${err.message}: the IAM authentication token was refused`, {
    code: 'auth-failed',
    hint:
      'Check that the user has authentication mode IAM (for ElastiCache its user id must equal its name), that it is ' +
      "in the cache's user group or ACL, that the AWS identity may elasticache:Connect / memorydb:Connect to both the " +
      "cache and the user, and that --region is the resource's Region.",
  })
}
