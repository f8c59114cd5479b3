import { Counter, Gauge, Registry } from 'prom-client'
import { ALL_FAMILIES } from './catalog.js'
import { collectSamples, type DeploymentView, type Samples } from './samples.js'

/**
 * A prom-client registry of its own (no process-wide default registry), whose metrics are filled
 * at collect time from the deployments' cached figures: a scrape reads what the engines last saw
 * and never waits on a server.
 */
export class ExportRegistry {
  readonly registry = new Registry()
  private current: Samples = new Map()

  constructor(
    private readonly views: () => readonly DeploymentView[],
    private readonly now: () => number = Date.now,
  ) {
    const samplesOf = (name: string) => this.current.get(name) ?? []
    for (const family of ALL_FAMILIES) {
      const common = {
        name: family.name,
        help: family.help,
        labelNames: family.labels,
        registers: [this.registry],
      }
      if (family.type === 'counter') {
        new Counter({
          ...common,
          collect() {
            this.reset()
            for (const s of samplesOf(family.name)) this.inc(s.labels, s.value)
          },
        })
      } else {
        new Gauge({
          ...common,
          collect() {
            this.reset()
            for (const s of samplesOf(family.name)) this.set(s.labels, s.value)
          },
        })
      }
    }
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text of one scrape. */
  async scrape(): Promise<string> {
    // Two scrapes at once may interleave (prom-client awaits between metrics): both read figures
    // of the same cached rounds, so whichever computation a metric sees is consistent.
    this.current = collectSamples(this.views(), this.now())
    return this.registry.metrics()
  }
}
