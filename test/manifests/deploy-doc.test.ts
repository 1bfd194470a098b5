/**
 * docs/deploy.md's kubeconfig recipe, run as written: the block that assembles `baton.kubeconfig` runs in bash
 * once per cluster with the values the doc reads from each cluster (API address, CA, the `baton` ServiceAccount
 * token), here those of the Kubernetes API stand-in. Baton's own adapter then loads the file through KUBECONFIG,
 * verifies TLS against the embedded CAs, authenticates with the tokens and reaches both clusters of the example
 * topology by their kubeContext names; and the doc's `kubectl create secret` yields the Secret the worker mounts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import { parseTopology } from '../../src/config/topology.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import { find, kustomize, ROOT } from './support.js';

const run = promisify(execFile);
const TOKENS = { east: 'east-baton-token-0123456789', west: 'west-baton-token-9876543210' };

/** The fenced block right after the HTML comment that names this test. */
function testedBlock(doc: string): string {
  const marker = doc.indexOf('<!-- test/manifests/deploy-doc.test.ts runs this block -->');
  expect(marker).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(marker));
  if (!block?.[1]) throw new Error('no sh block after the marker in docs/deploy.md');
  return block[1];
}

describe("docs/deploy.md's kubeconfig recipe", () => {
  let server: KubeApiServer;
  let dir: string;
  let doc: string;
  let site: SiteConfig;

  beforeAll(async () => {
    doc = await readFile(join(ROOT, 'docs/deploy.md'), 'utf8');
    const topology = parseTopology(
      await readFile(join(ROOT, 'examples/baton.yaml'), 'utf8'),
      {},
      { checkEnv: false },
    );
    if (!topology.ok) throw new Error(topology.problems.join('\n'));
    site = topology.topology.sites[0]!;
    server = await startKubeApiServer({
      clusters: { east: { nodes: 3, token: TOKENS.east }, west: { nodes: 4, token: TOKENS.west } },
    });
    dir = await mkdtemp(join(tmpdir(), 'baton-deploy-doc-'));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds a kubeconfig that Baton uses to reach both clusters, TLS verified, by their kubeContext', async () => {
    const block = testedBlock(doc);
    for (const cluster of ['east', 'west'] as const) {
      const name = site.clusters[cluster]?.kubeContext ?? '';
      // What the doc's first block leaves behind: the CA file and three shell variables.
      await writeFile(join(dir, `${name}.ca.crt`), server.caCertificate);
      await run('bash', ['-euo', 'pipefail', '-c', block], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir, name, server: server.url(cluster), token: TOKENS[cluster] },
      });
    }
    const kubeconfigPath = join(dir, 'baton.kubeconfig');
    const kubeconfig = parse(await readFile(kubeconfigPath, 'utf8')) as {
      contexts: { name: string }[];
      clusters: { cluster: Record<string, unknown> }[];
    };
    expect(kubeconfig.contexts.map((c) => c.name).sort()).toEqual(['active-cluster', 'passive-cluster']);
    // The CA is embedded: the Secret carries no file references.
    for (const entry of kubeconfig.clusters) {
      expect(entry.cluster['certificate-authority-data']).toBeDefined();
      expect(entry.cluster['certificate-authority']).toBeUndefined();
    }

    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath,
      log: createLogger({ level: 'silent' }),
    });
    expect(await clusters.readyNodeCount(site, 'east')).toBe(3);
    expect(await clusters.readyNodeCount(site, 'west')).toBe(4);
    const nodeLists = server.requests().filter((r) => r.path === '/api/v1/nodes');
    expect(nodeLists.map((r) => [r.cluster, r.authorization, r.status])).toEqual([
      ['east', true, 200],
      ['west', true, 200],
    ]);
  });

  it("the doc's create-secret command makes the Secret and key the worker mounts", async () => {
    const command = doc
      .split('\n')
      .find((line) => line.includes('create secret generic baton-kubeconfig'))
      ?.replace(/--context <[^>]+> /, '');
    expect(command).toBeDefined();
    await writeFile(join(dir, 'baton.kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    await writeFile(join(dir, 'empty'), 'apiVersion: v1\nkind: Config\n');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `${command} --dry-run=client -o yaml`], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'empty') },
    });
    const secret = parse(stdout) as {
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };

    const base = await kustomize('manifests/base');
    const worker = find(base, 'Deployment', 'baton-worker').spec as {
      template: {
        spec: {
          containers: {
            env: { name: string; value?: string }[];
            volumeMounts: { name: string; mountPath: string }[];
          }[];
          volumes: { name: string; secret?: { secretName: string } }[];
        };
      };
    };
    const pod = worker.template.spec;
    const volume = pod.volumes.find((v) => v.secret);
    expect(secret.metadata).toMatchObject({ name: volume?.secret?.secretName, namespace: 'baton' });
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === volume?.name);
    const kubeconfigEnv = pod.containers[0]!.env.find((e) => e.name === 'KUBECONFIG')?.value;
    expect(Object.keys(secret.data)).toEqual([kubeconfigEnv?.slice((mount?.mountPath.length ?? 0) + 1)]);
  });
});
