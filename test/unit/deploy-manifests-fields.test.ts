// No manifest in deploy/kubernetes has a field the Kubernetes API does not define (a misspelt
// `readinesProbe` would pass the JSON-schema validation, which allows unknown fields, and be dropped by
// the API server without a word). Each manifest is type-checked, as an object literal, against the
// kubernetes-models TypeScript interface of its kind: TypeScript reports every excess property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { MODELS, readManifests, type Manifest } from '../helpers/k8s-manifests.js';

const PACKAGE = dirname(createRequire(import.meta.url).resolve('kubernetes-models/package.json'));

/** TypeScript's complaints about `manifests` as typed literals, one line each, naming file and kind. */
function fieldErrors(manifests: readonly Manifest[]): string[] {
  const lines: string[] = [];
  const owners: string[] = [];
  manifests.forEach((m, i) => {
    const key = `${m.apiVersion}/${m.kind}`;
    // The models' files are named for the kind under their apiVersion: apps/v1/Deployment.js.
    if (!(key in MODELS)) throw new Error(`${m.file}: no interface here for ${key}`);
    const { file: _file, ...object } = m;
    lines.push(`import type { I${m.kind} as T${i} } from ${JSON.stringify(join(PACKAGE, `${key}.js`))};`);
    lines.push(`export const m${i}: T${i} = ${JSON.stringify(object)};`);
    owners.push(`${m.file} ${m.kind} ${m.metadata.name}`, `${m.file} ${m.kind} ${m.metadata.name}`);
  });
  const name = join(PACKAGE, '..', '..', '__manifests.ts');
  const source = lines.join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [], skipLibCheck: true, lib: ['lib.es5.d.ts'] };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, ...rest) => (file === name ? ts.createSourceFile(file, source, lang) : read(file, lang, ...rest));
  const program = ts.createProgram([name], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const owner = d.file?.fileName === name ? owners[line] : d.file?.fileName;
    return `${owner ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

// One program for the shipped manifests and a copy of the Deployment with a misspelt field (the check's
// own check): compiling is what costs, about a second.
const shipped = readManifests();
const misspelt = structuredClone(shipped.find((m) => m.kind === 'Deployment')!);
misspelt.file = 'misspelt copy of deployment.yaml';
const container = (misspelt.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!;
container.readinesProbe = container.readinessProbe;
const errors = fieldErrors([...shipped, misspelt]);

test('every field of every manifest is one the Kubernetes API defines', () => {
  assert.deepEqual(errors.filter((e) => !e.startsWith(misspelt.file)), []);
});

test('a misspelt field is reported with its manifest', () => {
  assert.deepEqual(errors.filter((e) => e.startsWith(misspelt.file)), [
    `${misspelt.file} Deployment wspass: Object literal may only specify known properties, and '"readinesProbe"' does not exist in type 'IContainer'.`,
  ]);
});
