// A real OpenID provider on loopback for contactlog's single sign-on tests: panva's certified
// oidc-provider, mounted once per issuer the test asks for (Microsoft-style tenants at
// /<tenant>/v2.0, a Google-style issuer at /google), each with the test client and its
// accounts. A few /_test/ controls make an issuer behave as a provider might on a bad day:
// its next ID token re-signed with claims changed (or with a key it never published), or its
// signing key rotated.
//
//   node provider.mjs config.json      prints "READY <port>" once it listens on 127.0.0.1
import http from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuers = new Map(); // path -> { spec, key, provider, handler, next }
const counts = { jwks: 0, token: 0 };
let origin = '';
let serial = 0;

async function newKey(name) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  serial += 1;
  return { privateKey, jwk: { ...jwk, kid: `${name}-key-${serial}`, alg: 'RS256', use: 'sig' } };
}

function build(entry) {
  const { spec } = entry;
  const provider = new Provider(`${origin}${spec.path}`, {
    clients: [{ ...spec.client, grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [entry.key.jwk] },
    cookies: { keys: ['contactlog-tests-only-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'tid', 'oid', 'hd'],
    },
    // The profile and email claims in the ID token itself, as Entra and Google put them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    // The login typed at its page is the account's id, which is its subject (`sub`).
    async findAccount(ctx, id) {
      const claims = spec.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ ...claims, sub: id }) };
    },
  });
  provider.on('server_error', (ctx, error) => console.error(`${spec.path}: ${error.stack}`));
  // After the token endpoint has answered: the misbehaviour asked for, if any.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || !entry.next || !ctx.body?.id_token) return;
    const { stranger, ...claims } = entry.next;
    entry.next = null;
    const key = stranger ? await newKey('stranger') : entry.key;
    const payload = { ...decodeJwt(ctx.body.id_token), ...claims };
    const idToken = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid, typ: 'JWT' })
      .sign(key.privateKey);
    ctx.body = { ...ctx.body, id_token: idToken };
  });
  entry.provider = provider;
  entry.handler = provider.callback();
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body ? JSON.parse(body) : {}));
  });
}

async function control(req, res) {
  const url = new URL(req.url, origin);
  const entry = issuers.get(url.searchParams.get('issuer') || '');
  const answer = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/_test/counts') return answer(200, counts);
  if (!entry) return answer(404, { error: 'no such issuer' });
  if (url.pathname === '/_test/next-id-token') {
    entry.next = await readBody(req);
    return answer(200, { ok: true });
  }
  if (url.pathname === '/_test/rotate') {
    entry.key = await newKey(entry.spec.path.split('/')[1]);
    build(entry);
    return answer(200, { kid: entry.key.jwk.kid });
  }
  return answer(404, { error: 'no such control' });
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/_test/')) {
    control(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
    return;
  }
  for (const [path, entry] of issuers) {
    const rest = req.url.slice(path.length);
    if (req.url.startsWith(path) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
      if (rest.startsWith('/jwks')) counts.jwks += 1;
      if (rest.startsWith('/token')) counts.token += 1;
      req.originalUrl = req.url;
      req.url = rest || '/';
      entry.handler(req, res);
      return;
    }
  }
  res.writeHead(404);
  res.end();
});

server.listen(0, '127.0.0.1', async () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  for (const spec of config.issuers) {
    const entry = { spec, key: await newKey(spec.path.split('/')[1]), next: null };
    build(entry);
    issuers.set(spec.path, entry);
  }
  console.log(`READY ${server.address().port}`);
});
