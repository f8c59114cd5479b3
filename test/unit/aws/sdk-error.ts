/** An error shaped as the AWS SDK throws them: its name, the HTTP status and request id in $metadata. */

export const sdkError = (name: string, message: string, status?: number, extra: object = {}) =>
  Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status, requestId: 'req-123' },
    ...extra,
  })

/** What S3 answers a caller the bucket does not let in. */
export const denied = () =>
  Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
