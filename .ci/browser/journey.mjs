// The dashboard in a real browser (Debian's Chromium, driven by playwright-core):
// sign up → create a key (shown once) → playground GET /v1/key with the stored key → green
// 200 → history replay → POST a link with the body editor → the usage chart shows the calls →
// revoke the key → the playground call now answers 401. A screenshot of each page is saved.
//
// Usage: node journey.mjs <base URL> <screenshot directory>
// Environment: CHROMIUM (the browser binary; default /usr/bin/chromium).

import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(`${process.env.PLAYWRIGHT_PREFIX || process.cwd()}/`);
const {chromium} = require('playwright-core');

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
const context = await browser.newContext({viewport: {width: 1360, height: 900}});
await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: base});
const page = await context.newPage();
const problems = [];
page.on('console', (message) => {
  if (message.type() === 'error') problems.push(`console: ${message.text()}`);
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

let step = 0;
async function check(name, body) {
  step += 1;
  process.stdout.write(`${String(step).padStart(2)}. ${name} … `);
  await body();
  console.log('ok');
}
async function shot(name) {
  await page.screenshot({path: join(shots, `${name}.png`), fullPage: true});
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

try {
  const email = `journey-${Date.now()}@example.com`;

  await check('the dashboard loads with a strict CSP and offers sign-up', async () => {
    const response = await page.goto(`${base}/`);
    const csp = response.headers()['content-security-policy'] || '';
    expect(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
    await page.getByRole('tab', {name: 'Sign up'}).click();
    await shot('01-sign-up');
  });

  await check('sign up', async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Organisation name').fill('Journey Inc');
    await page.getByRole('button', {name: 'Create account'}).click();
    await page.locator('#keys-table').waitFor();
    expect(await page.locator('#account-name').textContent() === `${email} · Journey Inc`, 'the account is shown');
    expect(!page.url().includes('pts_'), 'the session token is never in the URL');
  });

  let key;
  await check('create a key: shown once, with a warning and Copy', async () => {
    await page.locator('#create-key').click();
    await page.getByLabel('Name', {exact: true}).fill('Journey key');
    await shot('02-create-key-dialog');
    await page.getByRole('button', {name: 'Create key', exact: true}).click();
    await page.locator('#new-key-value').waitFor();
    key = (await page.locator('#new-key-value').textContent()).trim();
    expect(/^ptk_[A-Za-z0-9]{49}$/.test(key), `a key: ${key}`);
    expect((await page.locator('#new-key').textContent()).includes('will not be shown again'), 'the warning');
    expect(await page.locator('#new-key').getByRole('button', {name: 'Copy'}).isVisible(), 'a Copy button');
    await shot('03-key-shown-once');
    await page.locator('#key-done').click();
    await page.locator('#keys-table tbody tr').first().waitFor();
    expect(await page.locator('#keys-table tbody tr').count() === 1, 'one key in the table');
    expect(!(await page.content()).includes(key), 'the key is gone from the page once dismissed');
    await shot('04-keys');
  });

  await check('the pasted key is validated with /v1/key', async () => {
    await page.goto(`${base}/#/playground`);
    await page.locator('#endpoint').waitFor();
    await page.getByLabel('Paste a key').check();
    await page.locator('#pasted-key').fill(key);
    await page.getByRole('button', {name: 'Check key'}).click();
    await page.locator('#pasted-key-info .badge.ok').waitFor();
    expect((await page.locator('#pasted-key-info').textContent()).includes('full_access'), 'its scopes are shown');
    await page.getByLabel('A stored key').check();
  });

  await check('playground: GET /v1/key with the stored key → green 200', async () => {
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
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    expect(curl.includes('$PORTICO_API_KEY') && !curl.includes(key), `Copy cURL masks the key: ${curl}`);
    await shot('05-playground-200');
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
    await shot('06-playground-post');
  });

  await check('usage: the chart shows the calls', async () => {
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
    await shot('07-usage');
  });

  await check('docs: every group, with the documents to take away', async () => {
    await page.goto(`${base}/#/docs`);
    await page.locator('[data-operation="link_create"]').waitFor();
    await page.locator('[data-operation="link_create"] summary').click();
    await page.locator('[data-operation="link_create"] .schema').waitFor();
    // Samples in four languages, each copied as shown.
    const tabs = page.locator('[data-operation="link_create"] .sample-tabs .tab');
    expect(await tabs.count() === 4, `four sample languages (${await tabs.count()})`);
    await tabs.nth(2).click();
    await page.locator('[data-operation="link_create"] .copy-sample').click();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('import os'));
    const responses = await page.locator('[data-operation="link_create"] tbody tr').allInnerTexts();
    expect(responses.some((r) => r.includes('429') && r.includes('rate_limited')), 'shared error responses are read through their $ref');
    expect(await page.locator('#download-postman').getAttribute('href') === '/postman.json', 'the Postman link');
    await page.locator('#copy-llms').click();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('# Portico'));
    await shot('08-docs');
  });

  await check('webhooks: add an endpoint (secret shown once), send a test, read the deliveries', async () => {
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
    await shot('09-webhooks');
  });

  await check('block the key from its edit dialog (403 key_blocked), then unblock it', async () => {
    const setBlocked = async (blocked) => {
      await page.goto(`${base}/#/keys`);
      await page.locator('#keys-table tbody tr').first().getByRole('button', {name: 'Edit'}).click();
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
    await page.locator('#keys-table tbody tr').first().getByRole('button', {name: 'Revoke'}).click();
    await page.getByRole('button', {name: 'Revoke key'}).click();
    await page.locator('#keys-table .badge.bad').getByText('revoked').waitFor();
    await shot('10-key-revoked');
  });

  await check('the playground call now answers 401', async () => {
    await page.goto(`${base}/#/playground`);
    await page.locator('#history li').first().waitFor();
    await page.locator('#history [data-replay]').last().click(); // the first call: GET /v1/key
    await page.waitForFunction(() => document.querySelector('#status-badge')?.textContent === '401');
    expect((await page.locator('#status-badge').getAttribute('class')).includes('warn'), 'an amber badge');
    expect((await page.locator('#response-body').textContent()).includes('key_revoked'), 'key_revoked');
    await shot('11-playground-401');
  });

  expect(problems.length === 0, `the browser reported problems:\n  ${problems.join('\n  ')}`);
  console.log(`\nThe journey passed; screenshots in ${shots}`);
} catch (error) {
  console.log('FAILED');
  await shot('failure').catch(() => {});
  console.error(error.message);
  if (problems.length) console.error(`browser problems:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
