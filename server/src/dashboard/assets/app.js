// The dashboard: sign-in, then one page per hash route (#/keys, #/playground, …).

import {get, post, request, session} from './api.js';
import {explain, failure, field, h, mount, toast} from './ui.js';
import {keyPage, keysPage} from './keys.js';
import {domainsPage} from './domains.js';
import {playgroundPage} from './playground.js';
import {usagePage} from './usage.js';
import {docsPage} from './docs.js';
import {webhooksPage} from './webhooks.js';
import {teamPage} from './team.js';
import {auditPage} from './audit.js';
import {can, watch} from './roles.js';

const pages = {
  keys: (container, context) => (context.id ? keyPage(container, context) : keysPage(container, context)),
  domains: domainsPage,
  playground: playgroundPage,
  usage: usagePage,
  webhooks: webhooksPage,
  team: teamPage,
  audit: auditPage,
  join: joinPage,
  docs: docsPage,
};

const main = document.getElementById('main');
let me = null;

const topbar = document.getElementById('topbar');
const menu = document.getElementById('menu');

/** Opens or closes the navigation on narrow screens. */
function setMenu(open) {
  topbar.classList.toggle('open', open);
  menu.setAttribute('aria-expanded', String(open));
}

async function start() {
  watch(() => me);
  document.getElementById('logout').addEventListener('click', logout);
  document.getElementById('org-switch').addEventListener('change', (event) => switchOrganization(event.target.value));
  menu.addEventListener('click', () => setMenu(menu.getAttribute('aria-expanded') !== 'true'));
  window.addEventListener('hashchange', () => { setMenu(false); route(); });
  // The session ended elsewhere (signed out, expired): back to the sign-in form, keeping the
  // page the user was on for after they sign in again.
  window.addEventListener('portico:signed-out', () => {
    if (!me) return;
    me = null;
    session.clear();
    showAuth('Your session has ended. Sign in again to continue where you were.');
  });
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
  menu.hidden = false;
  document.getElementById('account-name').textContent = me.memberships.length > 1 ? me.user.email : `${me.user.email} · ${me.organization.name}`;
  const switcher = document.getElementById('org-switch');
  switcher.hidden = me.memberships.length < 2;
  switcher.replaceChildren(...me.memberships.map((m) => h('option', {value: m.organization.id, selected: m.organization.id === me.organization.id},
    `${m.organization.name} (${m.role})`)));
  // The audit log is for admins and owners: others do not see the link (the server refuses
  // them anyway).
  document.querySelector('#nav a[data-page="audit"]').hidden = !can(me, 'admin');
  route();
}

/** Reads who is signed in again (after a role or organisation change) and redraws. */
async function refreshMe() {
  me = await get('/api/developer/me');
  showApp();
}

/** Moves the session to another of the user's organisations, without signing in again. */
async function switchOrganization(organizationId) {
  try {
    me = (await request('PUT', '/api/developer/me/organization', {body: {organization_id: organizationId}})).data;
    toast(`Now in ${me.organization.name}, as ${me.role}`);
    showApp();
  } catch (e) {
    toast(explain(e), 'bad');
    showApp();
  }
}

/** `#/join?token=pti_…` while signed in: accept the invitation into another organisation. */
async function joinPage(container, {query}) {
  const token = query.get('token') || '';
  const error = h('div', {class: 'error-text', role: 'alert'});
  const accept = h('button', {class: 'button', type: 'button', id: 'accept-invitation'}, 'Accept the invitation');
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    try {
      me = await post('/api/developer/invitations/accept', {token});
      toast(`Welcome to ${me.organization.name}, as ${me.role}`);
      history.replaceState(null, '', '#/keys');
      showApp();
    } catch (e) {
      error.textContent = explain(e);
      accept.disabled = false;
    }
  });
  mount(container, h('section', {class: 'card narrow'},
    h('h1', {}, 'Join an organisation'),
    h('p', {}, `You are signed in as ${me.user.email}. Accepting adds you to the organisation that invited this address, with the role it chose, and switches to it.`),
    token ? null : h('p', {class: 'notice warn'}, 'This link has no invitation token: ask for a new invitation.'),
    error, accept));
}

let routing = 0;

async function route() {
  if (!me) {
    // Signed out: whatever the link, the sign-in form is the page.
    if (!main.querySelector('.auth')) showAuth();
    return;
  }
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'keys', id] = path.split('/');
  const page = pages[name] ? name : 'keys';
  for (const link of document.querySelectorAll('#nav a')) {
    const active = link.dataset.page === page;
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const label = document.querySelector(`#nav a[data-page="${page}"]`)?.textContent || 'Dashboard';
  document.title = `${label} — Portico`;
  const current = ++routing;
  const container = mount(main, h('p', {class: 'muted'}, 'Loading…'));
  try {
    await pages[page](container, {me, id, query: new URLSearchParams(search), refreshMe});
  } catch (error) {
    // A newer page, or the sign-in form after the session ended, owns the screen now.
    if (current !== routing || !me) return;
    mount(container, failure(error, route));
  }
}

function showAuth(message) {
  routing++;
  setMenu(false);
  document.getElementById('nav').hidden = true;
  document.getElementById('account').hidden = true;
  menu.hidden = true;
  document.title = 'Sign in — Portico';
  let mode = 'login';
  // An invitation link (`#/join?token=pti_…`): sign up into that organisation, or sign in
  // and accept.
  const [joinPath, joinSearch = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const invitation = joinPath === 'join' ? new URLSearchParams(joinSearch).get('token') : null;
  const error = h('div', {class: 'error-text', role: 'alert', id: 'auth-error'});
  const email = h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true});
  const password = h('input', {type: 'password', name: 'password', autocomplete: 'current-password', required: true, minlength: 10});
  const organization = h('input', {type: 'text', name: 'organization_name', autocomplete: 'organization'});
  const orgField = field('Organisation name', organization, 'Your team or product; you can invite others later.');
  const submit = h('button', {class: 'button block', type: 'submit'}, 'Log in');
  const tabs = h('div', {class: 'tabs', role: 'tablist'});
  const setMode = (next) => {
    mode = next;
    orgField.hidden = mode !== 'signup' || !!invitation;
    organization.required = mode === 'signup' && !invitation;
    password.autocomplete = mode === 'signup' ? 'new-password' : 'current-password';
    submit.textContent = mode === 'signup' ? 'Create account' : 'Log in';
    for (const button of tabs.children) {
      button.classList.toggle('active', button.dataset.mode === mode);
      button.setAttribute('aria-selected', String(button.dataset.mode === mode));
    }
    error.textContent = '';
  };
  tabs.append(
    h('button', {type: 'button', role: 'tab', dataset: {mode: 'login'}, onclick: () => setMode('login')}, 'Log in'),
    h('button', {type: 'button', role: 'tab', dataset: {mode: 'signup'}, onclick: () => setMode('signup')}, 'Sign up'));
  tabs.setAttribute('aria-label', 'Log in or sign up');
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
      // With an invitation, both tabs accept it: sign-up makes a new account in the inviting
      // organisation, log-in signs an existing account in there (even one that belongs
      // nowhere yet).
      if (invitation) body.invitation_token = invitation;
      else if (mode === 'signup') body.organization_name = organization.value;
      const created = await post(path, body, {auth: 'none'});
      session.set(created.token);
      me = await get('/api/developer/me');
      if (invitation) toast(`Welcome to ${me.organization.name}, as ${me.role}`);
      else if (mode === 'signup') toast(`Welcome to Portico, ${me.organization.name}`);
      if (invitation) history.replaceState(null, '', '#/keys');
      if (!location.hash) location.hash = '#/keys';
      showApp();
    } catch (e) {
      error.textContent = explain(e);
    } finally {
      submit.disabled = false;
    }
  });
  setMode(invitation ? 'signup' : 'login');
  mount(main, h('section', {class: 'auth'},
    h('h1', {}, 'Portico'),
    invitation
      ? h('div', {class: 'notice info', id: 'invitation-notice', role: 'status'}, 'You have been invited to an organisation. ',
        'Create an account with the email address the invitation was sent to, or log in to an account you already have with it.')
      : h('p', {class: 'lead'}, 'API keys, a playground, usage and docs for the Portico API.'),
    message ? h('div', {class: 'notice warn', role: 'status', id: 'auth-message'}, message) : null,
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
  history.replaceState(null, '', location.pathname);
  showAuth();
}

start();
