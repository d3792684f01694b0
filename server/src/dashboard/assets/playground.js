// The playground: build a /v1 request from the spec, send it with a stored key (injected by
// the server) or a pasted one, and see exactly what the API answered.

import {can, reason} from './roles.js';
import {example, openapi, operations, request, resolve} from './api.js';
import {copyButton, explain, failure, field, h, markdown, methodBadge, mount, statusKind, toast} from './ui.js';
import {keyPicker, loadKeys} from './keys.js';

const HISTORY = 'portico.playground.history';
const HISTORY_SIZE = 30;

function loadHistory() {
  try {
    return JSON.parse(localStorage.getItem(HISTORY) || '[]');
  } catch {
    return [];
  }
}

function saveHistory(items) {
  localStorage.setItem(HISTORY, JSON.stringify(items.slice(0, HISTORY_SIZE)));
}

export async function playgroundPage(container, {me} = {}) {
  const [doc, keys] = await Promise.all([openapi(), loadKeys(true)]);
  const ops = operations(doc).filter((o) => o.path.startsWith('/v1/'));
  const state = {pasted: null, result: null};

  // --- the key ---
  const storedRadio = h('input', {type: 'radio', name: 'key-source', value: 'stored', checked: true});
  const pastedRadio = h('input', {type: 'radio', name: 'key-source', value: 'pasted'});
  const picker = keyPicker(keys, {id: 'stored-key', inactive: true});
  const pasteInput = h('input', {type: 'password', id: 'pasted-key', placeholder: 'ptk_…', autocomplete: 'off', spellcheck: 'false',
    'aria-label': 'Pasted API key', 'aria-describedby': 'pasted-key-info'});
  const pasteInfo = h('div', {class: 'hint', id: 'pasted-key-info', 'aria-live': 'polite'});
  const validate = h('button', {class: 'button secondary small', type: 'button', id: 'check-key'}, 'Check key');
  const storedBox = h('div', {}, picker, h('div', {class: 'hint'}, 'The server unseals this key and adds it to the request; it never reaches your browser.'));
  const pastedBox = h('div', {hidden: true}, h('div', {class: 'row'}, pasteInput, validate), pasteInfo);
  const syncSource = () => {
    storedBox.hidden = !storedRadio.checked;
    pastedBox.hidden = storedRadio.checked;
    renderPreview();
  };
  storedRadio.addEventListener('change', syncSource);
  pastedRadio.addEventListener('change', syncSource);
  picker.addEventListener('change', () => renderPreview());
  // A pasted key is checked as soon as it looks whole (and again with Check key).
  let checkTimer = null;
  pasteInput.addEventListener('input', () => {
    state.pasted = null;
    pasteInfo.replaceChildren();
    renderPreview();
    clearTimeout(checkTimer);
    if (/^ptk_[A-Za-z0-9]{49}$/.test(pasteInput.value.trim())) checkTimer = setTimeout(checkPasted, 250);
    else if (pasteInput.value.trim()) mount(pasteInfo, 'A key is ptk_ and 49 letters and digits.');
  });
  validate.addEventListener('click', () => checkPasted());
  async function checkPasted() {
    const key = pasteInput.value.trim();
    if (!key) return;
    mount(pasteInfo, 'Checking…');
    try {
      const {data} = await request('GET', '/v1/key', {auth: {key}});
      state.pasted = data;
      mount(pasteInfo,
        h('span', {class: 'badge ok'}, 'valid'), ' ', data.name, ' · scopes: ', data.scopes.map((s) => h('span', {class: 'chip'}, s)),
        data.domains.length
          ? h('div', {class: 'notice warn small'}, `This key is limited to ${data.domains.join(', ')}: calls on other domains are refused (403 domain_not_allowed).`)
          : h('div', {class: 'muted'}, 'All domains.'));
    } catch (e) {
      mount(pasteInfo, h('span', {class: 'badge bad'}, e.code || 'invalid'), ' ', explain(e));
    }
  }

  // --- the operation ---
  const endpoint = h('select', {id: 'endpoint'});
  const tags = [...new Set(ops.map((o) => o.tag))];
  for (const tag of tags) {
    endpoint.append(h('optgroup', {label: tag},
      ops.filter((o) => o.tag === tag).map((o) => h('option', {value: `${o.method} ${o.path}`}, `${o.method} ${o.path} — ${o.op.summary || o.op.operationId}`))));
  }
  const description = h('div', {class: 'muted small'});
  const paramsBox = h('div', {class: 'stack'});
  const bodyBox = h('div');
  const bodyInput = h('textarea', {id: 'body', rows: 10, spellcheck: 'false'});
  const bodyError = h('div', {class: 'error-text', id: 'body-error'});
  const fileInput = h('input', {type: 'file', id: 'file', accept: '.csv,text/csv'});
  const preview = h('div', {class: 'preview', id: 'preview'});
  const send = h('button', {class: 'button', type: 'submit', id: 'send', dataset: {needs: 'developer'}}, 'Send');
  const inputs = {path: {}, query: {}, header: {}};

  const current = () => ops.find((o) => `${o.method} ${o.path}` === endpoint.value);

  function buildParams() {
    const {op} = current();
    inputs.path = {};
    inputs.query = {};
    inputs.header = {};
    const rows = [];
    for (const raw of op.parameters || []) {
      const p = resolve(doc, raw);
      if (p.in === 'header' && !['Idempotency-Key', 'if-match'].includes(p.name)) continue;
      const input = h('input', {type: 'text', name: `${p.in}:${p.name}`, placeholder: p.required ? 'required' : (p.schema?.default ?? '') + '', title: p.description || ''});
      input.dataset.param = p.name;
      input.addEventListener('input', renderPreview);
      inputs[p.in][p.name] = input;
      rows.push(h('label', {for: input.id = `param-${p.in}-${p.name}`}, p.name, p.required ? ' *' : ''), input);
    }
    mount(paramsBox, rows.length ? h('div', {class: 'params'}, rows) : h('div', {class: 'muted small'}, 'No parameters.'));
  }

  function buildBody() {
    const {op} = current();
    const content = op.requestBody?.content || {};
    mount(bodyBox);
    if (content['application/json']) {
      bodyInput.value = JSON.stringify(example(doc, content['application/json'].schema), null, 2);
      bodyBox.append(field('JSON body', bodyInput), bodyError);
    } else if (content['multipart/form-data']) {
      const schema = resolve(doc, content['multipart/form-data'].schema);
      bodyBox.append(field('File', fileInput, schema.properties?.file?.description));
    }
    checkBody();
  }

  function checkBody() {
    bodyError.textContent = '';
    bodyInput.classList.remove('invalid');
    if (!bodyBox.contains(bodyInput) || !bodyInput.value.trim()) return true;
    try {
      JSON.parse(bodyInput.value);
      return true;
    } catch (e) {
      bodyError.textContent = `Invalid JSON: ${e.message}`;
      bodyInput.classList.add('invalid');
      return false;
    }
  }

  /** The request as the form describes it. */
  function describe() {
    const {method, path, op} = current();
    let missing = null;
    const filled = path.replace(/\{([^}]+)\}/g, (_, name) => {
      const value = inputs.path[name]?.value.trim();
      if (!value) missing ??= name;
      return encodeURIComponent(value || `{${name}}`);
    });
    const query = {};
    for (const [name, input] of Object.entries(inputs.query)) if (input.value.trim()) query[name] = input.value.trim();
    const headers = {};
    for (const [name, input] of Object.entries(inputs.header)) if (input.value.trim()) headers[name] = input.value.trim();
    const isJson = bodyBox.contains(bodyInput) && bodyInput.value.trim();
    const isUpload = bodyBox.contains(fileInput);
    return {method, path, filled, query, headers, op, missing, body: isJson ? bodyInput.value : null, isUpload};
  }

  function maskedKey() {
    if (storedRadio.checked) {
      const key = keys.find((k) => k.id === picker.value);
      return key ? `${key.prefix}…•••• (injected server-side)` : '(no key chosen)';
    }
    const value = pasteInput.value.trim();
    return value ? `${value.slice(0, 8)}…••••` : '(paste a key)';
  }

  function renderPreview() {
    if (!current()) return;
    const r = describe();
    const qs = new URLSearchParams(r.query).toString();
    const lines = [`${r.method} ${location.origin}${r.filled}${qs ? `?${qs}` : ''}`, `Authorization: Bearer ${maskedKey()}`];
    for (const [name, value] of Object.entries(r.headers)) lines.push(`${name}: ${value}`);
    if (r.body) lines.push('Content-Type: application/json', '', r.body);
    if (r.isUpload) lines.push('Content-Type: multipart/form-data', '', `file=@${fileInput.files[0]?.name || '(choose a file)'}`);
    preview.textContent = lines.join('\n');
    const ok = !r.missing && checkBody() && (!r.isUpload || fileInput.files.length) && (storedRadio.checked ? !!picker.value : !!pasteInput.value.trim());
    send.disabled = !ok || !can(me, 'developer');
    send.title = !can(me, 'developer') ? reason(me, 'developer') : r.missing ? `Fill in ${r.missing}` : '';
  }

  function selectOperation() {
    const {op} = current();
    mount(description, markdown(op.description || op.summary || ''));
    buildParams();
    buildBody();
    renderPreview();
  }

  endpoint.addEventListener('change', selectOperation);
  bodyInput.addEventListener('input', renderPreview);
  fileInput.addEventListener('change', renderPreview);

  // --- sending ---
  const resultBox = h('div', {class: 'card', id: 'result'}, h('h2', {}, 'Response'), h('p', {class: 'muted'}, 'Send a request to see what the API answers.'));
  const historyBox = h('ul', {class: 'history', id: 'history'});

  async function sendRequest() {
    const r = describe();
    if (r.missing || !checkBody()) return;
    send.disabled = true;
    send.textContent = 'Sending…';
    const started = performance.now();
    let result;
    try {
      if (storedRadio.checked) {
        result = await throughPlayground(r);
      } else {
        result = await direct(r, started);
      }
      state.result = result;
      showResult(result, r);
      remember(r, result);
    } catch (e) {
      mount(resultBox, h('h2', {}, 'Response'), failure(e, sendRequest));
    } finally {
      send.textContent = 'Send';
      renderPreview();
    }
  }

  async function throughPlayground(r) {
    const call = {api_key_id: picker.value, method: r.method, endpoint: r.filled, query: r.query, headers: r.headers};
    let response;
    if (r.isUpload) {
      const form = new FormData();
      form.append('api_key_id', call.api_key_id);
      form.append('method', call.method);
      form.append('endpoint', call.endpoint);
      form.append('query', JSON.stringify(call.query));
      form.append('headers', JSON.stringify(call.headers));
      form.append('file', fileInput.files[0]);
      response = await request('POST', '/api/developer/playground/test', {form});
    } else {
      if (r.body) call.body = JSON.parse(r.body);
      response = await request('POST', '/api/developer/playground/test', {body: call});
    }
    return response.data;
  }

  async function direct(r, started) {
    const qs = new URLSearchParams(r.query).toString();
    const url = `${r.filled}${qs ? `?${qs}` : ''}`;
    const init = {method: r.method, headers: {...r.headers, authorization: `Bearer ${pasteInput.value.trim()}`}};
    if (r.isUpload) {
      init.body = new FormData();
      init.body.append('file', fileInput.files[0]);
    } else if (r.body) {
      init.headers['content-type'] = 'application/json';
      init.body = r.body;
    }
    if (r.method === 'POST' && !Object.keys(r.headers).some((n) => n.toLowerCase() === 'idempotency-key')) {
      init.headers['idempotency-key'] = `playground_${crypto.randomUUID()}`;
    }
    const response = await fetch(url, init);
    const text = await response.text();
    const headers = {};
    response.headers.forEach((value, name) => { headers[name] = value; });
    let body = text || null;
    if ((headers['content-type'] || '').includes('json')) {
      try { body = JSON.parse(text); } catch { /* shown as text */ }
    }
    return {status_code: response.status, latency_ms: Math.round((performance.now() - started) * 100) / 100,
      upstream_url: `${location.origin}${url}`, headers, body};
  }

  function showResult(result, r) {
    const bodyText = typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2);
    const headerRows = Object.entries(result.headers).map(([name, value]) => h('tr', {}, h('td', {}, name), h('td', {}, value)));
    const reveal = h('input', {type: 'checkbox', id: 'reveal-key', disabled: storedRadio.checked});
    mount(resultBox,
      h('div', {class: 'result-head'},
        h('span', {class: `badge status-badge ${statusKind(result.status_code)}`, id: 'status-badge'}, String(result.status_code)),
        h('span', {class: 'muted', id: 'latency'}, `${result.latency_ms} ms`),
        h('code', {class: 'muted small'}, `${r.method} ${result.upstream_url}`),
        h('span', {class: 'spacer'}),
        copyButton('Copy response', () => bodyText ?? '', 'Response copied'),
        copyButton('Copy cURL', () => curl(r, reveal.checked), 'cURL copied', {id: 'copy-curl'}),
        h('label', {class: 'inline small', title: storedRadio.checked ? 'A stored key never reaches the browser' : ''}, reveal, 'Reveal key in cURL')),
      h('pre', {class: 'body', id: 'response-body', tabindex: '0', 'aria-label': 'Response body'}, bodyText ?? '(empty body)'),
      h('h3', {}, 'Headers'),
      h('div', {class: 'table-wrap'}, h('table', {class: 'headers-table'}, h('tbody', {}, headerRows))));
  }

  /**
   * The call as a shell command. A stored key stays on the server, so the command reads it
   * from `$PORTICO_API_KEY` — in double quotes, which the shell expands.
   */
  function curl(r, reveal) {
    const qs = new URLSearchParams(r.query).toString();
    const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
    const auth = storedRadio.checked
      ? '-H "Authorization: Bearer $PORTICO_API_KEY"'
      : `-H ${quote(`Authorization: Bearer ${reveal ? pasteInput.value.trim() : `${pasteInput.value.trim().slice(0, 8)}…`}`)}`;
    const parts = [`curl -X ${r.method} ${quote(`${location.origin}${r.filled}${qs ? `?${qs}` : ''}`)}`, auth];
    for (const [name, value] of Object.entries(r.headers)) parts.push(`-H ${quote(`${name}: ${value}`)}`);
    if (r.body) parts.push(`-H 'content-type: application/json'`, `-d ${quote(JSON.stringify(JSON.parse(r.body)))}`);
    if (r.isUpload) parts.push(`-F ${quote(`file=@${fileInput.files[0]?.name || 'links.csv'}`)}`);
    return parts.join(' \\\n  ');
  }

  // --- history ---
  function remember(r, result) {
    const items = loadHistory();
    items.unshift({
      at: new Date().toISOString(),
      operation: `${r.method} ${r.path}`,
      params: Object.fromEntries(Object.entries(inputs.path).map(([n, i]) => [n, i.value])),
      query: r.query,
      headers: r.headers,
      body: r.body,
      source: storedRadio.checked ? 'stored' : 'pasted',
      keyId: storedRadio.checked ? picker.value : null,
      status: result.status_code,
      latency: result.latency_ms,
      path: r.filled,
    });
    saveHistory(items);
    renderHistory();
  }

  function renderHistory() {
    const items = loadHistory();
    mount(historyBox, items.length ? items.map((item, index) => h('li', {},
      h('span', {class: `badge ${statusKind(item.status)}`}, String(item.status)),
      methodBadge(item.operation.split(' ')[0]),
      h('span', {class: 'path', title: item.path}, item.path),
      h('span', {class: 'muted'}, `${item.latency} ms`),
      h('button', {class: 'button secondary small', type: 'button', dataset: {replay: index}, onclick: () => replay(item)}, 'Replay')))
      : h('li', {class: 'muted'}, 'Requests you send appear here (kept in this browser only).'));
  }

  async function replay(item) {
    if (!ops.some((o) => `${o.method} ${o.path}` === item.operation)) return toast('That operation no longer exists.', 'bad');
    endpoint.value = item.operation;
    selectOperation();
    for (const [name, value] of Object.entries(item.params || {})) if (inputs.path[name]) inputs.path[name].value = value;
    for (const [name, value] of Object.entries(item.query || {})) if (inputs.query[name]) inputs.query[name].value = value;
    for (const [name, value] of Object.entries(item.headers || {})) if (inputs.header[name]) inputs.header[name].value = value;
    if (item.body && bodyBox.contains(bodyInput)) bodyInput.value = item.body;
    if (item.source === 'stored' && item.keyId && keys.some((k) => k.id === item.keyId)) {
      storedRadio.checked = true;
      picker.value = item.keyId;
    }
    syncSource();
    if (!send.disabled) await sendRequest();
    else toast('Fill in what the request needs, then Send.');
  }

  const form = h('form', {class: 'card stack', id: 'playground-form'},
    h('h2', {}, 'Request'),
    h('div', {class: 'field'}, h('label', {}, 'Key'),
      h('div', {class: 'row'}, h('label', {class: 'inline'}, storedRadio, 'A stored key'), h('label', {class: 'inline'}, pastedRadio, 'Paste a key')),
      storedBox, pastedBox),
    field('Endpoint', endpoint),
    description,
    h('h3', {}, 'Parameters'),
    paramsBox,
    bodyBox,
    h('h3', {}, 'Preview'),
    preview,
    h('div', {class: 'row'}, send));
  form.addEventListener('submit', (event) => { event.preventDefault(); sendRequest(); });

  mount(container,
    h('div', {class: 'page-head'}, h('div', {}, h('h1', {}, 'Playground'),
      h('p', {}, 'Call the /v1 API with your keys. Calls are real: they count toward usage and appear in the request log.'))),
    h('div', {class: 'playground'},
      form,
      h('div', {},
        resultBox,
        h('div', {class: 'card'},
          h('div', {class: 'card-head'}, h('h2', {}, 'History'), h('span', {class: 'spacer'}),
            h('button', {class: 'button secondary small', type: 'button', id: 'clear-history', onclick: () => { saveHistory([]); renderHistory(); }}, 'Clear')),
          historyBox))));
  if (ops.length) {
    endpoint.value = ops.some((o) => o.path === '/v1/key') ? 'GET /v1/key' : `${ops[0].method} ${ops[0].path}`;
    selectOperation();
  }
  renderHistory();
  prefill();

  /** A request the request log asked to replay: its operation, path ids and key. */
  function prefill() {
    const raw = sessionStorage.getItem('portico.playground.prefill');
    if (!raw) return;
    sessionStorage.removeItem('portico.playground.prefill');
    let wanted;
    try { wanted = JSON.parse(raw); } catch { return; }
    const op = ops.find((o) => `${o.method} ${o.path}` === wanted.operation);
    if (!op) return toast('That request’s operation is not in the playground.', 'bad');
    endpoint.value = wanted.operation;
    selectOperation();
    // The path's ids, read back against the route template.
    const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    const values = (wanted.path || '').match(pattern)?.slice(1) || [];
    names.forEach((name, i) => { if (inputs.path[name] && values[i]) inputs.path[name].value = decodeURIComponent(values[i]); });
    if (wanted.keyId && keys.some((k) => k.id === wanted.keyId)) {
      storedRadio.checked = true;
      picker.value = wanted.keyId;
    }
    syncSource();
    toast('Loaded from the request log: check it, then Send.');
    send.focus();
  }
}
