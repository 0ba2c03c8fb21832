"""kube-apiserver, kube-controller-manager and kube-scheduler command lines."""

from __future__ import annotations

import os

from .layout import SA_ISSUER, SERVICE_CIDR, Cluster, Ports


def apiserver_argv(c: Cluster, binary: str, ports: Ports, authn_config: str | None) -> list[str]:
    """RBAC on, client certificates from the cluster CA, kubelet calls go to kwok."""

    def pki(f: str) -> str:
        return os.path.join(c.pki, f)

    argv = [
        binary,
        f"--etcd-servers=http://127.0.0.1:{ports['etcd_client']}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        # a loopback advertise address is only allowed without the endpoint
        # reconciler: the default/kubernetes Service then has no endpoints.
        "--endpoint-reconciler-type=none",
        f"--secure-port={ports['apiserver']}",
        f"--cert-dir={os.path.join(c.dir, 'apiserver')}",
        f"--tls-cert-file={pki('apiserver.crt')}",
        f"--tls-private-key-file={pki('apiserver.key')}",
        f"--client-ca-file={pki('ca.crt')}",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={pki('sa.pub')}",
        f"--service-account-signing-key-file={pki('sa.key')}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=0",
        "--max-mutating-requests-inflight=0",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-certificate-authority={pki('ca.crt')}",
        f"--kubelet-client-certificate={pki('apiserver-kubelet-client.crt')}",
        f"--kubelet-client-key={pki('apiserver-kubelet-client.key')}",
        "--event-ttl=24h",
        "--profiling=false",
    ]
    if authn_config:
        argv.append(f"--authentication-config={authn_config}")
    return argv


def controller_manager_argv(c: Cluster, binary: str, ports: Ports) -> list[str]:
    def pki(f: str) -> str:
        return os.path.join(c.pki, f)

    return [
        binary,
        f"--kubeconfig={os.path.join(c.internal, 'kube-controller-manager.kubeconfig')}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['controller_manager']}",
        f"--cert-dir={os.path.join(c.dir, 'controller-manager')}",
        "--leader-elect=false",
        f"--cluster-name={c.name}",
        f"--service-account-private-key-file={pki('sa.key')}",
        f"--root-ca-file={pki('ca.crt')}",
        f"--cluster-signing-cert-file={pki('ca.crt')}",
        f"--cluster-signing-key-file={pki('ca.key')}",
        "--use-service-account-credentials=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]


def scheduler_argv(c: Cluster, binary: str, ports: Ports) -> list[str]:
    return [
        binary,
        f"--kubeconfig={os.path.join(c.internal, 'kube-scheduler.kubeconfig')}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['scheduler']}",
        f"--cert-dir={os.path.join(c.dir, 'scheduler')}",
        "--leader-elect=false",
        "--profiling=false",
    ]
