import { UsageError } from '../errors.js'

// A resource name goes into the host part of the signed IAM token URL: keep it to what AWS allows.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

export function validateResourceName(flag: string, name: string): string {
  const trimmed = name.trim()
  if (!NAME.test(trimmed) || trimmed.length > 255) {
    throw new UsageError(`invalid --${flag} '${name}': expected a name of letters, digits and hyphens`)
  }
  return trimmed
}
