// Usage: calls per day (a chart drawn here), by status class, and the request log — paged,
// filtered by key, status, route and time, each request's details a click away.

import {get} from './api.js';
import {dialog, failure, field, formatDate, h, methodBadge, mount, shortTime, statusKind, svg} from './ui.js';
import {loadKeys} from './keys.js';

export const CLASSES = ['2xx', '3xx', '4xx', '5xx'];
const PAGE = 25;

export async function usagePage(container, {query}) {
  const [days, byStatus, keys] = await Promise.all([
    get('/api/developer/usage?group_by=day'),
    get('/api/developer/usage?group_by=status'),
    loadKeys(true),
  ]);
  const perClass = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const point of byStatus.series) perClass[point.status_class] = (perClass[point.status_class] || 0) + point.count;
  const errors = (perClass['4xx'] || 0) + (perClass['5xx'] || 0);
  const successRate = days.total ? Math.round(((perClass['2xx'] || 0) / days.total) * 1000) / 10 : 100;

  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Usage'),
      h('p', {}, `Calls to /v1 from ${days.from} to ${days.to} (UTC), every key of the organisation.`))),
    h('div', {class: 'stats'},
      stat(days.total.toLocaleString(), 'calls in 30 days', 'usage-total'),
      stat(days.quota_remaining.toLocaleString(), 'left in this month’s quota'),
      stat(`${successRate}%`, 'answered 2xx'),
      stat(errors.toLocaleString(), 'refused or failed (4xx, 5xx)')),
    h('section', {class: 'card', 'aria-labelledby': 'per-day'},
      h('div', {class: 'card-head'}, h('h2', {id: 'per-day'}, 'Calls per day'), h('span', {class: 'spacer'}),
        h('div', {class: 'legend'}, CLASSES.map((c) => h('span', {}, h('span', {class: `swatch class-${c}`}), c)))),
      chart(days.series, byStatus.series, 'usage-chart')),
    requestLog(keys, query));
}

function stat(value, label, id) {
  return h('div', {class: 'stat', id}, h('div', {class: 'value'}, value), h('div', {class: 'label'}, label));
}

/**
 * The chart's width in CSS pixels, so that its text keeps its size: the page's, or half of
 * it (`column`) where the page is wide enough for two columns.
 */
function chartWidth(column) {
  const main = document.getElementById('main');
  const inner = (main?.clientWidth || 960) - 48;
  const width = column && inner > 860 ? inner / 2 - 52 : inner;
  return Math.round(Math.max(280, Math.min(1100, width)));
}

/** A stacked bar per day, by status class, with a y axis, drawn at the width it is shown. */
export function chart(days, byStatus, id, {column = false} = {}) {
  const width = chartWidth(column);
  const height = width < 600 ? 200 : 240;
  const pad = {left: 44, right: 8, top: 12, bottom: 28};
  const max = Math.max(1, ...days.map((d) => d.count));
  const step = (width - pad.left - pad.right) / Math.max(1, days.length);
  const y = (value) => pad.top + (height - pad.top - pad.bottom) * (1 - value / max);
  const total = days.reduce((n, d) => n + d.count, 0);
  const root = svg('svg', {class: 'chart', id, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `Calls per day from ${days[0]?.date} to ${days[days.length - 1]?.date}: ${total} in all`});
  for (const fraction of [0, 0.5, 1]) {
    const value = Math.round(max * fraction);
    root.append(svg('line', {class: 'axis', x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value)}),
      svg('text', {x: pad.left - 6, y: y(value) + 4, 'text-anchor': 'end'}, String(value)));
  }
  // A date label every ~70 px.
  const every = Math.max(1, Math.ceil(days.length / Math.floor((width - pad.left) / 70)));
  days.forEach((day, index) => {
    const x = pad.left + index * step + step * 0.15;
    const barWidth = Math.max(1, step * 0.7);
    let base = 0;
    for (const cls of CLASSES) {
      const count = byStatus.find((p) => p.date === day.date && p.status_class === cls)?.count || 0;
      if (!count) continue;
      const rect = svg('rect', {class: `bar class-${cls}`, x, width: barWidth, y: y(base + count), height: y(base) - y(base + count)},
        svg('title', {}, `${day.date}: ${count} × ${cls}`));
      rect.dataset.date = day.date;
      root.append(rect);
      base += count;
    }
    if (index % every === 0) {
      root.append(svg('text', {x: x + barWidth / 2, y: height - 8, 'text-anchor': 'middle'}, day.date.slice(5)));
    }
  });
  return h('div', {class: 'chart-wrap'}, root);
}

/** A key's name for a log row (the id when the key is gone or was never valid). */
function keyName(keys, id) {
  if (!id) return h('span', {class: 'muted'}, 'no valid key');
  const key = keys.find((k) => k.id === id);
  return key ? h('a', {href: `#/keys/${id}`}, key.name) : h('code', {class: 'small'}, id);
}

const LOG_LABELS = ['When', 'Method', 'Path', 'Status', 'Latency', 'Key', 'Request id'];

/** Rows of the request log; a row's request id opens its details. */
export function logTable(entries, keys) {
  const cell = (index, ...content) => h('td', {dataset: {label: LOG_LABELS[index]}}, ...content);
  const rows = entries.map((e) => h('tr', {},
    cell(0, h('time', {datetime: e.created_at, title: formatDate(e.created_at), class: 'nowrap'}, shortTime(e.created_at))),
    cell(1, methodBadge(e.method)),
    cell(2, h('code', {class: 'path-cell'}, e.path)),
    cell(3, h('span', {class: `badge ${statusKind(e.status)}`}, String(e.status))),
    cell(4, h('span', {class: 'nowrap'}, `${Math.round(e.latency_ms * 100) / 100} ms`)),
    cell(5, keyName(keys, e.key_id)),
    cell(6, h('button', {class: 'link-button', type: 'button', dataset: {requestId: e.id}, 'aria-label': `Details of ${e.id}`,
      onclick: () => requestDetails(e, keys)}, h('code', {class: 'small'}, e.id)))));
  return h('div', {class: 'table-wrap'}, h('table', {class: 'responsive log'},
    h('thead', {}, h('tr', {}, LOG_LABELS.map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 7}, 'No requests match.')))));
}

/** One request's details, with "Replay in playground". */
function requestDetails(entry, keys) {
  return dialog((close) => h('div', {class: 'dialog-body'},
    h('h2', {}, `${entry.method} ${entry.path}`),
    h('dl', {class: 'facts'},
      [['Request id', h('code', {}, entry.id)], ['When', formatDate(entry.created_at)],
        ['Status', h('span', {class: `badge ${statusKind(entry.status)}`}, String(entry.status))],
        ['Route', h('code', {}, entry.route)], ['Latency', `${entry.latency_ms} ms`], ['Key', keyName(keys, entry.key_id)],
        ['From', entry.ip], ['Idempotency-Key', entry.idempotency_key ? h('code', {}, entry.idempotency_key) : '—']]
        .flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)])),
    h('p', {class: 'muted small'}, 'The log keeps the method, path and answer, not bodies: a replay sends the same path; fill in a body if the call needs one.'),
    h('div', {class: 'dialog-actions'},
      h('button', {class: 'button secondary', type: 'button', onclick: () => close()}, 'Close'),
      h('button', {class: 'button', type: 'button', id: 'replay-in-playground', onclick: () => {
        sessionStorage.setItem('portico.playground.prefill', JSON.stringify(
          {operation: `${entry.method} ${entry.route}`, path: entry.path, keyId: entry.key_id}));
        close();
        location.hash = '#/playground';
      }}, 'Replay in playground'))));
}

/** The request log card: filters, a page of rows, Newer / Older. */
function requestLog(keys, query) {
  const box = h('div', {id: 'request-log'});
  const keySelect = h('select', {id: 'log-key', name: 'key_id'},
    h('option', {value: ''}, 'Any key'), keys.map((k) => h('option', {value: k.id}, `${k.name} (${k.prefix}…)`)));
  keySelect.value = query?.get('key_id') || '';
  const status = h('input', {type: 'number', min: 100, max: 599, placeholder: 'any', id: 'log-status', inputmode: 'numeric'});
  const route = h('input', {type: 'text', placeholder: '/v1/links/{id}', id: 'log-route'});
  const from = h('input', {type: 'datetime-local', id: 'log-from'});
  const to = h('input', {type: 'datetime-local', id: 'log-to'});
  let offset = 0;
  const load = async () => {
    const params = new URLSearchParams({limit: String(PAGE), offset: String(offset)});
    if (keySelect.value) params.set('key_id', keySelect.value);
    if (status.value) params.set('status', status.value);
    if (route.value.trim()) params.set('route', route.value.trim());
    if (from.value) params.set('from', new Date(from.value).toISOString());
    if (to.value) params.set('to', new Date(to.value).toISOString());
    mount(box, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await get(`/api/developer/requests?${params}`);
      const last = Math.min(offset + page.data.length, page.total);
      mount(box,
        logTable(page.data, keys),
        h('div', {class: 'pager'},
          h('span', {class: 'muted small', id: 'log-count', 'aria-live': 'polite'},
            page.total ? `${offset + 1}–${last} of ${page.total.toLocaleString()}` : 'No requests match.'),
          h('span', {class: 'spacer'}),
          h('button', {class: 'button secondary small', type: 'button', id: 'log-newer', disabled: offset === 0,
            onclick: () => { offset = Math.max(0, offset - PAGE); load(); }}, '← Newer'),
          h('button', {class: 'button secondary small', type: 'button', id: 'log-older', disabled: last >= page.total,
            onclick: () => { offset += PAGE; load(); }}, 'Older →')));
    } catch (e) {
      mount(box, failure(e, load));
    }
  };
  for (const control of [keySelect, status, route, from, to]) control.addEventListener('change', () => { offset = 0; load(); });
  load();
  return h('section', {class: 'card', 'aria-labelledby': 'log-title'},
    h('div', {class: 'card-head'}, h('h2', {id: 'log-title'}, 'Request log')),
    h('p', {class: 'muted small'}, 'Every /v1 request, refused ones included, newest first. Open a request id for its details.'),
    h('div', {class: 'filters'}, field('Key', keySelect), field('Status', status), field('Route', route),
      field('From', from), field('Until', to)),
    box);
}
