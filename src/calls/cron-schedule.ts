import { CronExpressionParser } from 'cron-parser';
import { validationError } from '../errors.js';
import { canonicalTimeZone } from '../lib/time-zone.js';

/**
 * Checks a cron expression the way BullMQ will read it (both use cron-parser) and returns its next
 * run. Refuses expressions that never fire or fire more often than `minIntervalSeconds`: a schedule
 * that rings one person every second is a mistake, not a campaign.
 */
export function nextCronRun(
  cronExpression: string,
  timezone: string | undefined,
  minIntervalSeconds: number,
  now: Date,
): Date {
  if (timezone !== undefined && canonicalTimeZone(timezone) === undefined) {
    throw validationError('Invalid timezone', [
      { field: 'timezone', message: `"${timezone}" is not an IANA time zone such as Europe/Paris` },
    ]);
  }
  const invalid = (message: string) => validationError('Invalid cron expression', [{ field: 'cronExpression', message }]);
  let runs: Date[];
  try {
    const expression = CronExpressionParser.parse(cronExpression, { currentDate: now, ...(timezone && { tz: timezone }), strict: false });
    runs = expression.take(3).map((date) => date.toDate());
  } catch (error) {
    throw invalid(`"${cronExpression}" is not a valid cron expression: ${(error as Error).message}`);
  }
  if (runs.length < 3) throw invalid(`"${cronExpression}" never fires`);
  const [first, second, third] = runs as [Date, Date, Date];
  const interval = Math.min(second.getTime() - first.getTime(), third.getTime() - second.getTime());
  if (interval < minIntervalSeconds * 1000) {
    throw invalid(`"${cronExpression}" fires every ${interval / 1000} s; the shortest allowed interval is ${minIntervalSeconds} s`);
  }
  return first;
}
