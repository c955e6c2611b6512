import { z } from 'zod';
import { isoTimeSchema } from '../shared/common.schemas.js';
import { progressSchema } from '../campaigns/campaigns.schemas.js';
import { capacitySnapshotSchema } from '../capacity/capacity.routes.js';
import { queueStatsSchema } from '../queue/queue.schemas.js';

const nullableText = z.string().nullable();


const queuedCall = z.object({ jobId: z.string(), to: z.string(), leadId: nullableText, priority: z.string(), dueAt: isoTimeSchema, failedReason: nullableText });

export const consoleSnapshotSchema = z
  .object({
    at: isoTimeSchema,
    capacity: capacitySnapshotSchema.describe('Live calls against the cap, callers waiting, callbacks pending, the wait a caller arriving now is told'),
    line: z.array(
      z.object({
        callSid: z.string(),
        from: z.string(),
        priority: z.string(),
        position: z.number().int(),
        enqueuedAt: isoTimeSchema,
        callback: z.boolean().describe('Hung up for a callback, keeping their place'),
        estimatedWaitSeconds: z.number(),
      }),
    ),
    queue: queueStatsSchema.extend({ paused: z.boolean() }),
    campaigns: z.array(z.object({ id: z.string(), name: z.string(), state: z.string(), priority: z.string(), progress: progressSchema })),
    recentCalls: z.array(z.object({ jobId: z.string(), to: z.string(), leadId: nullableText, campaignId: nullableText, outcome: nullableText, durationSeconds: z.number().nullable(), endedAt: isoTimeSchema.nullable() })),
    waitingCalls: z.array(queuedCall).describe('The first calls waiting or delayed'),
    failedCalls: z.array(queuedCall).describe('The calls that failed last'),
    activity: z.object({
      minutes: z.array(z.number()).describe('Start of each minute (ms since the epoch), oldest first'),
      dials: z.array(z.number().int()),
      outcomes: z.record(z.string(), z.array(z.number().int())).describe('Calls ended in each minute, by outcome'),
    }),
  })
  .meta({ id: 'ConsoleSnapshot' });

export const consoleSessionSchema = z.object({
  success: z.literal(true),
  role: z.enum(['admin', 'read', 'open']).describe('open: no keys are configured (loopback only)'),
  expiresAt: isoTimeSchema.nullable(),
  csrfToken: z.string().describe('Send as x-csrf-token with every change made through the session'),
});
