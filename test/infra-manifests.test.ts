import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { resolveNodeOptions } from '../server/src/config/node-options';
import { HAPROXY_CONFIG, haproxyVariables, withoutStickiness } from '../infra/cluster/haproxy';
import { NGINX_TEMPLATE } from '../infra/cluster/nginx';
import { renderTemplate, templateVariables } from '../infra/cluster/render-template';
import { ENV_VARIABLES } from '../server/src/config/env';

// Docker and Kubernetes do not run here: this checks what can be checked without them, against the
// repository itself (the CLI's variables, the build's output, the node's ping settings).

const ROOT = path.resolve(__dirname, '..');
const INFRA = path.join(ROOT, 'infra');
const run = promisify(execFile);

type Yaml = Record<string, unknown>;
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
// `merge`: compose.yaml shares the nodes' settings through `<<` merge keys.
const yamlFile = (file: string): Yaml => parseYaml(read(file), { merge: true }) as Yaml;
/** Walks a parsed YAML value: `at(doc, 'spec', 'template', 'spec')`. */
function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) current = (current as Record<string | number, unknown> | undefined)?.[key];
  return current;
}

/** The variables the node's CLI reads. */
function cliVariables(): Set<string> {
  return new Set(ENV_VARIABLES);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** Duration in seconds of an HAProxy timeout value like `60s`, `5m` or `500ms`. */
function haproxySeconds(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!match) throw new Error(`not an HAProxy duration: ${value}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

const nodeDefaults = resolveNodeOptions({ auth: { jwtSecret: 'x'.repeat(32) } });
/** No healthy Socket.IO connection is silent for longer than this (ping interval + ping timeout). */
const SILENCE_S = (nodeDefaults.pingIntervalMs + nodeDefaults.pingTimeoutMs) / 1000;

test('every YAML file under infra/ parses without errors', () => {
  const files = yamlFiles(INFRA);
  expect(files.length).toBeGreaterThanOrEqual(8);
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    const errors = (Array.isArray(docs) ? docs : [docs]).flatMap((d) => d.errors.map((e) => `${path.relative(ROOT, file)}: ${e.message}`));
    expect(errors).toEqual([]);
  }
});

describe('compose.yaml', () => {
  const compose = yamlFile('infra/compose.yaml');
  const services = at(compose, 'services') as Record<string, Yaml>;
  const variables = cliVariables();

  test('runs Redis, three nodes and HAProxy', () => {
    expect(Object.keys(services).sort()).toEqual(['haproxy', 'node1', 'node2', 'node3', 'redis']);
  });

  test('gives the nodes only variables the CLI reads, with their own NODE_ID', () => {
    expect(variables.size).toBeGreaterThan(10);
    for (const name of ['node1', 'node2', 'node3']) {
      const env = at(services[name], 'environment') as Record<string, unknown>;
      const unknown = Object.keys(env).filter((v) => !variables.has(v));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
      expect(env.NODE_ID).toBe(name);
      expect(Object.keys(env)).toEqual(expect.arrayContaining(['REDIS_URL', 'JWT_SECRET', 'PUBLISH_API_KEY', 'HOST', 'PORT', 'NODE_ENV']));
      expect(env.NODE_ENV).toBe('production');
    }
  });

  test("points HAProxy at the node services with the variables haproxy.cfg reads, and mounts that file", () => {
    const haproxy = services.haproxy as Yaml;
    const env = at(haproxy, 'environment') as Record<string, string>;
    const read = haproxyVariables(readFileSync(HAPROXY_CONFIG, 'utf8'));
    expect(Object.keys(env).sort()).toEqual(Object.keys(read).sort());
    for (const [i, name] of ['node1', 'node2', 'node3'].entries()) {
      const address = `${name}:${String(at(services[name], 'environment', 'PORT'))}`;
      expect(env[`RW_NODE${i + 1}`]).toBe(address);
      // The config's own defaults name the same services.
      expect(read[`RW_NODE${i + 1}`]).toBe(address);
    }
    const mount = (at(haproxy, 'volumes') as string[])[0] ?? '';
    expect(path.resolve(INFRA, mount.split(':')[0] as string)).toBe(HAPROXY_CONFIG);
  });

  test('builds the nodes from infra/Dockerfile with the repository as context', () => {
    expect(path.resolve(INFRA, at(services.node1, 'build', 'context') as string)).toBe(ROOT);
    expect(existsSync(path.join(ROOT, at(services.node1, 'build', 'dockerfile') as string))).toBe(true);
  });
});

describe('the event catalog the containers load', () => {
  const CATALOG = 'infra/catalog/catalog.mjs';
  const compose = yamlFile('infra/compose.yaml');

  test('compose mounts infra/catalog under /app and points ROOMWIRE_CATALOG at the file in it', () => {
    for (const name of ['node1', 'node2', 'node3']) {
      const service = at(compose, 'services', name);
      const file = at(service, 'environment', 'ROOMWIRE_CATALOG') as string;
      const mounts = (at(service, 'volumes') as string[]).map((v) => v.split(':'));
      const mount = mounts.find(([, target]) => file.startsWith(`${target}/`));
      expect({ name, mount: mount?.[1] }).toEqual({ name, mount: '/app/catalog' });
      expect(mount?.[2]).toBe('ro');
      expect(path.resolve(INFRA, mount?.[0] as string, path.posix.relative(mount?.[1] as string, file))).toBe(path.join(ROOT, CATALOG));
    }
  });

  test('Kubernetes mounts the roomwire-catalog ConfigMap where ROOMWIRE_CATALOG points, holding a copy of infra/catalog/catalog.mjs', () => {
    const file = at(yamlFile('infra/k8s/configmap.yaml'), 'data', 'ROOMWIRE_CATALOG') as string;
    const deployment = yamlFile('infra/k8s/deployment.yaml');
    const volume = (at(deployment, 'spec', 'template', 'spec', 'volumes') as Yaml[]).find((v) => v.name === 'catalog');
    const mount = (at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'volumeMounts') as Yaml[]).find((m) => m.name === 'catalog');
    expect(mount?.mountPath).toBe(path.posix.dirname(file));
    expect(mount?.readOnly).toBe(true);
    const configMap = yamlFile('infra/k8s/catalog-configmap.yaml');
    expect(at(volume, 'configMap', 'name')).toBe(at(configMap, 'metadata', 'name'));
    expect(at(configMap, 'data', path.posix.basename(file))).toBe(read(CATALOG));
  });

  test('infra/catalog/catalog.mjs loads as a valid catalog', async () => {
    // The server's sources are CommonJS: their exports arrive on the default import.
    const script = `import loader from './server/src/config/load-catalog.ts'; const { loadCatalog } = loader; console.log(JSON.stringify(Object.keys(await loadCatalog(${JSON.stringify(CATALOG)}))));`;
    const { stdout } = await run(process.execPath, ['--conditions=roomwire-source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual(['billing', 'tickets', 'presence']);
  }, 30_000);
});

describe('Kubernetes manifests', () => {
  const deployment = yamlFile('infra/k8s/deployment.yaml');
  const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0) as Yaml;
  const configMap = yamlFile('infra/k8s/configmap.yaml');
  const secret = yamlFile('infra/k8s/secret.yaml');
  const labels = at(deployment, 'spec', 'template', 'metadata', 'labels');

  test('probe readiness on /readyz and liveness on /healthz, on the container port', () => {
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
    const port = at(container, 'ports', 0, 'name');
    expect(at(container, 'readinessProbe', 'httpGet', 'port')).toBe(port);
    expect(at(container, 'livenessProbe', 'httpGet', 'port')).toBe(port);
    expect(at(container, 'ports', 0, 'containerPort')).toBe(Number(at(configMap, 'data', 'PORT')));
  });

  test('give the preStop sleep and the drain time to finish before the grace period ends', () => {
    const command = at(container, 'lifecycle', 'preStop', 'exec', 'command') as string[];
    expect(command[0]).toBe('sleep');
    const preStopS = Number(command[1]);
    const drainS = Number(at(configMap, 'data', 'DRAIN_DELAY_MS')) / 1000;
    expect(preStopS).toBeGreaterThan(0);
    expect(at(deployment, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds')).toBeGreaterThan(preStopS + drainS + 10);
  });

  test('set resource requests and limits', () => {
    for (const kind of ['requests', 'limits']) {
      expect(at(container, 'resources', kind, 'cpu')).toBeDefined();
      expect(at(container, 'resources', kind, 'memory')).toBeDefined();
    }
  });

  test('configure the nodes only with variables the CLI reads', () => {
    const variables = cliVariables();
    const names = [
      ...Object.keys(at(configMap, 'data') as Yaml),
      ...Object.keys(at(secret, 'stringData') as Yaml),
      ...(at(container, 'env') as { name: string }[]).map((e) => e.name),
    ];
    expect(names.filter((v) => !variables.has(v))).toEqual([]);
    const sources = (at(container, 'envFrom') as Yaml[]).map((s) => at(s, 'configMapRef', 'name') ?? at(s, 'secretRef', 'name'));
    expect(sources).toEqual([at(configMap, 'metadata', 'name'), at(secret, 'metadata', 'name')]);
  });

  test('select the Deployment\'s pods from the Service, PodDisruptionBudget and autoscaler, and route the Ingress to the Service', () => {
    const service = yamlFile('infra/k8s/service.yaml');
    const pdb = yamlFile('infra/k8s/pdb.yaml');
    const hpa = yamlFile('infra/k8s/hpa.yaml');
    const ingress = yamlFile('infra/k8s/ingress.yaml');
    expect(at(service, 'spec', 'selector')).toEqual(labels);
    expect(at(pdb, 'spec', 'selector', 'matchLabels')).toEqual(labels);
    expect(at(hpa, 'spec', 'scaleTargetRef', 'name')).toBe(at(deployment, 'metadata', 'name'));
    expect(at(hpa, 'spec', 'minReplicas')).toBeGreaterThanOrEqual(2);
    const backend = at(ingress, 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service');
    expect(at(backend, 'name')).toBe(at(service, 'metadata', 'name'));
    expect(at(backend, 'port', 'name')).toBe(at(service, 'spec', 'ports', 0, 'name'));
  });

  test('keep long-polling sticky and WebSockets open through ingress-nginx', () => {
    const annotations = at(yamlFile('infra/k8s/ingress.yaml'), 'metadata', 'annotations') as Record<string, string>;
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(60);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(60);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThan(SILENCE_S);
  });

  test('list every manifest in the kustomization', () => {
    const resources = at(yamlFile('infra/k8s/kustomization.yaml'), 'resources') as string[];
    const manifests = readdirSync(path.join(INFRA, 'k8s')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...resources].sort()).toEqual(manifests.sort());
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('infra/Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+\s/.test(line));

  test('copies only files that exist in the repository (the build context)', () => {
    const sources = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.filter((source) => !existsSync(path.join(ROOT, source)))).toEqual([]);
  });

  test("runs, as a non-root user, a file that `npm run build` produces", () => {
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    expect(cmd[0]).toBe('node');
    const [workspace, outDir, file] = (cmd[1] ?? '').split('/') as [string, string, string];
    const tsconfig = JSON.parse(read(`${workspace}/tsconfig.json`)) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.compilerOptions.outDir).toBe(outDir);
    expect(existsSync(path.join(ROOT, workspace, tsconfig.compilerOptions.rootDir, file.replace(/\.js$/, '.ts')))).toBe(true);
    const pkg = JSON.parse(read(`${workspace}/package.json`)) as { scripts: { build: string } };
    // `tsc -b` builds the workspace's tsconfig.json (scripts/build.mjs builds them all the same way).
    expect(pkg.scripts.build).toMatch(/^tsc -b\b/);
    // The runtime stage copies that dist folder from the build stage.
    expect(instructions).toContain(`COPY --from=build /app/${workspace}/${outDir} ${workspace}/${outDir}`);
    const users = instructions.filter((line) => line.startsWith('USER ')).map((line) => line.slice(5).trim());
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
  });

  test('installs only production dependencies in the runtime stage and checks /healthz', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).not.toMatch(/npm run build/);
    expect(/^HEALTHCHECK[\s\S]*?\/healthz/m.test(dockerfile)).toBe(true);
  });
});

describe('load balancer configs', () => {
  const haproxyCfg = readFileSync(HAPROXY_CONFIG, 'utf8');
  const nginxTemplate = readFileSync(NGINX_TEMPLATE, 'utf8');
  const nodes = { RW_NODE1: '127.0.0.1:3001', RW_NODE2: '127.0.0.1:3002', RW_NODE3: '127.0.0.1:3003' };

  test('HAProxy and nginx keep idle connections open longer than Socket.IO stays silent', () => {
    const timeout = (name: string): number => haproxySeconds(new RegExp(`^\\s*timeout ${name} (\\S+)`, 'm').exec(haproxyCfg)?.[1] ?? '0');
    for (const name of ['tunnel', 'server', 'client']) expect({ name, s: timeout(name) }).toEqual({ name, s: expect.any(Number) as number });
    expect(timeout('tunnel')).toBeGreaterThanOrEqual(60);
    expect(timeout('tunnel')).toBeGreaterThan(SILENCE_S);
    // A long-poll GET is held for up to one ping interval.
    expect(timeout('server')).toBeGreaterThan(nodeDefaults.pingIntervalMs / 1000);
    expect(timeout('client')).toBeGreaterThan(nodeDefaults.pingIntervalMs / 1000);
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const seconds = Number(/(\d+)s;/.exec(new RegExp(`${directive} \\S+`).exec(nginxTemplate)?.[0] ?? '')?.[1]);
      expect({ directive, seconds }).toEqual({ directive, seconds: expect.any(Number) as number });
      expect(seconds).toBeGreaterThanOrEqual(60);
    }
  });

  test('HAProxy accepts its config, sticky and round-robin', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'roomwire-haproxy-check-'));
    try {
      const roundRobin = path.join(dir, 'roundrobin.cfg');
      await writeFile(roundRobin, withoutStickiness(haproxyCfg));
      for (const file of [HAPROXY_CONFIG, roundRobin]) {
        await run('haproxy', ['-c', '-q', '-f', file], { env: { ...process.env, ...nodes, RW_LISTEN: '127.0.0.1:1', RW_STATS_LISTEN: '127.0.0.1:2' } });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('nginx accepts its rendered template, and the renderer refuses a missing value', async () => {
    const values = { ...nodes, RW_LISTEN: '127.0.0.1:1', RW_TRUSTED_PROXY: '127.0.0.1', RW_ACCESS_LOG: '/dev/null' };
    expect(templateVariables(nginxTemplate).sort()).toEqual(Object.keys(values).sort());
    expect(() => renderTemplate(nginxTemplate, { ...values, RW_NODE3: undefined as unknown as string })).toThrow('${RW_NODE3}');
    const dir = await mkdtemp(path.join(tmpdir(), 'roomwire-nginx-check-'));
    try {
      const file = path.join(dir, 'nginx.conf');
      await writeFile(file, renderTemplate(nginxTemplate, values));
      await run('nginx', ['-t', '-q', '-p', dir, '-c', file, '-e', 'stderr', '-g', `pid ${path.join(dir, 'nginx.pid')};`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('client addresses behind the balancers', () => {
  const haproxyCfg = readFileSync(HAPROXY_CONFIG, 'utf8');
  const nginxTemplate = readFileSync(NGINX_TEMPLATE, 'utf8');
  const launcher = read('infra/cluster/launch-cluster.ts');
  const active = (config: string): string => config.replace(/#.*$/gm, '');

  test('HAProxy and nginx append the address they saw as the last X-Forwarded-For entry, whatever the client sent', () => {
    expect(active(haproxyCfg)).toMatch(/^\s*option forwardfor\s*$/m);
    expect(active(nginxTemplate)).toMatch(/^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;$/m);
  });

  test('so the nodes trust exactly one hop, in compose, Kubernetes and the local cluster', () => {
    const services = at(yamlFile('infra/compose.yaml'), 'services') as Record<string, Yaml>;
    for (const name of ['node1', 'node2', 'node3']) expect({ name, trust: at(services[name], 'environment', 'TRUST_PROXY') }).toEqual({ name, trust: '1' });
    expect(at(yamlFile('infra/k8s/configmap.yaml'), 'data', 'TRUST_PROXY')).toBe('1');
    expect(launcher).toMatch(/^\s*TRUST_PROXY: '1',$/m);
  });

  test('nginx closes an idle connection to a node before the node does', () => {
    const seconds = Number(/^\s*keepalive_timeout (\d+)s;$/m.exec(active(nginxTemplate))?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds * 1000).toBeLessThan(nodeDefaults.keepAliveTimeoutMs);
  });
});
