// API keys: the table, a page per key, create (shown once), edit, rotate, revoke.

import {get, openapi, request} from './api.js';
import {confirm, copyButton, dialog, explain, field, formatDate, h, localInput, mount, relative, toast} from './ui.js';
import {chart, logTable, CLASSES} from './usage.js';
import {can} from './roles.js';

/** The organisation's keys, newest first (revoked ones included when asked). */
export async function loadKeys(includeInactive = false) {
  const page = await get(`/api/developer/apikeys?limit=100${includeInactive ? '&include_inactive=true' : ''}`);
  return page.data;
}

/**
 * A <select> of keys: the active ones, and — with `inactive` — revoked, expired and blocked
 * ones after them (the playground shows what calling with those answers).
 */
export function keyPicker(keys, {id, inactive = false} = {}) {
  const active = (k) => k.status === 'active' && !k.blocked;
  const usable = keys.filter((k) => inactive || active(k)).sort((a, b) => Number(active(b)) - Number(active(a)));
  const select = h('select', {id, name: 'api_key_id', 'aria-label': 'Stored key'},
    usable.map((k) => h('option', {value: k.id},
      `${k.name} (${k.prefix}…) — ${active(k) ? k.scopes.join(', ') : (k.blocked ? 'blocked' : k.status)}`)));
  if (!usable.length) select.append(h('option', {value: ''}, 'No usable key: create one on the API keys page'));
  return select;
}

const STATUS_KIND = {active: 'ok', revoked: 'bad', expired: 'neutral'};

/** What a rotated key's old secret is doing: `null`, or a line saying until when it works. */
export function rotationState(key) {
  // A revoked or expired key refuses every secret, the old one included.
  if (key.status !== 'active' || !key.rotated_from || !key.previous_secret_expires_at) return null;
  const until = new Date(key.previous_secret_expires_at);
  return until > new Date()
    ? {live: true, text: `Old secret ${key.rotated_from}… still works until ${formatDate(until)}`}
    : {live: false, text: `Old secret ${key.rotated_from}… stopped working ${formatDate(until)}`};
}

/** The key's status badge (and the rotation grace, when its old secret still works). */
function statusCell(key) {
  const rotation = rotationState(key);
  return [
    h('span', {class: `badge ${key.blocked ? 'warn' : STATUS_KIND[key.status] || 'neutral'}`}, key.blocked ? 'blocked' : key.status),
    rotation?.live ? h('div', {class: 'small rotation', title: rotation.text}, `old secret until ${formatDate(key.previous_secret_expires_at)}`) : null,
  ];
}

/** Edit, Rotate and Revoke for a key; `done` runs after any of them changed it. */
function keyActions(key, domains, done) {
  const inactive = key.status !== 'active';
  return h('div', {class: 'actions'},
    h('button', {class: 'button secondary small', type: 'button', disabled: inactive, dataset: {needs: 'developer'}, 'aria-label': `Edit ${key.name}`, onclick: () => editKey(key, domains).then((c) => c && done())}, 'Edit'),
    h('button', {class: 'button secondary small', type: 'button', disabled: inactive, dataset: {needs: 'developer'}, 'aria-label': `Rotate ${key.name}`, onclick: () => rotateKey(key).then((c) => c && done())}, 'Rotate'),
    h('button', {class: 'button danger-outline small', type: 'button', disabled: inactive, dataset: {needs: 'developer'}, 'aria-label': `Revoke ${key.name}`, onclick: () => revokeKey(key).then((c) => c && done())}, 'Revoke'));
}

const loadDomains = () => get('/api/developer/domains?limit=100').then((p) => p.data).catch(() => []);

export async function keysPage(container, {query, me} = {}) {
  const tag = query?.get('tag') || '';
  const [all, doc, domains] = await Promise.all([loadKeys(true), openapi(), loadDomains()]);
  const keys = tag ? all.filter((k) => (k.tags || []).includes(tag)) : all;
  const tags = [...new Set(all.flatMap((k) => k.tags || []))].sort();
  const scopes = doc.components.schemas.Scope.enum;
  const refresh = () => keysPage(container, {query, me});
  const labels = ['Name', 'Prefix', 'Scopes', 'Domain scope', 'Created', 'Last used', 'Expires', 'Status', 'Actions'];
  const cell = (index, ...content) => h('td', {dataset: {label: labels[index]}}, ...content);

  const rows = keys.map((key) => h('tr', {dataset: {keyId: key.id}},
    cell(0, h('a', {href: `#/keys/${key.id}`, class: 'key-link'}, h('strong', {}, key.name)),
      (key.tags || []).length ? h('div', {class: 'tags'}, key.tags.map((t) => h('a', {class: 'chip tag', href: `#/keys?tag=${encodeURIComponent(t)}`}, t))) : null),
    cell(1, h('code', {}, `${key.prefix}…`)),
    cell(2, key.scopes.map((s) => h('span', {class: 'chip'}, s))),
    cell(3, key.domains.length ? key.domains.map((d) => h('span', {class: 'chip'}, d)) : h('span', {class: 'muted'}, 'All domains')),
    cell(4, h('span', {title: key.created_at}, formatDate(key.created_at))),
    cell(5, h('span', {title: key.last_used_at || ''}, relative(key.last_used_at))),
    cell(6, key.expires_at ? formatDate(key.expires_at) : h('span', {class: 'muted'}, 'Never')),
    cell(7, statusCell(key)),
    cell(8, keyActions(key, domains, refresh))));

  mount(container,
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, 'API keys'), h('p', {}, 'Keys call the /v1 API. Each is shown once, when created or rotated; Portico keeps only a hash and a sealed copy for the playground.')),
      h('button', {class: 'button', type: 'button', id: 'create-key', dataset: {needs: 'developer'}, onclick: () => createKey(scopes, domains, me).then((c) => c && refresh())}, '+ Create key')),
    tags.length ? h('div', {class: 'row tag-filter', role: 'group', 'aria-label': 'Filter by tag'}, h('span', {class: 'muted small'}, 'Tags:'),
      h('a', {class: `chip ${tag ? '' : 'active'}`, href: '#/keys', 'aria-current': tag ? null : 'true'}, 'All'),
      tags.map((t) => h('a', {class: `chip tag ${t === tag ? 'active' : ''}`, href: `#/keys?tag=${encodeURIComponent(t)}`, 'aria-current': t === tag ? 'true' : null}, t))) : null,
    h('div', {class: 'card'}, h('div', {class: 'table-wrap'}, h('table', {id: 'keys-table', class: 'responsive'},
      h('caption', {class: 'visually-hidden'}, 'The organisation’s API keys'),
      h('thead', {}, h('tr', {}, labels.map((t, i) => h('th', {scope: 'col', class: i === 8 ? 'visually-hidden-text' : null}, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 9}, 'No keys yet. Create one to call the API.')))))));
}

/** A key's own page: its settings, rotation state, usage and recent requests. */
export async function keyPage(container, {id}) {
  const [key, domains, members] = await Promise.all([get(`/api/developer/apikeys/${encodeURIComponent(id)}`), loadDomains(), loadMembers()]);
  const who = (actor) => displayName(actor, members);
  const [days, byStatus, recent] = await Promise.all([
    get(`/api/developer/usage?group_by=day&key_id=${key.id}`),
    get(`/api/developer/usage?group_by=status&key_id=${key.id}`),
    get(`/api/developer/requests?key_id=${key.id}&limit=10`),
  ]);
  const refresh = () => keyPage(container, {id});
  const rotation = rotationState(key);
  const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
  mount(container,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '#/keys'}, 'API keys'), ' / ', key.name),
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, key.name), h('p', {}, h('code', {}, `${key.prefix}…`), ' · ', statusCell(key))),
      keyActions(key, domains, refresh)),
    rotation ? h('div', {class: `notice ${rotation.live ? 'warn' : ''}`, id: 'rotation-state', role: 'status'}, rotation.text,
      rotation.live ? '. Deploy the new secret before then.' : '.') : null,
    h('div', {class: 'grid-2'},
      h('section', {class: 'card', 'aria-labelledby': 'key-settings'}, h('h2', {id: 'key-settings'}, 'Settings'),
        h('dl', {class: 'facts'},
          row('Scopes', key.scopes.map((s) => h('span', {class: 'chip'}, s))),
          row('Domain scope', key.domains.length ? key.domains.map((d) => h('span', {class: 'chip'}, d)) : 'All domains'),
          row('IP allowlist', key.allowed_ips.length ? key.allowed_ips.map((ip) => h('code', {class: 'chip'}, ip)) : 'Any address'),
          row('Rate limit', key.rate_limit_rpm ? `${key.rate_limit_rpm} requests per minute` : 'The deployment default'),
          row('Expires', key.expires_at ? formatDate(key.expires_at) : 'Never'),
          row('Tags', (key.tags || []).length ? key.tags.map((t) => h('a', {class: 'chip tag', href: `#/keys?tag=${encodeURIComponent(t)}`}, t)) : 'None'),
          row('Created', formatDate(key.created_at), ' by ', who(key.created_by)),
          key.updated_by ? row('Last changed by', who(key.updated_by), ` (${formatDate(key.updated_at)})`) : null,
          key.revoked_by ? row('Revoked by', who(key.revoked_by)) : null,
          row('Last used', relative(key.last_used_at), key.last_used_ip ? ` from ${key.last_used_ip}` : ''),
          row('Rotated', key.rotated_at ? `${formatDate(key.rotated_at)} (replacing ${key.rotated_from}…)` : 'Never'),
          key.blocked ? row('Blocked', key.blocked_reason || 'No reason given') : null)),
      h('section', {class: 'card', 'aria-labelledby': 'key-usage'},
        h('div', {class: 'card-head'}, h('h2', {id: 'key-usage'}, 'Calls per day'), h('span', {class: 'spacer'}),
          h('div', {class: 'legend'}, CLASSES.map((c) => h('span', {}, h('span', {class: `swatch class-${c}`}), c)))),
        h('p', {class: 'muted small'}, `${days.total.toLocaleString()} calls from ${days.from} to ${days.to}.`),
        chart(days.series, byStatus.series, 'key-chart', {column: true}))),
    h('section', {class: 'card', 'aria-labelledby': 'key-requests'},
      h('div', {class: 'card-head'}, h('h2', {id: 'key-requests'}, 'Recent requests'), h('span', {class: 'spacer'}),
        h('a', {href: `#/usage?key_id=${key.id}`}, 'All of this key’s requests')),
      logTable(recent.data, [key])));
}

/** The organisation's members, for showing who did what (empty when they cannot be read). */
export const loadMembers = () => get('/api/developer/members?limit=100').then((p) => p.data).catch(() => []);

/** A user id (or key id) as people read it: the member's email, else the id. */
export function displayName(id, members, keys = []) {
  if (!id) return '—';
  const member = members.find((m) => m.user_id === id);
  if (member) return h('span', {title: id}, member.email);
  const key = keys.find((k) => k.id === id);
  if (key) return h('a', {href: `#/keys/${key.id}`, title: id}, `key ${key.name}`);
  return h('code', {}, id.startsWith('key_') ? `key ${id}` : id);
}

/** The fields a key's create and edit dialogs share. */
function keyFields(domains, key = {}) {
  const name = h('input', {type: 'text', name: 'name', required: true, maxlength: 100, value: key.name || '', placeholder: 'Production backend'});
  const domainBoxes = domains.map((d) => h('label', {}, h('input', {type: 'checkbox', value: d.hostname, checked: (key.domains || []).includes(d.hostname)}), d.hostname));
  const allowAll = h('input', {type: 'checkbox', checked: !(key.allowed_ips || []).length});
  const ips = h('textarea', {name: 'allowed_ips', rows: 3, 'aria-label': 'Allowed addresses, one per line', placeholder: '203.0.113.0/24\n2001:db8::/32', disabled: !(key.allowed_ips || []).length},
    (key.allowed_ips || []).join('\n'));
  allowAll.addEventListener('change', () => { ips.disabled = allowAll.checked; });
  const never = h('input', {type: 'radio', name: 'expiry', value: 'never', checked: !key.expires_at});
  const on = h('input', {type: 'radio', name: 'expiry', value: 'date', checked: !!key.expires_at});
  const when = h('input', {type: 'datetime-local', name: 'expires_at', id: `expires-${Math.random().toString(36).slice(2, 8)}`,
    value: key.expires_at ? localInput(new Date(key.expires_at)) : '', disabled: !key.expires_at, min: localInput(new Date(Date.now() + 60000)),
    'aria-label': 'Expires at (your local time)'});
  const expiryError = h('div', {class: 'error-text', role: 'alert'});
  const presets = [30, 60, 90].map((days) => h('button', {class: 'button secondary small', type: 'button', dataset: {days},
    onclick: () => {
      on.checked = true;
      when.disabled = false;
      when.value = localInput(new Date(Date.now() + days * 86400000));
      expiryError.textContent = '';
    }}, `${days} days`));
  for (const radio of [never, on]) {
    radio.addEventListener('change', () => {
      when.disabled = never.checked;
      expiryError.textContent = '';
      if (on.checked && !when.value) when.focus();
    });
  }
  when.addEventListener('input', () => { expiryError.textContent = ''; });
  const tags = h('input', {type: 'text', name: 'tags', value: (key.tags || []).join(', '), placeholder: 'team:payments, production',
    autocomplete: 'off'});
  const nodes = [
    field('Name', name),
    field('Tags', tags, 'Comma-separated labels (team, environment, customer…) to filter keys by; at most 20.'),
    h('fieldset', {class: 'field'}, h('legend', {}, 'Domain scope'),
      domains.length ? h('div', {class: 'checks'}, domainBoxes) : null,
      h('div', {class: 'hint'}, domains.length ? 'None checked: the key may act on every domain. ' : 'The organisation has no domains yet: the key may act on every domain. ',
        h('a', {href: '#/domains'}, 'Add a domain'))),
    h('fieldset', {class: 'field'}, h('legend', {}, 'IP allowlist'),
      h('label', {class: 'inline'}, allowAll, 'Allow all addresses'), ips,
      h('div', {class: 'hint'}, 'One IP address or CIDR range per line.')),
    h('fieldset', {class: 'field'}, h('legend', {}, 'Expiry'),
      h('div', {class: 'row'}, h('label', {class: 'inline'}, never, 'Never'), h('label', {class: 'inline'}, on, 'On'), when),
      h('div', {class: 'row presets'}, h('span', {class: 'hint'}, 'In'), presets),
      h('div', {class: 'hint'}, 'A date and time in your time zone; the key stops working then.'),
      expiryError),
  ];
  /** The values, or null (with the reason shown) when the expiry is missing or past. */
  const values = () => {
    if (on.checked && !when.value) {
      expiryError.textContent = 'Choose when the key expires, or pick "Never".';
      when.focus();
      return null;
    }
    const expires = on.checked ? new Date(when.value) : null;
    if (expires && expires <= new Date()) {
      expiryError.textContent = 'The expiry must be in the future.';
      when.focus();
      return null;
    }
    return {
      name: name.value.trim(),
      domains: domainBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      allowed_ips: allowAll.checked ? [] : ips.value.split('\n').map((s) => s.trim()).filter(Boolean),
      expires_at: expires ? expires.toISOString() : null,
      tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
    };
  };
  return {nodes, values};
}

// Scopes that read the organisation's admin data: only admins and owners may give them to a
// key (the server's rule, Scope::minimum_role; it refuses them anyway with 403).
const ADMIN_SCOPES = ['full_access', 'audit:read'];

async function createKey(scopes, domains, me) {
  let shown = null;
  const admin = can(me, 'admin');
  return dialog((close) => {
    const {nodes, values} = keyFields(domains);
    const boxes = scopes.map((s) => {
      const held = admin || !ADMIN_SCOPES.includes(s);
      return h('label', {title: held ? null : 'Needs an admin: it reads the organisation’s admin data (the audit log).'},
        h('input', {type: 'checkbox', name: 'scopes', value: s, checked: admin && s === 'full_access', disabled: !held}), s);
    });
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, 'Create key');
    const form = h('form', {method: 'dialog', novalidate: true},
      h('h2', {}, 'Create an API key'),
      nodes[0],
      h('fieldset', {class: 'field'}, h('legend', {}, 'Scopes'), h('div', {class: 'checks'}, boxes),
        h('div', {class: 'hint'}, 'full_access grants everything; a …:write scope also grants its …:read.',
          admin ? '' : ' full_access and audit:read need an admin.')),
      ...nodes.slice(1),
      error,
      h('div', {class: 'dialog-actions'},
        h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = values();
      if (!body) return;
      body.scopes = boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      if (!body.scopes.length) {
        error.textContent = 'Choose at least one scope.';
        boxes.find((l) => !l.querySelector('input').disabled)?.querySelector('input').focus();
        return;
      }
      if (body.expires_at === null) delete body.expires_at;
      submit.disabled = true;
      submit.textContent = 'Creating…';
      try {
        const {data} = await request('POST', '/api/developer/apikeys', {body});
        shown = showOnce(form, data, 'Your new API key', () => close(true));
      } catch (e) {
        error.textContent = explain(e);
        submit.disabled = false;
        submit.textContent = 'Create key';
      }
    });
    return form;
  }, {guard: () => (shown ? shown.guard() : true), cancelled: () => shown !== null});
}

/**
 * Replaces `form` with the box that shows a key this once, focused on its Copy button.
 * Escape does not lose it silently: the first press warns, the second closes.
 */
function showOnce(form, created, title, done) {
  let warned = false;
  const warning = h('div', {class: 'notice warn', role: 'alert', hidden: true, id: 'key-escape-warning'},
    'The key will not be shown again. Copy it first, then press Escape again or "I have stored it".');
  const copyKey = copyButton('Copy', () => created.key, 'API key copied', {class: 'button small', id: 'copy-new-key'});
  mount(form,
    h('h2', {}, title),
    h('div', {class: 'secret-box', id: 'new-key'},
      h('p', {}, h('strong', {}, 'Copy this key now. '), 'It will not be shown again: Portico stores only its hash.'),
      h('div', {class: 'secret'}, h('code', {id: 'new-key-value'}, created.key), copyKey)),
    h('p', {class: 'muted small'}, `${created.name} · ${created.scopes.join(', ')} · prefix ${created.prefix}…`),
    warning,
    h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', id: 'key-done', onclick: done}, 'I have stored it')));
  copyKey.focus();
  return {
    guard() {
      if (warned) return true;
      warned = true;
      warning.hidden = false;
      copyKey.focus();
      return false;
    },
  };
}

async function editKey(key, domains) {
  const current = await request('GET', `/api/developer/apikeys/${key.id}`);
  const etag = current.headers.get('etag');
  return dialog((close) => {
    const {nodes, values} = keyFields(domains, current.data);
    const rate = h('input', {type: 'number', min: 1, name: 'rate_limit_rpm', value: current.data.rate_limit_rpm ?? '', placeholder: 'The server default'});
    const blocked = h('input', {type: 'checkbox', name: 'blocked', checked: current.data.blocked});
    const reason = h('input', {type: 'text', name: 'blocked_reason', maxlength: 500, value: current.data.blocked_reason || '',
      placeholder: 'Why (shown in the 403 key_blocked answer)', disabled: !current.data.blocked});
    blocked.addEventListener('change', () => { reason.disabled = !blocked.checked; });
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, 'Save');
    const form = h('form', {method: 'dialog', novalidate: true},
      h('h2', {}, `Edit ${key.name}`),
      h('p', {class: 'muted small'}, 'The key itself and its scopes cannot change: create a new key for that.'),
      ...nodes,
      field('Rate limit (requests per minute)', rate),
      h('div', {class: 'field'}, h('label', {class: 'inline'}, blocked, 'Blocked: refuse this key until unblocked (403 key_blocked)'), reason),
      error,
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const fields = values();
      if (!fields) return;
      const body = {...fields, rate_limit_rpm: rate.value ? Number(rate.value) : null, blocked: blocked.checked,
        blocked_reason: blocked.checked ? (reason.value.trim() || null) : null};
      submit.disabled = true;
      try {
        await request('PATCH', `/api/developer/apikeys/${key.id}`, {body, headers: etag ? {'if-match': etag} : {}});
        toast(`${body.name} saved`);
        close(true);
      } catch (e) {
        error.textContent = e.code === 'version_mismatch' || e.status === 412
          ? 'Someone changed this key meanwhile; close and edit again.' : explain(e);
        submit.disabled = false;
      }
    });
    return form;
  });
}

async function rotateKey(key) {
  let shown = null;
  return dialog((close) => {
    const grace = h('select', {name: 'grace_period_seconds'},
      [['0', 'End the old secret now'], ['3600', 'Keep it working for 1 hour'], ['86400', 'Keep it working for 24 hours'], ['604800', 'Keep it working for 7 days']]
        .map(([value, label]) => h('option', {value}, label)));
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, 'Rotate');
    const form = h('form', {method: 'dialog'},
      h('h2', {}, `Rotate ${key.name}`),
      h('p', {}, 'A new secret for the same key (same id, scopes and settings). Deploy the new secret before the old one stops working.'),
      field('Grace period', grace),
      error,
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const {data} = await request('POST', `/api/developer/apikeys/${key.id}/rotate`, {body: {grace_period_seconds: Number(grace.value)}});
        shown = showOnce(form, data, 'The rotated key', () => close(true));
        const rotation = rotationState(data);
        if (rotation) form.querySelector('.secret-box').after(h('p', {class: 'small'}, `${rotation.text}.`));
      } catch (e) {
        error.textContent = explain(e);
        submit.disabled = false;
      }
    });
    return form;
  }, {guard: () => (shown ? shown.guard() : true), cancelled: () => shown !== null});
}

async function revokeKey(key) {
  const sure = await confirm({
    title: `Revoke ${key.name}?`,
    message: `Requests with ${key.prefix}… will be refused (401 key_revoked) from now on. This cannot be undone.`,
    action: 'Revoke key',
    danger: true,
  });
  if (!sure) return false;
  try {
    await request('DELETE', `/api/developer/apikeys/${key.id}`);
    toast(`${key.name} revoked`);
    return true;
  } catch (e) {
    toast(explain(e), 'bad');
    return false;
  }
}
