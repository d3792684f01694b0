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

/** A short message; shown in the open dialog when there is one (above its backdrop). */
export function toast(message, kind = '') {
  const el = h('div', {class: `toast ${kind}`, role: kind === 'bad' ? 'alert' : 'status'}, message);
  const modal = [...document.querySelectorAll('dialog[open]')].pop();
  let host = document.getElementById('toasts');
  if (modal) {
    host = modal.querySelector('.toasts') || modal.appendChild(h('div', {class: 'toasts in-dialog', 'aria-live': 'polite'}));
  }
  host.append(el);
  setTimeout(() => el.remove(), kind === 'bad' ? 7000 : 3500);
}

/**
 * Copies `text`; the button that asked (when given) says "Copied" for a moment, and a toast
 * confirms it where the user is looking.
 */
export async function copy(text, what = 'Copied', button = null) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard`);
    if (button) {
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      button.textContent = 'Copied ✓';
      setTimeout(() => { button.textContent = label; }, 2000);
    }
    return true;
  } catch {
    toast('The browser refused clipboard access; select and copy by hand.', 'bad');
    return false;
  }
}

/** A button that copies what `text()` gives and says so. */
export function copyButton(label, text, what, attrs = {}) {
  const button = h('button', {class: 'button secondary small', type: 'button', ...attrs}, label);
  button.addEventListener('click', async () => copy(await text(), what, button));
  return button;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog; `build(close)` returns its content. Resolves with what `close` is given.
 * Focus moves into it, Tab stays inside it, and focus returns to where it was when it
 * closes. `guard()` (optional) is asked before Escape closes it: return false to keep it;
 * `cancelled()` (optional) gives what Escape resolves with.
 */
export function dialog(build, {label, guard, cancelled} = {}) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const el = h('dialog', {'aria-label': label});
    const close = (value) => {
      el.close();
      el.remove();
      // Back where it was; if the page was redrawn meanwhile, to the page itself.
      if (opener && document.contains(opener)) opener.focus();
      else document.getElementById('main')?.focus();
      resolve(value);
    };
    el.addEventListener('cancel', async (e) => {
      e.preventDefault();
      if (!guard || await guard()) close(cancelled ? cancelled() : undefined);
    });
    el.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const items = [...el.querySelectorAll(FOCUSABLE)].filter((n) => n.offsetParent !== null);
      if (!items.length) return;
      const [first, last] = [items[0], items[items.length - 1]];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
    });
    el.append(build(close));
    document.body.append(el);
    el.showModal();
    const heading = el.querySelector('h2');
    if (heading && !el.getAttribute('aria-label')) {
      heading.id ||= `d-${Math.random().toString(36).slice(2, 9)}`;
      el.setAttribute('aria-labelledby', heading.id);
    }
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

/** An error for people: what went wrong, and a Retry when trying again may help. */
export function failure(error, retry) {
  const box = h('div', {class: 'notice bad', role: 'alert'}, explain(error));
  if (retry) box.append(' ', h('button', {class: 'button secondary small', type: 'button', onclick: retry}, 'Retry'));
  return box;
}

/** The message of an error from the API or the network. */
export function explain(error) {
  return typeof error?.explain === 'function' ? error.explain() : String(error?.message || error);
}

/** A time as a `datetime-local` input shows it: `YYYY-MM-DDTHH:MM` in the user's time zone. */
export function localInput(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export function formatDate(value) {
  if (!value) return '—';
  const date = new Date(value);
  return date.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

/** A compact time for log rows: `14:03:07` today, `Dec 2, 14:03` before. */
export function shortTime(value) {
  const date = new Date(value);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit'})
    : date.toLocaleString(undefined, {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
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

/** Inline Markdown (`code`, **bold**, [links](…)) as DOM nodes. */
export function inline(text) {
  const out = [];
  for (const part of String(text || '').split(/(`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)\s]+\))/)) {
    const link = part.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) out.push(h('code', {}, part.slice(1, -1)));
    else if (part.startsWith('**') && part.endsWith('**') && part.length > 3) out.push(h('strong', {}, part.slice(2, -2)));
    else if (link && /^(https?:|\/|#)/.test(link[2])) out.push(h('a', {href: link[2]}, link[1]));
    else if (part) out.push(document.createTextNode(part));
  }
  return out;
}

/** A small Markdown subset (paragraphs, `- ` lists, inline code, bold, links) as DOM nodes. */
export function markdown(text) {
  const out = h('div', {class: 'md'});
  for (const block of String(text || '').split(/\n{2,}/)) {
    const lines = block.split('\n');
    if (lines.every((l) => /^\s*[-*] /.test(l))) {
      out.append(h('ul', {}, lines.map((l) => h('li', {}, inline(l.replace(/^\s*[-*] /, ''))))));
    } else {
      out.append(h('p', {}, inline(block.replace(/\n/g, ' '))));
    }
  }
  return out;
}
