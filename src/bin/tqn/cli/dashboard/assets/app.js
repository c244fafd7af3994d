// tqn dashboard: a page over the JSON API, kept live by server-sent events. Every piece of data
// reaches the DOM as text (textContent / text nodes), never as HTML.
'use strict';

const TOKEN = document.querySelector('meta[name="tqn-token"]').content;
const READ_ONLY = document.querySelector('meta[name="tqn-mode"]').content === 'read-only';
const view = document.getElementById('view');
const live = document.getElementById('live');
let source = null;
let route = null;
let chartTimer = null;
let state = { tab: 'ready' };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function age(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + Math.floor((s % 3600) / 60) + 'm';
  return Math.floor(s / 86400) + 'd' + Math.floor((s % 86400) / 3600) + 'h';
}

function secs(x) {
  if (x === null || x === undefined) return '–';
  return x < 1 ? (x * 1000).toFixed(x < 0.01 ? 1 : 0) + ' ms' : x.toFixed(2) + ' s';
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function act(body) {
  const r = await fetch('/api/action', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-TQN-Token': TOKEN },
    body: JSON.stringify(body),
  });
  const out = await r.json();
  if (!r.ok) throw new Error(out.error || r.statusText);
  return out;
}

function report(promise, what) {
  promise.then((out) => { note(what + ': ' + JSON.stringify(out)); })
    .catch((e) => { note(what + ' failed: ' + e.message, true); });
}

function note(text, bad) {
  const n = document.getElementById('note');
  if (n) { n.textContent = text; n.className = bad ? 'error' : ''; }
}

function connect(query) {
  if (source) source.close();
  source = new EventSource('/api/events' + query);
  source.addEventListener('overview', (ev) => {
    live.textContent = 'live ' + new Date().toLocaleTimeString();
    const data = JSON.parse(ev.data);
    if (data.error) { live.textContent = 'error: ' + data.error; return; }
    render(data);
  });
  source.onerror = () => { live.textContent = 'reconnecting…'; };
}

function parseRoute() {
  const h = location.hash.replace(/^#/, '') || '/';
  const parts = h.split('/').map(decodeURIComponent);
  if (parts[1] === 'queue' && parts.length >= 4) return { page: 'queue', dialect: parts[2], queue: parts.slice(3).join('/') };
  if (parts[1] === 'workers') return { page: 'workers' };
  return { page: 'overview' };
}

function navigate() {
  route = parseRoute();
  view.textContent = '';
  if (chartTimer) { clearInterval(chartTimer); chartTimer = null; }
  if (route.page === 'queue') {
    buildQueuePage();
    connect('?queue=' + encodeURIComponent(route.queue) + '&dialect=' + encodeURIComponent(route.dialect));
    loadCharts();
    chartTimer = setInterval(loadCharts, 30000);
  } else if (route.page === 'workers') {
    view.appendChild(el('h2', {}, 'Workers'));
    view.appendChild(el('div', { id: 'workers' }));
    connect('');
  } else {
    view.appendChild(el('h2', {}, 'Queues'));
    view.appendChild(el('div', { id: 'overview' }));
    view.appendChild(el('p', { id: 'took', class: 'meta' }));
    connect('');
  }
}

const COLUMNS = [
  ['ready', 'Ready'], ['delayed', 'Delayed'], ['due', 'Due'], ['reserved', 'Reserved'],
  ['expired', 'Expired'], ['dead', 'Dead'], ['oldest_age', 'Oldest waiting'],
  ['per_minute', 'Jobs/min'], ['failure_rate', 'Failed'], ['workers', 'Workers'],
];

function cell(q, key) {
  const v = q[key];
  if (key === 'oldest_age') return age(v);
  if (key === 'per_minute') return v.toFixed(1);
  if (key === 'failure_rate') return v === null ? '–' : (v * 100).toFixed(1) + '%';
  return String(v);
}

function render(data) {
  if (route.page === 'overview') renderOverview(data);
  else if (route.page === 'queue') renderQueue(data);
  else renderWorkers();
}

function renderOverview(data) {
  const box = document.getElementById('overview');
  if (!box) return;
  const table = el('table', { id: 'queues' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Queue'), el('th', {}, 'Gen'), ...COLUMNS.map(([, t]) => el('th', {}, t)), el('th', {}, 'Flags'))));
  const body = el('tbody');
  for (const q of data.queues) {
    const link = el('a', { href: '#/queue/' + encodeURIComponent(q.dialect) + '/' + encodeURIComponent(q.queue) }, q.queue);
    body.appendChild(el('tr', { 'data-queue': q.queue, 'data-dialect': q.dialect },
      el('td', {}, link), el('td', {}, q.dialect),
      ...COLUMNS.map(([k]) => el('td', { 'data-field': k }, cell(q, k))),
      el('td', { class: 'flags' }, q.flags.join('; '))));
  }
  table.appendChild(body);
  box.replaceChildren(table);
  const took = document.getElementById('took');
  if (took) took.textContent = data.queues.length + ' queues read in ' + data.took_ms.toFixed(1) + ' ms';
}

function buildQueuePage() {
  view.appendChild(el('h2', {}, 'Queue ', el('span', { id: 'qname' }, route.queue), ' (' + route.dialect + ')'));
  view.appendChild(el('div', { class: 'cards', id: 'cards' }));
  const actions = el('div', { class: 'actions' });
  if (!READ_ONLY) {
    actions.appendChild(el('button', { id: 'migrate', onclick: () => {
      if (confirm('Move due delayed jobs and expired reservations of ' + route.queue + ' to the ready list now?')) {
        report(act({ action: 'migrate', queue: route.queue, dialect: route.dialect }), 'migrate');
      }
    } }, 'Migrate now'));
    actions.appendChild(el('button', { id: 'purge', class: 'danger', onclick: () => {
      if (confirm('Delete every ready, delayed and reserved job of ' + route.queue + '? This cannot be undone.')) {
        report(act({ action: 'purge', queue: route.queue, dialect: route.dialect }), 'purge');
      }
    } }, 'Purge queue'));
  }
  view.appendChild(actions);
  view.appendChild(el('p', { id: 'note' }));
  view.appendChild(el('div', { class: 'charts', id: 'charts' }));
  view.appendChild(el('h3', {}, 'Jobs by name (chart window)'));
  view.appendChild(el('div', { id: 'jobnames' }));
  const tabs = el('div', { class: 'tabs' });
  for (const t of ['ready', 'delayed', 'reserved', 'dead']) {
    tabs.appendChild(el('button', { id: 'tab-' + t, class: t === state.tab ? 'active' : '', onclick: () => {
      state.tab = t;
      for (const b of tabs.children) b.className = b.id === 'tab-' + t ? 'active' : '';
    } }, t));
  }
  view.appendChild(el('h3', {}, 'Jobs'));
  view.appendChild(tabs);
  if (!READ_ONLY) {
    const name = el('input', { id: 'filter-job', placeholder: 'job name (empty: any)' });
    const after = el('input', { id: 'filter-after', placeholder: 'pushed after (unix s)' });
    view.appendChild(el('div', { class: 'filter' }, 'Retry dead jobs by filter: ', name, after,
      el('button', { id: 'filter-retry', onclick: async () => {
        const body = { action: 'retry_dead_filter', queue: route.queue, dialect: route.dialect, job_name: name.value, dry_run: true };
        if (after.value) body.pushed_after = parseInt(after.value, 10);
        try {
          const dry = await act(body);
          if (dry.matched === 0) { note('no dead job matches'); return; }
          if (!confirm('Retry ' + dry.matched + ' dead job(s)?')) return;
          body.dry_run = false;
          report(act(body), 'retry by filter');
        } catch (e) { note('retry by filter failed: ' + e.message, true); }
      } }, 'Count, then retry')));
  }
  view.appendChild(el('div', { id: 'jobs' }));
  view.appendChild(el('h3', {}, 'Workers'));
  view.appendChild(el('div', { id: 'qworkers' }));
}

function renderQueue(data) {
  const q = data.queues.find((x) => x.queue === route.queue && x.dialect === route.dialect);
  const cards = document.getElementById('cards');
  if (cards && q) {
    cards.replaceChildren(...COLUMNS.map(([k, t]) => el('div', { class: 'card', 'data-field': k }, el('b', {}, cell(q, k)), t)));
  }
  const focus = data.focus || {};
  const jobs = document.getElementById('jobs');
  if (jobs) jobs.replaceChildren(jobTable(focus[state.tab] || [], state.tab));
  const w = document.getElementById('qworkers');
  if (w) w.replaceChildren(workerTable(focus.workers || [], data.now));
}

function jobTable(items, which) {
  const head = el('tr', {}, el('th', {}, 'Job'), el('th', {}, 'Attempts'), el('th', {}, which === 'delayed' ? 'Due' : which === 'reserved' ? 'Expires' : ''), el('th', {}, 'Payload'), el('th', {}, ''));
  const body = el('tbody');
  for (const j of items) {
    const buttons = el('td');
    if (which === 'dead' && !READ_ONLY) {
      buttons.appendChild(el('button', { class: 'retry', onclick: () => {
        if (confirm('Retry this dead job (' + (j.name || 'unreadable') + ')?')) {
          report(act({ action: 'retry_dead', queue: route.queue, dialect: route.dialect, member: j.member }), 'retry');
        }
      } }, 'Retry'));
      buttons.appendChild(el('button', { class: 'delete danger', onclick: () => {
        if (confirm('Delete this dead job (' + (j.name || 'unreadable') + ')? This cannot be undone.')) {
          report(act({ action: 'delete_dead', queue: route.queue, dialect: route.dialect, member: j.member }), 'delete');
        }
      } }, 'Delete'));
    }
    body.appendChild(el('tr', { class: 'job', 'data-id': j.id || '' },
      el('td', {}, j.name || '(unreadable)'), el('td', {}, j.attempts === null ? '–' : String(j.attempts)),
      el('td', {}, j.score === null ? '' : new Date(j.score * 1000).toLocaleString()),
      el('td', {}, el('pre', { class: 'payload' }, pretty(j.payload))), buttons));
  }
  return el('table', { id: 'joblist', 'data-state': which }, el('thead', {}, head), body);
}

function workerTable(workers, now) {
  const body = el('tbody');
  for (const w of workers) {
    const running = w.job ? w.job + ' for ' + age(now - w.since) : 'idle';
    const over = w.job && w.retry_after !== null && now - w.since > w.retry_after;
    body.appendChild(el('tr', { class: 'worker' + (over ? ' error' : '') },
      el('td', {}, w.id), el('td', {}, w.host), el('td', {}, String(w.pid)), el('td', {}, w.queues.join(', ')),
      el('td', {}, age(now - w.started)), el('td', {}, String(w.done)),
      el('td', {}, running + (over ? ' (past retry_after)' : ''))));
  }
  return el('table', { class: 'workers' }, el('thead', {}, el('tr', {}, el('th', {}, 'Worker'), el('th', {}, 'Host'), el('th', {}, 'PID'),
    el('th', {}, 'Queues'), el('th', {}, 'Up'), el('th', {}, 'Done'), el('th', {}, 'Now'))), body);
}

async function renderWorkers() {
  const box = document.getElementById('workers');
  if (!box) return;
  try {
    const all = await api('/api/workers');
    box.replaceChildren(workerTable(all, Math.floor(Date.now() / 1000)));
  } catch (e) { box.textContent = e.message; }
}

function chart(title, points, series) {
  const w = 600, h = 140, pad = 30;
  const max = Math.max(1e-9, ...points.flatMap((p) => series.map(([k]) => p[k] || 0)));
  const x = (i) => pad + (i * (w - pad - 5)) / Math.max(1, points.length - 1);
  const y = (v) => h - 15 - ((v || 0) / max) * (h - 25);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  const axis = document.createElementNS(ns, 'text');
  axis.setAttribute('x', 2); axis.setAttribute('y', 12); axis.setAttribute('font-size', 10);
  axis.textContent = series[0][2] ? secs(max) : String(Math.round(max));
  svg.appendChild(axis);
  for (const [k, color] of series) {
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', color); line.setAttribute('stroke-width', 1.5);
    line.setAttribute('points', points.map((p, i) => x(i) + ',' + y(p[k])).join(' '));
    svg.appendChild(line);
  }
  const legend = el('div', { class: 'legend' }, ...series.map(([k, c]) => {
    const s = el('span', {}, k);
    s.style.color = c; // CSSOM, which the page's CSP allows (style attributes it does not)
    return s;
  }));
  return el('div', { class: 'chart' }, el('h3', {}, title), svg, legend);
}

async function loadCharts() {
  if (!route || route.page !== 'queue') return;
  try {
    const d = await api('/api/queue?queue=' + encodeURIComponent(route.queue) + '&dialect=' + encodeURIComponent(route.dialect) + '&minutes=180');
    const charts = document.getElementById('charts');
    if (charts) {
      charts.replaceChildren(
        chart('Throughput per minute (last 3 h)', d.points, [['processed', '#2e7d32'], ['failed', '#b3261e'], ['released', '#ef6c00']]),
        chart('Run time', d.points, [['run_p50', '#1565c0', true], ['run_p95', '#6a1b9a', true], ['run_p99', '#b3261e', true]]),
        chart('Wait time', d.points, [['wait_p50', '#1565c0', true], ['wait_p95', '#6a1b9a', true], ['wait_p99', '#b3261e', true]]));
    }
    const names = document.getElementById('jobnames');
    if (names) {
      const body = el('tbody');
      for (const j of d.jobs) {
        body.appendChild(el('tr', {}, el('td', {}, j.job), el('td', {}, String(j.processed)), el('td', {}, String(j.failed)),
          el('td', {}, String(j.released)), el('td', {}, String(j.buried)), el('td', {}, secs(j.run_p50)), el('td', {}, secs(j.run_p95)),
          el('td', {}, secs(j.run_p99)), el('td', {}, secs(j.wait_p50)), el('td', {}, secs(j.wait_p95))));
      }
      names.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, ...['Job', 'Processed', 'Failed', 'Released', 'Buried', 'Run p50', 'Run p95', 'Run p99', 'Wait p50', 'Wait p95'].map((t) => el('th', {}, t)))), body));
    }
  } catch (e) { note('charts: ' + e.message, true); }
}

window.addEventListener('hashchange', navigate);
navigate();
