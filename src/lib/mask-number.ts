/** `+14155550123` becomes `+141*******23`: enough to tell calls apart in logs, not enough to dial. */
export function maskNumber(e164: string): string {
  if (e164.length <= 6) return '*'.repeat(e164.length);
  return e164.slice(0, 4) + '*'.repeat(e164.length - 6) + e164.slice(-2);
}
