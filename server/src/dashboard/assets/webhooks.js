// Webhooks: endpoints (secret shown once), edit, delete, send a test, and the delivery log.
// Webhooks are /v1 resources: the page acts with one of your keys, injected by the server.

import {openapi, viaPlayground} from './api.js';
import {confirm, copy, dialog, field, formatDate, h, mount, statusKind, toast} from './ui.js';
import {keyPicker, loadKeys} from './keys.js';

export async function webhooksPage(container) {
  const [doc, keys] = await Promise.all([openapi(), loadKeys()]);
  const events = doc.components.schemas.EventType.enum;
  const picker = keyPicker(keys, {scopes: ['webhooks:manage'], id: 'webhook-key'});
  const list = h('div', {id: 'webhooks'});
  const deliveries = h('div', {class: 'card', id: 'deliveries', hidden: true});
  const call = (method, endpoint, body) => viaPlayground(picker.value, method, endpoint, {body});

  async function refresh() {
    if (!picker.value) {
      mount(list, h('p', {class: 'muted'}, 'Create a key with webhooks:manage (or full_access) to manage webhooks here.'));
      return;
    }
    mount(list, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await call('GET', '/v1/webhooks?limit=100');
      const rows = page.data.map((w) => h('tr', {},
        h('td', {}, h('code', {}, w.url), w.description ? h('div', {class: 'muted small'}, w.description) : null),
        h('td', {}, w.events.map((e) => h('span', {class: 'chip'}, e))),
        h('td', {}, w.enabled ? h('span', {class: 'badge ok'}, 'enabled') : h('span', {class: 'badge warn', title: w.disabled_reason || ''}, 'disabled')),
        h('td', {}, formatDate(w.created_at)),
        h('td', {}, h('div', {class: 'actions'},
          h('button', {class: 'button secondary small', type: 'button', onclick: () => showDeliveries(w)}, 'Deliveries'),
          h('button', {class: 'button secondary small', type: 'button', onclick: () => sendTest(w)}, 'Send test'),
          h('button', {class: 'button secondary small', type: 'button', onclick: () => edit(w).then((c) => c && refresh())}, 'Edit'),
          h('button', {class: 'button danger-outline small', type: 'button', onclick: () => remove(w).then((c) => c && refresh())}, 'Delete')))));
      mount(list, h('div', {class: 'table-wrap'}, h('table', {},
        h('thead', {}, h('tr', {}, ['Endpoint', 'Events', 'State', 'Created', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 5}, 'No endpoints yet.'))))));
    } catch (e) {
      mount(list, h('div', {class: 'notice bad'}, e.explain?.() || String(e)));
    }
  }

  function endpointForm(close, existing, submitLabel, onSubmit) {
    const url = h('input', {type: 'url', required: true, placeholder: 'https://example.com/webhooks/portico', value: existing?.url || ''});
    const boxes = events.map((e) => h('label', {}, h('input', {type: 'checkbox', value: e, checked: existing ? existing.events.includes(e) : true}), e));
    const description = h('input', {type: 'text', maxlength: 500, value: existing?.description || ''});
    const enabled = h('input', {type: 'checkbox', checked: existing ? existing.enabled : true});
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, submitLabel);
    const form = h('form', {method: 'dialog'},
      h('h2', {}, existing ? 'Edit endpoint' : 'Add an endpoint'),
      field('URL', url, 'An http(s) URL on a public address.'),
      h('div', {class: 'field'}, h('label', {}, 'Events'), h('div', {class: 'checks'}, boxes)),
      field('Description', description),
      existing ? h('label', {class: 'inline'}, enabled, 'Enabled (re-enabling clears the failure count)') : null,
      error,
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'), submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      const body = {
        url: url.value.trim(),
        events: boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        description: description.value.trim() || null,
      };
      if (existing) body.enabled = enabled.checked;
      try {
        await onSubmit(body, form);
      } catch (e) {
        error.textContent = e.explain?.() || String(e);
        submit.disabled = false;
      }
    });
    return form;
  }

  const create = () => dialog((close) => endpointForm(close, null, 'Add endpoint', async (body, form) => {
    const created = await call('POST', '/v1/webhooks', body);
    mount(form,
      h('h2', {}, 'Endpoint added'),
      h('div', {class: 'secret-box'},
        h('p', {}, h('strong', {}, 'Copy the signing secret now. '), 'It will not be shown again; use it to verify the webhook-signature header.'),
        h('div', {class: 'secret'}, h('code', {}, created.secret),
          h('button', {class: 'button small', type: 'button', onclick: () => copy(created.secret, 'Secret copied')}, 'Copy'))),
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', onclick: () => close(true)}, 'I have stored it')));
  })).then((c) => c && refresh());

  const edit = (w) => dialog((close) => endpointForm(close, w, 'Save', async (body) => {
    await call('PATCH', `/v1/webhooks/${w.id}`, body);
    toast('Endpoint saved');
    close(true);
  }));

  async function remove(w) {
    if (!await confirm({title: 'Delete this endpoint?', message: `${w.url} will receive no more deliveries.`, action: 'Delete', danger: true})) return false;
    try {
      await call('DELETE', `/v1/webhooks/${w.id}`);
      toast('Endpoint deleted');
      return true;
    } catch (e) {
      toast(e.explain?.() || String(e), 'bad');
      return false;
    }
  }

  async function sendTest(w) {
    try {
      const ping = await call('POST', `/v1/webhooks/${w.id}/test`);
      toast(`Test event queued (${ping.delivery_id})`);
      setTimeout(() => showDeliveries(w), 1500);
    } catch (e) {
      toast(e.explain?.() || String(e), 'bad');
    }
  }

  async function showDeliveries(w) {
    deliveries.hidden = false;
    mount(deliveries, h('h2', {}, 'Deliveries'), h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await call('GET', `/v1/webhooks/${w.id}/deliveries?limit=50`);
      const rows = page.data.map((d) => h('tr', {},
        h('td', {}, formatDate(d.attempted_at)),
        h('td', {}, h('span', {class: 'chip'}, d.event_type)),
        h('td', {}, `#${d.attempt}`),
        h('td', {}, d.status_code ? h('span', {class: `badge ${statusKind(d.status_code)}`}, String(d.status_code)) : h('span', {class: 'badge bad'}, 'no answer')),
        h('td', {}, d.latency_ms == null ? '—' : `${Math.round(d.latency_ms)} ms`),
        h('td', {class: 'small'}, d.error || '')));
      mount(deliveries, h('h2', {}, `Deliveries to ${w.url}`),
        h('div', {class: 'table-wrap'}, h('table', {},
          h('thead', {}, h('tr', {}, ['When', 'Event', 'Attempt', 'Answer', 'Latency', 'Error'].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 6}, 'No attempts yet.'))))));
    } catch (e) {
      mount(deliveries, h('div', {class: 'notice bad'}, e.explain?.() || String(e)));
    }
  }

  picker.addEventListener('change', refresh);
  mount(container,
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, 'Webhooks'), h('p', {}, 'Endpoints receive events signed per the Standard Webhooks spec, retried with back-off.')),
      h('button', {class: 'button', type: 'button', onclick: create, disabled: !picker.value}, '+ Add endpoint')),
    h('div', {class: 'card'}, field('Act with key', picker, 'Webhooks are managed through the /v1 API; the server injects this key.'), list),
    deliveries);
  await refresh();
}
