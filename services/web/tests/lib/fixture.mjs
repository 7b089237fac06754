// The fixture every browser test file shares (after zero-to-production's
// `spawn_app`): one private `ledgerline all` and one Chromium for the file,
// and browser contexts that are closed with them, whatever a test left open.
import { after, before } from 'node:test';
import { startBackend } from './backend.mjs';
import { httpCommandsOnly, instrument, launchBrowser, signIn } from './browser.mjs';

const VIEWPORT = { width: 1200, height: 900 };

/**
 * Registers the file's before/after hooks; call it at the top of a describe.
 * `viewport` is the contexts' default size; the other options go to
 * startBackend ({ name, chaos, env }).
 *
 * @param {{ name: string, chaos?: number, env?: Record<string, string>, viewport?: { width: number, height: number } }} opts
 */
export function useTestApp({ viewport = VIEWPORT, ...backendOpts }) {
  const contexts = [];
  const app = {
    /** Set once the before hook ran. */
    backend: null,
    browser: null,
    get baseUrl() {
      return app.backend.baseUrl;
    },

    /**
     * A new browser context (a browser of its own: its own sign-in).
     * `httpOnly` sends commands over HTTP only, with `config` merged into the
     * app's configuration.
     */
    async newContext({ viewport: size = viewport, locale, httpOnly = false, config = {} } = {}) {
      const ctx = await app.browser.newContext({ viewport: size, ...(locale ? { locale } : {}) });
      contexts.push(ctx);
      if (httpOnly) await httpCommandsOnly(ctx, config);
      return ctx;
    },

    /**
     * A tab in a new context, instrumented (see instrument(); `allowConsole`
     * goes there) and, with `user`, signed in as that user.
     */
    async newPage(opts = {}) {
      const ctx = await app.newContext(opts);
      const page = await ctx.newPage();
      const rec = instrument(page, opts);
      if (opts.user) await signIn(page, app.baseUrl, opts.user);
      return { ctx, page, rec };
    },

    /** One signed-in tab per user, each in a browser of its own: [{ ctx, page, rec }, …]. */
    async signedInPages(...users) {
      const pages = [];
      for (const user of users) pages.push(await app.newPage({ user }));
      return pages;
    },
  };

  before(async () => {
    app.backend = await startBackend(backendOpts);
    app.browser = await launchBrowser();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await app.browser?.close();
    await app.backend?.stop();
  });
  return app;
}
