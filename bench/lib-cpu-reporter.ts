import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Preloaded (`node --import`) into a process a benchmark times: at exit, its own user + sys CPU
 * seconds and the time its main thread waited for a core go to the file named by KVTOP_BENCH_CPU_OUT.
 */
const out = process.env.KVTOP_BENCH_CPU_OUT
if (out)
  process.on('exit', () => {
    const used = process.cpuUsage()
    let runQueueSeconds = 0
    try {
      runQueueSeconds = Number(readFileSync('/proc/self/schedstat', 'latin1').split(' ')[1]) / 1e9
    } catch {
      // not Linux
    }
    writeFileSync(out, JSON.stringify({ cpuSeconds: (used.user + used.system) / 1e6, runQueueSeconds }))
  })
