-- Campaigns in the call log: every row of a campaign's call names the campaign, the contact it dials
-- (the contact id, or the number when the contact has none) and which pass over the contacts it
-- belongs to (0 the first; each retry of the campaign's contacts one more). A contact's state is the
-- status of its latest row by (campaign_round, redial_number, attempt, version); a contact the
-- campaign cancelled before it was dialed has a row with status `cancelled`.

alter table public.call_logs add column if not exists campaign_id text;
alter table public.call_logs add column if not exists contact_id text;
alter table public.call_logs add column if not exists campaign_round integer not null default 0 check (campaign_round >= 0);

create index if not exists call_logs_campaign_contact_idx on public.call_logs (campaign_id, contact_id) where campaign_id is not null;

comment on column public.call_logs.campaign_id is 'The campaign whose contact the call dials';
comment on column public.call_logs.contact_id is 'The contact in the campaign: its contact id, or its number';
comment on column public.call_logs.campaign_round is 'Which pass over the campaign''s contacts: 0, then one more for each retry';
