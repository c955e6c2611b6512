import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { z } from 'zod';
import { toE164 } from '../lib/phone-number.js';
import type { ContactStore, DncEntry } from './contact-store.js';

/** A prefix entry: `+` and 1 to 14 digits, then `*` (`+1415*` an area code, `+44*` a country). */
const PREFIX = /^\+\d{1,14}\*$/;

/** The list's key for a number (normalised to E.164) or a prefix; the problem in words otherwise. */
export function dncKey(input: string): string | { problem: string } {
  const text = input.trim();
  if (text.endsWith('*')) return PREFIX.test(text) ? text : { problem: `"${input}" is not a prefix such as +1415* (a plus, 1 to 14 digits, a star)` };
  return toE164(text) ?? { problem: `"${input}" is not a possible phone number (E.164, such as +14155550123) nor a prefix such as +1415*` };
}

export interface DncRequest {
  reason?: string | null;
  expiresAt?: string | null;
}

/** One line of an import that was not taken, and why. */
export interface RejectedLine {
  line: number;
  reason: string;
}

export interface ImportResult {
  /** Entries written (new or replacing one already there). */
  imported: number;
  /** Of those, new to the list. */
  added: number;
  rejectedCount: number;
  /** The first rejected lines, by line number. */
  rejected: RejectedLine[];
}

const IMPORT_CHUNK = 1_000;
const ISO_TIME = z.iso.datetime({ offset: true });

/** A CSV whose header row names no number column. */
export class MissingNumberColumn extends Error {
  constructor(header: string[]) {
    super(`the header row (${header.join(',').slice(0, 200)}) names no number or phone column`);
    this.name = 'MissingNumberColumn';
  }
}
const MAX_REPORTED = 100;

/** Entries written as they come, in chunks, so an import of any size holds one chunk in memory. */
function importer(store: Pick<ContactStore, 'putManyDnc'>, source: string, now: () => number) {
  const result: ImportResult = { imported: 0, added: 0, rejectedCount: 0, rejected: [] };
  let chunk: DncEntry[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    result.added += await store.putManyDnc(chunk);
    result.imported += chunk.length;
    chunk = [];
  };
  return {
    result,
    async take(line: number, number: unknown, request: DncRequest) {
      const reject = (reason: string) => {
        result.rejectedCount += 1;
        if (result.rejected.length < MAX_REPORTED) result.rejected.push({ line, reason });
      };
      const key = typeof number === 'string' ? dncKey(number) : { problem: 'no number' };
      if (typeof key !== 'string') return reject(key.problem);
      const expiresAt = request.expiresAt ? Date.parse(request.expiresAt) : undefined;
      if (request.expiresAt && !ISO_TIME.safeParse(request.expiresAt).success) return reject(`expiresAt "${request.expiresAt}" is not an ISO-8601 time with Z or an offset`);
      if (expiresAt !== undefined && expiresAt <= now()) return reject(`expiresAt ${request.expiresAt} has passed`);
      if (request.reason && request.reason.length > 500) return reject('reason is longer than 500 characters');
      chunk.push({ key, reason: request.reason || null, source, addedAt: new Date(now()).toISOString(), expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString() });
      if (chunk.length >= IMPORT_CHUNK) await flush();
    },
    flush,
  };
}

/** The do-not-call list as the API manages it: single entries, pages, and imports of any size. */
export function createDncList(store: ContactStore, now: () => number = Date.now) {
  return {
    /** Puts an entry on the list (never weakening one already there) and answers the entry as it now stands. */
    async put(key: string, request: DncRequest & { source?: string }): Promise<DncEntry> {
      const entry: DncEntry = { key, reason: request.reason ?? null, source: request.source ?? 'api', addedAt: new Date(now()).toISOString(), expiresAt: request.expiresAt ?? null };
      await store.putDnc(entry);
      return (await store.getDnc(key, now())) ?? entry;
    },
    get: (key: string) => store.getDnc(key, now()),
    remove: (key: string) => store.removeDnc(key),
    list: (cursor: string, count: number) => store.listDnc(cursor, count, now()),
    count: () => store.countDnc(),

    /** A JSON list: each entry a number or prefix, with its own reason and expiry. */
    async importEntries(entries: Array<{ number: string } & DncRequest>, source: string): Promise<ImportResult> {
      const run = importer(store, source, now);
      for (const [index, entry] of entries.entries()) await run.take(index + 1, entry.number, entry);
      await run.flush();
      return run.result;
    },

    /**
     * A CSV upload, streamed through csv-parse: a header row naming `number` (or `phone`), and
     * optionally `reason` and `expiresAt`; each bad row is reported by its line and skipped.
     */
    async importCsv(input: Readable, source: string): Promise<ImportResult> {
      const run = importer(store, source, now);
      const columns = (header: string[]) => {
        const names = header.map((name) => name.trim().toLowerCase());
        // A file of bare numbers would lose its first one to the header: it is refused instead.
        if (!names.includes('number') && !names.includes('phone')) throw new MissingNumberColumn(header);
        return names;
      };
      const rows = input.pipe(parse({ columns, skip_empty_lines: true, trim: true, bom: true, info: true, relax_column_count: true }));
      for await (const { record, info } of rows as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        await run.take(info.lines, record.number ?? record.phone, { reason: record.reason ?? null, expiresAt: record.expiresat || null });
      }
      await run.flush();
      return run.result;
    },
  };
}

export type DncList = ReturnType<typeof createDncList>;
