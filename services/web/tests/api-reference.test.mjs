// The API reference (issue 13, item 4): GET /openapi.json is the document,
// self-contained and served without a token; /docs renders it with Swagger UI
// from our own origin, under the app's Content-Security-Policy unchanged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

/** Every `$ref` in a JSON value. */
function refsOf(value, out = []) {
  if (Array.isArray(value)) value.forEach((v) => refsOf(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}

/** Follows a local reference (`#/a/b`) into the document. */
function pointerTarget(doc, ref) {
  return ref.slice(2).split('/').reduce(
    (at, part) => at?.[part.replaceAll('~1', '/').replaceAll('~0', '~')],
    doc,
  );
}

describe('API reference', () => {
  const app = useTestApp({ name: 'api-reference' });

  test('/openapi.json is the whole document, without a token, as application/json', async () => {
    const res = await fetch(`${app.baseUrl}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc = await res.json();
    assert.match(doc.openapi, /^3\.1\./);
    assert.ok(doc.paths['/commands/deposit']?.post, 'POST /commands/deposit is documented');
    assert.ok(doc.paths['/openapi.json']?.get, 'it documents itself');
    assert.equal(doc.servers[0].url, '/', 'its first server is the origin that served it');
    // Self-contained: a saved copy resolves every reference.
    const refs = refsOf(doc);
    assert.ok(refs.length > 100);
    for (const ref of refs) {
      assert.ok(ref.startsWith('#/'), `${ref} is not local`);
      assert.notEqual(pointerTarget(doc, ref), undefined, `${ref} dangles`);
    }
  });

  test('/docs renders the operations and schemas with no CSP violation', async () => {
    const { page, rec } = await app.newPage();
    // Chromium also logs a violation as a console error (caught by rec); the
    // event names the directive when it happens.
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const outside = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(app.baseUrl) && !req.url().startsWith('data:')) outside.push(req.url());
    });
    const res = await page.goto(`${app.baseUrl}/docs`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] ?? '', /^default-src 'self'/);

    const deposit = page.locator('.opblock-summary-path[data-path="/commands/deposit"]');
    await deposit.waitFor({ state: 'visible', timeout: 20_000 });
    for (const path of ['/commands/transfer', '/projections/AccountBalances', '/openapi.json']) {
      assert.ok(await page.locator(`.opblock-summary-path[data-path="${path}"]`).isVisible(), `${path} is listed`);
    }

    // An operation opens to its request body, read from the bundled schema.
    await deposit.click();
    const body = page.locator('#operations-commands-deposit .opblock-section-request-body');
    await body.waitFor({ state: 'visible' });
    await body.getByText('Schema', { exact: true }).click();
    await waitFor(async () => (await body.textContent()).includes('accountId'), 'the deposit body schema names accountId');

    // The schemas section lists the bundled body schemas (by their titles).
    await waitFor(() => page.locator('.models').getByText('DepositRequest', { exact: true }).isVisible(), 'DepositRequest in Schemas');

    // "Try it out" calls this origin (the document's first server is `/`).
    await page.locator('.opblock-summary-path[data-path="/healthz"]').click();
    const healthz = page.locator('#operations-health-healthz');
    await healthz.locator('.try-out__btn').click();
    await healthz.locator('.execute').click();
    await waitFor(async () => (await healthz.locator('.live-responses-table tbody .response-col_status').first().textContent())?.trim() === '200', 'GET /healthz answered 200 in the page');

    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(outside, [], 'the page asks no other origin');
    await rec.assertClean();
  });

  test('a file of /docs that does not exist is a 404 problem document', async () => {
    const res = await fetch(`${app.baseUrl}/docs/nope.js`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });
});
