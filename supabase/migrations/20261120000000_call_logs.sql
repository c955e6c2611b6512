-- Switchboard's call log: one row per dial attempt, from scheduling to the call's final outcome.
-- Rows are written by the service with the service_role key through an outbox, so a Supabase
-- outage delays rows but loses none. Each write carries a version; an older write never replaces
-- a newer one, so retries and out-of-order deliveries converge to the right row.

create table if not exists public.call_logs (
  id bigint generated always as identity primary key,
  job_id text not null,
  attempt integer not null default 1 check (attempt >= 1),
  redial_number integer not null default 0 check (redial_number >= 0),
  redial_of text,
  root_job_id text,
  recurring_id text,
  lead_id text,
  to_number text not null,
  from_number text,
  priority text not null check (priority in ('high', 'normal', 'low')),
  -- scheduled, dialing, dial-failed (will retry), error (gave up), then the carrier's statuses:
  -- queued, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
  status text not null,
  final boolean not null default false,
  call_sid text unique,
  timeline jsonb not null default '[]'::jsonb,
  duration_seconds integer,
  answered_by text,
  sip_response_code integer,
  error_code text,
  error_message text,
  message text,
  metadata jsonb,
  scheduled_at timestamptz,
  dialed_at timestamptz,
  placed_at timestamptz,
  ended_at timestamptz,
  version bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint call_logs_job_attempt_key unique (job_id, attempt)
);

comment on table public.call_logs is 'Switchboard: one row per dial attempt and its outcome';
comment on column public.call_logs.version is 'Monotonic per job: a write with a lower version than the row''s is ignored';

-- The lookups an operator makes. By job: the (job_id, attempt) unique index.
create index if not exists call_logs_lead_idx on public.call_logs (lead_id, created_at desc);
create index if not exists call_logs_status_time_idx on public.call_logs (status, created_at desc);
create index if not exists call_logs_to_idx on public.call_logs (to_number, created_at desc);
create index if not exists call_logs_created_idx on public.call_logs (created_at desc, id desc);

-- A stale write (an older version, delivered late) changes nothing; creation time never moves.
create or replace function public.call_logs_keep_newest() returns trigger
language plpgsql as $$
begin
  if new.version < old.version then
    return null;
  end if;
  new.created_at := old.created_at;
  return new;
end;
$$;

create or replace function public.call_logs_set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

drop trigger if exists call_logs_keep_newest on public.call_logs;
create trigger call_logs_keep_newest before update on public.call_logs
  for each row execute function public.call_logs_keep_newest();

drop trigger if exists call_logs_set_updated_at on public.call_logs;
create trigger call_logs_set_updated_at before update on public.call_logs
  for each row execute function public.call_logs_set_updated_at();

-- Phone numbers and outcomes are personal data: nothing for the public roles. The service writes
-- with service_role, which bypasses row level security.
alter table public.call_logs enable row level security;
revoke all on table public.call_logs from anon, authenticated;
