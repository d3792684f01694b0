// Domains: the organisation's hostnames for short links — add one (its syntax checked as you
// type, then by the server), see which keys are scoped to it, remove it once no link uses it.

import {get, request} from './api.js';
import {confirm, explain, field, formatDate, h, mount, toast} from './ui.js';
import {loadKeys} from './keys.js';

/** What is wrong with a hostname as typed, or null: the server has the final word. */
function hostnameProblem(value) {
  const host = value.trim().toLowerCase();
  if (!host) return 'Enter a hostname such as links.example.com.';
  if (/[/:?#@\s]/.test(host)) return 'Only the hostname: no scheme, port, path or spaces.';
  if (!host.includes('.')) return 'A hostname has at least two labels, such as links.example.com.';
  if (host.length > 253) return 'At most 253 characters.';
  if (host.split('.').some((label) => !label || label.length > 63 || label.startsWith('-') || label.endsWith('-'))) {
    return 'Each dot-separated part is 1–63 letters, digits or hyphens, not starting or ending with a hyphen.';
  }
  return null;
}

export async function domainsPage(container) {
  const [page, keys] = await Promise.all([get('/api/developer/domains?limit=100'), loadKeys()]);
  const refresh = () => domainsPage(container);

  const hostname = h('input', {type: 'text', id: 'new-domain', name: 'hostname', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'links.example.com', 'aria-describedby': 'new-domain-error', required: true});
  const error = h('div', {class: 'error-text', id: 'new-domain-error', role: 'alert'});
  const add = h('button', {class: 'button', type: 'submit', id: 'add-domain', dataset: {needs: 'developer'}}, 'Add domain');
  hostname.addEventListener('input', () => {
    error.textContent = hostname.value ? (hostnameProblem(hostname.value) || '') : '';
    hostname.setAttribute('aria-invalid', String(!!error.textContent));
  });
  const form = h('form', {class: 'add-domain', novalidate: true}, field('Hostname', hostname,
    'Point its DNS (a CNAME or A record) at this deployment; redirects on it then resolve your slugs.'), error, add);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const problem = hostnameProblem(hostname.value);
    if (problem) {
      error.textContent = problem;
      hostname.setAttribute('aria-invalid', 'true');
      hostname.focus();
      return;
    }
    add.disabled = true;
    try {
      const {data} = await request('POST', '/api/developer/domains', {body: {hostname: hostname.value.trim()}});
      toast(`${data.hostname} added`);
      await refresh();
      document.getElementById('new-domain')?.focus();
    } catch (e) {
      error.textContent = explain(e);
      add.disabled = false;
      hostname.focus();
    }
  });

  const labels = ['Hostname', 'Keys scoped to it', 'Added', 'Actions'];
  const cell = (index, ...content) => h('td', {dataset: {label: labels[index]}}, ...content);
  const rows = page.data.map((domain) => {
    const scoped = keys.filter((k) => k.domains.includes(domain.hostname));
    return h('tr', {dataset: {domainId: domain.id}},
      cell(0, h('code', {}, domain.hostname)),
      cell(1, scoped.length ? scoped.map((k) => h('a', {class: 'chip', href: `#/keys/${k.id}`}, k.name)) : h('span', {class: 'muted'}, 'None')),
      cell(2, formatDate(domain.created_at)),
      cell(3, h('div', {class: 'actions'}, h('button', {class: 'button danger-outline small', type: 'button', dataset: {needs: 'developer'}, 'aria-label': `Remove ${domain.hostname}`,
        onclick: () => remove(domain).then((done) => done && refresh())}, 'Remove'))));
  });

  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Domains'),
      h('p', {}, 'Hostnames for your short links. The deployment’s default domain needs no registration; keys can be scoped to any of these.'))),
    h('section', {class: 'card', 'aria-labelledby': 'add-title'}, h('h2', {id: 'add-title'}, 'Add a domain'), form),
    h('section', {class: 'card', 'aria-labelledby': 'domains-title'}, h('h2', {id: 'domains-title'}, `Your domains (${page.total})`),
      h('div', {class: 'table-wrap'}, h('table', {class: 'responsive', id: 'domains-table'},
        h('thead', {}, h('tr', {}, labels.map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 4}, 'No domains yet.')))))));
}

async function remove(domain) {
  const sure = await confirm({title: `Remove ${domain.hostname}?`, action: 'Remove domain', danger: true,
    message: 'Redirects on it stop resolving. A domain that live links use cannot be removed: delete or move them first.'});
  if (!sure) return false;
  try {
    await request('DELETE', `/api/developer/domains/${domain.id}`);
    toast(`${domain.hostname} removed`);
    return true;
  } catch (e) {
    toast(explain(e), 'bad');
    return false;
  }
}

