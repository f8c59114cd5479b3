import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectLogFormat } from '../../../../src/data/logs/detect.js'

describe('log format detection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-detect-'))
  const file = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content)
    return join(dir, name)
  }

  it('tells RESP, AOF (with and without RDB preamble), RDB, MONITOR and AOF directories apart', () => {
    expect(detectLogFormat(file('cmds.resp', '*1\r\n$4\r\nPING\r\n'))).toEqual({ format: 'resp' })
    expect(detectLogFormat(file('appendonly.aof', '#TS:1700000000\r\n*1\r\n$4\r\nPING\r\n'))).toEqual({
      format: 'aof',
    })
    expect(detectLogFormat(file('preamble.aof', 'REDIS0010\xfa'))).toEqual({
      format: 'aof',
      rdbPreamble: true,
    })
    expect(detectLogFormat(file('dump.rdb', 'REDIS0010\xfa'))).toEqual({ format: 'rdb' })
    expect(
      detectLogFormat(file('traffic.log', '1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "v"\n')),
    ).toEqual({ format: 'monitor' })
    const aofDir = join(dir, 'appendonlydir')
    mkdirSync(aofDir)
    writeFileSync(join(aofDir, 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n')
    expect(detectLogFormat(aofDir)).toEqual({
      format: 'aof-dir',
      manifest: join(aofDir, 'appendonly.aof.manifest'),
    })
  })

  it("takes a `redis-cli monitor > file` capture (MONITOR's OK first) for a MONITOR log", () => {
    const line = '1700000000.123456 [0 unix:/run/redis/redis-server.sock] "SET" "k" "v"\n'
    expect(detectLogFormat(file('cli-monitor.log', `OK\n${line}`))).toEqual({ format: 'monitor' })
    expect(detectLogFormat(file('cli-monitor-crlf.log', `+OK\r\n${line}`))).toEqual({ format: 'monitor' })
    expect(detectLogFormat(file('cli-monitor-empty.log', 'OK\n'))).toEqual({ format: 'monitor' })
    expect(detectLogFormat(file('ok-then-text.log', 'OK\nhello\n'))).toBeUndefined()
  })

  it('returns undefined for anything else', () => {
    expect(detectLogFormat(file('notes.txt', 'hello world'))).toBeUndefined()
    expect(detectLogFormat(file('empty.log', ''))).toBeUndefined()
    const plain = join(dir, 'plain-dir')
    mkdirSync(plain)
    expect(detectLogFormat(plain)).toBeUndefined()
  })
})
