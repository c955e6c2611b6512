// A CRM's receiver of Switchboard's events: verifies each with the Standard Webhooks library and
// keeps each event id once. Run: SWITCHBOARD_SECRET=whsec_... node examples/webhook-receiver.mjs
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.SWITCHBOARD_SECRET);
const seen = new Set();

http
  .createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      let event;
      try {
        // Throws on a bad signature, or a timestamp more than five minutes off.
        event = webhook.verify(body, request.headers);
      } catch {
        return response.writeHead(400).end();
      }
      if (!seen.has(event.id)) {
        seen.add(event.id);
        console.log(event.type, event.data.jobId ?? event.data.campaignId ?? '', event.data.outcome ?? '');
      }
      response.writeHead(204).end();
    });
  })
  .listen(Number(process.env.PORT ?? 4000), '127.0.0.1');
