/**
 * The dev IdP's sign-in pages, in place of oidc-provider's quick-start `devInteractions`: the same
 * login and consent forms (fields `prompt`, `login`, `password`), plus a "second factor (dev)"
 * checkbox, so that a browser sign-in can carry `amr: ["pwd", "mfa"]` as `airclutch dev token --mfa`
 * does, and break-glass policies can be tried from the web UI. Any password is accepted: dev only.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DevIdpUser } from './identity-config.ts';

/** Where the provider sends the browser for a sign-in step (`interactions.url`). */
export const DEV_INTERACTION_PATH = '/interaction/';

/** `amr` values (RFC 8176) of a dev sign-in with and without the second factor. */
export const DEV_AMR = { password: ['pwd'], mfa: ['pwd', 'mfa'] } as const;

const MAX_FORM_BYTES = 16_384;

type Provider = any;

/**
 * A request handler for `/interaction/<uid>` and `/interaction/<uid>/abort`; answers false for any
 * other path, which then goes to the provider.
 *
 * @example
 * const interactions = devInteractions(provider, DEMO_USERS);
 * createServer(async (req, res) => { if (!(await interactions(req, res))) provider.callback()(req, res); });
 */
export function devInteractions(
  provider: Provider,
  users: readonly DevIdpUser[],
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://idp.invalid').pathname;
    const match = /^\/interaction\/([\w-]+)(\/abort)?$/.exec(path);
    if (!match) return false;
    try {
      if (match[2]) await abort(provider, req, res);
      else if (req.method === 'POST') await submit(provider, users, req, res);
      else if (req.method === 'GET') await render(provider, users, req, res);
      else send(res, 405, page('Not allowed', '<p>Use the sign-in form.</p>'));
    } catch (e) {
      if (res.headersSent) {
        res.end();
        return true;
      }
      // An expired or unknown interaction (its cookie is gone): the client should start over.
      const message = e instanceof Error ? e.message : String(e);
      send(
        res,
        400,
        page(
          'Sign-in failed',
          `<p>${escapeHtml(message)}</p><p>Start the sign-in again from the application.</p>`,
        ),
      );
    }
    return true;
  };
}

async function render(
  provider: Provider,
  users: readonly DevIdpUser[],
  req: IncomingMessage,
  res: ServerResponse,
  error?: string,
  login = '',
): Promise<void> {
  const { uid, prompt } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    send(res, error ? 400 : 200, page('Sign in (dev IdP)', loginForm(uid, users, error, login)));
  } else if (prompt.name === 'consent') {
    send(res, 200, page('Authorize (dev IdP)', consentForm(uid)));
  } else {
    send(res, 501, page('Not implemented', `<p>prompt ${escapeHtml(prompt.name)} is not supported</p>`));
  }
}

async function submit(
  provider: Provider,
  users: readonly DevIdpUser[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const form = await readForm(req);
  const details = await provider.interactionDetails(req, res);
  const asked = form.get('prompt');
  if (asked === 'login' && details.prompt.name === 'login') {
    const email = (form.get('login') ?? '').trim();
    const user = users.find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (!user) {
      const known = users.map((u) => u.email).join(', ');
      return render(
        provider,
        users,
        req,
        res,
        `no demo person ${email || '(empty)'}; known: ${known}`,
        email,
      );
    }
    const mfa = form.has('mfa');
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.email, amr: [...(mfa ? DEV_AMR.mfa : DEV_AMR.password)] } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (asked === 'consent' && details.prompt.name === 'consent') {
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grantFor(provider, details) } },
      { mergeWithLastSubmission: true },
    );
    return;
  }
  return render(provider, users, req, res, `this step asks for ${details.prompt.name}, not ${asked}`);
}

/** The grant with what the consent prompt found missing, as oidc-provider's dev interactions build it. */
async function grantFor(provider: Provider, details: any): Promise<string> {
  const { prompt, grantId, session, params } = details;
  const missing = prompt.details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, (scope as string[]).join(' '));
  }
  return grant.save();
}

async function abort(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await provider.interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: 'the person cancelled the sign-in' },
    { mergeWithLastSubmission: false },
  );
}

function loginForm(uid: string, users: readonly DevIdpUser[], error: string | undefined, login: string) {
  const options = users
    .map((u) => `<option value="${escapeHtml(u.email)}">${escapeHtml(u.name)}</option>`)
    .join('');
  const people = users
    .map(
      (u) =>
        `<li><code>${escapeHtml(u.email)}</code> ${escapeHtml(u.name)} (${escapeHtml(u.groups.join(', ') || 'no groups')})</li>`,
    )
    .join('');
  return `${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${DEV_INTERACTION_PATH}${escapeHtml(uid)}" autocomplete="off">
  <input type="hidden" name="prompt" value="login">
  <label>Email <input type="email" name="login" list="demo-people" required autofocus value="${escapeHtml(login)}"></label>
  <datalist id="demo-people">${options}</datalist>
  <label>Password (any) <input type="password" name="password"></label>
  <label class="check"><input type="checkbox" name="mfa" value="yes"> Second factor (dev): the token's <code>amr</code> says <code>pwd, mfa</code>, for break-glass policies</label>
  <button type="submit">Sign in</button>
</form>
<p><a href="${DEV_INTERACTION_PATH}${escapeHtml(uid)}/abort">Cancel</a></p>
<h2>Demo people</h2>
<ul>${people}</ul>`;
}

function consentForm(uid: string): string {
  return `<p>Airclutch asks to act as you.</p>
<form method="post" action="${DEV_INTERACTION_PATH}${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="consent">
  <button type="submit">Continue</button>
</form>
<p><a href="${DEV_INTERACTION_PATH}${escapeHtml(uid)}/abort">Cancel</a></p>`;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
@media (prefers-color-scheme:dark){body{color:#f0f0f0;background:#161616}a{color:#9cc3ff}}
label{display:block;margin:.75rem 0}input[type=email],input[type=password]{display:block;width:100%;padding:.4rem;font:inherit}
.check{display:flex;gap:.5rem;align-items:flex-start}button{padding:.5rem 1rem;font:inherit}
:focus-visible{outline:3px solid #2f6fde;outline-offset:2px}.error{color:#b00020;font-weight:600}
@media (prefers-color-scheme:dark){.error{color:#ff8a80}}
</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function send(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
