/** Loading the kubeconfig Baton talks to the clusters with: KUBECONFIG's files merged as kubectl does, or in-cluster. */
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { BatonError } from '../../errors.js';
import { firstLineOf } from './kube-errors.js';

/**
 * Loads the kubeconfig at `kubeconfigPath` (the value of KUBECONFIG: one path, or several joined by the path
 * delimiter, merged as kubectl merges them), or, without one, the in-cluster service account.
 */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const paths = (kubeconfigPath ?? '').split(delimiter).filter(Boolean);
  const files = paths.map((path) => {
    const file = new KubeConfig();
    try {
      file.loadFromFile(path);
    } catch (error) {
      throw new BatonError(
        'config-invalid',
        `Cannot read the kubeconfig ${path} (from KUBECONFIG): ${firstLineOf(error)} — fix KUBECONFIG or the file`,
        { cause: error },
      );
    }
    return file;
  });
  const [kubeConfig = new KubeConfig(), ...rest] = files;
  for (const file of rest) mergeKubeConfig(kubeConfig, file);
  if (files.length === 0) {
    kubeConfig.loadFromCluster();
    if (/undefined/.test(kubeConfig.getCurrentCluster()?.server ?? 'undefined')) {
      throw new BatonError(
        'config-invalid',
        'KUBECONFIG is not set and Baton is not running in a pod with a service account — set KUBECONFIG to a ' +
          'kubeconfig with one context per cluster',
      );
    }
  }
  return kubeConfig;
}

/** kubectl's merge: the first file to define a name (or current-context) wins. */
function mergeKubeConfig(into: KubeConfig, file: KubeConfig): void {
  const has = (list: { name: string }[], name: string) => list.some((entry) => entry.name === name);
  for (const entry of file.getClusters()) if (!has(into.getClusters(), entry.name)) into.addCluster(entry);
  for (const entry of file.getUsers()) if (!has(into.getUsers(), entry.name)) into.addUser(entry);
  for (const entry of file.getContexts()) if (!has(into.getContexts(), entry.name)) into.addContext(entry);
  if (!into.getCurrentContext() && file.getCurrentContext()) into.setCurrentContext(file.getCurrentContext());
}
