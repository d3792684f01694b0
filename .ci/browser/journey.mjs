// The dashboard in a real browser (Debian's Chromium, driven by playwright-core), at a
// desktop viewport (1440×900) and then a phone's (390×844):
// sign up → create a key (shown once; focus on Copy; Escape warns first; the table refreshes)
// → a domain → the key's page → playground GET /v1/key with the stored key → green 200 → the
// copied cURL reads the key from the environment → history replay → POST a link → usage and
// the request log (details, Replay in playground) → docs → webhooks without a key (a
// delivery's payload and headers, Resend) → block,
// revoke → 401 → the session ends elsewhere and the next page offers sign-in, then returns.
// A team: an invitation accepted in a second browser, a viewer refused, promoted, allowed; the
// audit log and its diffs.
// On the phone: the menu opens the navigation, no page scrolls sideways, tables are cards.
// axe-core checks every page at both sizes (WCAG 2.2 A/AA): no serious or critical finding.
// A screenshot of every page at both sizes goes to the screenshot directory.
//
// Usage: node journey.mjs <base URL> <screenshot directory>
// Environment: CHROMIUM (the browser binary; default /usr/bin/chromium).

import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(`${process.env.PLAYWRIGHT_PREFIX || process.cwd()}/`);
const {chromium} = require('playwright-core');
const AXE = require.resolve('axe-core/axe.min.js');

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node journey.mjs <base URL> <screenshot directory>');
  process.exit(2);
}
mkdirSync(shots, {recursive: true});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Chromium's sandbox needs user namespaces, which CI containers (and root) do not give.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const problems = [];
/** A browser context at a viewport, with clipboard access and axe-core in every document. */
async function open(viewport, extra = {}) {
  const context = await browser.newContext({viewport, ...extra});
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: base});
  // An init script is injected by the browser, so the page's strict CSP does not apply to it.
  await context.addInitScript({path: AXE});
  const page = await context.newPage();
  page.on('console', (message) => {
    // A refused call (the 401s this journey provokes on purpose) is logged by Chromium itself.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return page;
}
let page = await open({width: 1440, height: 900});
let size = 'desktop';

let step = 0;
async function check(name, body) {
  step += 1;
  process.stdout.write(`${String(step).padStart(2)}. ${name} … `);
  await body();
  console.log('ok');
}
async function shot(name) {
  await page.screenshot({path: join(shots, `${size}-${name}.png`), fullPage: true});
}
/** axe-core on the page as it is: WCAG 2.2 A and AA; serious and critical findings fail. */
async function axe(name) {
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
    return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(found.length === 0, `axe on ${name} at ${size}:\n  ${found.join('\n  ')}`);
}
/** Nothing on the page is wider than the viewport. */
async function noSidewaysScroll(name) {
  const {scroll, width} = await page.evaluate(() => ({scroll: document.documentElement.scrollWidth, width: window.innerWidth}));
  expect(scroll <= width, `${name} scrolls sideways at ${size}: ${scroll} px wide in a ${width} px viewport`);
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

try {
  const email = `journey-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const hostname = `links-${Date.now()}.journey.example.com`;

  await check('the dashboard loads with a strict CSP and offers sign-up', async () => {
    const response = await page.goto(`${base}/`);
    const csp = response.headers()['content-security-policy'] || '';
    expect(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
    await page.getByRole('tab', {name: 'Sign up'}).click();
    await shot('01-sign-up');
    await axe('sign-up');
  });

  await check('sign up', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Organisation name').fill('Journey Inc');
    await page.getByRole('button', {name: 'Create account'}).click();
    await page.locator('#keys-table').waitFor();
    expect(await page.locator('#account-name').textContent() === `${email} · Journey Inc`, 'the account is shown');
    expect(!page.url().includes('pts_'), 'the session token is never in the URL');
  });

  await check('a domain, added in the dashboard (its syntax checked as typed)', async () => {
    await page.getByRole('link', {name: 'Domains'}).click();
    await page.locator('#new-domain').fill(`https://${hostname}/`);
    expect((await page.locator('#new-domain-error').textContent()).includes('Only the hostname'), 'a URL is refused as typed');
    await page.locator('#new-domain').fill(hostname);
    await page.locator('#add-domain').click();
    await page.locator('#domains-table').getByText(hostname).waitFor();
    await shot('02-domains');
    await axe('domains');
  });

  let key;
  await check('create a key: expiry checked, shown once, focus on Copy, Escape warns, the table refreshes', async () => {
    await page.getByRole('link', {name: 'API keys'}).click();
    await page.locator('#create-key').click();
    await page.getByLabel('Name', {exact: true}).fill('Journey key');
    expect(await page.locator('dialog .checks').getByText(hostname).isVisible(), 'the new domain is offered as a scope');
    // "On" without a date is refused rather than creating a key that never expires.
    await page.locator('dialog input[name=expiry][value=date]').check();
    await page.getByRole('button', {name: 'Create key', exact: true}).click();
    await page.locator('dialog').getByText('Choose when the key expires').waitFor();
    await page.locator('dialog').getByRole('button', {name: '90 days'}).click();
    await shot('03-create-key-dialog');
    await axe('the create-key dialog');
    await page.getByRole('button', {name: 'Create key', exact: true}).click();
    await page.locator('#new-key-value').waitFor();
    key = (await page.locator('#new-key-value').textContent()).trim();
    expect(/^ptk_[A-Za-z0-9]{49}$/.test(key), `a key: ${key}`);
    expect((await page.locator('#new-key').textContent()).includes('will not be shown again'), 'the warning');
    expect(await page.evaluate(() => document.activeElement?.id) === 'copy-new-key', 'focus is on Copy');
    await page.locator('#copy-new-key').click();
    await page.locator('#copy-new-key').getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText()) === key, 'Copy copies the key');
    expect(await page.locator('dialog .toast').count() > 0, 'the copy toast shows inside the dialog, above its backdrop');
    await shot('04-key-shown-once');
    await axe('the shown-once dialog');
    // Escape: first a warning, then it closes; the table has the new key either way.
    await page.keyboard.press('Escape');
    await page.locator('#key-escape-warning').waitFor();
    expect(await page.locator('#new-key-value').isVisible(), 'the key is still shown after one Escape');
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({state: 'detached'});
    await page.locator('#keys-table tbody tr[data-key-id]').first().waitFor();
    expect(await page.locator('#keys-table tbody tr[data-key-id]').count() === 1, 'the table shows the new key at once');
    expect(!(await page.content()).includes(key), 'the key is gone from the page once dismissed');
    await shot('05-keys');
    await axe('keys');
  });

  await check('the key has a page: settings, rotation state, usage, recent requests', async () => {
    await page.locator('#keys-table .key-link').first().click();
    await page.locator('#key-settings').waitFor();
    await page.locator('#key-chart').waitFor();
    await page.getByRole('button', {name: 'Rotate Journey key'}).click();
    await page.locator('dialog select').selectOption('3600');
    await page.getByRole('button', {name: 'Rotate', exact: true}).click();
    await page.locator('#new-key-value').waitFor();
    key = (await page.locator('#new-key-value').textContent()).trim();
    await page.locator('#key-done').click();
    await page.locator('#rotation-state').waitFor();
    expect((await page.locator('#rotation-state').textContent()).includes('still works until'), 'the old secret’s grace is shown');
    await shot('06-key-page');
    await axe('the key page');
  });

  await check('a pasted key is checked as soon as it is whole', async () => {
    await page.goto(`${base}/#/playground`);
    await page.locator('#endpoint').waitFor();
    await page.getByLabel('Paste a key').check();
    await page.locator('#pasted-key').fill(key);
    await page.locator('#pasted-key-info .badge.ok').waitFor();
    expect((await page.locator('#pasted-key-info').textContent()).includes('full_access'), 'its scopes are shown');
    await page.getByLabel('A stored key').check();
  });

  await check('playground: GET /v1/key with the stored key → green 200; the copied cURL works in a shell', async () => {
    expect(await page.locator('#endpoint').inputValue() === 'GET /v1/key', 'GET /v1/key is preselected');
    const preview = await page.locator('#preview').textContent();
    expect(preview.includes('injected server-side') && !preview.includes(key), 'the preview masks the key');
    await page.locator('#send').click();
    await page.locator('#status-badge').waitFor();
    expect((await page.locator('#status-badge').textContent()) === '200', 'status 200');
    expect((await page.locator('#status-badge').getAttribute('class')).includes('ok'), 'a green badge');
    expect((await page.locator('#response-body').textContent()).includes('Journey key'), 'the key described');
    expect(!(await page.content()).includes(key), 'the stored key never reaches the page');
    await page.locator('#copy-curl').click();
    await page.locator('#copy-curl').getByText('Copied').waitFor();
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    // Double quotes: the shell expands the variable (single quotes would send it literally).
    expect(curl.includes('-H "Authorization: Bearer $PORTICO_API_KEY"') && !curl.includes(key), `Copy cURL: ${curl}`);
    await shot('07-playground-200');
    await axe('playground');
  });

  await check('history: replay the call', async () => {
    expect(await page.locator('#history li').count() === 1, 'one history entry');
    await page.locator('[data-replay="0"]').click();
    await page.waitForFunction(() => document.querySelectorAll('#history li').length === 2);
    expect((await page.locator('#status-badge').textContent()) === '200', 'the replay answered 200');
  });

  await check('POST a link with the body editor (invalid JSON is flagged first)', async () => {
    await page.locator('#endpoint').selectOption('POST /v1/links');
    expect((await page.locator('#body').inputValue()).includes('"url"'), 'the body is prefilled from the example');
    await page.locator('#body').fill('{"url": "https://example.com/from-the-browser",');
    await page.locator('#body-error').getByText('Invalid JSON').waitFor();
    expect(await page.locator('#send').isDisabled(), 'Send waits for valid JSON');
    await page.locator('#body').fill('{"url": "https://example.com/from-the-browser", "title": "From the browser"}');
    expect(!(await page.locator('#send').isDisabled()), 'Send is back');
    await page.locator('#send').click();
    await page.waitForFunction(() => document.querySelector('#status-badge')?.textContent === '201');
    expect((await page.locator('#response-body').textContent()).includes('from-the-browser'), 'the link created');
    await shot('08-playground-post');
  });

  await check('usage: the chart and the request log, without picking a key; a request’s details replay it', async () => {
    // The request log is written in batches within a second or so.
    const total = async () => Number((await page.locator('#usage-total .value').textContent()).replace(/\D/g, ''));
    for (let attempt = 0; attempt < 20; attempt++) {
      await page.goto(`${base}/#/usage`);
      await page.reload();
      await page.locator('#usage-chart').waitFor();
      if (await page.locator('#usage-chart rect.bar').count() > 0 && await total() >= 4) break;
      await page.waitForTimeout(500);
    }
    expect(await page.locator('#usage-chart rect.bar').count() > 0, 'bars in the chart');
    // The pasted key's check, the call, its replay and the POST.
    expect(await total() >= 4, `the four calls counted (${await total()})`);
    await page.locator('#request-log table').waitFor();
    expect(await page.locator('#log-key').inputValue() === '', 'no key to pick first');
    expect((await page.locator('#request-log tbody').textContent()).includes('Journey key'), 'keys by name, not id');
    await page.locator('#log-status').fill('201');
    await page.locator('#log-status').press('Tab');
    await page.waitForFunction(() => document.querySelector('#log-count')?.textContent.startsWith('1–1 of 1'));
    await shot('09-usage');
    await axe('usage');
    await page.locator('#request-log [data-request-id]').first().click();
    await page.locator('#replay-in-playground').click();
    await page.waitForFunction(() => document.querySelector('#endpoint')?.value === 'POST /v1/links');
  });

  await check('docs: every group, markdown rendered, the documents to take away', async () => {
    await page.goto(`${base}/#/docs`);
    await page.locator('[data-operation="link_create"]').waitFor();
    await page.locator('[data-operation="link_create"] summary').click();
    await page.locator('[data-operation="link_create"] .schema').first().waitFor();
    // Samples in four languages, each copied as shown.
    const tabs = page.locator('[data-operation="link_create"] .sample-tabs .tab');
    expect(await tabs.count() === 4, `four sample languages (${await tabs.count()})`);
    await tabs.nth(2).click();
    await page.locator('[data-operation="link_create"] .copy-sample').click();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('import os'));
    const responses = await page.locator('[data-operation="link_create"] .response').allInnerTexts();
    expect(responses.some((r) => r.includes('429') && r.includes('rate_limited')), 'shared error responses are read through their $ref');
    const text = await page.locator('[data-operation="link_create"] .op-body').innerText();
    expect(!/`/.test(text), 'no raw Markdown backticks');
    expect(await page.locator('#download-postman').getAttribute('href') === '/postman.json', 'the Postman link');
    await page.locator('#copy-llms').click();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('# Portico'));
    // A table-of-contents jump leaves the heading visible below the sticky bar.
    await page.locator('.toc a[data-tag="webhooks"]').click();
    await page.waitForFunction(() => {
      const top = document.querySelector('#tag-webhooks h2').getBoundingClientRect().top;
      return Math.abs(top - 76) < 24;
    });
    const bar = await page.locator('#topbar').boundingBox();
    const heading = await page.locator('#tag-webhooks h2').boundingBox();
    expect(heading.y >= bar.y + bar.height, `the heading (${heading.y}) is below the bar (${bar.y + bar.height})`);
    await shot('10-docs');
    await axe('docs');
  });

  await check('webhooks: add an endpoint without a key (secret shown once), send a test, read the deliveries', async () => {
    await page.goto(`${base}/#/webhooks`);
    await page.locator('#webhooks table').waitFor();
    await page.getByRole('button', {name: '+ Add endpoint'}).click();
    await page.getByLabel('URL').fill(process.env.WEBHOOK_URL || 'http://127.0.0.1:9/hooks');
    await page.getByRole('button', {name: 'Add endpoint', exact: true}).click();
    const secret = (await page.locator('dialog .secret-box code').textContent()).trim();
    expect(secret.startsWith('whsec_'), `a signing secret: ${secret}`);
    await page.getByRole('button', {name: 'I have stored it'}).click();
    await page.locator('#webhooks tbody tr').first().getByRole('button', {name: 'Send test'}).click();
    await page.locator('#deliveries table').waitFor();
    for (let attempt = 0; attempt < 20 && await page.locator('#deliveries tbody tr td.empty').count(); attempt++) {
      await page.waitForTimeout(500);
      await page.locator('#webhooks tbody tr').first().getByRole('button', {name: 'Deliveries'}).click();
      await page.locator('#deliveries table').waitFor();
    }
    expect(await page.locator('#deliveries tbody tr td.empty').count() === 0 &&
      (await page.locator('#deliveries').textContent()).includes('ping'), 'the test delivery is logged');
    await shot('11-webhooks');
    await axe('webhooks');
    // A delivery's details: payload and headers as sent; Resend queues it again.
    await page.locator('#deliveries [data-delivery-id]').first().click();
    await page.locator('#delivery-payload').waitFor();
    expect((await page.locator('#delivery-payload').textContent()).includes('"type": "ping"'), 'the payload');
    expect((await page.locator('#delivery-details').textContent()).includes('webhook-id'), 'the headers');
    await axe('the delivery details');
    const before = await page.locator('#deliveries tbody tr').count();
    await page.locator('#resend-delivery').click();
    await page.locator('dialog').waitFor({state: 'detached'});
    for (let attempt = 0; attempt < 20 && await page.locator('#deliveries tbody tr').count() <= before; attempt++) {
      await page.waitForTimeout(500);
      await page.locator('#webhooks tbody tr').first().getByRole('button', {name: 'Deliveries'}).click();
      await page.locator('#deliveries table').waitFor();
    }
    expect(await page.locator('#deliveries tbody tr').count() > before, 'the resent delivery is logged');
  });

  await check('block the key from its edit dialog (403 key_blocked), then unblock it', async () => {
    const setBlocked = async (blocked) => {
      await page.goto(`${base}/#/keys`);
      await page.locator('#keys-table tbody tr').first().getByRole('button', {name: /^Edit/}).click();
      await page.locator('dialog input[name=blocked]').setChecked(blocked);
      if (blocked) await page.locator('dialog input[name=blocked_reason]').fill('Journey pause');
      await page.getByRole('button', {name: 'Save'}).click();
      await page.locator('dialog').waitFor({state: 'detached'});
    };
    await setBlocked(true);
    await page.locator('#keys-table .badge.warn').getByText('blocked').waitFor();
    const answer = await page.evaluate(async (keyId) => {
      const response = await fetch('/api/developer/playground/test', {method: 'POST',
        headers: {'content-type': 'application/json', authorization: `Bearer ${localStorage.getItem('portico.session')}`},
        body: JSON.stringify({api_key_id: keyId, method: 'GET', endpoint: '/v1/key'})});
      return response.json();
    }, await page.locator('#keys-table tbody tr').first().getAttribute('data-key-id'));
    expect(answer.status_code === 403 && answer.body.code === 'key_blocked', `blocked: ${JSON.stringify(answer.body)}`);
    await setBlocked(false);
    await page.locator('#keys-table .badge.ok').getByText('active').waitFor();
  });

  await check('revoke the key, with confirmation', async () => {
    await page.goto(`${base}/#/keys`);
    await page.locator('#keys-table tbody tr').first().getByRole('button', {name: /^Revoke/}).click();
    await page.getByRole('button', {name: 'Revoke key'}).click();
    await page.locator('#keys-table .badge.bad').getByText('revoked').waitFor();
    await shot('12-key-revoked');
  });

  await check('the playground call now answers 401', async () => {
    await page.goto(`${base}/#/playground`);
    await page.locator('#history li').first().waitFor();
    await page.locator('#history [data-replay]').last().click(); // the first call: GET /v1/key
    await page.waitForFunction(() => document.querySelector('#status-badge')?.textContent === '401');
    expect((await page.locator('#status-badge').getAttribute('class')).includes('warn'), 'an amber badge');
    expect((await page.locator('#response-body').textContent()).includes('key_revoked'), 'key_revoked');
    await shot('13-playground-401');
  });

  await check('the session ends elsewhere: the next page offers sign-in, then returns to it', async () => {
    await page.goto(`${base}/#/keys`);
    await page.locator('#keys-table').waitFor();
    const token = await page.evaluate(() => localStorage.getItem('portico.session'));
    const out = await fetch(`${base}/api/developer/logout`, {method: 'POST', headers: {authorization: `Bearer ${token}`}});
    expect(out.status === 204, `signed out elsewhere (${out.status})`);
    await page.getByRole('link', {name: 'Usage'}).click();
    await page.locator('#auth-message').waitFor();
    expect((await page.locator('#auth-message').textContent()).includes('Sign in again'), 'a clear message');
    expect(await page.getByLabel('Email').isVisible(), 'the sign-in form, not an error in its place');
    expect(!(await page.locator('main').textContent()).includes('req_'), 'no request id for a person to read');
    await page.locator('.brand').click();
    expect(await page.getByLabel('Email').isVisible(), 'the logo keeps the form');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', {name: 'Log in'}).click();
    await page.locator('#auth-error').getByText(/./).waitFor();
    expect(!(await page.locator('#auth-error').textContent()).includes('req_'), 'a wrong password reads as one');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', {name: 'Log in'}).click();
    await page.locator('#keys-table').waitFor();
    await page.goto(`${base}/#/usage`);
    await page.locator('#usage-chart').waitFor();
  });

  await check('offline: a clear message with Retry, then it works again', async () => {
    await page.context().setOffline(true);
    await page.goto(`${base}/#/domains`).catch(() => {});
    await page.evaluate(() => { location.hash = '#/keys'; });
    await page.locator('main .notice.bad').getByText('Cannot reach Portico').waitFor();
    await page.context().setOffline(false);
    await page.locator('main .notice.bad').getByRole('button', {name: 'Retry'}).click();
    await page.locator('#keys-table').waitFor();
  });

  // --- a team: invite, accept in a second browser, roles, the audit log ---------------------
  const owner = page;
  const viewerEmail = `viewer-${Date.now()}@example.com`;
  let invitationUrl;
  await check('team: invite a viewer; the link is shown once, focus on Copy', async () => {
    await page.getByRole('link', {name: 'Team'}).click();
    await page.locator('#members-table').waitFor();
    await page.locator('#invite-email').fill(viewerEmail);
    await page.locator('#invite-role').selectOption('viewer');
    await page.locator('#invite').click();
    await page.locator('#invite-url').waitFor();
    invitationUrl = (await page.locator('#invite-url').textContent()).trim();
    expect(/#\/join\?token=pti_[A-Za-z0-9]{43}$/.test(invitationUrl), `an invitation link: ${invitationUrl}`);
    expect(await page.evaluate(() => document.activeElement?.id) === 'copy-invite-link', 'focus is on Copy link');
    await shot('14-invitation');
    await axe('the invitation dialog');
    await page.locator('#invite-done').click();
    await page.locator('#invitations-table').getByText(viewerEmail).waitFor();
    await shot('15-team');
    await axe('the team page');
  });

  const invitee = await open({width: 1440, height: 900});
  await check('a second browser accepts by signing up; as a viewer it cannot create a key', async () => {
    page = invitee;
    await page.goto(invitationUrl.replace(/^https?:\/\/[^/]+/, base));
    await page.locator('#invitation-notice').waitFor();
    expect(!(await page.getByLabel('Organisation name').isVisible()), 'joining asks for no organisation name');
    await page.getByLabel('Email').fill(viewerEmail);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', {name: 'Create account'}).click();
    await page.locator('#keys-table').waitFor();
    expect(await page.locator('#account-name').textContent() === `${viewerEmail} · Journey Inc`, 'in the inviting organisation');
    expect(!page.url().includes('pti_'), 'the invitation token leaves the address bar');
    const create = page.locator('#create-key');
    expect(await create.isDisabled(), 'a viewer cannot create a key');
    expect((await create.getAttribute('title')).includes('developer'), 'and is told which role it needs');
    await page.locator('#role-notice').waitFor();
    // The server refuses anyway.
    const refused = await page.evaluate(async () => {
      const r = await fetch('/api/developer/apikeys', {method: 'POST', headers: {authorization: `Bearer ${localStorage.getItem('portico.session')}`,
        'content-type': 'application/json'}, body: JSON.stringify({name: 'sneaky', scopes: ['links:read']})});
      return [r.status, (await r.json()).code];
    });
    expect(refused[0] === 403 && refused[1] === 'insufficient_role', `the server refuses: ${refused}`);
    expect(!(await page.getByRole('link', {name: 'Audit log'}).isVisible()), 'a viewer has no audit log link');
    await shot('16-viewer-keys');
    await axe('the keys page of a viewer');
  });

  await check('the owner promotes the viewer to developer', async () => {
    page = owner;
    await page.reload();
    await page.locator('#members-table').getByText(viewerEmail).waitFor();
    await page.locator('#members-table tr', {hasText: viewerEmail}).locator('select').selectOption('developer');
    await page.locator('.toast').getByText(`${viewerEmail} is now a developer`).waitFor();
  });

  await check('the same session, now a developer, creates a key', async () => {
    page = invitee;
    await page.reload();
    await page.locator('#keys-table').waitFor();
    expect(!(await page.locator('#create-key').isDisabled()), 'Create key is enabled for a developer');
    expect(await page.locator('#role-notice').count() === 0, 'no role notice for what the role allows');
    await page.locator('#create-key').click();
    await page.getByLabel('Name', {exact: true}).fill('Developer key');
    expect(await page.getByLabel('full_access', {exact: true}).isDisabled(), 'full_access needs an admin');
    expect(await page.getByLabel('audit:read', {exact: true}).isDisabled(), 'audit:read needs an admin');
    await page.getByRole('button', {name: 'Create key', exact: true}).click();
    await page.getByText('Choose at least one scope.').waitFor();
    await page.getByLabel('links:read', {exact: true}).check();
    await page.getByRole('button', {name: 'Create key', exact: true}).click();
    await page.locator('#new-key-value').waitFor();
    await page.locator('#key-done').click();
    await page.locator('#keys-table').getByText('Developer key').waitFor();
    await page.context().close();
  });

  await check('audit log: the invitation, its acceptance and the promotion, each row opening its diff', async () => {
    page = owner;
    await page.getByRole('link', {name: 'Audit log'}).click();
    await page.locator('#audit-table').waitFor();
    for (const action of ['invitation.created', 'invitation.accepted', 'member.role_changed', 'key.created']) {
      await page.locator('#audit-table').getByText(action, {exact: true}).first().waitFor();
    }
    await shot('17-audit-log');
    await axe('the audit log');
    await page.locator('#audit-action').selectOption('member.role_changed');
    await page.locator('#audit-filter').click();
    await page.waitForFunction(() => document.querySelectorAll('#audit-table tbody tr').length === 1);
    await page.locator('#audit-table tbody tr').first().getByRole('button', {name: /^Details/}).click();
    await page.locator('#audit-diff').waitFor();
    const diff = await page.locator('#audit-diff').textContent();
    expect(diff.includes('role') && diff.includes('viewer') && diff.includes('developer'), `the diff: ${diff}`);
    expect((await page.locator('dialog').textContent()).includes(email), 'the actor is named by email');
    await shot('18-audit-diff');
    await axe('the audit entry dialog');
    await page.getByRole('button', {name: 'Close'}).click();
  });

  // --- the same account on a phone ---------------------------------------------------------
  size = 'phone';
  const token = await page.evaluate(() => localStorage.getItem('portico.session'));
  await page.context().close();
  page = await open({width: 390, height: 844}, {isMobile: true, hasTouch: true, deviceScaleFactor: 2});

  await check('phone: sign in; the menu opens the navigation', async () => {
    await page.goto(`${base}/`);
    await shot('01-sign-in');
    await axe('sign-in');
    await noSidewaysScroll('sign-in');
    await page.evaluate((t) => localStorage.setItem('portico.session', t), token);
    await page.goto(`${base}/#/keys`);
    await page.reload();
    await page.locator('#keys-table').waitFor();
    const menu = page.locator('#menu');
    expect(await menu.isVisible(), 'a Menu button');
    expect(!(await page.getByRole('link', {name: 'Usage'}).isVisible()), 'the navigation is folded');
    await menu.click();
    expect(await menu.getAttribute('aria-expanded') === 'true', 'the menu says it is open');
    for (const name of ['API keys', 'Domains', 'Playground', 'Usage', 'Webhooks', 'Team', 'Audit log', 'Docs']) {
      const box = await page.getByRole('link', {name, exact: true}).boundingBox();
      expect(box && box.width > 100 && box.x >= 0 && box.x + box.width <= 390, `${name} is visible and tappable`);
    }
    const logout = await page.locator('#logout').boundingBox();
    expect(logout && logout.x + logout.width <= 390, 'Log out is inside the screen');
    await shot('02-menu');
    await axe('the open menu');
    await page.getByRole('link', {name: 'Usage'}).click();
    await page.locator('#usage-chart').waitFor();
    expect(await menu.getAttribute('aria-expanded') === 'false', 'the menu closes on navigation');
  });

  const phonePages = [
    ['keys', '#keys-table', '03-keys'], ['domains', '#domains-table', '04-domains'], ['playground', '#endpoint', '05-playground'],
    ['usage', '#request-log table', '06-usage'], ['webhooks', '#webhooks table', '07-webhooks'], ['docs', '[data-operation]', '08-docs'],
    ['team', '#members-table', '10-team'], ['audit', '#audit-table', '11-audit-log'],
  ];
  for (const [name, ready, file] of phonePages) {
    await check(`phone: ${name} fits the screen and passes axe`, async () => {
      await page.goto(`${base}/#/${name}`);
      await page.locator(ready).first().waitFor();
      if (name === 'docs') await page.locator('[data-operation="link_create"] summary').click();
      if (name === 'keys') {
        // A key row is a card: its actions on screen, not off to the side.
        const revoke = await page.locator('#keys-table tbody tr').first().getByRole('button', {name: /^Revoke/}).boundingBox();
        expect(revoke && revoke.x + revoke.width <= 390, 'key actions are on screen');
      }
      if (name === 'usage') {
        const chart = await page.locator('#usage-chart').boundingBox();
        expect(chart && chart.width <= 390 && chart.height / chart.width > 0.4, `the chart keeps its proportions (${chart?.width}×${chart?.height})`);
      }
      await noSidewaysScroll(name);
      await shot(file);
      await axe(name);
    });
  }
  await check('phone: a key’s page fits the screen and passes axe', async () => {
    await page.goto(`${base}/#/keys`);
    await page.locator('#keys-table .key-link').first().click();
    await page.locator('#key-settings').waitFor();
    await noSidewaysScroll('the key page');
    await shot('09-key-page');
    await axe('the key page');
  });

  expect(problems.length === 0, `the browser reported problems:\n  ${problems.join('\n  ')}`);
  console.log(`\nThe journey passed at 1440×900 and 390×844, axe clean; screenshots in ${shots}`);
} catch (error) {
  console.log('FAILED');
  await shot('failure').catch(() => {});
  console.error(error.message);
  if (problems.length) console.error(`browser problems:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
