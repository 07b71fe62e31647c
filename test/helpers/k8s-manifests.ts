// The Kubernetes manifests of deploy/kubernetes, read as plain objects, and their validation against the
// Kubernetes API schemas that the kubernetes-models package ships (compiled JSON-schema validators: types,
// required fields, enums, formats such as quantities). Offline: nothing is downloaded.
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';

export const MANIFEST_DIR = new URL('../../../deploy/kubernetes/', import.meta.url);

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
  [key: string]: unknown;
}

interface Validatable {
  validate(): void;
}
type Model = new (data: never) => Validatable;

/** apiVersion/kind → the model that validates it; a kind not here fails the test that meets it. */
export const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

export function manifestFiles(): string[] {
  return readdirSync(MANIFEST_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

export function readManifests(): Manifest[] {
  return manifestFiles().flatMap((file) => {
    const docs = parseAllDocuments(readFileSync(new URL(file, MANIFEST_DIR), 'utf8'));
    if (!Array.isArray(docs)) return [];
    return docs.map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { file, ...(doc.toJS() as object) } as Manifest;
    });
  });
}

/** Schema errors of one manifest, one line each; [] when it is valid. */
export function schemaErrors(m: Manifest): string[] {
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) return [`${m.file}: no schema here for ${m.apiVersion} ${m.kind}`];
  const { file: _file, ...object } = m;
  try {
    new Model(object as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors?.map((e) => `${m.file}: ${m.kind} ${m.metadata.name}${e.instancePath}: ${e.message ?? ''}`) ?? [`${m.file}: ${(err as Error).message}`];
  }
}

/** The one manifest of this kind (and name, when given). */
export function only(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}
