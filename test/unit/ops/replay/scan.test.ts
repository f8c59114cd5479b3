import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { datasetWideCommand, formatCounts, parseSelectArg, scanLog } from '../../../../src/ops/replay/scan.js'
import { resolveReplayInput } from '../../../../src/ops/replay/sources.js'

const b = (...args: string[]) => args.map((a) => Buffer.from(a, 'latin1'))
const enc = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`

const dir = mkdtempSync(join(tmpdir(), 'kvtop-scan-'))
let n = 0
function input(text: string, name = `log-${++n}.resp`) {
  const path = join(dir, name)
  writeFileSync(path, Buffer.from(text, 'latin1'))
  return { path, input: resolveReplayInput(path) }
}

describe('datasetWideCommand', () => {
  it.each([
    [['FLUSHALL'], 'FLUSHALL'],
    [['flushall', 'ASYNC'], 'FLUSHALL'],
    [['FlushDB'], 'FLUSHDB'],
    [['SWAPDB', '0', '1'], 'SWAPDB'],
    [['SCRIPT', 'FLUSH'], 'SCRIPT FLUSH'],
    [['script', 'flush', 'sync'], 'SCRIPT FLUSH'],
    [['FUNCTION', 'FLUSH'], 'FUNCTION FLUSH'],
    [['FUNCTION', 'RESTORE', '\x00payload', 'FLUSH'], 'FUNCTION RESTORE FLUSH'],
  ])('%j is %s', (args, expected) => {
    expect(datasetWideCommand(b(...args))).toBe(expected)
  })

  it.each([
    [['SET', 'FLUSHALL', 'x']],
    [['SCRIPT', 'LOAD', 'return 1']],
    [['SCRIPT']],
    [['FUNCTION', 'RESTORE', 'payload']],
    [['FUNCTION', 'RESTORE', 'payload', 'REPLACE']],
    [['FUNCTION', 'DELETE', 'lib']],
    [['FLUSHALLX']],
    [['SELECT', '0']],
    // Bytes that fold onto letters only when they are letters: '@' | 0x20 is '`', not 'a'.
    [['FLUSH@LL']],
  ])('%j is not dataset-wide', (args) => {
    expect(datasetWideCommand(b(...args))).toBeUndefined()
  })
})

describe('parseSelectArg', () => {
  it('reads what Redis reads', () => {
    expect(parseSelectArg(Buffer.from('0'))).toBe(0)
    expect(parseSelectArg(Buffer.from('15'))).toBe(15)
    for (const bad of ['', '-1', '01', '1.0', ' 1', '0x10', 'one', '9999999999'])
      expect(parseSelectArg(Buffer.from(bad)), bad).toBeUndefined()
    expect(parseSelectArg(undefined)).toBeUndefined()
  })
})

describe('formatCounts', () => {
  it('lists counts in order', () => {
    expect(formatCounts({ FLUSHALL: 2, 'SCRIPT FLUSH': 1 })).toBe('FLUSHALL 2, SCRIPT FLUSH 1')
  })
})

describe('scanLog (the pre-pass of a replay)', () => {
  it('counts dataset-wide commands by command, in MULTI blocks at EXEC, never in a DISCARDed one; names the first', async () => {
    const head = enc('SET', 'a', '1')
    const { path, input: i } = input(
      head +
        enc('FLUSHDB') +
        enc('MULTI') +
        enc('FLUSHALL') +
        enc('DISCARD') +
        enc('MULTI') +
        enc('SCRIPT', 'FLUSH') +
        enc('SWAPDB', '0', '1') +
        enc('EXEC') +
        enc('FLUSHDB', 'ASYNC'),
    )
    const scan = await scanLog(i)
    expect(scan.commands).toBe(10)
    expect(scan.datasetWide).toEqual({ FLUSHDB: 2, 'SCRIPT FLUSH': 1, SWAPDB: 1 })
    expect(scan.datasetWideTotal).toBe(4)
    expect(scan.firstDatasetWide).toEqual({ file: path, offset: head.length, number: 2, command: 'FLUSHDB' })
  })

  it('notes every db used, with its first command; SELECT alone uses none', async () => {
    const one = enc('SET', 'a', '1')
    const two = enc('SELECT', '3')
    const { path, input: i } = input(one + two + enc('SELECT', '4') + enc('GET', 'x') + enc('SELECT', '0'))
    const scan = await scanLog(i)
    expect([...scan.dbs.entries()]).toEqual([
      [0, { file: path, offset: 0, number: 1 }],
      [4, { file: path, offset: one.length + two.length + enc('SELECT', '4').length, number: 4 }],
    ])
  })

  it('takes the db of each line of a MONITOR capture, binary arguments and all', async () => {
    const { path, input: i } = input(
      '1700000000.000001 [0 127.0.0.1:1] "SET" "\\xff\\r\\n\\x00" "1"\n' +
        '1700000000.000002 [7 127.0.0.1:1] "FLUSHDB"\n',
      'capture.log',
    )
    expect(i.format).toBe('monitor')
    const scan = await scanLog(i)
    expect([...scan.dbs.keys()]).toEqual([0, 7])
    expect(scan.datasetWide).toEqual({ FLUSHDB: 1 })
    expect(scan.firstDatasetWide?.file).toBe(path)
  })

  it('stops at --until, as the replay does', async () => {
    const { input: i } = input('#TS:100\r\n' + enc('SET', 'a', '1') + '#TS:300\r\n' + enc('FLUSHALL'))
    expect((await scanLog(i, { untilMs: 200_000 })).datasetWideTotal).toBe(0)
    expect((await scanLog(i, { untilMs: 300_000 })).datasetWideTotal).toBe(1)
  })

  it('an invalid SELECT is noted with its position', async () => {
    const head = enc('SET', 'a', '1')
    const { path, input: i } = input(head + enc('SELECT', 'x') + enc('FLUSHALL'))
    const scan = await scanLog(i)
    expect(scan.badSelect).toEqual({ file: path, offset: head.length, number: 2, arg: 'x' })
    expect(scan.datasetWideTotal).toBe(0)
  })

  it('a log cut short ends the scan quietly at the cut (the replay reports it there)', async () => {
    const { input: i } = input(enc('FLUSHALL') + '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$10\r\nonly')
    const scan = await scanLog(i)
    expect(scan.commands).toBe(1)
    expect(scan.datasetWide).toEqual({ FLUSHALL: 1 })
  })

  it('reads past values bigger than its read buffer, counting and placing what follows exactly', async () => {
    const value = 'v'.repeat(3 * 1024 * 1024 + 7)
    const head = enc('SET', 'a', value) + enc('MULTI') + enc('SET', 'b', value) + enc('FLUSHDB') + enc('EXEC')
    const select = enc('SELECT', '2')
    const { path, input: i } = input(head + select + enc('FLUSHALL', 'ASYNC') + enc('GET', 'a'))
    const scan = await scanLog(i)
    expect(scan.commands).toBe(8)
    expect(scan.datasetWide).toEqual({ FLUSHDB: 1, FLUSHALL: 1 })
    expect(scan.firstDatasetWide).toEqual({
      file: path,
      offset: head.length - enc('FLUSHDB').length - enc('EXEC').length,
      number: 4,
      command: 'FLUSHDB',
    })
    expect([...scan.dbs.entries()]).toEqual([
      [0, { file: path, offset: 0, number: 1 }],
      [2, { file: path, offset: head.length + select.length, number: 7 }],
    ])
  })

  it('hands over to the full reader where a log holds more than frames (annotations, inline commands), counting on', async () => {
    const one = enc('SET', 'a', '1') + enc('SELECT', '1')
    const two = '#TS:100\r\n' + 'SET b 2\r\n' + enc('MULTI') + enc('FLUSHALL') + enc('EXEC')
    const { path, input: i } = input(one + two + '#TS:300\r\n' + enc('SELECT', '01'))
    const scan = await scanLog(i)
    expect(scan.commands).toBe(7)
    expect(scan.datasetWide).toEqual({ FLUSHALL: 1 })
    expect(scan.firstDatasetWide).toEqual({
      file: path,
      offset: one.length + two.length - enc('FLUSHALL').length - enc('EXEC').length,
      number: 5,
      command: 'FLUSHALL',
    })
    expect(scan.dbs.get(1)).toEqual({ file: path, offset: one.length + '#TS:100\r\n'.length, number: 3 })
    expect(scan.badSelect).toEqual({
      file: path,
      offset: one.length + two.length + '#TS:300\r\n'.length,
      number: 7,
      arg: '01',
    })
    expect((await scanLog(i, { untilMs: 200_000 })).badSelect).toBeUndefined()
  })

  it('an invalid SELECT ends the scan where it is, before what follows it is counted', async () => {
    const head = enc('SET', 'a', 'x'.repeat(2 * 1024 * 1024))
    const { path, input: i } = input(
      head + enc('SELECT', '-1') + enc('FLUSHALL') + '#TS:1\r\n' + enc('FLUSHDB'),
    )
    const scan = await scanLog(i)
    expect(scan.commands).toBe(2)
    expect(scan.badSelect).toEqual({ file: path, offset: head.length, number: 2, arg: '-1' })
    expect(scan.datasetWideTotal).toBe(0)
  })

  it('reads #TS annotations as the replay does: --until ends the scan at the first command recorded after it', async () => {
    const at = (ts: number) => `#TS:${ts}\r\n`
    const { input: i } = input(
      at(100) +
        enc('SET', 'a', '1') +
        at(300) +
        at(150) +
        enc('FLUSHDB') +
        at(300) +
        enc('FLUSHALL') +
        at(400),
    )
    // A timestamp past --until followed by an earlier one: the command after them is replayed.
    const until200 = await scanLog(i, { untilMs: 200_000 })
    expect(until200.commands).toBe(2)
    expect(until200.datasetWide).toEqual({ FLUSHDB: 1 })
    const all = await scanLog(i, { untilMs: 400_000 })
    expect(all.commands).toBe(3)
    expect(all.datasetWide).toEqual({ FLUSHDB: 1, FLUSHALL: 1 })
    expect((await scanLog(i)).commands).toBe(3)
  })

  it('the full reader taking over knows the time of the last #TS annotation before it', async () => {
    const { input: i } = input('#TS:300\r\n' + enc('SET', 'a', '1') + 'SET b 2\r\n' + enc('FLUSHALL'))
    expect((await scanLog(i)).commands).toBe(3)
    const until = await scanLog(i, { untilMs: 200_000 })
    expect(until.commands).toBe(0)
    expect(until.datasetWideTotal).toBe(0)
    const { input: j } = input(
      enc('SET', 'a', '1') + '#TS:300\r\n' + enc('SET', 'b', '2') + 'SET c 3\r\n' + enc('FLUSHALL'),
    )
    expect((await scanLog(j, { untilMs: 200_000 })).commands).toBe(1)
  })
})
