import { parseArgs } from 'node:util';
import { generateSigningKey, SIGNING_ALGORITHMS, type SigningAlgorithm } from './signing-keys';

const USAGE = `usage: roomwire keygen [--alg ES256|RS256] [--kid ID]
Prints a new key pair for client tokens as JSON: { "privateJwk", "publicJwk" }. Keep privateJwk in
your secret manager (signClientToken's privateKey); publish publicJwk in the JWKS your nodes read.`;

/**
 * `roomwire keygen`: prints a new signing key pair as JSON on stdout. Returns the exit code; a bad
 * argument prints the usage on stderr and returns 2.
 */
export async function runKeygen(args: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let values: { alg?: string; kid?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { alg: { type: 'string' }, kid: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    err.write(`roomwire keygen: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const alg = values.alg ?? 'ES256';
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    err.write(`roomwire keygen: --alg must be ${SIGNING_ALGORITHMS.join(' or ')}, got ${JSON.stringify(alg)}\n${USAGE}\n`);
    return 2;
  }
  const key = await generateSigningKey({ alg: alg as SigningAlgorithm, ...(values.kid === undefined ? {} : { kid: values.kid }) });
  out.write(`${JSON.stringify(key, null, 2)}\n`);
  return 0;
}
