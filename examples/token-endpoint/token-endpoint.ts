import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwksDocument, signClientToken, toPublicJwk, type JWK, type SignClientTokenOptions } from '@roomwire/server';

/** What your own authentication decided about the caller: who it is and what it may see. */
export interface RealtimeGrant {
  userId: string;
  org: string;
  services: readonly string[] | '*';
}

/** How the endpoint signs: the nodes' HS256 secret, or a private key whose public half the endpoint serves as a JWKS. */
export type TokenSigning =
  | { secret: string }
  | {
      /** The private JWK that signs new tokens (`roomwire keygen`). */
      signingKey: JWK;
      /** Public keys to list beside it: the next key (published before it signs) and retired keys whose tokens may still be alive. @default [] */
      alsoPublish?: readonly JWK[];
    };

/** Options of {@link createTokenEndpoint}. */
export interface TokenEndpointOptions {
  /** Your session check: the grant of the caller, or undefined when the request is not signed in. */
  authenticate(req: IncomingMessage): Promise<RealtimeGrant | undefined>;
  signing: TokenSigning;
  /** Lifetime of each token (see README, "Client tokens"). @default '1h' */
  expiresIn?: SignClientTokenOptions['expiresIn'];
  /** `iss` and `aud` of the tokens; must match the nodes' JWT_ISSUER / JWT_AUDIENCE when set. @default undefined */
  issuer?: string;
  audience?: string;
}

/** Where the client fetches its token (the README's `token` function calls it). */
export const TOKEN_PATH = '/api/realtime-token';
/** Where the nodes read the key set (their `JWKS_URL`), when the endpoint signs with a private key. */
export const JWKS_PATH = '/.well-known/jwks.json';

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/**
 * The two routes a backend adds for Roomwire clients: `POST /api/realtime-token` answers a short-lived
 * client token (text/plain) for the signed-in caller, `401` otherwise; `GET /.well-known/jwks.json`
 * serves the public keys when tokens are signed with a private key. No framework: a
 * `node:http` handler that answers `true` when it handled the request, so it can sit in front of
 * your own routes (or be ported to yours in a few lines).
 *
 * @example
 * const tokens = createTokenEndpoint({ authenticate: sessionUser, signing: { secret: process.env.JWT_SECRET! } });
 * http.createServer((req, res) => { if (!tokens(req, res)) yourApp(req, res); }).listen(8080);
 */
export function createTokenEndpoint(options: TokenEndpointOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { signing } = options;
  const jwks = 'signingKey' in signing ? JSON.stringify(jwksDocument([toPublicJwk(signing.signingKey), ...(signing.alsoPublish ?? [])])) : undefined;
  const key = 'signingKey' in signing ? { privateKey: signing.signingKey } : { secret: signing.secret };

  const issue = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const grant = await options.authenticate(req);
    if (grant === undefined) {
      send(res, 401, 'application/json', JSON.stringify({ error: { code: 'RW_ERR_UNAUTHORIZED', message: 'sign in first' } }));
      return;
    }
    const token = await signClientToken({
      org: grant.org,
      services: grant.services,
      sub: grant.userId,
      ...key,
      ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
    // A token is a credential: never cached by the browser or a proxy.
    send(res, 200, 'text/plain; charset=utf-8', token, { 'Cache-Control': 'no-store' });
  };

  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === TOKEN_PATH) {
      // POST: a cross-site <img> or link cannot make the browser fetch a token with the user's cookies.
      if (req.method !== 'POST') send(res, 405, 'application/json', JSON.stringify({ error: { code: 'RW_ERR_METHOD_NOT_ALLOWED', message: 'use POST' } }), { Allow: 'POST' });
      else
        issue(req, res).catch(() => {
          if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: { code: 'RW_ERR_INTERNAL', message: 'could not issue a token' } }));
        });
      return true;
    }
    if (pathname === JWKS_PATH && jwks !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      // Nodes cache the set for up to 10 minutes and refetch it when a token names an unknown kid.
      send(res, 200, 'application/json', jwks, { 'Cache-Control': 'public, max-age=300' });
      return true;
    }
    return false;
  };
}
