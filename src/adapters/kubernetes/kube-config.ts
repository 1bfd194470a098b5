/**
 * Loading the kubeconfig Baton talks to the clusters with: KUBECONFIG's files merged as kubectl does, or in-cluster.
 * Exec credential plugins (`aws eks get-token`, `gke-gcloud-auth-plugin`) are left to client-node, which runs them
 * and caches their token until its expirationTimestamp; a cluster that turns TLS verification off is refused.
 */
import { delimiter, dirname, isAbsolute, resolve, sep } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Log } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import { firstLineOf } from './kube-errors.js';

export interface LoadKubeConfigOptions {
  /** Accept clusters with `insecure-skip-tls-verify: true` (BATON_ALLOW_INSECURE_KUBE=1); refused otherwise. */
  allowInsecure?: boolean;
  /** Where a cluster accepted without TLS verification is reported. */
  log?: Log;
}

/**
 * Loads the kubeconfig at `kubeconfigPath` (the value of KUBECONFIG: one path, or several joined by the path
 * delimiter, merged as kubectl merges them), or, without one, the in-cluster service account.
 */
export function loadKubeConfig(
  kubeconfigPath: string | undefined,
  options: LoadKubeConfigOptions = {},
): KubeConfig {
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
    resolveExecCommands(file, dirname(resolve(path)));
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
  checkTlsVerified(kubeConfig, options);
  return kubeConfig;
}

/**
 * kubectl runs an exec plugin whose command contains a path separator relative to the directory of the kubeconfig
 * that names it (client-go's `GetAuthInfoFileReferences`: "Only resolve exec command if it isn't PATH based");
 * client-node would resolve it against Baton's working directory, so it is made absolute here, per file.
 */
function resolveExecCommands(file: KubeConfig, directory: string): void {
  for (const user of file.getUsers()) {
    // client-node types `exec` as `any`: it is the kubeconfig's `exec` map as written.
    const exec = user.exec as { command?: unknown } | null | undefined;
    const command = exec?.command;
    if (exec && typeof command === 'string' && command.includes(sep) && !isAbsolute(command)) {
      exec.command = resolve(directory, command);
    }
  }
}

/**
 * The docs promise that Baton verifies every API server's certificate, so a context whose cluster says
 * `insecure-skip-tls-verify: true` (client-node then skips the check, and allows plain `http://`) is refused at load,
 * naming each one, unless the operator opted in.
 */
function checkTlsVerified(kubeConfig: KubeConfig, options: LoadKubeConfigOptions): void {
  const insecure = kubeConfig
    .getContexts()
    .filter((context) => kubeConfig.getCluster(context.cluster)?.skipTLSVerify === true)
    .map((context) => `context "${context.name}" (cluster "${context.cluster}")`);
  if (insecure.length === 0) return;
  if (options.allowInsecure) {
    options.log?.warn(
      { contexts: insecure },
      'BATON_ALLOW_INSECURE_KUBE=1: TLS verification is off for these kubeconfig contexts',
    );
    return;
  }
  throw new BatonError(
    'kubeconfig-insecure',
    `The kubeconfig turns TLS verification off (insecure-skip-tls-verify: true) for ${insecure.join(', ')}, and ` +
      "Baton verifies every API server's certificate — give the cluster its certificate-authority-data instead, " +
      'or set BATON_ALLOW_INSECURE_KUBE=1 to accept it (a test cluster only)',
  );
}

/** kubectl's merge: the first file to define a name (or current-context) wins. */
function mergeKubeConfig(into: KubeConfig, file: KubeConfig): void {
  const has = (list: { name: string }[], name: string) => list.some((entry) => entry.name === name);
  for (const entry of file.getClusters()) if (!has(into.getClusters(), entry.name)) into.addCluster(entry);
  for (const entry of file.getUsers()) if (!has(into.getUsers(), entry.name)) into.addUser(entry);
  for (const entry of file.getContexts()) if (!has(into.getContexts(), entry.name)) into.addContext(entry);
  if (!into.getCurrentContext() && file.getCurrentContext()) into.setCurrentContext(file.getCurrentContext());
}
