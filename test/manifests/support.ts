/**
 * Building and checking Baton's Kubernetes manifests offline: `kubectl kustomize`, the Kubernetes JSON schemas
 * (kubernetes-models and @kubernetes-models/prometheus-operator, compiled ajv validators), and a strict pass that
 * rejects fields the API does not know, as `kubectl apply` does (the JSON schemas allow unknown fields; the field
 * lists come from @kubernetes/client-node's models).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MANIFESTS = join(ROOT, 'manifests');

const run = promisify(execFile);

/** A Kubernetes object as read from YAML; the fields are checked by the tests that use them. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const KUBECTL_MISSING =
  'kubectl is not installed, and the manifest tests need its built-in kustomize (kubectl ≥ 1.27). Install it: ' +
  'Debian/Ubuntu `apt-get install -y kubectl` from the Kubernetes apt repository, or the kubectl binary from ' +
  'the Kubernetes release page into /usr/local/bin.';

/** `kubectl kustomize <dir>` (dir relative to the repository root), parsed into objects. */
export async function kustomize(dir: string): Promise<KubeObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('kubectl', ['kustomize', join(ROOT, dir)], { maxBuffer: 32 * 1024 * 1024 }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(KUBECTL_MISSING);
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr || String(error)}`);
  }
  return parseObjects(stdout, dir);
}

/**
 * Builds a throwaway kustomization that combines `resources` and `components` (paths relative to the repository
 * root), as an operator's own overlay would.
 */
export async function kustomizeComposition(resources: string[], components: string[]): Promise<KubeObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-kustomize-'));
  try {
    const rel = (path: string) => relative(dir, join(ROOT, path));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({ resources: resources.map(rel), components: components.map(rel) }),
    );
    return await kustomize(relative(ROOT, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function parseObjects(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

export function find<T extends KubeObject = KubeObject>(
  objects: KubeObject[],
  kind: string,
  name: string,
): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind} ${name} in the build (it has ${have})`);
  }
  return found as T;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema validation
// ---------------------------------------------------------------------------------------------------------------

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Where the compiled JSON schema of each API group lives. */
function modelModule(apiVersion: string): string | null {
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const builtIn = ['', 'apps', 'policy', 'batch', 'autoscaling'].includes(group) || group.endsWith('.k8s.io');
  return builtIn ? `kubernetes-models/${apiVersion}` : null;
}

async function schemaProblems(object: KubeObject): Promise<string[]> {
  const specifier = modelModule(String(object.apiVersion));
  if (specifier === null) return [`no schema for ${object.apiVersion} ${object.kind}`];
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch {
    return [`no schema for ${object.apiVersion} (cannot load ${specifier})`];
  }
  const Model = module[object.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (!errors) return [String(error)];
    return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
}

type AttributeMap = { baseName: string; type: string }[];

function attributesOf(typeName: string): AttributeMap | undefined {
  const model = (k8s as unknown as Record<string, unknown>)[typeName];
  if (typeof model !== 'function') return undefined;
  const getter = (model as { getAttributeTypeMap?: () => AttributeMap }).getAttributeTypeMap;
  return typeof getter === 'function' ? getter.call(model) : undefined;
}

/** `apps/v1` + `Deployment` → client-node's `V1Deployment`. */
function rootModelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').pop() ?? '';
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return attributesOf(name) ? name : undefined;
}

function unknownFields(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value))
      value.forEach((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, item] of Object.entries(value))
        unknownFields(item, map[1]!, `${path}.${key}`, problems);
    }
    return;
  }
  const attributes = attributesOf(type);
  // Primitives, IntOrString, Quantity: their types are the JSON schema's business.
  if (!attributes || typeof value !== 'object' || Array.isArray(value)) return;
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value)) {
    const itemType = known.get(key);
    if (itemType === undefined) problems.push(`${path}.${key}: unknown field (${type} has no "${key}")`);
    else unknownFields(item, itemType, `${path}.${key}`, problems);
  }
}

/**
 * Every problem with `object`: JSON-schema violations of its kind, and (for built-in kinds) fields the API does not
 * know. An object of a kind without a schema here is a problem too, so nothing passes unchecked.
 */
export async function validateObject(object: KubeObject): Promise<string[]> {
  const problems = await schemaProblems(object);
  const root = rootModelName(String(object.apiVersion), String(object.kind));
  if (root && !String(object.apiVersion).startsWith('monitoring.coreos.com/')) {
    unknownFields(object, root, '', problems);
  }
  return problems;
}

/** `Kind/name: problem` lines for every object with problems. */
export async function validateAll(objects: KubeObject[]): Promise<string[]> {
  const lines: string[] = [];
  for (const object of objects) {
    for (const problem of await validateObject(object)) {
      lines.push(`${object.kind}/${object.metadata?.name}: ${problem}`);
    }
  }
  return lines;
}
