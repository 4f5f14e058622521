#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Logger } from 'pino';
import { runKeygen } from './auth/keygen-command';
import { ConfigError, parseEnv, type NodeConfig } from './config/env';
import { CatalogLoadError, loadCatalog } from './config/load-catalog';
import { catalog as exampleCatalog, type CatalogDefinition } from '@roomwire/shared';
import { createLogger } from './logger';
import { createNode, type RoomwireNode } from './node/create-node';

/** Lifetime of the development client token. */
const DEV_TOKEN_TTL = '12h';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Signs a client token for org `dev` that may see every service; HS256 with the node's secret. */
async function signDevToken(config: NodeConfig): Promise<string | undefined> {
  const { jwtSecret, issuer, audience } = config.options.auth;
  if (config.production || jwtSecret === undefined) return undefined;
  const jwt = new SignJWT({ org: 'dev', services: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(DEV_TOKEN_TTL);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  if (audience !== undefined) jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(jwtSecret));
}

/** The human banner of development mode: where the node is and how to talk to it. */
function devBanner(node: RoomwireNode, config: NodeConfig, catalog: CatalogDefinition, devToken: string | undefined): string {
  const { publishApiKey, host } = config.options;
  const body = examplePublishBody(catalog);
  const lines = [
    '',
    `  Roomwire node ${node.nodeId} — development mode`,
    '',
    `  URL          ${node.url}`,
    config.options.statusPage ? `  Status page  ${node.url}/` : '  Status page  off (STATUS_PAGE=false)',
    config.catalogPath === undefined ? '  Catalog      the example catalog (set ROOMWIRE_CATALOG to use yours)' : `  Catalog      ${config.catalogPath}: ${Object.keys(catalog).join(', ')}`,
    devToken === undefined
      ? '  Dev token    none: JWKS_URL is set, so client tokens come from your identity provider'
      : `  Dev token    ${devToken}`,
    devToken === undefined ? '' : `               (org "dev", every service, expires in ${DEV_TOKEN_TTL})`,
    `  Publish key  ${publishApiKey}${config.generated.publishApiKey ? '  (generated; set PUBLISH_API_KEY to keep one)' : ''}`,
    config.generated.jwtSecret ? '  JWT secret   generated; set JWT_SECRET to keep tokens valid across restarts' : '',
    '',
    '  Publish an event:',
    `    curl -X POST ${node.url}/v1/publish -H 'Authorization: Bearer ${publishApiKey}' -H 'Content-Type: application/json' -d '${body}'`,
    '',
    LOOPBACK_HOSTS.has(host) ? '' : `  Warning: listening on ${host}; anyone who can reach the status page can read the dev token.`,
    '  Secrets are printed because NODE_ENV is not "production".',
    '',
  ];
  return `${lines.filter((line, i) => line !== '' || lines[i - 1] !== '').join('\n')}\n`;
}

/** A publish body for the banner's curl line: the example's invoice, or the first event type of a custom catalog. */
function examplePublishBody(catalog: CatalogDefinition): string {
  if (catalog === exampleCatalog) return JSON.stringify({ org: 'dev', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 4200 } });
  const service = Object.keys(catalog)[0] ?? '';
  const type = Object.keys(catalog[service] ?? {})[0] ?? '';
  return `${JSON.stringify({ org: 'dev', service, type }).slice(0, -1)},"data":{…a payload of its schema…}}`;
}

async function main(): Promise<void> {
  let config: NodeConfig;
  try {
    config = parseEnv(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }

  let catalog: CatalogDefinition = exampleCatalog;
  if (config.catalogPath !== undefined) {
    try {
      catalog = await loadCatalog(config.catalogPath);
    } catch (err) {
      if (!(err instanceof CatalogLoadError)) throw err;
      process.stderr.write(`Invalid configuration:\n  ${err.message}\n`);
      process.exit(1);
    }
  }

  // The node id is fixed here so every log line, the CLI's included, carries the same one.
  const nodeId = config.options.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  const logger: Logger = createLogger(nodeId, config.logLevel);
  const devToken = await signDevToken(config);

  const starting = createNode({
    ...config.options,
    catalog,
    nodeId,
    logger,
    ...(devToken === undefined || !config.options.statusPage ? {} : { statusPageToken: devToken }),
  });

  let node: RoomwireNode | undefined;
  let stopping = false;
  let stoppedAt = 0;
  const stop = (signal: NodeJS.Signals): void => {
    // Ctrl-C under `npm start` arrives twice (the terminal's and npm's forward): one second's grace.
    if (stopping && Date.now() - stoppedAt < 1000) return;
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = true;
    stoppedAt = Date.now();
    if (node === undefined) {
      // Start-up may wait on Redis indefinitely; there is nothing to drain yet.
      logger.warn({ signal }, 'stopped before the node was ready');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    node = await starting;
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    process.exit(1);
  }

  if (!config.production) {
    process.stderr.write(devBanner(node, config, catalog, devToken));
    logger.info({ devToken, publishApiKey: config.options.publishApiKey, url: node.url }, 'development credentials');
  }
}

/** `roomwire keygen …` prints a signing key pair; with no command the CLI runs a node. */
const command = process.argv[2];
const running: Promise<void> = command === 'keygen' ? runKeygen(process.argv.slice(3)).then((code) => process.exit(code)) : main();

running.catch((err: unknown) => {
  process.stderr.write(`roomwire: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
