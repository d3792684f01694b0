// Talking to the server: the dashboard session, JSON requests, problem details, the spec.

const TOKEN = 'portico.session';

export const session = {
  get token() { return localStorage.getItem(TOKEN); },
  set(token) { localStorage.setItem(TOKEN, token); },
  clear() { localStorage.removeItem(TOKEN); },
};

/** A problem answer (RFC 9457) from the API. */
export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem?.detail || `The server answered ${status}.`);
    this.status = status;
    this.code = problem?.code || 'unexpected';
    this.requestId = problem?.request_id;
    this.errors = problem?.errors || [];
  }

  /**
   * What went wrong, for people: the detail (which already names a single invalid field), or
   * each invalid field once; a request id only where support may need it (server errors).
   */
  explain() {
    const text = this.errors.length > 1
      ? `${this.message} ${this.errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`
      : this.message;
    return this.status >= 500 && this.requestId ? `${text} (Reference: ${this.requestId}.)` : text;
  }
}

/** The server could not be reached (offline, or it is restarting). */
export class NetworkError extends Error {
  constructor() {
    super('Cannot reach Portico. Check your connection, then retry.');
    this.status = 0;
    this.code = 'network';
    this.errors = [];
  }

  explain() { return this.message; }
}

/**
 * Sends a request; resolves with {status, headers, data} for 2xx answers and rejects with an
 * ApiProblem otherwise. `auth`: 'session' (default), 'none', or {key} for a pasted API key.
 */
export async function request(method, path, {body, form, auth = 'session', headers = {}} = {}) {
  const init = {method, headers: {...headers}};
  if (auth === 'session' && session.token) init.headers.authorization = `Bearer ${session.token}`;
  if (auth && auth.key) init.headers.authorization = `Bearer ${auth.key}`;
  if (form) init.body = form;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new NetworkError();
  }
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    if (response.status === 401 && auth === 'session' && session.token) window.dispatchEvent(new Event('portico:signed-out'));
    throw new ApiProblem(response.status, typeof data === 'object' ? data : null);
  }
  return {status: response.status, headers: response.headers, data};
}

export const get = (path, options) => request('GET', path, options).then((r) => r.data);
export const post = (path, body, options) => request('POST', path, {...options, body}).then((r) => r.data);

let spec;
/** The OpenAPI document, fetched once. */
export async function openapi() {
  spec ??= get('/openapi.json', {auth: 'none'});
  return spec;
}

/** Follows a local `$ref`. */
export function resolve(doc, schema) {
  let current = schema;
  for (let i = 0; current && current.$ref && i < 10; i++) {
    current = current.$ref.replace(/^#\//, '').split('/').reduce((node, part) => node?.[part], doc);
  }
  return current || {};
}

/** An example value for a schema: its example, else one built from its properties. */
export function example(doc, schema, depth = 0) {
  const s = resolve(doc, schema);
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (depth > 4) return null;
  if (s.allOf) return Object.assign({}, ...s.allOf.map((part) => example(doc, part, depth + 1)));
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  if (type === 'object' || s.properties) {
    const out = {};
    for (const [name, property] of Object.entries(s.properties || {})) {
      if ((s.required || []).includes(name)) out[name] = example(doc, property, depth + 1);
    }
    return out;
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return 0;
  if (type === 'boolean') return false;
  return type === 'string' ? '' : null;
}

/** Every operation: [{method, path, op, tag}], in document order. */
export function operations(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      if (item[method]) out.push({method: method.toUpperCase(), path, op: item[method], tag: item[method].tags?.[0] || 'other'});
    }
  }
  return out;
}
