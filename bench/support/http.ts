/**
 * POSTs JSON and reads the whole answer, which must be a 201: a response left unread keeps its
 * connection busy, and the API would wait for it when it drains.
 */
export async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${new URL(url).pathname} answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}
