// The audit log: who changed what, filterable and paged; a row opens what it changed.

import {get, openapi} from './api.js';
import {dialog, field, formatDate, h, localInput, mount, shortTime} from './ui.js';
import {displayName, loadKeys, loadMembers} from './keys.js';

const PAGE = 25;

export async function auditPage(container, {query}) {
  const params = new URLSearchParams(query);
  const offset = Number(params.get('offset') || 0);
  const search = new URLSearchParams();
  for (const name of ['action', 'actor_id', 'resource_id', 'from', 'to']) if (params.get(name)) search.set(name, params.get(name));
  const [doc, page, members, keys] = await Promise.all([
    openapi(),
    get(`/api/developer/audit-log?limit=${PAGE}&offset=${offset}&${search}`),
    loadMembers(),
    loadKeys(true).catch(() => []),
  ]);
  const actions = doc.components.schemas.AuditAction.enum;
  const go = (changes) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) if (v) next.set(k, v); else next.delete(k);
    location.hash = `#/audit?${next}`;
  };

  const local = (iso) => (iso ? localInput(new Date(iso)) : '');
  const action = h('select', {id: 'audit-action', name: 'action'}, h('option', {value: ''}, 'Any action'),
    actions.map((a) => h('option', {value: a, selected: a === params.get('action')}, a)));
  const actor = h('select', {id: 'audit-actor', name: 'actor_id'}, h('option', {value: ''}, 'Anyone'),
    members.map((m) => h('option', {value: m.user_id, selected: m.user_id === params.get('actor_id')}, m.email)),
    keys.map((k) => h('option', {value: k.id, selected: k.id === params.get('actor_id')}, `key ${k.name}`)));
  const resource = h('input', {type: 'text', id: 'audit-resource', name: 'resource_id', value: params.get('resource_id') || '',
    placeholder: 'key_…, usr_…, whk_…', autocomplete: 'off', spellcheck: 'false'});
  const from = h('input', {type: 'datetime-local', id: 'audit-from', value: local(params.get('from'))});
  const to = h('input', {type: 'datetime-local', id: 'audit-to', value: local(params.get('to'))});
  const form = h('form', {class: 'filters audit-filters', role: 'search', 'aria-label': 'Filter the audit log'},
    field('Action', action), field('Actor', actor), field('Resource id', resource), field('From', from), field('Until', to),
    h('div', {class: 'field'}, h('button', {class: 'button', type: 'submit', id: 'audit-filter'}, 'Filter'),
      h('a', {class: 'button secondary', href: '#/audit'}, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go({action: action.value, actor_id: actor.value, resource_id: resource.value.trim(),
      from: from.value ? new Date(from.value).toISOString() : '', to: to.value ? new Date(to.value).toISOString() : '', offset: ''});
  });

  const labels = ['When', 'Action', 'Actor', 'Resource', 'Source', 'Address', ''];
  const cell = (i, ...content) => h('td', {dataset: {label: labels[i]}}, ...content);
  const rows = page.data.map((entry) => h('tr', {dataset: {entryId: entry.id}},
    cell(0, h('span', {title: entry.created_at, class: 'nowrap'}, shortTime(entry.created_at))),
    cell(1, h('code', {}, entry.action)),
    cell(2, entry.actor.type === 'system' ? 'Portico' : displayName(entry.actor.id, members, keys)),
    cell(3, h('span', {class: 'muted small'}, entry.resource.type, ' '), h('code', {class: 'small'}, entry.resource.id)),
    cell(4, entry.source),
    cell(5, entry.ip || '—'),
    cell(6, h('button', {class: 'button secondary small', type: 'button', dataset: {details: entry.id}, 'aria-label': `Details of ${entry.action} at ${shortTime(entry.created_at)}`,
      onclick: () => details(entry, members, keys)}, 'Details'))));

  const newer = offset > 0;
  const older = offset + PAGE < page.total;
  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Audit log'),
      h('p', {}, 'Every change to keys, members, invitations, domains, webhooks and settings, and every sign-in: who, from where, and what changed. ',
        'Export it for a SIEM with ', h('code', {}, 'Accept: application/x-ndjson'), ' (', h('a', {href: '/docs/guides/teams.md'}, 'how'), ').'))),
    h('section', {class: 'card'}, form),
    h('section', {class: 'card', 'aria-labelledby': 'audit-title'},
      h('h2', {id: 'audit-title'}, `${page.total.toLocaleString()} ${page.total === 1 ? 'entry' : 'entries'}`),
      h('div', {class: 'table-wrap'}, h('table', {class: 'responsive', id: 'audit-table'},
        h('thead', {}, h('tr', {}, labels.map((t, i) => h('th', {scope: 'col', class: i === 6 ? 'visually-hidden-text' : null}, t || 'Details')))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 7}, 'Nothing matches.'))))),
      h('div', {class: 'pager'},
        h('button', {class: 'button secondary small', type: 'button', disabled: !newer, onclick: () => go({offset: String(Math.max(0, offset - PAGE))})}, '← Newer'),
        h('span', {class: 'muted small'}, page.total ? `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}` : ''),
        h('button', {class: 'button secondary small', type: 'button', disabled: !older, onclick: () => go({offset: String(offset + PAGE)})}, 'Older →'))));
}

const show = (value) => (value === null || value === undefined ? h('span', {class: 'muted'}, '—') : h('code', {}, typeof value === 'string' ? value : JSON.stringify(value)));

/** One entry: its diff and where it came from. */
function details(entry, members, keys) {
  const changes = Object.entries(entry.changes || {});
  return dialog((close) => h('div', {class: 'dialog-body'},
    h('h2', {}, h('code', {}, entry.action)),
    h('dl', {class: 'facts'},
      h('dt', {}, 'When'), h('dd', {}, formatDate(entry.created_at)),
      h('dt', {}, 'Actor'), h('dd', {}, entry.actor.type === 'system' ? 'Portico' : displayName(entry.actor.id, members, keys), ` (${entry.actor.type})`),
      h('dt', {}, 'Source'), h('dd', {}, entry.source),
      h('dt', {}, 'Resource'), h('dd', {}, `${entry.resource.type} `, h('code', {}, entry.resource.id)),
      h('dt', {}, 'Address'), h('dd', {}, entry.ip || '—'),
      h('dt', {}, 'User agent'), h('dd', {}, entry.user_agent || '—'),
      h('dt', {}, 'Request'), h('dd', {}, entry.request_id ? h('code', {}, entry.request_id) : '—')),
    h('h3', {}, 'What changed'),
    changes.length ? h('div', {class: 'table-wrap'}, h('table', {id: 'audit-diff'},
      h('thead', {}, h('tr', {}, ['Field', 'Before', 'After'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, changes.map(([name, [before, after]]) => h('tr', {}, h('td', {}, h('code', {}, name)), h('td', {class: 'before'}, show(before)), h('td', {class: 'after'}, show(after)))))))
      : h('p', {class: 'muted'}, 'No field changed.'),
    h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', onclick: () => close()}, 'Close'))));
}
