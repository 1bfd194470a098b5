/** Kubernetes' timestamps: RFC 3339 in UTC to the second, as metadata and conditions carry them. */
export const timestamp = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
