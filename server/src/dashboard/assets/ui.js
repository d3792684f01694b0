// Small DOM helpers: every piece of text goes in as text, never as HTML.

/** Builds an element: h('a', {href: '#', class: 'x', onclick: fn}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Builds an SVG element. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function toast(message, kind = '') {
  const el = h('div', {class: `toast ${kind}`, role: 'status'}, message);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'bad' ? 7000 : 3500);
}

export async function copy(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard`);
  } catch {
    toast('The browser refused clipboard access; select and copy by hand.', 'bad');
  }
}

/** A modal dialog; `build(close)` returns its content. Resolves with what `close` is given. */
export function dialog(build) {
  return new Promise((resolve) => {
    const el = h('dialog');
    const close = (value) => { el.close(); el.remove(); resolve(value); };
    el.addEventListener('cancel', (e) => { e.preventDefault(); close(undefined); });
    el.append(build(close));
    document.body.append(el);
    el.showModal();
  });
}

/** Asks to confirm something; resolves true or false. */
export function confirm({title, message, action = 'Confirm', danger = false}) {
  return dialog((close) => h('div', {class: 'dialog-body'},
    h('h2', {}, title),
    h('p', {}, message),
    h('div', {class: 'dialog-actions'},
      h('button', {class: 'button secondary', type: 'button', onclick: () => close(false)}, 'Cancel'),
      h('button', {class: `button ${danger ? 'danger' : ''}`, type: 'button', onclick: () => close(true)}, action))));
}

export function formatDate(value) {
  if (!value) return '—';
  const date = new Date(value);
  return date.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

export function relative(value) {
  if (!value) return 'never';
  const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** The badge class of an HTTP status. */
export function statusKind(status) {
  if (status >= 500) return 'bad';
  if (status >= 400) return 'warn';
  if (status >= 300) return 'info';
  if (status >= 200) return 'ok';
  return 'neutral';
}

export function methodBadge(method) {
  return h('span', {class: `method ${method.toLowerCase()}`}, method.toUpperCase());
}

/** A field with a label and an optional hint. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, hint ? h('div', {class: 'hint'}, hint) : null);
}

/** A tiny Markdown subset (paragraphs, `code`, **bold**) rendered as DOM nodes. */
export function markdown(text) {
  const out = h('div', {class: 'md'});
  for (const paragraph of String(text || '').split(/\n{2,}/)) {
    const p = h('p');
    const parts = paragraph.replace(/\n/g, ' ').split(/(`[^`]+`|\*\*[^*]+\*\*)/);
    for (const part of parts) {
      if (part.startsWith('`') && part.endsWith('`') && part.length > 1) p.append(h('code', {}, part.slice(1, -1)));
      else if (part.startsWith('**') && part.endsWith('**') && part.length > 3) p.append(h('strong', {}, part.slice(2, -2)));
      else if (part) p.append(document.createTextNode(part));
    }
    out.append(p);
  }
  return out;
}
