import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { CallLogRow } from './call-log-writer.js';

export interface CallLogQuery {
  leadId?: string;
  status?: string;
  outcome?: string;
  to?: string;
  since?: string;
  until?: string;
  limit: number;
  /** Continue after this row: its creation time and id. */
  after?: { createdAt: string; id: number };
}

export type StoredCallLogRow = CallLogRow & { id: number; created_at: string; updated_at: string };

/** The `call_logs` table in Supabase, through supabase-js with the service-role key. */
export function createCallLogTable(options: { url: string; serviceRoleKey: string }) {
  const client = createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no WebSocket of its own, and supabase-js builds its realtime client eagerly.
    realtime: { transport: WebSocket as never },
  });
  const table = () => client.from('call_logs');

  return {
    /** Inserts or updates rows by (job_id, attempt); the table ignores a row older than the stored one. */
    async upsert(rows: CallLogRow[]): Promise<void> {
      const { error } = await table().upsert(rows, { onConflict: 'job_id,attempt' });
      if (error) throw new Error(`Supabase refused the call log rows: ${error.message || error.code || 'no answer'}`);
    },

    /** Newest first, keyset-paginated on (created_at, id). */
    async list(query: CallLogQuery): Promise<StoredCallLogRow[]> {
      let request = table().select('*');
      if (query.leadId !== undefined) request = request.eq('lead_id', query.leadId);
      if (query.status !== undefined) request = request.eq('status', query.status);
      if (query.outcome !== undefined) request = request.eq('outcome', query.outcome);
      if (query.to !== undefined) request = request.eq('to_number', query.to);
      if (query.since !== undefined) request = request.gte('created_at', query.since);
      if (query.until !== undefined) request = request.lt('created_at', query.until);
      if (query.after) {
        const { createdAt, id } = query.after;
        request = request.or(`created_at.lt."${createdAt}",and(created_at.eq."${createdAt}",id.lt.${id})`);
      }
      const { data, error } = await request.order('created_at', { ascending: false }).order('id', { ascending: false }).limit(query.limit);
      if (error) throw new Error(`Supabase could not list the call log: ${error.message || error.code || 'no answer'}`);
      return data as StoredCallLogRow[];
    },
  };
}

export type CallLogTable = ReturnType<typeof createCallLogTable>;
