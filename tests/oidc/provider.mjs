// A real OpenID Connect provider for pywry's sign-in tests (node `oidc-provider`).
//
//   OIDC_PORT=9000 OIDC_CLIENT_ID=pywry OIDC_CLIENT_SECRET=... \
//   OIDC_REDIRECT_URIS=http://127.0.0.1:8000/auth/callback node provider.mjs
//
// Settings (env, or argv as --port=, --issuer=, --client-id=, --client-secret=, --redirect-uris=):
//   OIDC_PORT            port to listen on, on OIDC_HOST (default 127.0.0.1)
//   OIDC_ISSUER          issuer URL (default http://127.0.0.1:<port>)
//   OIDC_CLIENT_ID       the one client's id (default "pywry")
//   OIDC_CLIENT_SECRET   its secret (client_secret_basic at the token endpoint, as Authlib sends it)
//   OIDC_REDIRECT_URIS   its redirect URIs, comma-separated
//
// The development interactions are on: the login form accepts any login and password, and the
// account id (the ID token's `sub`) is the login typed. Consent is skipped: an existing grant of
// openid, email and profile is made for every sign-in, so a browser only fills login + password.
// It prints "oidc-provider listening on <issuer>" once ready. Never for anything but tests.
import { createServer } from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

function setting(name, envName, fallback) {
  const flag = `--${name}=`;
  const arg = process.argv.slice(2).find((a) => a.startsWith(flag));
  if (arg) return arg.slice(flag.length);
  const value = process.env[envName];
  return value === undefined || value === '' ? fallback : value;
}

const host = setting('host', 'OIDC_HOST', '127.0.0.1');
const port = Number(setting('port', 'OIDC_PORT', '0'));
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('provider.mjs: give a port (OIDC_PORT or --port=)');
  process.exit(2);
}
const issuer = setting('issuer', 'OIDC_ISSUER', `http://${host}:${port}`);
const clientId = setting('client-id', 'OIDC_CLIENT_ID', 'pywry');
const clientSecret = setting('client-secret', 'OIDC_CLIENT_SECRET', 'pywry-test-secret');
const redirectUris = setting('redirect-uris', 'OIDC_REDIRECT_URIS', '')
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);
if (redirectUris.length === 0) {
  console.error('provider.mjs: give redirect URIs (OIDC_REDIRECT_URIS or --redirect-uris=)');
  process.exit(2);
}

const SCOPES = 'openid email profile';

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  scopes: ['openid', 'email', 'profile'],
  features: {
    devInteractions: { enabled: true },
  },
  // PKCE is allowed (pywry sends S256); confidential clients are not forced to use it.
  pkce: { required: () => false },
  // The account is whoever typed the login: sub = login.
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: `${sub}@example.test`,
          email_verified: true,
          name: sub,
          preferred_username: sub,
        };
      },
    };
  },
  // No consent screen: every sign-in of the client carries a grant of the test scopes.
  async loadExistingGrant(ctx) {
    const { accountId } = ctx.oidc.session;
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found && found.accountId === accountId) return found;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
    grant.addOIDCScope(SCOPES);
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'preferred_username']);
    await grant.save();
    return grant;
  },
  ttl: {
    Session: 600,
    Interaction: 600,
    Grant: 600,
    AuthorizationCode: 60,
    AccessToken: 600,
    IdToken: 600,
  },
  cookies: { keys: ['pywry-tests-only-cookie-key'] },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>oidc error</title><pre id="oidc-error">${
      String(out.error).replace(/[<>&]/g, '')}: ${
      String(out.error_description || '').replace(/[<>&]/g, '')}</pre>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.listen(port, host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
