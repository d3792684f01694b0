// Webhooks: endpoints (secret shown once), edit, delete, send a test, and the delivery log,
// managed with the dashboard session (no API key needed).

import {openapi, request} from './api.js';
import {confirm, copyButton, dialog, explain, failure, field, formatDate, h, mount, statusKind, toast} from './ui.js';

const BASE = '/api/developer/webhooks';

export async function webhooksPage(container) {
  const doc = await openapi();
  const events = doc.components.schemas.EventType.enum;
  const list = h('div', {id: 'webhooks'});
  const deliveries = h('section', {class: 'card', id: 'deliveries', hidden: true, 'aria-live': 'polite'});
  const call = (method, path, body) => request(method, `${BASE}${path}`, {body}).then((r) => r.data);
  const labels = ['Endpoint', 'Events', 'State', 'Created', 'Actions'];
  const cell = (index, ...content) => h('td', {dataset: {label: labels[index]}}, ...content);

  async function refresh() {
    mount(list, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await call('GET', '?limit=100');
      const rows = page.data.map((w) => h('tr', {},
        cell(0, h('code', {class: 'path-cell'}, w.url), w.description ? h('div', {class: 'muted small'}, w.description) : null),
        cell(1, w.events.map((e) => h('span', {class: 'chip'}, e))),
        cell(2, w.enabled ? h('span', {class: 'badge ok'}, 'enabled') : h('span', {class: 'badge warn', title: w.disabled_reason || ''}, 'disabled')),
        cell(3, formatDate(w.created_at)),
        cell(4, h('div', {class: 'actions'},
          h('button', {class: 'button secondary small', type: 'button', onclick: () => showDeliveries(w)}, 'Deliveries'),
          h('button', {class: 'button secondary small', type: 'button', dataset: {needs: 'developer'}, onclick: () => sendTest(w)}, 'Send test'),
          h('button', {class: 'button secondary small', type: 'button', dataset: {needs: 'developer'}, onclick: () => edit(w).then((c) => c && refresh())}, 'Edit'),
          h('button', {class: 'button danger-outline small', type: 'button', dataset: {needs: 'developer'}, onclick: () => remove(w).then((c) => c && refresh())}, 'Delete')))));
      mount(list, h('div', {class: 'table-wrap'}, h('table', {class: 'responsive'},
        h('thead', {}, h('tr', {}, labels.map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 5}, 'No endpoints yet.'))))));
    } catch (e) {
      mount(list, failure(e, refresh));
    }
  }

  function endpointForm(close, existing, submitLabel, onSubmit) {
    const url = h('input', {type: 'url', required: true, placeholder: 'https://example.com/webhooks/portico', value: existing?.url || ''});
    const boxes = events.map((e) => h('label', {}, h('input', {type: 'checkbox', value: e, checked: existing ? existing.events.includes(e) : true}), e));
    const description = h('input', {type: 'text', maxlength: 500, value: existing?.description || ''});
    const enabled = h('input', {type: 'checkbox', checked: existing ? existing.enabled : true});
    const enabledLabel = h('label', {class: 'inline'}, enabled, 'Enabled (re-enabling clears the failure count)');
    const error = h('div', {class: 'error-text', role: 'alert'});
    const submit = h('button', {class: 'button', type: 'submit'}, submitLabel);
    const form = h('form', {method: 'dialog', novalidate: true},
      h('h2', {}, existing ? 'Edit endpoint' : 'Add an endpoint'),
      field('URL', url, 'An http(s) URL on a public address.'),
      h('fieldset', {class: 'field'}, h('legend', {}, 'Events'), h('div', {class: 'checks'}, boxes)),
      field('Description', description),
      existing ? enabledLabel : null,
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
        error.textContent = explain(e);
        submit.disabled = false;
      }
    });
    return form;
  }

  let added = false;
  const create = () => dialog((close) => endpointForm(close, null, 'Add endpoint', async (body, form) => {
    const created = await call('POST', '', body);
    added = true;
    const copySecret = copyButton('Copy', () => created.secret, 'Secret copied', {class: 'button small'});
    mount(form,
      h('h2', {}, 'Endpoint added'),
      h('div', {class: 'secret-box'},
        h('p', {}, h('strong', {}, 'Copy the signing secret now. '), 'It will not be shown again; use it to verify the webhook-signature header.'),
        h('div', {class: 'secret'}, h('code', {}, created.secret), copySecret)),
      h('div', {class: 'dialog-actions'}, h('button', {class: 'button', type: 'button', onclick: () => close(true)}, 'I have stored it')));
    copySecret.focus();
  }), {cancelled: () => added}).then((c) => { added = false; if (c) refresh(); });

  const edit = (w) => dialog((close) => endpointForm(close, w, 'Save', async (body) => {
    await call('PATCH', `/${w.id}`, body);
    toast('Endpoint saved');
    close(true);
  }));

  async function remove(w) {
    if (!await confirm({title: 'Delete this endpoint?', message: `${w.url} will receive no more deliveries.`, action: 'Delete', danger: true})) return false;
    try {
      await call('DELETE', `/${w.id}`);
      toast('Endpoint deleted');
      return true;
    } catch (e) {
      toast(explain(e), 'bad');
      return false;
    }
  }

  async function sendTest(w) {
    try {
      const ping = await call('POST', `/${w.id}/test`);
      toast(`Test event queued (${ping.delivery_id})`);
      setTimeout(() => showDeliveries(w), 1500);
    } catch (e) {
      toast(explain(e), 'bad');
    }
  }

  async function showDeliveries(w) {
    deliveries.hidden = false;
    mount(deliveries, h('h2', {}, 'Deliveries'), h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await call('GET', `/${w.id}/deliveries?limit=50`);
      const names = ['When', 'Event', 'Attempt', 'Answer', 'Latency', 'Error', 'Delivery'];
      const td = (index, ...content) => h('td', {dataset: {label: names[index]}}, ...content);
      const rows = page.data.map((d) => h('tr', {},
        td(0, formatDate(d.attempted_at)),
        td(1, h('span', {class: 'chip'}, d.event_type), h('div', {class: 'muted small'}, h('code', {}, d.event_id))),
        td(2, `#${d.attempt}`),
        td(3, d.status_code ? h('span', {class: `badge ${statusKind(d.status_code)}`}, String(d.status_code)) : h('span', {class: 'badge bad'}, 'no answer')),
        td(4, d.latency_ms == null ? '—' : `${Math.round(d.latency_ms)} ms`),
        td(5, h('span', {class: 'small'}, d.error || (d.next_attempt_at ? `retry ${formatDate(d.next_attempt_at)}` : ''))),
        td(6, h('button', {class: 'button secondary small', type: 'button', dataset: {deliveryId: d.delivery_id},
          'aria-label': `Details of delivery ${d.delivery_id}, attempt ${d.attempt}`, onclick: () => deliveryDetails(w, d.delivery_id)}, 'Details'))));
      mount(deliveries, h('h2', {}, `Deliveries to ${w.url}`),
        h('div', {class: 'table-wrap'}, h('table', {class: 'responsive'},
          h('thead', {}, h('tr', {}, names.map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {class: 'empty', colspan: 7}, 'No attempts yet.'))))));
    } catch (e) {
      mount(deliveries, failure(e, () => showDeliveries(w)));
    }
  }

  /** A delivery: the payload and headers as sent, every attempt, and Resend. */
  async function deliveryDetails(w, deliveryId) {
    let d;
    try {
      d = await call('GET', `/${w.id}/deliveries/${deliveryId}`);
    } catch (e) {
      toast(explain(e), 'bad');
      return;
    }
    const headerRows = (headers) => Object.entries(headers).map(([name, value]) => h('tr', {}, h('td', {}, name), h('td', {}, value)));
    await dialog((close) => h('div', {class: 'dialog-body', id: 'delivery-details'},
      h('h2', {}, `${d.event_type} to ${w.url}`),
      h('p', {class: 'muted small'}, `${d.id} · ${d.status} · queued ${formatDate(d.created_at)}`),
      h('h3', {}, 'Headers'),
      h('div', {class: 'table-wrap'}, h('table', {class: 'headers-table'}, h('tbody', {}, headerRows(d.headers)))),
      h('h3', {}, 'Payload'),
      h('pre', {class: 'body', id: 'delivery-payload', tabindex: '0', 'aria-label': 'Payload'}, JSON.stringify(d.payload, null, 2)),
      h('h3', {}, 'Attempts'),
      d.attempts.length ? d.attempts.map((a) => h('div', {class: 'attempt'},
        h('p', {class: 'small'}, `#${a.attempt} · ${formatDate(a.attempted_at)} · `,
          a.status_code ? h('span', {class: `badge ${statusKind(a.status_code)}`}, String(a.status_code)) : h('span', {class: 'badge bad'}, 'no answer'),
          ` · ${Math.round(a.latency_ms)} ms`, a.error ? ` · ${a.error}` : ''),
        Object.keys(a.headers).length ? h('div', {class: 'table-wrap'}, h('table', {class: 'headers-table'}, h('tbody', {}, headerRows(a.headers)))) : null))
        : h('p', {class: 'muted'}, 'No attempt yet.'),
      h('div', {class: 'dialog-actions'},
        h('button', {class: 'button secondary', type: 'button', onclick: () => close()}, 'Close'),
        h('button', {class: 'button', type: 'button', id: 'resend-delivery', dataset: {needs: 'developer'}, onclick: async () => {
          try {
            const queued = await call('POST', `/${w.id}/deliveries/${d.id}/resend`);
            close();
            toast(`Resent as ${queued.delivery_id}`);
            setTimeout(() => showDeliveries(w), 1000);
          } catch (e) {
            toast(explain(e), 'bad');
          }
        }}, 'Resend'))), {label: 'Delivery details'});
  }

  mount(container,
    h('div', {class: 'page-head'},
      h('div', {}, h('h1', {}, 'Webhooks'), h('p', {}, 'Endpoints receive events signed per the Standard Webhooks spec, retried with back-off.')),
      h('button', {class: 'button', type: 'button', dataset: {needs: 'developer'}, onclick: create}, '+ Add endpoint')),
    h('section', {class: 'card', 'aria-label': 'Endpoints'}, list),
    deliveries);
  await refresh();
}
