// Usage: calls per day (a chart drawn here), by status class, and the request log.

import {get, viaPlayground} from './api.js';
import {field, formatDate, h, methodBadge, mount, statusKind, svg} from './ui.js';
import {keyPicker, loadKeys} from './keys.js';

const CLASSES = ['2xx', '3xx', '4xx', '5xx'];

export async function usagePage(container) {
  const [days, byStatus, keys] = await Promise.all([
    get('/api/developer/usage?group_by=day'),
    get('/api/developer/usage?group_by=status'),
    loadKeys(),
  ]);
  const perClass = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const point of byStatus.series) perClass[point.status_class] = (perClass[point.status_class] || 0) + point.count;
  const errors = (perClass['4xx'] || 0) + (perClass['5xx'] || 0);
  const successRate = days.total ? Math.round(((perClass['2xx'] || 0) / days.total) * 1000) / 10 : 100;

  const logBox = h('div', {id: 'request-log'});
  const picker = keyPicker(keys, {scopes: ['analytics:read'], id: 'log-key'});
  const status = h('input', {type: 'number', min: 100, max: 599, placeholder: 'any', id: 'log-status'});
  const routeFilter = h('input', {type: 'text', placeholder: '/v1/links/{id}', id: 'log-route'});
  const load = () => loadLog(logBox, picker.value, {status: status.value, route: routeFilter.value.trim()});
  for (const control of [picker, status, routeFilter]) control.addEventListener('change', load);

  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Usage'),
      h('p', {}, `Calls to /v1 from ${days.from} to ${days.to} (UTC), every key of the organisation.`))),
    h('div', {class: 'stats'},
      stat(days.total.toLocaleString(), 'calls in 30 days', 'usage-total'),
      stat(days.quota_remaining.toLocaleString(), 'left in this month’s quota'),
      stat(`${successRate}%`, 'answered 2xx'),
      stat(errors.toLocaleString(), 'refused or failed (4xx, 5xx)')),
    h('div', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Calls per day'), h('span', {class: 'spacer'}),
        h('div', {class: 'legend'}, CLASSES.map((c) => h('span', {}, h('span', {class: `swatch class-${c}`}), c)))),
      chart(days.series, byStatus.series)),
    h('div', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Request log')),
      h('p', {class: 'muted small'}, 'Read with one of your keys (it needs analytics:read); the server injects it.'),
      h('div', {class: 'grid-2'}, field('Key', picker), h('div', {class: 'row'}, field('Status', status), field('Route', routeFilter))),
      logBox));
  if (picker.value) await load();
  else mount(logBox, h('p', {class: 'muted'}, 'Create a key with analytics:read (or full_access) to read the request log here.'));
}

function stat(value, label, id) {
  return h('div', {class: 'stat', id}, h('div', {class: 'value'}, value), h('div', {class: 'label'}, label));
}

/** A stacked bar per day, by status class, with a y axis. */
function chart(days, byStatus) {
  const width = 960;
  const height = 240;
  const pad = {left: 44, right: 8, top: 12, bottom: 28};
  const max = Math.max(1, ...days.map((d) => d.count));
  const step = (width - pad.left - pad.right) / Math.max(1, days.length);
  const y = (value) => pad.top + (height - pad.top - pad.bottom) * (1 - value / max);
  const root = svg('svg', {class: 'chart', id: 'usage-chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Calls per day; ${days.reduce((n, d) => n + d.count, 0)} in all`, preserveAspectRatio: 'none'});
  for (const fraction of [0, 0.5, 1]) {
    const value = Math.round(max * fraction);
    root.append(svg('line', {class: 'axis', x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value)}),
      svg('text', {x: pad.left - 6, y: y(value) + 4, 'text-anchor': 'end'}, String(value)));
  }
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
    if (index % Math.ceil(days.length / 10) === 0 || index === days.length - 1) {
      root.append(svg('text', {x: x + barWidth / 2, y: height - 8, 'text-anchor': 'middle'}, day.date.slice(5)));
    }
  });
  return root;
}

async function loadLog(box, keyId, {status, route}) {
  if (!keyId) return;
  mount(box, h('p', {class: 'muted'}, 'Loading…'));
  const query = {limit: '50'};
  if (status) query.status = status;
  if (route) query.route = route;
  try {
    const page = await viaPlayground(keyId, 'GET', '/v1/requests', {query});
    const rows = page.data.map((e) => h('tr', {},
      h('td', {title: e.created_at}, formatDate(e.created_at)),
      h('td', {}, methodBadge(e.method)),
      h('td', {}, h('code', {}, e.path)),
      h('td', {}, h('span', {class: `badge ${statusKind(e.status)}`}, String(e.status))),
      h('td', {}, `${Math.round(e.latency_ms * 100) / 100} ms`),
      h('td', {}, h('code', {class: 'small'}, e.key_id || '—')),
      h('td', {}, h('code', {class: 'small'}, e.id))));
    mount(box, h('p', {class: 'muted small'}, `${page.total} request(s) match; the newest ${page.data.length} shown.`),
      h('div', {class: 'table-wrap'}, h('table', {},
        h('thead', {}, h('tr', {}, ['When', 'Method', 'Path', 'Status', 'Latency', 'Key', 'Request id'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 7}, 'No requests match.'))))));
  } catch (e) {
    mount(box, h('div', {class: 'notice bad'}, e.explain?.() || String(e)));
  }
}
