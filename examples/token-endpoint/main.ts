#!/usr/bin/env node
/**
 * A runnable token endpoint for trying Roomwire locally (see README.md beside this file):
 *
 *   JWT_SECRET=<the nodes' secret> node --conditions=roomwire-source --import tsx examples/token-endpoint/main.ts
 *   SIGNING_KEY_FILE=key.json       node --conditions=roomwire-source --import tsx examples/token-endpoint/main.ts
 *
 * The "session" is a demo: a request with `Authorization: Bearer demo-alice` is user alice of org
 * acme with the billing service. Replace `authenticate` with your own session check.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { JWK } from '@roomwire/server';
import { createTokenEndpoint, JWKS_PATH, TOKEN_PATH, type RealtimeGrant, type TokenSigning } from './token-endpoint';

const DEMO_SESSIONS: ReadonlyMap<string, RealtimeGrant> = new Map([
  ['demo-alice', { userId: 'alice', org: 'acme', services: ['billing'] }],
  ['demo-bob', { userId: 'bob', org: 'acme', services: '*' }],
]);

async function demoAuthenticate(req: IncomingMessage): Promise<RealtimeGrant | undefined> {
  const session = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  return session === undefined ? undefined : DEMO_SESSIONS.get(session);
}

function signingFromEnv(): TokenSigning {
  const keyFile = process.env.SIGNING_KEY_FILE;
  if (keyFile) return { signingKey: (JSON.parse(readFileSync(keyFile, 'utf8')) as { privateJwk: JWK }).privateJwk };
  const secret = process.env.JWT_SECRET;
  if (!secret) throw new Error('set JWT_SECRET (the nodes\' HS256 secret) or SIGNING_KEY_FILE (the output of `roomwire keygen`)');
  return { secret };
}

const port = Number(process.env.PORT ?? 8081);
const endpoint = createTokenEndpoint({ authenticate: demoAuthenticate, signing: signingFromEnv(), expiresIn: '1h' });
const server = createServer((req, res) => {
  if (!endpoint(req, res)) {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'RW_ERR_NOT_FOUND', message: 'no such route' } }));
  }
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`token endpoint on http://127.0.0.1:${port}${TOKEN_PATH} (JWKS: ${JWKS_PATH} when signing with a key)\n`);
  process.stdout.write(`  curl -X POST -H 'Authorization: Bearer demo-alice' http://127.0.0.1:${port}${TOKEN_PATH}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
