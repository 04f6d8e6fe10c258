#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Schema and security check of rendered veil manifests (no network, no cluster): required fields, types, references, hardening.
"""
usage: check-manifests.py OVERLAY FILE          check a rendered overlay (dev, aks-cvm); exit 1 listing every problem
       check-manifests.py --self-test OVERLAY FILE
                                                 apply each known mistake to a copy and expect the check to catch it

The field rules follow the Kubernetes API reference (apps/v1 Deployment and StatefulSet, core/v1 Service,
PersistentVolumeClaim, Namespace, networking/v1 NetworkPolicy); only the fields veil's manifests use are
modelled. The security rules are the restricted Pod Security Standard plus readOnlyRootFilesystem.
"""
import copy
import re
import sys

import yaml

KINDS = {
    'Namespace': 'v1', 'Service': 'v1', 'PersistentVolumeClaim': 'v1', 'ConfigMap': 'v1',
    'Deployment': 'apps/v1', 'StatefulSet': 'apps/v1', 'NetworkPolicy': 'networking.k8s.io/v1',
}
DNS_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')
QUANTITY = re.compile(r'^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$')
# created out of band from the user's own files (docs/kubernetes.md), never rendered
EXTERNAL_CONFIG = {'veil-sim-root', 'veil-sim-platform', 'veil-cas-tls'}
CONFIDENTIAL_LABEL = ('kubernetes.azure.com/security-type', 'ConfidentialVM')
TPM_RESOURCE = 'squat.ai/tpmrm0'


def quantity(text):
    """A CPU or memory quantity in base units (cores or bytes), enough to compare requests with limits."""
    text = str(text)
    m = QUANTITY.match(text)
    if not m:
        return None
    suffix = m.group(2) or ''
    scale = {'': 1, 'm': 1e-3, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12,
             'Ki': 2**10, 'Mi': 2**20, 'Gi': 2**30, 'Ti': 2**40}[suffix]
    return float(text[:len(text) - len(suffix)]) * scale


class Checker:
    def __init__(self, overlay, docs):
        self.overlay, self.docs, self.errors = overlay, docs, []

    def err(self, where, msg):
        self.errors.append(f'{where}: {msg}')

    def need(self, where, obj, key, typ):
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, typ) or isinstance(value, bool) and typ is int:
            self.err(where, f'{key} must be {typ.__name__ if not isinstance(typ, tuple) else "/".join(t.__name__ for t in typ)}'
                     f', got {type(value).__name__}')
            return None
        return value

    def objects(self, kind):
        return [d for d in self.docs if d.get('kind') == kind]

    def names(self, kind):
        return {d['metadata']['name'] for d in self.objects(kind)}

    # ---- every object ----
    def check_object(self, d):
        kind = d.get('kind')
        where = f'{kind}/{(d.get("metadata") or {}).get("name")}'
        if kind not in KINDS:
            return self.err(where, f'unexpected kind {kind!r}')
        if d.get('apiVersion') != KINDS[kind]:
            self.err(where, f'apiVersion {d.get("apiVersion")!r}, expected {KINDS[kind]!r}')
        meta = self.need(where, d, 'metadata', dict)
        if meta is None:
            return
        name = self.need(where, meta, 'name', str)
        if name and not DNS_LABEL.match(name):
            self.err(where, 'metadata.name is not a DNS-1123 label')
        for k, v in (meta.get('labels') or {}).items():
            if not isinstance(v, str) or len(v) > 63:
                self.err(where, f'label {k} must be a string of at most 63 characters')
        if self.overlay == 'aks-cvm' and kind != 'Namespace' and meta.get('namespace') != 'veil':
            self.err(where, 'not in namespace veil')
        getattr(self, 'check_' + kind, lambda *_: None)(where, d)

    # ---- workloads ----
    def check_Deployment(self, where, d):
        self.check_workload(where, d)

    def check_StatefulSet(self, where, d):
        spec = self.check_workload(where, d)
        if spec is None:
            return
        svc = spec.get('serviceName')
        headless = [s for s in self.objects('Service') if s['metadata']['name'] == svc]
        if not headless or headless[0].get('spec', {}).get('clusterIP') != 'None':
            self.err(where, f'serviceName {svc!r} is not a headless Service of this rendering')
        for t in spec.get('volumeClaimTemplates') or []:
            self.check_claim_spec(f'{where} volumeClaimTemplate {t.get("metadata", {}).get("name")}', t.get('spec'))

    def check_workload(self, where, d):
        spec = self.need(where, d, 'spec', dict)
        if spec is None:
            return None
        replicas = self.need(where, spec, 'replicas', int)
        if replicas is not None and replicas < 1:
            self.err(where, 'replicas < 1')
        selector = (spec.get('selector') or {}).get('matchLabels') or {}
        template = self.need(where, spec, 'template', dict) or {}
        labels = (template.get('metadata') or {}).get('labels') or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            self.err(where, 'selector.matchLabels must be non-empty and match the template labels')
        pod = self.need(where, template, 'spec', dict)
        if pod is not None:
            claims = {t['metadata']['name'] for t in spec.get('volumeClaimTemplates') or []}
            self.check_pod(where, pod, claims)
        return spec

    def check_pod(self, where, pod, claim_templates):
        for host in ('hostNetwork', 'hostPID', 'hostIPC'):
            if pod.get(host):
                self.err(where, f'{host} is set')
        sc = self.need(where, pod, 'securityContext', dict) or {}
        if sc.get('runAsNonRoot') is not True:
            self.err(where, 'securityContext.runAsNonRoot must be true')
        uid = sc.get('runAsUser')
        if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
            self.err(where, 'securityContext.runAsUser must be a non-zero uid')
        if (sc.get('seccompProfile') or {}).get('type') != 'RuntimeDefault':
            self.err(where, 'securityContext.seccompProfile.type must be RuntimeDefault')
        if pod.get('automountServiceAccountToken') is not False:
            self.err(where, 'automountServiceAccountToken must be false (veil pods do not talk to the API server)')
        volumes = {}
        for v in pod.get('volumes') or []:
            name = self.need(where, v, 'name', str)
            if 'hostPath' in v:
                self.err(where, f'volume {name} is a hostPath')
            if 'persistentVolumeClaim' in v:
                claim = v['persistentVolumeClaim'].get('claimName')
                if claim not in self.names('PersistentVolumeClaim'):
                    self.err(where, f'volume {name}: claim {claim!r} is not in this rendering')
            for ref, key in (('secret', 'secretName'), ('configMap', 'name')):
                if ref in v:
                    target = v[ref].get(key)
                    if target not in EXTERNAL_CONFIG and target not in self.names('ConfigMap'):
                        self.err(where, f'volume {name}: {ref} {target!r} is neither rendered nor a documented external one')
                    if v[ref].get('optional') is not False:
                        self.err(where, f'volume {name}: {ref} must say optional: false (a missing key must stop the pod)')
            volumes[name] = v
        containers = self.need(where, pod, 'containers', list) or []
        if not containers:
            self.err(where, 'no containers')
        for c in containers:
            self.check_container(f'{where} container {c.get("name")}', c, set(volumes) | claim_templates, pod)
        if self.overlay == 'aks-cvm':
            if (pod.get('nodeSelector') or {}).get(CONFIDENTIAL_LABEL[0]) != CONFIDENTIAL_LABEL[1]:
                self.err(where, f'nodeSelector must pin {CONFIDENTIAL_LABEL[0]}={CONFIDENTIAL_LABEL[1]}')
            tol = [t for t in pod.get('tolerations') or [] if t.get('key') == CONFIDENTIAL_LABEL[0]]
            if not tol or tol[0].get('value') != CONFIDENTIAL_LABEL[1] or tol[0].get('effect') != 'NoSchedule':
                self.err(where, 'no toleration for the confidential node pool taint')
            terms = (((pod.get('affinity') or {}).get('nodeAffinity') or {})
                     .get('requiredDuringSchedulingIgnoredDuringExecution') or {}).get('nodeSelectorTerms') or []
            sizes = [v for t in terms for e in t.get('matchExpressions') or []
                     if e.get('key') == 'node.kubernetes.io/instance-type' for v in e.get('values') or []]
            if not sizes or any(not re.match(r'^Standard_(DC|EC)[0-9]+a(d)?s_v5$', s) for s in sizes):
                self.err(where, 'node affinity must restrict to SEV-SNP sizes (DCasv5/DCadsv5/ECasv5/ECadsv5)')

    def check_container(self, where, c, volumes, pod):
        self.need(where, c, 'name', str)
        image = self.need(where, c, 'image', str)
        if image and (':' not in image.split('/')[-1] or image.endswith(':latest')):
            self.err(where, f'image {image!r} must carry an explicit tag other than latest')
        if self.overlay == 'dev' and image and not image.startswith('localhost/'):
            self.err(where, 'dev images are built locally (localhost/...)')
        args = c.get('args')
        if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
            self.err(where, 'args must be a list of strings')
        sc = self.need(where, c, 'securityContext', dict) or {}
        for key, want in (('privileged', False), ('allowPrivilegeEscalation', False), ('readOnlyRootFilesystem', True)):
            if sc.get(key) is not want:
                self.err(where, f'securityContext.{key} must be {str(want).lower()}')
        caps = sc.get('capabilities') or {}
        if caps.get('drop') != ['ALL']:
            self.err(where, 'securityContext.capabilities.drop must be [ALL]')
        if caps.get('add'):
            self.err(where, f'capabilities added: {caps["add"]}')
        res = self.need(where, c, 'resources', dict) or {}
        for part in ('requests', 'limits'):
            for r in ('cpu', 'memory'):
                if quantity((res.get(part) or {}).get(r, '')) is None:
                    self.err(where, f'resources.{part}.{r} missing or not a quantity')
        for r in ('cpu', 'memory'):
            lo, hi = quantity((res.get('requests') or {}).get(r, '')), quantity((res.get('limits') or {}).get(r, ''))
            if lo is not None and hi is not None and lo > hi:
                self.err(where, f'{r} request above its limit')
        ports = {}
        for p in c.get('ports') or []:
            n = p.get('containerPort')
            if not isinstance(n, int) or not 1 <= n <= 65535:
                self.err(where, f'containerPort {n!r} out of range')
            if p.get('protocol', 'TCP') not in ('TCP', 'UDP', 'SCTP'):
                self.err(where, f'port protocol {p.get("protocol")!r}')
            if 'name' in p:
                ports[p['name']] = n
        for probe in ('readinessProbe', 'livenessProbe'):
            pr = c.get(probe)
            # dev workloads have no liveness probe: podman would run it as a shell command in a wrapped image
            if pr is None and probe == 'livenessProbe' and self.overlay == 'dev' and 'veil-cas' not in (image or ''):
                continue
            if not isinstance(pr, dict):
                self.err(where, f'no {probe}')
                continue
            handlers = [h for h in ('httpGet', 'tcpSocket', 'exec', 'grpc') if h in pr]
            if len(handlers) != 1:
                self.err(where, f'{probe} needs exactly one handler, has {handlers}')
                continue
            h = pr[handlers[0]]
            if handlers[0] in ('httpGet', 'tcpSocket'):
                port = h.get('port')
                if isinstance(port, str) and port not in ports or not isinstance(port, (int, str)):
                    self.err(where, f'{probe} port {port!r} is not a declared container port')
            if handlers[0] == 'exec' and (not isinstance(h.get('command'), list) or not h['command']):
                self.err(where, f'{probe}.exec.command must be a non-empty list')
            for k in ('periodSeconds', 'timeoutSeconds', 'failureThreshold', 'initialDelaySeconds'):
                if k in pr and (not isinstance(pr[k], int) or pr[k] < 0):
                    self.err(where, f'{probe}.{k} must be a non-negative integer')
        for m in c.get('volumeMounts') or []:
            if m.get('name') not in volumes:
                self.err(where, f'volumeMount {m.get("name")!r} has no volume')
            if not str(m.get('mountPath', '')).startswith('/'):
                self.err(where, f'volumeMount {m.get("name")!r}: mountPath must be absolute')
        if self.overlay == 'aks-cvm' and c.get('image', '').split('/')[-1].split(':')[0] != 'veil-cas':
            if str((res.get('limits') or {}).get(TPM_RESOURCE)) != '1':
                self.err(where, f'a workload on the CVM pool must request {TPM_RESOURCE}: 1 (its evidence comes from the vTPM)')
            env = {e.get('name'): e.get('value') for e in c.get('env') or []}
            if env.get('VEIL_TPM_TCTI') != 'device:/dev/tpmrm0':
                self.err(where, 'VEIL_TPM_TCTI must name device:/dev/tpmrm0')

    # ---- the rest ----
    def check_Service(self, where, d):
        spec = self.need(where, d, 'spec', dict) or {}
        selector = spec.get('selector') or {}
        pods = []
        for w in self.objects('Deployment') + self.objects('StatefulSet'):
            labels = w['spec']['template']['metadata'].get('labels') or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                pods.append(w)
        if not pods:
            return self.err(where, 'selector matches no workload of this rendering')
        for p in self.need(where, spec, 'ports', list) or []:
            if not isinstance(p.get('port'), int):
                self.err(where, 'port must be an integer')
            target = p.get('targetPort', p.get('port'))
            if isinstance(target, str):
                declared = {n for w in pods for c in w['spec']['template']['spec']['containers']
                            for n in (q.get('name') for q in c.get('ports') or [])}
                if target not in declared:
                    self.err(where, f'targetPort {target!r} is not a port of the selected pods')

    def check_PersistentVolumeClaim(self, where, d):
        self.check_claim_spec(where, d.get('spec'))

    def check_claim_spec(self, where, spec):
        if not isinstance(spec, dict):
            return self.err(where, 'spec missing')
        modes = spec.get('accessModes')
        if not modes or any(m not in ('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod') for m in modes):
            self.err(where, f'accessModes {modes!r}')
        if quantity(((spec.get('resources') or {}).get('requests') or {}).get('storage', '')) is None:
            self.err(where, 'resources.requests.storage missing or not a quantity')

    def check_Namespace(self, where, d):
        labels = d['metadata'].get('labels') or {}
        if labels.get('pod-security.kubernetes.io/enforce') != 'restricted':
            self.err(where, 'the namespace must enforce the restricted Pod Security Standard')

    def check_NetworkPolicy(self, where, d):
        spec = self.need(where, d, 'spec', dict) or {}
        if not (spec.get('podSelector') or {}).get('matchLabels'):
            self.err(where, 'podSelector must select pods by label')

    # ---- veil-cas and the overlay as a whole ----
    def check_veil(self):
        cas = [w for w in self.objects('Deployment') + self.objects('StatefulSet') if w['metadata']['name'] == 'veil-cas']
        if len(cas) != 1:
            return self.err('veil-cas', f'expected one veil-cas workload, found {len(cas)}')
        w = cas[0]
        if self.overlay == 'dev' and w['kind'] != 'Deployment':
            self.err('veil-cas', 'dev must render veil-cas as a Deployment (podman kube play has no StatefulSet)')
        if self.overlay == 'aks-cvm' and w['kind'] != 'StatefulSet':
            self.err('veil-cas', 'aks-cvm must render veil-cas as a StatefulSet')
        if w['spec'].get('replicas') != 1:
            self.err('veil-cas', 'one replica: the database is SQLite on a ReadWriteOnce volume')
        pod = w['spec']['template']['spec']
        c = pod['containers'][0]
        args = c.get('args') or []
        if '--state=/var/lib/veil-cas' not in args:
            self.err('veil-cas', 'args must put the state on /var/lib/veil-cas')
        mount = [m for m in c.get('volumeMounts') or [] if m.get('mountPath') == '/var/lib/veil-cas']
        persistent = {t['metadata']['name'] for t in w['spec'].get('volumeClaimTemplates') or []}
        persistent |= {v['name'] for v in pod.get('volumes') or [] if 'persistentVolumeClaim' in v}
        if not mount or mount[0]['name'] not in persistent:
            self.err('veil-cas', 'the state directory must be a persistent volume')
        for probe, path in (('readinessProbe', '/readyz'), ('livenessProbe', '/healthz')):
            pr = c.get(probe) or {}
            target = (pr.get('httpGet') or {}).get('path') or ' '.join((pr.get('exec') or {}).get('command') or [])
            if not target.endswith(path):
                self.err('veil-cas', f'{probe} must ask {path}')
            if 'httpGet' in pr and pr['httpGet'].get('scheme') != 'HTTPS':
                self.err('veil-cas', f'{probe} must use HTTPS (the service speaks TLS only)')
        sim = any(a.startswith('--sim-root') for a in args)
        if sim != (self.overlay == 'dev'):
            self.err('veil-cas', '--sim-root belongs to the dev overlay only')
        if '--cert=/etc/veil-cas/tls/tls.crt' not in args or '--key=/etc/veil-cas/tls/tls.key' not in args:
            self.err('veil-cas', 'its TLS identity must be the Secret veil-cas-tls the workloads pin (--cert, --key)')
        if self.overlay == 'dev' and self.objects('StatefulSet'):
            self.err('dev', 'a StatefulSet cannot run under podman kube play')
        # the example workloads attest: never the development key mode; the sim TEE only in dev
        for name in ('redis', 'python-app'):
            for w in self.objects('Deployment'):
                if w['metadata']['name'] != name:
                    continue
                wargs = w['spec']['template']['spec']['containers'][0].get('args') or []
                if any(a.startswith('--dev-key-file') for a in wargs):
                    self.err(name, '--dev-key-file: the workloads get their keys from veil-cas after attestation')
                if any(a.startswith('--sim-dir') for a in wargs) != (self.overlay == 'dev'):
                    self.err(name, 'the sim TEE (--sim-dir) in dev, and only there')

    def run(self):
        for d in self.docs:
            if not isinstance(d, dict):
                self.err('document', 'not a mapping')
                continue
            self.check_object(d)
        self.check_veil()
        return self.errors


def workload(docs, name):
    return next(d for d in docs if d.get('kind') in ('Deployment', 'StatefulSet') and d['metadata']['name'] == name)


def container(docs, name):
    return workload(docs, name)['spec']['template']['spec']['containers'][0]


# Mistakes the check must catch: (name, overlays it applies to, mutation of the rendered documents).
MUTATIONS = [
    ('privileged container', None, lambda d: container(d, 'redis')['securityContext'].update(privileged=True)),
    ('privilege escalation', None,
     lambda d: container(d, 'veil-cas')['securityContext'].update(allowPrivilegeEscalation=True)),
    ('writable root filesystem', None,
     lambda d: container(d, 'python-app')['securityContext'].pop('readOnlyRootFilesystem')),
    ('capabilities kept', None, lambda d: container(d, 'veil-cas')['securityContext'].update(capabilities={})),
    ('capability added', None,
     lambda d: container(d, 'redis')['securityContext']['capabilities'].update(add=['SYS_PTRACE'])),
    ('runs as root', None, lambda d: workload(d, 'veil-cas')['spec']['template']['spec']['securityContext'].update(
        runAsUser=0)),
    ('no seccomp profile', None,
     lambda d: workload(d, 'redis')['spec']['template']['spec']['securityContext'].pop('seccompProfile')),
    ('host network', None, lambda d: workload(d, 'python-app')['spec']['template']['spec'].update(hostNetwork=True)),
    ('hostPath volume', None, lambda d: workload(d, 'redis')['spec']['template']['spec']['volumes'].append(
        {'name': 'dev', 'hostPath': {'path': '/dev/tpmrm0'}})),
    ('no readiness probe', None, lambda d: container(d, 'veil-cas').pop('readinessProbe')),
    ('no workload readiness probe', None, lambda d: container(d, 'redis').pop('readinessProbe')),
    ('no liveness probe in production', ('aks-cvm',), lambda d: container(d, 'redis').pop('livenessProbe')),
    ('liveness on the wrong path', None, lambda d: container(d, 'veil-cas').update(
        livenessProbe={'httpGet': {'path': '/', 'port': 'https', 'scheme': 'HTTPS'}})),
    ('no memory limit', None, lambda d: container(d, 'redis')['resources']['limits'].pop('memory')),
    ('request above limit', None, lambda d: container(d, 'python-app')['resources']['requests'].update(cpu='2')),
    ('replicas as a string', None, lambda d: workload(d, 'redis')['spec'].update(replicas='1')),
    ('state not persistent', None, lambda d: container(d, 'veil-cas').update(volumeMounts=[])),
    ('untagged image', None, lambda d: container(d, 'redis').update(image='localhost/veil/examples/redis')),
    ('service selects nothing', None, lambda d: next(x for x in d if x.get('kind') == 'Service')['spec'].update(
        selector={'app.kubernetes.io/name': 'nobody'})),
    ('wrong apiVersion', None, lambda d: workload(d, 'redis').update(apiVersion='extensions/v1beta1')),
    ('probe on an undeclared port', None, lambda d: container(d, 'redis').update(
        readinessProbe={'tcpSocket': {'port': 'nope'}})),
    ('optional secret', ('dev',), lambda d: workload(d, 'redis')['spec']['template']['spec']['volumes'][-1]['secret']
     .update(optional=True)),
    ('StatefulSet in dev', ('dev',), lambda d: workload(d, 'veil-cas').update(kind='StatefulSet')),
    ('development key mode', None, lambda d: container(d, 'redis').update(args=['--dev-key-file=/k/image.key'])),
    ('sim TEE in production', ('aks-cvm',), lambda d: container(d, 'python-app').update(args=['--sim-dir=/s'])),
    ('workload without the sim TEE in dev', ('dev',), lambda d: container(d, 'python-app').update(args=[])),
    ('service identity not the pinned Secret', None, lambda d: container(d, 'veil-cas').update(
        args=[a for a in container(d, 'veil-cas')['args'] if not a.startswith('--cert')])),
    ('sim root in production', ('aks-cvm',), lambda d: container(d, 'veil-cas')['args'].append('--sim-root=/x')),
    ('off the confidential pool', ('aks-cvm',),
     lambda d: workload(d, 'redis')['spec']['template']['spec'].pop('nodeSelector')),
    ('a TDX or general size allowed', ('aks-cvm',), lambda d: workload(d, 'veil-cas')['spec']['template']['spec'][
        'affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'][0][
        'matchExpressions'][0]['values'].append('Standard_DC4es_v5')),
    ('no vTPM device', ('aks-cvm',), lambda d: container(d, 'python-app')['resources']['limits'].pop(TPM_RESOURCE)),
]


def main():
    args = sys.argv[1:]
    self_test = args[:1] == ['--self-test']
    if self_test:
        args = args[1:]
    if len(args) != 2 or args[0] not in ('dev', 'aks-cvm'):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    overlay, path = args
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if not self_test:
        errors = Checker(overlay, copy.deepcopy(docs)).run()
        for e in errors:
            print(f'{path}: {e}')
        print(f'# {len(docs)} objects, {len(errors)} problems')
        return 1 if errors else 0
    missed = 0
    for name, overlays, mutate in MUTATIONS:
        if overlays and overlay not in overlays:
            continue
        mutated = copy.deepcopy(docs)
        mutate(mutated)
        errors = Checker(overlay, mutated).run()
        print(f'# {name}: ' + (errors[0] if errors else 'NOT CAUGHT'))
        missed += not errors
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
