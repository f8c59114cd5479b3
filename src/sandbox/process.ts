import { readFileSync } from 'node:fs'
import type { SandboxNodeState } from './state.js'

/** The pid a node's pid file names; undefined when there is none (yet) or it holds no pid. */
export function readPid(node: SandboxNodeState): number | undefined {
  try {
    const pid = Number(readFileSync(node.pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Is `pid` alive and (when `port` is given) a redis/valkey server on that port? Guards pid reuse. */
export function isProcessAlive(pid: number | undefined, port?: number): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
    if (!/(redis|valkey)-server/.test(cmdline)) return false
    if (port !== undefined && !cmdline.includes(`:${port}`)) return false
  } catch {
    // No /proc (macOS): trust the pid file.
  }
  return true
}

/** SIGTERM, then SIGKILL after a grace period. True when the process was ours and is gone. */
export async function stopProcess(pid: number, port: number, graceMs = 3000): Promise<boolean> {
  if (!isProcessAlive(pid, port)) return false
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return false
  }
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone meanwhile
  }
  return true
}
