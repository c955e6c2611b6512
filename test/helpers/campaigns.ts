import type { Service } from './harness.js';

type App = Service['app'];

/** A campaign's definition with what every test gives, and what it overrides. */
export const aCampaign = (overrides: Record<string, unknown> = {}) => ({ name: 'Renewals', message: 'Hello {{first_name}}', ...overrides });

/** Creates a campaign and answers its id. */
export async function createCampaign(app: App, overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/campaigns', payload: aCampaign(overrides) });
  if (response.statusCode !== 201) throw new Error(`campaign not created: ${response.statusCode} ${response.body}`);
  return response.json().campaign.id as string;
}

export const addContacts = async (app: App, id: string, contacts: Array<Record<string, unknown>>) =>
  app.inject({ method: 'POST', url: `/api/campaigns/${id}/contacts`, payload: { contacts } });

export const campaignAction = async (app: App, id: string, action: 'start' | 'pause' | 'resume' | 'cancel') => app.inject({ method: 'POST', url: `/api/campaigns/${id}/${action}` });

export const getCampaign = async (app: App, id: string) => (await app.inject({ method: 'GET', url: `/api/campaigns/${id}` })).json().campaign;

export const importCsv = async (app: App, id: string, csv: string, query: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/api/campaigns/${id}/contacts/csv?${new URLSearchParams(query)}`, headers: { 'content-type': 'text/csv' }, payload: csv });

/** `count` numbers in one area: `+1<area>55501..`, distinct for every index. */
export const numbers = (area: string, count: number, from = 0) => Array.from({ length: count }, (_, index) => `+1${area}555${String(1000 + from + index).padStart(4, '0')}`);

/** results.csv parsed into one object per line. */
export function parseResults(csv: string): Array<Record<string, string>> {
  const [header, ...lines] = csv.trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, index) => [columns[index]!, value])));
}
