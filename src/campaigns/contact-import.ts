import { pipeline, Transform, type Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { AppError } from '../errors.js';
import { toE164 } from '../lib/phone-number.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { ContactVariables } from './campaign-definition.js';
import { campaignKeys } from './campaign-keys.js';
import type { CampaignService } from './campaign-service.js';
import type { PlacedContact, Rejection, RejectionReason } from './contact-list.js';

/** Which CSV columns hold what: the number (required), the contact id, the lead id, and the columns that become variables. */
export interface ColumnMapping {
  number: string;
  contactId?: string;
  leadId?: string;
  variables?: string[];
}

export interface ImportProgress {
  importId: string;
  campaignId: string;
  status: 'running' | 'completed' | 'failed';
  dryRun: boolean;
  /** The last line read and committed (the header is line 1). */
  line: number;
  accepted: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectionReason, number>>;
  /** The first rejections (at most 100 here), by line. */
  rejections: Rejection[];
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** Rows per atomic chunk: its contacts and the import's progress are committed together. */
export const IMPORT_CHUNK_ROWS = 1000;
/** A line longer than this ends the upload: the parser would hold it whole (csv-parse's own limit ends the parse silently). */
const MAX_LINE_BYTES = 1024 * 1024;
const KEEP_IMPORT_SECONDS = 7 * 24 * 3600;
const SHOWN_REJECTIONS = 100;

/** Passes the upload through, failing it once a line runs past `maxBytes` without a line break. */
function lineLengthGuard(maxBytes: number) {
  let sinceBreak = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let longest = 0;
      let start = 0;
      for (let lineBreak = chunk.indexOf(10); lineBreak >= 0; lineBreak = chunk.indexOf(10, start)) {
        longest = Math.max(longest, sinceBreak + lineBreak - start);
        sinceBreak = 0;
        start = lineBreak + 1;
      }
      sinceBreak += chunk.length - start;
      longest = Math.max(longest, sinceBreak);
      if (longest > maxBytes) done(new AppError(400, 'INVALID_CSV', `A line of the CSV runs past ${maxBytes} bytes; nothing after it was read`));
      else done(null, chunk);
    },
  });
}

export class CsvHeaderError extends AppError {
  constructor(message: string) {
    super(400, 'INVALID_CSV', message);
  }
}

/** A variable's value as a contact keeps it: numbers stay text, so a ZIP code keeps its leading zero. */
const variablesOf = (fields: string[], columns: ReadonlyArray<readonly [string, number]>): ContactVariables | undefined => {
  let variables: ContactVariables | undefined;
  for (const [column, index] of columns) {
    const value = fields[index];
    if (value !== undefined && value !== '') (variables ??= {})[column] = value;
  }
  return variables;
};

/**
 * Imports a CSV upload into a campaign as it arrives: never the whole file in memory, one atomic
 * chunk at a time, each with the import's progress, so that the same upload sent again with the
 * same import id resumes after its last committed chunk. Bad rows (not a number, a duplicate, on the
 * do-not-call list, malformed) are counted and named by line, never stop the import.
 */
export function createContactImport(redis: Redis, prefix: string, campaigns: Pick<CampaignService, 'get' | 'append'>, now: () => number = Date.now) {
  const keys = campaignKeys(prefix);

  const progress = async (campaignId: string, importId: string): Promise<ImportProgress | undefined> => {
    const key = keys.importProgress(campaignId, importId);
    const [fields, shown] = await Promise.all([redis.hgetall(key), redis.lrange(`${key}:rejections`, 0, SHOWN_REJECTIONS - 1)]);
    if (!fields.status) return undefined;
    const rejectedByReason: ImportProgress['rejectedByReason'] = {};
    for (const [field, value] of Object.entries(fields)) if (field.startsWith('rejected:')) rejectedByReason[field.slice(9) as RejectionReason] = Number(value);
    return {
      importId,
      campaignId,
      status: fields.status as ImportProgress['status'],
      dryRun: fields.dryRun === '1',
      line: Number(fields.line ?? 0),
      accepted: Number(fields.accepted ?? 0),
      rejected: Number(fields.rejected ?? 0),
      rejectedByReason,
      rejections: shown
        .map((entry) => {
          const [line, reason] = entry.split(' ');
          return { line: Number(line), reason: reason as RejectionReason };
        })
        .sort((a, b) => a.line - b.line),
      startedAt: fields.startedAt!,
      updatedAt: fields.updatedAt ?? fields.startedAt!,
      finishedAt: fields.finishedAt ?? null,
      error: fields.error ?? null,
    };
  };

  return {
    progress,

    async importCsv(campaignId: string, input: Readable, options: { mapping: ColumnMapping; dryRun: boolean; importId: string }): Promise<ImportProgress> {
      const { mapping, dryRun, importId } = options;
      const campaign = await campaigns.get(campaignId);
      if (campaign.state === 'cancelled') throw new AppError(409, 'CAMPAIGN_STATE_CONFLICT', `Campaign ${campaignId} is cancelled: it cannot take contacts`);
      const key = keys.importProgress(campaignId, importId);
      const earlier = await progress(campaignId, importId);
      if (earlier?.status === 'completed') {
        input.resume();
        return earlier;
      }
      const nowIso = () => new Date(now()).toISOString();
      const resumeAfter = earlier?.line ?? 0;
      const record = (...fields: Array<string | number>) => redis.multi().hset(key, ...fields).expire(key, KEEP_IMPORT_SECONDS).expire(`${key}:rejections`, KEEP_IMPORT_SECONDS).exec();

      /** Where each mapped column is, from the header row; a column the mapping names and the header lacks refuses the upload. */
      const locate = (header: string[]) => {
        const named = [mapping.number, mapping.contactId, mapping.leadId, ...(mapping.variables ?? [])].filter((column): column is string => column !== undefined);
        const missing = named.filter((column) => !header.includes(column));
        if (missing.length > 0) throw new CsvHeaderError(`The CSV's header has no column ${missing.map((column) => `"${column}"`).join(', ')} (it has ${header.map((column) => `"${column}"`).join(', ')})`);
        const at = (column: string | undefined) => (column === undefined ? -1 : header.indexOf(column));
        return { number: at(mapping.number), contactId: at(mapping.contactId), leadId: at(mapping.leadId), variables: (mapping.variables ?? []).map((column) => [column, at(column)] as const) };
      };
      // Rows as arrays with their line, not objects keyed by the header: a million rows make less garbage.
      const parser = parse({ skip_empty_lines: true, trim: true, bom: true, skip_records_with_error: true, on_record: ((fields: string[], context: { lines: number }) => ({ line: context.lines, fields })) as never });
      // An upload that breaks off (the client gone) or a line too long ends the parse with its error, which the loop below throws.
      pipeline(input, lineLengthGuard(MAX_LINE_BYTES), parser, () => {});
      const malformed: Rejection[] = [];
      parser.on('skip', (error: CsvError & { lines?: number }) => malformed.push({ line: error.lines ?? 0, reason: 'malformed' }));

      // A dry run writes nothing: it finds duplicates within the file itself, and keeps its own totals.
      const seen = new Set<string>();
      const totals = { accepted: 0, rejected: 0, byReason: {} as Partial<Record<RejectionReason, number>>, shown: [] as Rejection[] };
      const dryCommit = async (contacts: PlacedContact[], turnedAway: Rejection[], through: number) => {
        const fresh: PlacedContact[] = [];
        for (const contact of contacts) {
          if (seen.has(contact.key)) turnedAway.push({ line: contact.line, reason: 'duplicate' });
          else {
            seen.add(contact.key);
            fresh.push(contact);
          }
        }
        const result = await campaigns.append(campaignId, fresh, { dryRun: true });
        const all = [...turnedAway, ...result.rejected].sort((a, b) => a.line - b.line);
        totals.accepted += result.added;
        totals.rejected += all.length;
        for (const { reason } of all) totals.byReason[reason] = (totals.byReason[reason] ?? 0) + 1;
        totals.shown.push(...all.slice(0, SHOWN_REJECTIONS - totals.shown.length));
        await record('line', through, 'accepted', totals.accepted, 'rejected', totals.rejected, 'updatedAt', nowIso());
      };

      let chunk: PlacedContact[] = [];
      let rejected: Rejection[] = [];
      let lastLine = resumeAfter;
      let inFlight: Promise<void> | undefined;
      let failure: unknown;
      let started = false;

      /** Sends the chunk, then waits for the one before it: one chunk in Redis while the next is parsed (Redis runs them in the order sent). */
      const flush = async () => {
        const contacts = chunk;
        const turnedAway = [...rejected, ...malformed.splice(0).filter(({ line }) => line > resumeAfter)];
        chunk = [];
        rejected = [];
        const sent = (dryRun ? dryCommit(contacts, turnedAway, lastLine) : campaigns.append(campaignId, contacts, { progress: { key, lastLine }, rejected: turnedAway })).then(
          () => undefined,
          (error: unknown) => void (failure ??= error),
        );
        if (inFlight) await inFlight;
        inFlight = sent;
        if (failure !== undefined) throw failure;
      };

      try {
        let columns: ReturnType<typeof locate> | undefined;
        for await (const { line, fields } of parser as AsyncIterable<{ line: number; fields: string[] }>) {
          if (!columns) {
            columns = locate(fields);
            started = true;
            // The header was read and holds the mapped columns: only now does the import exist.
            await record('status', 'running', 'dryRun', dryRun ? 1 : 0, ...(earlier ? [] : ['startedAt', nowIso(), 'line', 0]), 'updatedAt', nowIso());
            continue;
          }
          lastLine = line;
          if (line <= resumeAfter) continue;
          const raw = fields[columns.number];
          const to = raw ? toE164(raw) : undefined;
          if (!to) {
            rejected.push({ line, reason: raw ? 'invalid-number' : 'missing-number' });
          } else {
            const contactId = fields[columns.contactId] || undefined;
            const leadId = fields[columns.leadId] || undefined;
            const variables = variablesOf(fields, columns.variables);
            chunk.push({ key: contactId ?? to, to, line, ...(contactId && { contactId }), ...(leadId && { leadId }), ...(variables && { variables }) });
          }
          if (chunk.length + rejected.length >= IMPORT_CHUNK_ROWS) await flush();
        }
        if (!started) {
          started = true;
          await record('status', 'running', 'dryRun', dryRun ? 1 : 0, 'startedAt', nowIso(), 'line', 0, 'updatedAt', nowIso());
        }
        // The last line read, even a malformed one after the last row.
        lastLine = Math.max(lastLine, ...malformed.map(({ line }) => line));
        await flush();
        await inFlight;
        if (failure !== undefined) throw failure;
        await record('status', 'completed', 'finishedAt', nowIso(), 'updatedAt', nowIso());
      } catch (error) {
        await inFlight;
        if (started) await record('status', 'failed', 'error', error instanceof Error ? error.message : String(error), 'updatedAt', nowIso());
        throw error;
      }
      const result = (await progress(campaignId, importId))!;
      return dryRun ? { ...result, accepted: totals.accepted, rejected: totals.rejected, rejectedByReason: totals.byReason, rejections: totals.shown } : result;
    },
  };
}

export type ContactImport = ReturnType<typeof createContactImport>;
