import { describe, expect, it } from 'vitest'
import { ConnectError, ExitCode } from '../../../src/errors.js'
import { replyInMessage } from '../../../src/wire/classify.js'
import { mapConnectError } from '../../../src/wire/connect-errors.js'
import { RespError } from '../../../src/wire/reply-parser.js'

const ctx = { host: '10.0.0.7', port: 6379, tls: false, username: 'app', timeoutMs: 5000 }
const NOPERM_INFO = "NOPERM this user has no permissions to run the 'info' command"
const NOPERM_SELECT = "NOPERM User app has no permissions to run the 'select' command"

describe('mapConnectError: a refusal by the ACL while connecting', () => {
  for (const [what, err] of [
    ['the server reply itself', new RespError(NOPERM_SELECT)],
    ["a client library's reply error", Object.assign(new Error(NOPERM_SELECT), { name: 'ReplyError' })],
  ] as const) {
    it(`${what}: exit 3, no-permission, the server's words kept`, () => {
      const mapped = mapConnectError(err, ctx)
      expect(mapped).toBeInstanceOf(ConnectError)
      expect(mapped.exitCode).toBe(ExitCode.connect)
      expect(mapped.code).toBe('no-permission')
      expect(mapped.message).toBe(
        `the user at 10.0.0.7:6379 may not run a command kvtop needs to connect: ${NOPERM_SELECT}`,
      )
      expect(mapped.hint).toBe('Grant the ACL user +info +ping +client (and +cluster for cluster mode).')
    })
  }

  it('wrapped in words of its own: still no-permission, the whole message kept', () => {
    const mapped = mapConnectError(new Error(`Ready check failed: ${NOPERM_INFO}`), ctx)
    expect(mapped.code).toBe('no-permission')
    expect(mapped.message).toBe(
      `the user at 10.0.0.7:6379 may not run a command kvtop needs to connect: Ready check failed: ${NOPERM_INFO}`,
    )
  })

  it('other refusals and failures keep their own classes', () => {
    expect(
      mapConnectError(new RespError('WRONGPASS invalid username-password pair or user is disabled.'), ctx)
        .code,
    ).toBe('auth-failed')
    expect(mapConnectError(new RespError('NOAUTH Authentication required.'), ctx).code).toBe('auth-required')
    const unknown = mapConnectError(
      new RespError("ERR unknown command 'HELLO', with args beginning with: '3'"),
      ctx,
    )
    expect(unknown.code).toBe('connect')
    expect(unknown.message).toBe(
      "cannot connect to 10.0.0.7:6379: ERR unknown command 'HELLO', with args beginning with: '3'",
    )
  })
})

describe('replyInMessage', () => {
  it('finds the reply a message carries, and leaves other messages as they are', () => {
    expect(replyInMessage(NOPERM_INFO)).toBe(NOPERM_INFO)
    expect(replyInMessage(`Ready check failed: ${NOPERM_INFO}`)).toBe(NOPERM_INFO)
    expect(replyInMessage("ERR unknown command 'X', with args beginning with: 'GET'")).toBe(
      "ERR unknown command 'X', with args beginning with: 'GET'",
    )
    expect(replyInMessage('Connection is closed')).toBe('Connection is closed')
    expect(replyInMessage('connect ECONNREFUSED 127.0.0.1:6379')).toBe('connect ECONNREFUSED 127.0.0.1:6379')
  })
})
