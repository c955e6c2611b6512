import { createHash } from 'node:crypto';

/**
 * Where a campaign lives in Redis. Every key starts with the queue prefix, so on Redis Cluster all of
 * them share the prefix's hash tag (and the scripts that touch several campaigns one slot).
 */
export const campaignKeys = (prefix: string) => {
  const of = (id: string) => `${prefix}:campaign:${id}`;
  return {
    /** A hash: `def` (the definition as JSON), `state`, and the feeder's figures. */
    campaign: of,
    /** Every campaign by creation time (ms). */
    index: `${prefix}:campaigns`,
    /** Ids of campaigns whose state is running: the ones the feeder looks at. */
    running: `${prefix}:campaigns:running`,
    /** id -> state, for workers to keep in memory. */
    states: `${prefix}:campaigns:states`,
    /** Where a change of state is announced, so every worker stops dialing a paused campaign at once. */
    changes: `${prefix}:campaigns:changes`,
    /** The fair-share scheduler's virtual time. */
    virtualTime: `${prefix}:campaigns:vtime`,
    /** Contacts taken from a list whose jobs are being added, by when (ms): re-added if the adder died. */
    feeding: `${prefix}:campaigns:feeding`,
    /** contact key -> the contact as JSON (`n` number, `c` contact id, `l` lead id, `v` variables). */
    contacts: (id: string) => `${of(id)}:contacts`,
    /** Contacts waiting to be fed to the call queue: `round|contact key` (see `pendingEntry`), in order. */
    pending: (id: string) => `${of(id)}:pending`,
    /** contact key -> its state (see campaign-progress). */
    contactStates: (id: string) => `${of(id)}:contact-states`,
    /** state -> how many contacts are in it, and `attempts` (dials). */
    counts: (id: string) => `${of(id)}:counts`,
    /** Job ids fed to the call queue and not yet taken by a worker. */
    hopper: (id: string) => `${of(id)}:hopper`,
    /** Contacts fed and not yet done with a dial: in the hopper, waiting for a slot, dialing or live (for the share of slots). */
    claimed: (id: string) => `${of(id)}:claimed`,
    /** Job ids a worker put aside while the campaign was paused. */
    parked: (id: string) => `${of(id)}:parked`,
    /** Dials per minute (epoch minute -> dials), for the pace. */
    pace: (id: string) => `${of(id)}:pace`,
    /** One CSV import's progress. */
    importProgress: (id: string, importId: string) => `${of(id)}:import:${importId}`,
  };
};

export type CampaignKeys = ReturnType<typeof campaignKeys>;

/**
 * The job that dials a contact in a given pass over the campaign's contacts: derived from both, so
 * a contact fed twice (a feeder that died after adding its jobs) is one job.
 */
export const contactJobId = (campaignId: string, contactKey: string, round: number) =>
  `cmp-${campaignId}-${createHash('sha1').update(contactKey).digest('hex').slice(0, 20)}${round > 0 ? `-r${round}` : ''}`;

/** A contact waiting in its campaign's list, as `round|contact key` (the key may hold bars itself). */
export const pendingEntry = (entry: string): { round: number; key: string } => {
  const bar = entry.indexOf('|');
  return { round: Number(entry.slice(0, bar)), key: entry.slice(bar + 1) };
};
