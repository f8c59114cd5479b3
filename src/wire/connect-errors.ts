import { ConnectError, UsageError, errorMessage } from '../errors.js'
import { formatAddress } from './address.js'
import { refusalReason, replyInMessage } from './classify.js'

const TLS_CODES = new Set([
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
])

export interface ConnectContext {
  host: string
  port: number
  tls: boolean
  username?: string
  timeoutMs: number
}

/** Classify a failure to connect or authenticate as a ConnectError (exit 3) naming host:port. */
export function mapConnectError(err: unknown, ctx: ConnectContext): ConnectError {
  if (err instanceof ConnectError || err instanceof UsageError) return err
  const address = formatAddress(ctx.host, ctx.port)
  const e = err as NodeJS.ErrnoException
  const message = errorMessage(err)
  const code = e?.code ?? ''
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return new ConnectError(
      `authentication failed at ${address}${ctx.username ? ` for user '${ctx.username}'` : ''}`,
      {
        code: 'auth-failed',
        hint: 'Check the user and password (URL, KVTOP_PASSWORD or REDISCLI_AUTH, or the profile).',
      },
    )
  }
  if (/NOAUTH|Authentication required/i.test(message)) {
    return new ConnectError(`authentication required at ${address}`, {
      code: 'auth-required',
      hint: "Put the password in the URL's user info (user:password before the host), or set KVTOP_PASSWORD or REDISCLI_AUTH.",
    })
  }
  if (refusalReason(replyInMessage(message)) === 'acl') {
    return new ConnectError(
      `the user at ${address} may not run a command kvtop needs to connect: ${message}`,
      {
        code: 'no-permission',
        hint: 'Grant the ACL user +info +ping +client (and +cluster for cluster mode).',
      },
    )
  }
  if (TLS_CODES.has(code) || /TLS|SSL|certificate|secure/i.test(message)) {
    const certProblem = /cert|self.signed|issuer|altname/i.test(message + code)
    return new ConnectError(`TLS negotiation with ${address} failed: ${message}`, {
      code: 'tls',
      hint: certProblem
        ? "Pass the server's CA with --tls-ca FILE, or --insecure to skip verification (not for production)."
        : 'The port may not speak TLS: use redis:// for a plain port, rediss:// only for a TLS port.',
    })
  }
  if (code === 'ECONNREFUSED') {
    return new ConnectError(`cannot connect to ${address}: connection refused`, {
      code: 'refused',
      hint: 'Is the server running, and are the host and port right?',
    })
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConnectError(`cannot resolve host '${ctx.host}'`, {
      code: 'dns',
      hint: 'Check the host name.',
    })
  }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return new ConnectError(`no answer from ${address} within ${ctx.timeoutMs / 1000}s`, {
      code: 'timeout',
      hint: 'Check that the host is reachable (security groups, VPN) or raise --timeout.',
    })
  }
  if (/Connection is closed|ECONNRESET|socket hang up|EPIPE/i.test(message + code)) {
    return new ConnectError(`the connection to ${address} was closed by the server`, {
      code: 'closed',
      hint: ctx.tls
        ? 'The port may not speak TLS: use redis:// for a plain port.'
        : 'If the server requires TLS, use rediss://. The server may also be at its client limit.',
    })
  }
  return new ConnectError(`cannot connect to ${address}: ${message}`, { code: 'connect' })
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
