import type { Queue } from 'bullmq';
import type { CallActivity } from '../calls/call-activity.js';
import { callOutcome } from '../calls/call-outcome.js';
import type { CallRecordStore } from '../calls/call-record-store.js';
import type { QueueAdminService } from '../calls/queue-admin-service.js';
import type { CampaignService } from '../campaigns/campaign-service.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import type { CallJobData } from '../jobs/call-jobs.js';

/** Hours of dials and outcomes the console charts. */
export const CHART_MINUTES = 180;
const LISTED = 20;
/** How long one read serves every console that asks. */
const SHARED_FOR_MS = 1_000;

export interface ConsoleSnapshotDeps {
  capacity: Pick<CapacityService, 'snapshot' | 'line'>;
  queueAdmin: Pick<QueueAdminService, 'stats'>;
  callQueue: Queue<CallJobData>;
  callRecords: Pick<CallRecordStore, 'getMany'>;
  campaigns: Pick<CampaignService, 'list' | 'progress'>;
  activity: Pick<CallActivity, 'series' | 'recent'>;
}

/** Everything the operator console shows, read at once: what the stream sends every few seconds. */
export function createConsoleSnapshot({ capacity, queueAdmin, callQueue, callRecords, campaigns, activity }: ConsoleSnapshotDeps) {
  const jobsOf = async (ids: string[]) => {
    const [jobs, records] = await Promise.all([Promise.all(ids.map((id) => callQueue.getJob(id))), callRecords.getMany(ids)]);
    return ids.flatMap((jobId, index) => {
      const job = jobs[index];
      const record = records[index];
      if (!job) return [];
      return [{ jobId, to: job.data.to, leadId: job.data.lead_id ?? null, campaignId: job.data.campaignId ?? null, record, job }];
    });
  };

  const recentCalls = async () =>
    (await jobsOf(await activity.recent(LISTED))).map(({ jobId, to, leadId, campaignId, record }) => ({
      jobId,
      to,
      leadId,
      campaignId,
      outcome: callOutcome(record) ?? record?.callStatus ?? null,
      durationSeconds: record?.durationSeconds ?? null,
      endedAt: record?.endedAt ?? null,
    }));

  const queuedCalls = async (types: Array<'waiting' | 'prioritized' | 'delayed' | 'failed'>) =>
    (await callQueue.getJobs(types, 0, LISTED - 1, types.includes('failed') ? false : true)).map((job) => ({
      jobId: job.id!,
      to: job.data.to,
      leadId: job.data.lead_id ?? null,
      priority: job.data.priority,
      dueAt: new Date(job.timestamp + (job.delay ?? 0)).toISOString(),
      failedReason: job.failedReason ?? null,
    }));

  const readNow = async () => {
    const [capacityNow, line, queue, { campaigns: page }, recent, waiting, failed, series] = await Promise.all([
      capacity.snapshot(),
      capacity.line(50),
      queueAdmin.stats(),
      campaigns.list(0, LISTED),
      recentCalls(),
      queuedCalls(['waiting', 'prioritized', 'delayed']),
      queuedCalls(['failed']),
      activity.series(CHART_MINUTES),
    ]);
    const campaignViews = await Promise.all(
      page.map(async (campaign) => ({ id: campaign.id, name: campaign.name, state: campaign.state, priority: campaign.priority, progress: await campaigns.progress(campaign) })),
    );
    return {
      at: new Date().toISOString(),
      capacity: capacityNow,
      line,
      queue: { ...queue.stats, paused: queue.paused },
      campaigns: campaignViews,
      recentCalls: recent,
      waitingCalls: waiting,
      failedCalls: failed,
      activity: series,
    };
  };

  // Every open console shares one read a second, however many watch.
  let last: { at: number; reading: ReturnType<typeof readNow> } | undefined;
  return {
    read() {
      if (!last || Date.now() - last.at >= SHARED_FOR_MS) {
        const reading = readNow();
        last = { at: Date.now(), reading };
        reading.catch(() => {
          if (last?.reading === reading) last = undefined;
        });
      }
      return last.reading;
    },
  };
}

export type ConsoleSnapshot = ReturnType<typeof createConsoleSnapshot>;
export type ConsoleSnapshotView = Awaited<ReturnType<ConsoleSnapshot['read']>>;
