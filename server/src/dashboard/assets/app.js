// The dashboard: sign-in, then one page per hash route (#/keys, #/playground, …).

import {ApiProblem, get, post, request, session} from './api.js';
import {field, h, mount, toast} from './ui.js';
import {keysPage} from './keys.js';
import {playgroundPage} from './playground.js';
import {usagePage} from './usage.js';
import {docsPage} from './docs.js';
import {webhooksPage} from './webhooks.js';

const pages = {
  keys: keysPage,
  playground: playgroundPage,
  usage: usagePage,
  webhooks: webhooksPage,
  docs: docsPage,
};

const main = document.getElementById('main');
let me = null;

async function start() {
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  window.addEventListener('portico:signed-out', () => { if (me) { me = null; session.clear(); showAuth('Your session ended; sign in again.'); } });
  if (session.token) {
    try {
      me = await get('/api/developer/me');
    } catch {
      session.clear();
    }
  }
  if (me) showApp();
  else showAuth();
}

function showApp() {
  document.getElementById('nav').hidden = false;
  document.getElementById('account').hidden = false;
  document.getElementById('account-name').textContent = `${me.user.email} · ${me.organization.name}`;
  route();
}

async function route() {
  if (!me) return;
  const name = (location.hash.replace(/^#\/?/, '').split('/')[0]) || 'keys';
  const page = pages[name] || pages.keys;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === name);
  const container = mount(main, h('p', {class: 'muted'}, 'Loading…'));
  try {
    await page(container, {me});
  } catch (error) {
    mount(container, h('div', {class: 'notice bad'}, error instanceof ApiProblem ? error.explain() : String(error)));
  }
}

function showAuth(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('account').hidden = true;
  let mode = 'login';
  const error = h('div', {class: 'error-text', role: 'alert'});
  const email = h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true});
  const password = h('input', {type: 'password', name: 'password', autocomplete: 'current-password', required: true, minlength: 10});
  const organization = h('input', {type: 'text', name: 'organization_name', autocomplete: 'organization'});
  const orgField = field('Organisation name', organization, 'Your team or product; you can invite others later.');
  const submit = h('button', {class: 'button block', type: 'submit'}, 'Log in');
  const tabs = h('div', {class: 'tabs', role: 'tablist'});
  const setMode = (next) => {
    mode = next;
    orgField.hidden = mode !== 'signup';
    organization.required = mode === 'signup';
    password.autocomplete = mode === 'signup' ? 'new-password' : 'current-password';
    submit.textContent = mode === 'signup' ? 'Create account' : 'Log in';
    for (const button of tabs.children) button.classList.toggle('active', button.dataset.mode === mode);
    error.textContent = '';
  };
  tabs.append(
    h('button', {type: 'button', role: 'tab', dataset: {mode: 'login'}, onclick: () => setMode('login')}, 'Log in'),
    h('button', {type: 'button', role: 'tab', dataset: {mode: 'signup'}, onclick: () => setMode('signup')}, 'Sign up'));
  const form = h('form', {class: 'card', novalidate: false},
    tabs,
    field('Email', email),
    field('Password', password, 'At least 10 characters.'),
    orgField,
    error,
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const body = {email: email.value, password: password.value};
      const path = mode === 'signup' ? '/api/developer/signup' : '/api/developer/login';
      if (mode === 'signup') body.organization_name = organization.value;
      const created = await post(path, body, {auth: 'none'});
      session.set(created.token);
      me = await get('/api/developer/me');
      if (mode === 'signup') toast(`Welcome to Portico, ${me.organization.name}`);
      if (!location.hash) location.hash = '#/keys';
      showApp();
    } catch (e) {
      error.textContent = e instanceof ApiProblem ? e.explain() : String(e);
    } finally {
      submit.disabled = false;
    }
  });
  setMode('login');
  mount(main, h('section', {class: 'auth'},
    h('h1', {}, 'Portico'),
    h('p', {class: 'lead'}, 'API keys, a playground, usage and docs for the Portico API.'),
    message ? h('div', {class: 'notice warn'}, message) : null,
    form,
    h('p', {class: 'muted small'}, 'The API reference is public: ', h('a', {href: '/docs/'}, 'Swagger UI'), ' · ',
      h('a', {href: '/openapi.json'}, 'openapi.json'), ' · ', h('a', {href: '/llms.txt'}, 'llms.txt'))));
  email.focus();
}

async function logout() {
  try {
    await request('POST', '/api/developer/logout');
  } catch {
    // Signed out already.
  }
  session.clear();
  me = null;
  location.hash = '';
  showAuth();
}

start();
