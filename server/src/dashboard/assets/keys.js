// API keys: the table, create (shown once), edit, rotate, revoke.

import {ApiProblem, get, openapi, request} from './api.js';
import {confirm, copy, dialog, field, formatDate, h, mount, relative, toast} from './ui.js';

/** The organisation's keys, newest first (revoked ones included when asked). */
export async function loadKeys(includeInactive = false) {
  const page = await get(`/api/developer/apikeys?limit=100${includeInactive ? '&include_inactive=true' : ''}`);
  return page.data;
}

/**
 * A <select> of keys: the active ones, and — with `inactive` — revoked, expired and blocked
 * ones after them (the playground shows what calling with those answers). `scopes` (any of)
 * narrows it to keys that may make a call.
 */
export function keyPicker(keys, {scopes = [], id, inactive = false} = {}) {
  const active = (k) => k.status === 'active' && !k.blocked;
  const usable = keys.filter((k) => inactive || active(k))
    .filter((k) => !scopes.length || k.scopes.includes('full_access') || k.scopes.some((s) => scopes.includes(s)))
    .sort((a, b) => Number(active(b)) - Number(active(a)));
  const select = h('select', {id, name: 'api_key_id'},
    usable.map((k) => h('option', {value: k.id},
      `${k.name} (${k.prefix}…) — ${active(k) ? k.scopes.join(', ') : (k.blocked ? 'blocked' : k.status)}`)));
  if (!usable.length) select.append(h('option', {value: ''}, 'No usable key: create one on the API keys page'));
  return select;
}

const STATUS_KIND = {active: 'ok', revoked: 'bad', expired: 'neutral'};

export async function keysPage(container) {
  const [keys, doc, domains] = await Promise.all([
    loadKeys(true),
    openapi(),
    get('/api/developer/domains?limit=100').then((p) => p.data).catch(() => []),
  ]);
  const scopes = doc.components.schemas.Scope.enum;
  const refresh = () => keysPage(container);

  const rows = keys.map((key) => {
    const status = key.blocked ? 'blocked' : key.status;
    const inactive = key.status !== 'active';
    return h('tr', {dataset: {keyId: key.id}},
      h('td', {}, h('strong', {}, key.name)),
      h('td', {}, h('code', {}, `${key.prefix}…`)),
      h('td', {}, key.scopes.map((s) => h('span', {class: 'chip'}, s))),
      h('td', {}, key.domains.length ? key.domains.map((d) => h('span', {class: 'chip'}, d)) : h('span', {class: 'muted'}, 'All domains')),
      h('td', {title: key.created_at}, formatDate(key.created_at)),
      h('td', {title: key.last_used_at || ''}, relative(key.last_used_at)),
      h('td', {}, key.expires_at ? formatDate(key.expires_at) : h('span', {class: 'muted'}, 'Never')),
      h('td', {}, h('span', {class: `badge ${key.blocked ? 'warn' : STATUS_KIND[key.status] || 'neutral'}`}, status)),
      h('td', {}, h('div', {class: 'actions'},
        h('button', {class: 'button secondary small', type: 'button', disabled: inactive, onclick: () => editKey(key, domains).then((c) => c && refresh())}, 'Edit'),
        h('button', {class: 'button secondary small', type: 'button', disabled: inactive, onclick: () => rotateKey(key).then((c) => c && refresh())}, 'Rotate'),
        h('button', {class: 'button danger-outline small', type: 'button', disabled: inactive, onclick: () => revokeKey(key).then((c) => c && refresh())}, 'Revoke'))));
  });

  mount(container,
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, 'API keys'), h('p', {}, 'Keys call the /v1 API. Each is shown once, when created or rotated; Portico keeps only a hash and a sealed copy for the playground.')),
      h('button', {class: 'button', type: 'button', id: 'create-key', onclick: () => createKey(scopes, domains).then((c) => c && refresh())}, '+ Create key')),
    h('div', {class: 'card'}, h('div', {class: 'table-wrap'}, h('table', {id: 'keys-table'},
      h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Scopes', 'Domain scope', 'Created', 'Last used', 'Expires', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 9}, 'No keys yet. Create one to call the API.')))))));
}

/** The fields a key's create and edit dialogs share. */
function keyFields(domains, key = {}) {
  const name = h('input', {type: 'text', name: 'name', required: true, maxlength: 100, value: key.name || '', placeholder: 'Production backend'});
  const domainBoxes = domains.map((d) => h('label', {}, h('input', {type: 'checkbox', value: d.hostname, checked: (key.domains || []).includes(d.hostname)}), d.hostname));
  const allowAll = h('input', {type: 'checkbox', checked: !(key.allowed_ips || []).length});
  const ips = h('textarea', {name: 'allowed_ips', rows: 3, placeholder: '203.0.113.0/24\n2001:db8::/32', disabled: !(key.allowed_ips || []).length},
    (key.allowed_ips || []).join('\n'));
  allowAll.addEventListener('change', () => { ips.disabled = allowAll.checked; });
  const never = h('input', {type: 'radio', name: 'expiry', value: 'never', checked: !key.expires_at});
  const on = h('input', {type: 'radio', name: 'expiry', value: 'date', checked: !!key.expires_at});
  const date = h('input', {type: 'date', name: 'expires_on', value: key.expires_at ? key.expires_at.slice(0, 10) : '', disabled: !key.expires_at,
    min: new Date(Date.now() + 86400000).toISOString().slice(0, 10)});
  for (const radio of [never, on]) radio.addEventListener('change', () => { date.disabled = never.checked; });
  const nodes = [
    field('Name', name),
    h('div', {class: 'field'}, h('label', {}, 'Domain scope'),
      domains.length ? h('div', {class: 'checks'}, domainBoxes) : null,
      h('div', {class: 'hint'}, domains.length ? 'None checked: the key may act on every domain.' : 'The organisation has no domains yet: the key may act on every domain.')),
    h('div', {class: 'field'}, h('label', {}, 'IP allowlist'),
      h('label', {class: 'inline'}, allowAll, 'Allow all addresses'), ips,
      h('div', {class: 'hint'}, 'One IP address or CIDR range per line.')),
    h('div', {class: 'field'}, h('label', {}, 'Expiry'),
      h('div', {class: 'row'}, h('label', {class: 'inline'}, never, 'Never'), h('label', {class: 'inline'}, on, 'On'), date)),
  ];
  const values = () => ({
    name: name.value.trim(),
    domains: domainBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
    allowed_ips: allowAll.checked ? [] : ips.value.split('\n').map((s) => s.trim()).filter(Boolean),
    expires_at: on.checked && date.value ? new Date(`${date.value}T23:59:59Z`).toISOString() : null,
  });
  return {nodes, values};
}

async function createKey(scopes, domains) {
  return dialog((close) => {
    const {nodes, values} = keyFields(domains);
    const boxes = scopes.map((s) => h('label', {}, h('input', {type: 'checkbox', name: 'scopes', value: s, checked: s === 'full_access'}), s));
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, 'Create key');
    const form = h('form', {method: 'dialog'},
      h('h2', {}, 'Create an API key'),
      nodes[0],
      h('div', {class: 'field'}, h('label', {}, 'Scopes'), h('div', {class: 'checks'}, boxes),
        h('div', {class: 'hint'}, 'full_access grants everything; a …:write scope also grants its …:read.')),
      ...nodes.slice(1),
      error,
      h('div', {class: 'dialog-actions'},
        h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = values();
      body.scopes = boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      if (body.expires_at === null) delete body.expires_at;
      submit.disabled = true;
      submit.textContent = 'Creating…';
      try {
        const {data} = await request('POST', '/api/developer/apikeys', {body});
        mount(form, ...shownOnce(data, 'Your new API key', () => close(true)));
      } catch (e) {
        error.textContent = e instanceof ApiProblem ? e.explain() : String(e);
        submit.disabled = false;
        submit.textContent = 'Create key';
      }
    });
    return form;
  });
}

/** The box that shows a key this once. */
function shownOnce(created, title, done) {
  return [
    h('h2', {}, title),
    h('div', {class: 'secret-box', id: 'new-key'},
      h('p', {}, h('strong', {}, 'Copy this key now. '), 'It will not be shown again: Portico stores only its hash.'),
      h('div', {class: 'secret'},
        h('code', {id: 'new-key-value'}, created.key),
        h('button', {class: 'button small', type: 'button', onclick: () => copy(created.key, 'API key copied')}, 'Copy'))),
    h('p', {class: 'muted small'}, `${created.name} · ${created.scopes.join(', ')} · prefix ${created.prefix}…`),
    h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', id: 'key-done', onclick: done}, 'I have stored it')),
  ];
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
    const form = h('form', {method: 'dialog'},
      h('h2', {}, `Edit ${key.name}`),
      h('p', {class: 'muted small'}, 'The key itself and its scopes cannot change: create a new key for that.'),
      ...nodes,
      field('Rate limit (requests per minute)', rate),
      h('div', {class: 'field'}, h('label', {class: 'inline'}, blocked, 'Blocked: refuse this key until unblocked (403 key_blocked)'), reason),
      error,
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {...values(), rate_limit_rpm: rate.value ? Number(rate.value) : null, blocked: blocked.checked,
        blocked_reason: blocked.checked ? (reason.value.trim() || null) : null};
      submit.disabled = true;
      try {
        await request('PATCH', `/api/developer/apikeys/${key.id}`, {body, headers: etag ? {'if-match': etag} : {}});
        toast(`${body.name} saved`);
        close(true);
      } catch (e) {
        error.textContent = e instanceof ApiProblem && e.code === 'version_mismatch'
          ? 'Someone changed this key meanwhile; close and edit again.' : (e.explain?.() || String(e));
        submit.disabled = false;
      }
    });
    return form;
  });
}

async function rotateKey(key) {
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
        mount(form, ...shownOnce(data, 'The rotated key', () => close(true)));
      } catch (e) {
        error.textContent = e.explain?.() || String(e);
        submit.disabled = false;
      }
    });
    return form;
  });
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
    toast(e.explain?.() || String(e), 'bad');
    return false;
  }
}
