/**
 * Server-rendered pages: sign-up, sign-in, account (sessions, tokens, password), the home page
 * and the landing page of share links. Plain HTML forms, no scripts (except the document page’s editor), one stylesheet inline;
 * labels on every field, errors announced with role="alert".
 */
import { createReadStream, readdirSync } from 'node:fs';
import { EXTENSION_OUTPUT } from '../paths';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import * as schema from '../../shared/api';
import type { Principal } from '../auth/principal';
import type { RequestAuth } from './api';
import { readForm } from './body';
import { clientIp } from '../auth/client-address';
import { DomainError } from '../errors';
import { setErrorStatus } from './error-status';
import { ASSETS_PATH, PageAssets } from './page-assets';
import { classifyOrigin } from '../auth/origin-policy';
import type { Services } from './services';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie';

/** Security headers for every page. No scripts at all; forms post only to us; never framed. */
export const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Not no-referrer: with it, browsers send `Origin: null` on form posts, which the origin check refuses.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;margin-top:1rem;font-weight:600}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
button{font:inherit;margin-top:1rem;padding:.4rem 1rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}
.error{color:#a00;font-weight:600}.note{color:#555}code{background:#f3f3f3;padding:.1rem .3rem}form.inline{display:inline}form.inline button{margin:0}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="tandem-server" content="1">
<title>${escapeHtml(title)} · Tandem</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function send(ctx: Context, status: number, title: string, body: string, headers: Record<string, string> = {}): void {
  ctx.set({ ...PAGE_HEADERS, ...headers });
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = layout(title, body);
}

/** The extension zips `npm run build` made (WXT names them tandem-<version>-<browser>.zip). */
function extensionBuilds(): { chrome: string | null; firefox: string | null } {
  let files: string[] = [];
  try {
    files = readdirSync(EXTENSION_OUTPUT);
  } catch {
    // not built yet
  }
  const find = (browser: string): string | null => {
    const name = files
      .filter((f) => f.endsWith(`-${browser}.zip`))
      .sort()
      .pop();
    return name ? EXTENSION_OUTPUT + name : null;
  };
  return { chrome: find('chrome'), firefox: find('firefox') };
}

const alert = (message: string | null): string => (message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '');

/** Only same-site relative paths: `next` must not send people elsewhere. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?!\/)[\w\-./?=&%#]*$/.test(next) ? next : '/account';
}

function signInForm(next: string, error: string | null, email = ''): string {
  return `<h1>Sign in to Tandem</h1>
${alert(error)}
<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p>No account? <a href="/signup?next=${encodeURIComponent(next)}">Create one</a>.</p>`;
}

function signUpForm(next: string, error: string | null, email = '', name = ''): string {
  return `<h1>Create a Tandem account</h1>
${alert(error)}
<form method="post" action="/signup">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="displayName">Name shown to collaborators</label><input id="displayName" name="displayName" autocomplete="name" value="${escapeHtml(name)}">
<label for="password">Password (at least 8 characters)</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
<button type="submit">Create account</button>
</form>
<p>Have an account? <a href="/login?next=${encodeURIComponent(next)}">Sign in</a>.</p>`;
}

export function pageRoutes(router: Router, s: Services): void {
  const assets = new PageAssets();
  const auth = s.config.auth;
  const principalOf = (ctx: Context): Principal => (ctx.state as RequestAuth).principal;

  /** Form posts must come from our own pages. */
  const checkFormOrigin = (ctx: Context): void => {
    const kind = classifyOrigin(ctx.req, auth);
    if (kind !== 'same' && kind !== 'none') throw new DomainError('bad_origin', 'this form must be sent from this site');
    if (kind === 'none' && (ctx.state as RequestAuth).via === 'cookie') throw new DomainError('bad_origin', 'missing Origin header');
  };

  router.get('/', (ctx) => {
    const p = principalOf(ctx);
    const who =
      p.kind === 'user' ? `<p>Signed in as ${escapeHtml(p.user.email)} · <a href="/account">Account</a></p>` : '<p><a href="/login">Sign in</a> · <a href="/signup">Create an account</a></p>';
    const builds = extensionBuilds();
    const download = (browser: 'chrome' | 'firefox', label: string): string =>
      builds[browser] ? `<a href="/extension/tandem-${browser}.zip">${label}</a>` : `${label} (not built: run <code>npm run build</code>)`;
    send(
      ctx,
      200,
      'Tandem',
      `<h1>Tandem</h1><p>This server makes any text box on the web collaborative.</p>${who}
<h2>The browser extension</h2>
<p id="tandem-extension-status">Install the extension to collaborate on any text field: focus a field, click <strong>Collaborate</strong>, send the link.</p>
<p><button id="tandem-use-server" type="button" hidden>Use this server with my Tandem extension</button></p>
<ul>
<li>${download('chrome', 'Chrome / Chromium')}: unzip it, open <code>chrome://extensions</code>, turn on <em>Developer mode</em>, click <em>Load unpacked</em> and choose the unzipped folder (or, from a checkout, <code>extension/.output/chrome-mv3</code>).</li>
<li>${download('firefox', 'Firefox')}: open <code>about:debugging#/runtime/this-firefox</code>, click <em>Load Temporary Add-on…</em> and choose the zip (or <code>extension/.output/firefox-mv2/manifest.json</code>).</li>
</ul>
<p class="note">Then come back to this page and click “Use this server” (or set the server in the extension’s options), and sign in here.</p>
<p class="note">Clients sync over <code>/sync</code> (loro-protocol v1); the REST API is described at <a href="/api/openapi.json">/api/openapi.json</a>.</p>`,
    );
  });

  router.get('/extension/:file', async (ctx) => {
    const match = /^tandem-(chrome|firefox)\.zip$/.exec(ctx.params.file ?? '');
    const path = match ? extensionBuilds()[match[1] as 'chrome' | 'firefox'] : null;
    if (!path) throw new DomainError('not_found', 'no such build (run npm run build)');
    ctx.set({ 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${ctx.params.file}"`, 'X-Content-Type-Options': 'nosniff' });
    ctx.type = 'application/zip';
    ctx.body = createReadStream(path);
  });

  router.get('/login', (ctx) => send(ctx, 200, 'Sign in', signInForm(safeNext(ctx.query.next), null)));
  const signUpClosed = (ctx: Context): void =>
    send(ctx, 403, 'Create an account', '<h1>Create an account</h1><p role="alert">This server does not take sign-ups: ask its administrator for an account. Share links work without one.</p>');
  router.get('/signup', (ctx) => (auth.signUp === 'closed' ? signUpClosed(ctx) : send(ctx, 200, 'Create an account', signUpForm(safeNext(ctx.query.next), null))));

  router.post('/login', async (ctx) => {
    checkFormOrigin(ctx);
    const form = await readForm(ctx);
    const next = safeNext(form.next);
    const parsed = schema.signInBody.safeParse({ email: form.email ?? '', password: form.password ?? '' });
    if (!parsed.success) return send(ctx, 400, 'Sign in', signInForm(next, 'Enter your email and password.', form.email));
    try {
      const { token, expiresAt } = await s.accounts.signIn({ ...parsed.data, ip: clientIp(ctx, auth), userAgent: ctx.get('user-agent') });
      setSessionCookie(ctx, auth, token, expiresAt);
      ctx.status = 303;
      ctx.redirect(next);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      send(ctx, setErrorStatus(ctx, error), 'Sign in', signInForm(next, error.message, form.email));
    }
  });

  router.post('/signup', async (ctx) => {
    checkFormOrigin(ctx);
    if (auth.signUp === 'closed') return signUpClosed(ctx);
    const form = await readForm(ctx);
    const next = safeNext(form.next);
    const parsed = schema.signUpBody.safeParse({ email: form.email ?? '', password: form.password ?? '', ...(form.displayName ? { displayName: form.displayName } : {}) });
    if (!parsed.success) {
      return send(ctx, 400, 'Create an account', signUpForm(next, 'Check the email, and use a password of at least 8 characters.', form.email, form.displayName));
    }
    try {
      const user = await s.accounts.signUp({ ...parsed.data, displayName: parsed.data.displayName ?? parsed.data.email.split('@')[0]!, ip: clientIp(ctx, auth) });
      const { token, session } = await s.sessions.create(user.id, { ip: clientIp(ctx, auth), userAgent: ctx.get('user-agent') });
      setSessionCookie(ctx, auth, token, session.expiresAt);
      ctx.status = 303;
      ctx.redirect(next);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      send(ctx, setErrorStatus(ctx, error), 'Create an account', signUpForm(next, error.message, form.email, form.displayName));
    }
  });

  router.post('/logout', async (ctx) => {
    checkFormOrigin(ctx);
    const p = principalOf(ctx);
    if (p.kind === 'user' && p.via.kind === 'session') await s.sessions.revoke(p.via.sessionId);
    clearSessionCookie(ctx, auth);
    ctx.status = 303;
    ctx.redirect('/login');
  });

  const accountPage = async (ctx: Context, message: string | null, newToken: string | null = null): Promise<void> => {
    const p = principalOf(ctx);
    if (p.kind !== 'user' || p.via.kind !== 'session') {
      ctx.status = 303;
      return ctx.redirect(`/login?next=${encodeURIComponent('/account')}`);
    }
    const sessions = await s.sessions.list(p.user.id);
    const tokens = await s.tokens.list(p.user.id);
    const current = p.via.sessionId;
    const rows = sessions
      .map(
        (
          x,
        ) => `<tr><td>${escapeHtml(x.userAgent ?? 'unknown')}${x.id === current ? ' <strong>(this one)</strong>' : ''}</td><td>${escapeHtml(x.ip ?? '')}</td><td>${x.createdAt.toISOString().slice(0, 16)}</td>
<td><form class="inline" method="post" action="/account/sessions/${x.id}/revoke"><button type="submit" aria-label="Sign out this session">Sign out</button></form></td></tr>`,
      )
      .join('');
    const tokenRows = tokens
      .map(
        (t) => `<tr><td>${escapeHtml(t.name)}</td><td>${t.scopes.join(', ')}</td><td>${t.lastUsedAt?.toISOString().slice(0, 16) ?? 'never'}</td>
<td><form class="inline" method="post" action="/account/tokens/${t.id}/revoke"><button type="submit" aria-label="Revoke token ${escapeHtml(t.name)}">Revoke</button></form></td></tr>`,
      )
      .join('');
    send(
      ctx,
      200,
      'Account',
      `<h1>Your account</h1>
<p>${escapeHtml(p.user.displayName)} · ${escapeHtml(p.user.email)}${p.user.isAdmin ? ' · administrator' : ''}</p>
${message ? `<p role="status">${escapeHtml(message)}</p>` : ''}
${newToken ? `<p role="status">New token (shown once): <code>${escapeHtml(newToken)}</code></p>` : ''}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
<h2>Sessions</h2>
<table><thead><tr><th>Browser</th><th>Address</th><th>Since</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<h2>Personal access tokens</h2>
<table><thead><tr><th>Name</th><th>Scopes</th><th>Last used</th><th></th></tr></thead><tbody>${tokenRows || '<tr><td colspan="4">none</td></tr>'}</tbody></table>
<form method="post" action="/account/tokens">
<label for="token-name">New token name</label><input id="token-name" name="name" required maxlength="100">
<fieldset><legend>Scopes</legend>
<label><input type="checkbox" name="read" checked> read</label>
<label><input type="checkbox" name="write"> write</label>
${p.user.isAdmin ? '<label><input type="checkbox" name="admin"> admin</label>\n<label><input type="checkbox" name="metrics"> metrics (read /metrics only)</label>' : ''}
</fieldset>
<button type="submit">Create token</button>
</form>
<h2>Change password</h2>
<form method="post" action="/account/password">
<label for="current">Current password</label><input id="current" name="currentPassword" type="password" autocomplete="current-password" required>
<label for="new">New password (at least 8 characters)</label><input id="new" name="newPassword" type="password" autocomplete="new-password" minlength="8" required>
<label><input type="checkbox" name="revokeTokens" value="on"> Also revoke my personal access tokens (do this if the password leaked)</label>
<button type="submit">Change password</button>
</form>`,
    );
  };

  router.get('/account', (ctx) => accountPage(ctx, null));

  const signedInUser = (ctx: Context) => {
    const p = principalOf(ctx);
    if (p.kind !== 'user') throw new DomainError('unauthenticated', 'sign in first');
    return p;
  };

  router.post('/account/sessions/:sessionId/revoke', async (ctx) => {
    checkFormOrigin(ctx);
    const p = signedInUser(ctx);
    const sessionId = z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .parse(ctx.params.sessionId);
    await s.sessions.revoke(sessionId, p.user.id);
    ctx.status = 303;
    ctx.redirect(p.via.kind === 'session' && p.via.sessionId === sessionId ? '/login' : '/account');
  });

  router.post('/account/tokens', async (ctx) => {
    checkFormOrigin(ctx);
    const p = signedInUser(ctx);
    const form = await readForm(ctx);
    const scopes = (['read', 'write', 'admin', 'metrics'] as const).filter((sc) => form[sc] !== undefined && ((sc !== 'admin' && sc !== 'metrics') || p.user.isAdmin));
    const name = schema.createTokenBody.safeParse({ name: form.name ?? '', scopes });
    if (!name.success) return accountPage(ctx, 'Give the token a name and at least one scope.');
    const { token } = await s.tokens.create(p.user.id, name.data.name, name.data.scopes);
    return accountPage(ctx, null, token);
  });

  router.post('/account/tokens/:tokenId/revoke', async (ctx) => {
    checkFormOrigin(ctx);
    const p = signedInUser(ctx);
    await s.tokens.revoke(schema.id.parse(ctx.params.tokenId), p.user.id);
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/account/password', async (ctx) => {
    checkFormOrigin(ctx);
    const p = signedInUser(ctx);
    const form = await readForm(ctx);
    const parsed = schema.changePasswordBody.safeParse({ currentPassword: form.currentPassword, newPassword: form.newPassword, revokeTokens: form.revokeTokens === 'on' });
    if (!parsed.success) return accountPage(ctx, 'The new password needs at least 8 characters.');
    try {
      await s.accounts.changePassword(p.user.id, parsed.data.currentPassword, parsed.data.newPassword, p.via.kind === 'session' ? p.via.sessionId : null, parsed.data.revokeTokens);
    } catch (error) {
      if (error instanceof DomainError) return accountPage(ctx, error.message);
      throw error;
    }
    return accountPage(ctx, parsed.data.revokeTokens ? 'Password changed; your other sessions were signed out and your tokens revoked.' : 'Password changed; your other sessions were signed out.');
  });

  // Share links land here. The token is in the #fragment, which browsers never send: this
  // page cannot see it, and the extension (or, later, the editor page) reads it.
  router.get('/d/:docId', (ctx) => {
    const docId = schema.docId.safeParse(ctx.params.docId);
    if (!docId.success) throw new DomainError('not_found', 'no such document');
    const editor = assets.entry();
    send(
      ctx,
      200,
      'Shared document',
      `<h1>A shared Tandem document</h1>
<p>Someone shared a collaborative document with you: edit it here, or with the Tandem browser extension, where it was written or in a field you choose.</p>
<div id="tandem-extension-actions" hidden>
<p><button id="tandem-open-origin" type="button">Open where it was written</button>
<button id="tandem-pick-field" type="button">Bind to a field I choose</button></p>
<p class="note">“Bind to a field I choose”: go to any page, focus a text field, and click the “Bind to …” button that appears under it.</p>
</div>
${
  editor
    ? `<p id="tandem-editor-label"><strong>Document</strong></p>
<div id="tandem-toolbar" role="toolbar" aria-label="Formatting" aria-controls="tandem-editor" hidden>
<button type="button" data-format="bold" title="Bold (Ctrl+B)" aria-label="Bold"><b>B</b></button>
<button type="button" data-format="italic" title="Italic (Ctrl+I)" aria-label="Italic"><i>I</i></button>
<button type="button" data-format="underline" title="Underline (Ctrl+U)" aria-label="Underline"><u>U</u></button>
<button type="button" data-format="strike" title="Strikethrough" aria-label="Strikethrough"><s>S</s></button>
<button type="button" data-format="code" title="Code" aria-label="Code"><code>&lt;/&gt;</code></button>
<button type="button" data-format="link" title="Link" aria-label="Link">Link</button>
</div>
<div id="tandem-editor" data-tandem-editor role="textbox" aria-multiline="true" aria-labelledby="tandem-editor-label" contenteditable="false" style="min-height:16em;border:1px solid #888;border-radius:4px;padding:6px 8px;white-space:pre-wrap;overflow-wrap:anywhere"></div>
<p id="tandem-editor-status" class="note" role="status" aria-live="polite">Connecting…</p>
<section id="tandem-history" aria-label="Version history" hidden></section>
<script type="module" src="${escapeHtml(editor)}"></script>`
    : '<p class="note">The in-page editor is not built (run <code>npm run build</code>).</p>'
}
<p class="note">Document <code>${escapeHtml(docId.data)}</code>. The access key in this link stays in your browser: it is never sent to the server as part of the address.</p>`,
      // The editor: our own script and its WebAssembly, a socket to this origin; nothing else.
      {
        'Content-Security-Policy':
          "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      },
    );
  });

  // The editor's script and wasm: hashed names, precompressed, cached for a year (page-assets.ts).
  router.get(`${ASSETS_PATH}:file`, (ctx) => {
    if (!assets.serve(ctx, ctx.params.file ?? '')) throw new DomainError('not_found', 'no such asset (is the editor built? npm run build)');
  });
}
