// The operator console: reads the live state from the API's stream and acts through the same
// endpoints curl uses, with the session's CSRF token. Text only ever goes in as textContent.
'use strict';

const numbers = new Intl.NumberFormat();
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const $ = (id) => document.getElementById(id);
const session = { role: 'read', csrf: '' };
let chart;
let stream;

const count = (value) => numbers.format(value ?? 0);
const duration = (seconds) => {
  if (seconds === null || seconds === undefined) return '–';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  return minutes < 60 ? `${minutes} min ${String(whole % 60).padStart(2, '0')} s` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
};
const since = (iso) => duration((Date.now() - Date.parse(iso)) / 1000);
/** A wait as a caller hears it: minutes, rounded up, once it is a minute or more. */
const estimate = (seconds) => (seconds < 60 ? `${Math.max(1, Math.round(seconds))} s` : `${numbers.format(Math.ceil(seconds / 60))} min`);
const time = (iso) => (iso ? clock.format(new Date(iso)) : '–');

function cell(row, text) {
  const td = document.createElement('td');
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  row.append(td);
  return td;
}

function button(label, action, value, secondary = true) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.dataset.action = action;
  element.dataset.value = value;
  element.className = `admin-only${secondary ? ' secondary' : ''}`;
  return element;
}

/** Fills a table body with one row per item; the empty message shows when there is none. */
function fill(bodyId, emptyId, items, row) {
  const body = $(bodyId);
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement('tr');
    row(tr, item);
    return tr;
  }));
  $(emptyId).hidden = items.length > 0;
}

function renderCapacity({ capacity }) {
  $('live').textContent = count(capacity.inUse);
  $('max').textContent = count(capacity.max);
  $('free').textContent = count(capacity.free);
  $('waiting').textContent = count(capacity.waiting);
  $('callbacks').textContent = count(capacity.callbacks);
  $('estimate').textContent = capacity.estimatedWaitSeconds ? `about ${estimate(capacity.estimatedWaitSeconds)}` : 'no wait';
  const share = capacity.max > 0 ? Math.min(100, (capacity.inUse / capacity.max) * 100) : 0;
  document.querySelector('.gauge .fill').style.strokeDasharray = `${share} 100`;
  const gauge = document.querySelector('.gauge');
  gauge.classList.toggle('full', capacity.inUse >= capacity.max);
  gauge.setAttribute('aria-valuenow', String(capacity.inUse));
  gauge.setAttribute('aria-valuemax', String(capacity.max));
}

function renderQueue({ queue }) {
  $('q-waiting').textContent = count(queue.waiting);
  $('q-delayed').textContent = count(queue.delayed);
  $('q-active').textContent = count(queue.active);
  $('q-failed').textContent = count(queue.failed);
  $('paused').hidden = !queue.paused;
  document.querySelector('[data-action="pause-queue"]').disabled = queue.paused;
  document.querySelector('[data-action="resume-queue"]').disabled = !queue.paused;
}

function renderLists(snapshot) {
  fill('line', 'line-empty', snapshot.line, (tr, caller) => {
    cell(tr, count(caller.position));
    cell(tr, caller.from);
    cell(tr, caller.priority);
    cell(tr, caller.callback ? `${since(caller.enqueuedAt)} (callback)` : since(caller.enqueuedAt));
    cell(tr, `about ${estimate(caller.estimatedWaitSeconds)}`);
  });
  fill('campaigns', 'campaigns-empty', snapshot.campaigns, (tr, campaign) => {
    const { progress } = campaign;
    cell(tr, campaign.name);
    cell(tr, campaign.state);
    const bar = document.createElement('progress');
    const finished = progress.done.total + progress.blocked.total + progress.expired + progress.cancelled;
    bar.max = Math.max(progress.contacts, 1);
    bar.value = finished;
    bar.setAttribute('aria-label', `${campaign.name}: ${finished} of ${progress.contacts} contacts done`);
    const label = document.createElement('span');
    label.textContent = ` ${count(finished)} / ${count(progress.contacts)}`;
    const wrap = document.createElement('span');
    wrap.append(bar, label);
    cell(tr, wrap);
    const states = [['pending', progress.pending], ['deferred', progress.deferred.total], ['dialing', progress.dialing], ['live', progress.live], ['blocked', progress.blocked.total], ['expired', progress.expired], ['cancelled', progress.cancelled]];
    const outcomes = Object.entries(progress.done.byOutcome).map(([outcome, n]) => `${outcome} ${count(n)}`).join(', ');
    const waiting = states.filter(([, n]) => n > 0).map(([state, n]) => `${state} ${count(n)}`).join(', ');
    cell(tr, [outcomes, waiting].filter(Boolean).join(' · ') || '–');
    cell(tr, `${numbers.format(progress.pace.dialsPerMinute)}/min`);
    const actions = cell(tr, '');
    if (campaign.state === 'running') actions.append(button('Pause', 'pause-campaign', campaign.id));
    if (campaign.state === 'paused') actions.append(button('Resume', 'resume-campaign', campaign.id));
  });
  fill('recent', 'recent-empty', snapshot.recentCalls, (tr, call) => {
    cell(tr, time(call.endedAt));
    cell(tr, call.to);
    cell(tr, call.outcome ?? '–');
    cell(tr, duration(call.durationSeconds));
    const link = document.createElement('a');
    link.href = `/api/queue/job/${encodeURIComponent(call.jobId)}`;
    link.textContent = 'timeline';
    link.setAttribute('aria-label', `Timeline of the call to ${call.to}`);
    cell(tr, link);
  });
  fill('waiting-calls', 'waiting-empty', snapshot.waitingCalls, (tr, call) => {
    cell(tr, time(call.dueAt));
    cell(tr, call.to);
    cell(tr, call.priority);
    cell(tr, button('Cancel', 'cancel-call', call.jobId));
  });
  fill('failed-calls', 'failed-empty', snapshot.failedCalls, (tr, call) => {
    cell(tr, call.to);
    cell(tr, call.failedReason ?? '–');
    cell(tr, button('Retry', 'retry-call', call.jobId));
  });
}

const SERIES_COLORS = { dials: '#4fb3ff', completed: '#3ccf91', busy: '#f5b342', 'no-answer': '#c792ea', failed: '#ff6b6b', canceled: '#9fb0c0', 'voicemail-left': '#7fdbca', 'machine-hangup': '#ffcb6b' };

function renderChart({ activity }) {
  const outcomes = Object.keys(activity.outcomes).sort();
  const data = [activity.minutes.map((ms) => ms / 1000), activity.dials, ...outcomes.map((name) => activity.outcomes[name])];
  const names = ['dials', ...outcomes].join(',');
  const container = $('chart');
  if (!window.uPlot) return;
  if (!chart || chart.names !== names) {
    chart?.destroy();
    const series = [{}, ...['dials', ...outcomes].map((name) => ({ label: name === 'dials' ? 'dials' : `ended ${name}`, stroke: SERIES_COLORS[name] ?? '#e8eef4', width: name === 'dials' ? 2 : 1.5 }))];
    const axis = { stroke: '#9fb0c0', grid: { stroke: '#2a3847' }, ticks: { stroke: '#2a3847' } };
    chart = new window.uPlot({ width: container.clientWidth || 900, height: 240, series, axes: [axis, { ...axis, label: 'a minute' }], scales: { x: { time: true } } }, data, container);
    chart.names = names;
  } else {
    chart.setData(data);
  }
}

window.addEventListener('resize', () => chart?.setSize({ width: $('chart').clientWidth, height: 240 }));

function render(snapshot) {
  renderCapacity(snapshot);
  renderQueue(snapshot);
  renderLists(snapshot);
  renderChart(snapshot);
  $('connection').textContent = `Live · ${time(snapshot.at)}`;
}

function showProblem(message) {
  $('problem').textContent = message;
  $('problem').hidden = !message;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'x-csrf-token': session.csrf, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (response.status === 401) {
    window.location.assign('/console/login');
    throw new Error('Your session ended: sign in again.');
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.message ?? `The service answered ${response.status}`);
  return answer;
}

const ACTIONS = {
  'pause-queue': { confirm: () => 'Pause the call queue? No call will be dialed until it is resumed.', run: () => api('POST', '/api/queue/pause') },
  'resume-queue': { run: () => api('POST', '/api/queue/resume') },
  reconcile: { run: () => api('POST', '/api/capacity/reconcile') },
  'pause-campaign': { confirm: () => 'Pause this campaign? Its dials stop within a second.', run: (id) => api('POST', `/api/campaigns/${encodeURIComponent(id)}/pause`) },
  'resume-campaign': { run: (id) => api('POST', `/api/campaigns/${encodeURIComponent(id)}/resume`) },
  'cancel-call': { confirm: () => 'Cancel this call? It will not be dialed.', run: (id) => api('DELETE', `/api/queue/job/${encodeURIComponent(id)}`) },
  'retry-call': { confirm: () => 'Dial this failed call again?', run: (id) => api('POST', `/api/queue/job/${encodeURIComponent(id)}/retry`) },
};

document.addEventListener('click', async (event) => {
  const target = event.target.closest('button[data-action]');
  if (!target) return;
  const action = ACTIONS[target.dataset.action];
  if (!action || (action.confirm && !window.confirm(action.confirm()))) return;
  target.disabled = true;
  try {
    await action.run(target.dataset.value);
    showProblem('');
  } catch (error) {
    showProblem(error.message);
  } finally {
    target.disabled = false;
  }
});

$('dnc').addEventListener('submit', async (event) => {
  event.preventDefault();
  const number = $('dnc-number').value.trim();
  const reason = $('dnc-reason').value.trim();
  if (!window.confirm(`Never call ${number} again?`)) return;
  try {
    await api('PUT', `/api/dnc/${encodeURIComponent(number)}`, reason ? { reason } : {});
    $('dnc').reset();
    showProblem('');
  } catch (error) {
    showProblem(error.message);
  }
});

$('logout').addEventListener('click', async () => {
  await fetch('/console/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': session.csrf } });
  window.location.assign('/console/login');
});

function connect() {
  stream?.close();
  stream = new EventSource('/api/console/stream');
  stream.addEventListener('snapshot', (event) => {
    showProblem('');
    render(JSON.parse(event.data));
  });
  stream.addEventListener('problem', (event) => showProblem(JSON.parse(event.data).message));
  stream.addEventListener('error', () => {
    $('connection').textContent = 'Reconnecting…';
    // A stream the server refused (a session that ended) is not retried by the browser: ask why.
    if (stream.readyState === EventSource.CLOSED) setTimeout(start, 3_000);
  });
}

async function start() {
  try {
    const answer = await api('GET', '/api/console/session');
    session.role = answer.role;
    session.csrf = answer.csrfToken;
    document.body.classList.toggle('can-act', answer.role !== 'read');
    $('who').textContent = answer.role === 'open' ? 'No keys set: open on this machine' : `Signed in with ${answer.role === 'admin' ? 'an admin' : 'a read'} key`;
    $('logout').hidden = answer.role === 'open';
    connect();
  } catch (error) {
    showProblem(`${error.message} Retrying…`);
    setTimeout(start, 5_000);
  }
}

start();
