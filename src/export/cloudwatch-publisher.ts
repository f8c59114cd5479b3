import type { SidePublisher } from './service.js'
export interface CloudWatchPublisherOptions {
  namespace: string
  intervalMs: number
  region?: string
  profile?: string
  onPublished?: (r: { metrics: number; calls: number }) => void
  onFailed?: (message: string) => void
}
export class CloudWatchPublisher implements SidePublisher {
  constructor(readonly options: CloudWatchPublisherOptions) {}
  start(): void {}
  async stop(): Promise<void> {}
}
