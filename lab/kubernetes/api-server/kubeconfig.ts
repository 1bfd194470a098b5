/** The kubeconfig of the stand-in's clusters, trusting its CA, as kubectl and client-node read it. */
import type { ClusterState } from './cluster-state.js';
import type { KubeconfigDocument, KubeconfigOptions } from './types.js';

/**
 * One cluster, user and context per entry of `contexts` (cluster id → context name); every cluster's
 * certificate-authority-data is `caPem`, the CA that signed the listeners' certificate.
 */
export function buildKubeconfig(
  caPem: string,
  cluster: (id: string) => ClusterState,
  contexts: Record<string, string>,
  kubeconfigOptions: KubeconfigOptions = {},
): KubeconfigDocument {
  const entries = Object.entries(contexts);
  const first = entries[0];
  if (!first) throw new Error('kubeConfig needs at least one cluster id → context name');
  const caData = Buffer.from(caPem).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map(([id, context]) => ({
      name: context,
      cluster: { server: `https://127.0.0.1:${cluster(id).port}`, 'certificate-authority-data': caData },
    })),
    users: entries.map(([id, context]) => ({
      name: `${context}-user`,
      user: { token: kubeconfigOptions.tokens?.[id] ?? cluster(id).options.token ?? `sandbox-token-${id}` },
    })),
    contexts: entries.map(([, context]) => ({
      name: context,
      context: { cluster: context, user: `${context}-user` },
    })),
    'current-context': kubeconfigOptions.currentContext ?? first[1],
    preferences: {},
  };
}
