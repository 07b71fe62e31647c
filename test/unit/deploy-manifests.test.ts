// deploy/kubernetes: every manifest is valid against the Kubernetes API schemas, and the manifests agree
// with each other, with the wspass config they carry and with the image: probes on the health listener,
// a grace period that covers the shutdown sequence, requests that `npm run sizing` gives for the load the
// Deployment names, the autoscaler on the tunnel metric, and the kernel settings for 100k tunnels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseArgs } from 'node:util';
import { loadConfigText } from '../../src/config/load.js';
import { parseListenAddress } from '../../src/config/listen-address.js';
import { podRequests, SIZING_DEFAULTS, sizingFigures } from '../../bench/report/pod-requests.js';
import { instructions, parseDockerfile } from '../helpers/dockerfile.js';
import { MANIFEST_DIR, only, readManifests, schemaErrors, type Manifest } from '../helpers/k8s-manifests.js';

const root = new URL('../../../', import.meta.url);
const manifests = readManifests();

interface Probe { httpGet?: { path: string; port: string | number } }
interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: unknown };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; sysctls?: { name: string; value: string }[] };
  containers: Container[];
  initContainers?: (Container & { command?: string[] })[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface WorkloadSpec { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }

const deployment = only(manifests, 'Deployment');
const dspec = deployment.spec as WorkloadSpec;
const pod = dspec.template.spec;
const wspass = pod.containers.find((c) => c.name === 'wspass')!;
const configMap = only(manifests, 'ConfigMap', 'wspass-config');
const configText = configMap.data!['wspass.yaml']!;

const config = loadConfigText(configText, 'wspass.yaml');

function portNamed(c: Container, port: string | number | undefined): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

test('every manifest in deploy/kubernetes is valid against its Kubernetes API schema', () => {
  assert.deepEqual(
    manifests.map((m) => `${m.file} ${m.kind}`),
    [
      'configmap.yaml ConfigMap',
      'deployment.yaml Deployment',
      'hpa.yaml HorizontalPodAutoscaler',
      'networkpolicy.yaml NetworkPolicy',
      'node-tuning.yaml DaemonSet',
      'pdb.yaml PodDisruptionBudget',
      'prometheus-adapter-rules.yaml ConfigMap',
      'service.yaml Service',
    ],
  );
  assert.deepEqual(manifests.flatMap(schemaErrors), []);
});

test('the validation catches a wrong type, a missing required field and a bad quantity', () => {
  const broken = structuredClone(deployment) as Manifest & { spec: Partial<WorkloadSpec> };
  const podSpec = broken.spec.template!.spec;
  (podSpec as unknown as Record<string, unknown>).terminationGracePeriodSeconds = '35s';
  podSpec.containers[0]!.resources!.requests!.cpu = 'lots';
  delete broken.spec.selector;
  const errors = schemaErrors(broken).join('\n');
  assert.match(errors, /terminationGracePeriodSeconds: must be integer/);
  assert.match(errors, /requests\/cpu: must match format "quantity"/);
  assert.match(errors, /spec: must have required property selector/);
});

test('the grace period covers the shutdown sequence of the ConfigMap\'s config', () => {
  const { preStopDelayMs, deadlineMs, tunnelDrainMs } = config.shutdown;
  assert.ok(preStopDelayMs > 0, 'the config sets shutdown.preStopDelayMs');
  assert.ok(tunnelDrainMs < deadlineMs, 'tunnels are closed before the deadline destroys them');
  const grace = pod.terminationGracePeriodSeconds!;
  assert.ok(grace >= (preStopDelayMs + deadlineMs) / 1000 + 5, `terminationGracePeriodSeconds ${grace} < (${preStopDelayMs} + ${deadlineMs}) / 1000 + 5`);
  // No preStop sleep: wspass turns /readyz to 503 and keeps serving for preStopDelayMs itself.
  assert.equal(wspass.lifecycle?.preStop, undefined);
});

test('probes: readiness on /readyz and liveness on /healthz of the health listener; ports are the config\'s', () => {
  const healthPort = parseListenAddress(config.health!.listen).port;
  assert.equal(wspass.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(wspass.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(portNamed(wspass, wspass.readinessProbe.httpGet.port), healthPort);
  assert.equal(portNamed(wspass, wspass.livenessProbe.httpGet.port), healthPort);
  const listen = config.listen as string;
  assert.equal(portNamed(wspass, 'proxy'), parseListenAddress(listen).port);
  assert.equal(portNamed(wspass, 'admin'), parseListenAddress(config.admin!.listen).port);
  const annotations = (dspec.template.metadata as { annotations?: Record<string, string> }).annotations ?? {};
  assert.equal(Number(annotations['prometheus.io/port']), parseListenAddress(config.admin!.listen).port);
});

test('the pod runs the image as it is built: its user, read-only root, the config where args point', () => {
  const runtime = parseDockerfile(readFileSync(new URL('Dockerfile', root), 'utf8')).at(-1)!;
  const uid = Number(instructions(runtime, 'USER')[0]!.split(':')[0]);
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.runAsUser, uid);
  assert.equal(wspass.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(wspass.securityContext?.allowPrivilegeEscalation, false);
  const args = wspass.args!;
  assert.equal(args[0], 'run');
  const configPath = args[args.indexOf('--config') + 1]!;
  const mount = wspass.volumeMounts!.find((v) => configPath.startsWith(`${v.mountPath}/`))!;
  assert.ok(mount, `no volume is mounted where --config ${configPath} points`);
  const volume = pod.volumes!.find((v) => v.name === mount.name)!;
  assert.equal(volume.configMap?.name, configMap.metadata.name);
  assert.ok(configPath.slice(mount.mountPath.length + 1) in configMap.data!, `the ConfigMap has no key for ${configPath}`);
});

test('requests and --workers are what `npm run sizing` prints for the command in deployment.yaml', () => {
  const text = readFileSync(new URL('deployment.yaml', MANIFEST_DIR), 'utf8');
  const command = /npm run sizing -- (.*)/.exec(text)?.[1];
  assert.ok(command, 'deployment.yaml does not say how its requests were sized');
  const { values } = parseArgs({ args: command.trim().split(/\s+/), options: { results: { type: 'string' }, tunnels: { type: 'string' }, msgs: { type: 'string' }, pods: { type: 'string' } } });
  const figures = sizingFigures(JSON.parse(readFileSync(new URL(values.results!, root), 'utf8')));
  if (typeof figures === 'string') assert.fail(figures);
  const load = { ...SIZING_DEFAULTS, tunnels: Number(values.tunnels), msgsPerSec: Number(values.msgs), pods: Number(values.pods) };
  const r = podRequests(figures, load);
  assert.deepEqual(wspass.resources, { requests: { cpu: `${r.cpuMillis}m`, memory: `${r.memoryMiB}Mi` }, limits: { memory: `${r.memoryLimitMiB}Mi` } });
  assert.equal(wspass.args![wspass.args!.indexOf('--workers') + 1], String(r.workers));
  assert.equal((deployment.spec as { replicas: number }).replicas, load.pods);

  // The autoscaler keeps pods at the tunnel count they were sized for.
  const hpa = only(manifests, 'HorizontalPodAutoscaler').spec as {
    scaleTargetRef: { kind: string; name: string };
    metrics: { type: string; pods?: { metric: { name: string }; target: { averageValue: string } } }[];
  };
  assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  const tunnels = hpa.metrics.find((m) => m.type === 'Pods')!.pods!;
  assert.equal(tunnels.metric.name, 'wspass_tunnels_active');
  assert.equal(Number(tunnels.target.averageValue), r.tunnelsPerPod);
  const adapter = only(manifests, 'ConfigMap', 'prometheus-adapter-wspass').data!['config.yaml']!;
  const rules = (parseYaml(adapter) as { rules: { name: { as: string } }[] }).rules;
  assert.ok(rules.some((x) => x.name.as === 'wspass_tunnels_active'), 'the adapter does not serve wspass_tunnels_active');
});

test('the Service, the PodDisruptionBudget and the NetworkPolicy select the Deployment\'s pods', () => {
  const labels = dspec.template.metadata.labels;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  assert.ok(matches(dspec.selector.matchLabels));
  const svc = only(manifests, 'Service').spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
  assert.ok(matches(svc.selector));
  for (const p of svc.ports) assert.ok(portNamed(wspass, p.targetPort) !== undefined, `Service targetPort ${p.targetPort}`);
  assert.ok(matches((only(manifests, 'PodDisruptionBudget').spec as WorkloadSpec).selector.matchLabels));
  const np = only(manifests, 'NetworkPolicy').spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: { port: string }[] }[] };
  assert.ok(matches(np.podSelector.matchLabels));
  for (const rule of np.ingress) for (const p of rule.ports) assert.ok(portNamed(wspass, p.port) !== undefined, `NetworkPolicy port ${p.port}`);
});

test('kernel settings for 100k tunnels: tcp_migrate_req and ports in the pod, open files and conntrack on the node', () => {
  const sysctls = Object.fromEntries(pod.securityContext!.sysctls!.map((s) => [s.name, s.value]));
  assert.equal(sysctls['net.ipv4.tcp_migrate_req'], '1');
  assert.equal(sysctls['net.ipv4.ip_local_port_range'], '1024 65535');
  const tuning = only(manifests, 'DaemonSet', 'wspass-node-tuning').spec as WorkloadSpec;
  const script = tuning.template.spec.initContainers![0]!.command!.join('\n');
  const set = (name: string) => Number(new RegExp(`^\\s*w ${name.replaceAll('.', '\\.')} "?(\\d+)`, 'm').exec(script)?.[1]);
  const tunnels = 100_000;
  assert.ok(set('fs.nr_open') > 2 * tunnels, 'fs.nr_open must exceed two descriptors per tunnel');
  assert.ok(set('fs.file-max') >= set('fs.nr_open'));
  assert.ok(set('net.netfilter.nf_conntrack_max') >= 2 * tunnels, 'both legs of each tunnel are tracked');
  // The README names every one of them.
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  for (const name of [...Object.keys(sysctls), 'fs.nr_open', 'fs.file-max', 'net.netfilter.nf_conntrack_max', 'ulimit -n']) {
    assert.ok(readme.includes(name), `README.md does not mention ${name}`);
  }
});
