/** The URL with its password replaced by `***`, for logs and messages. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
