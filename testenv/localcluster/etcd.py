"""etcd: one member on loopback, no fsync (test data, speed over durability)."""

from __future__ import annotations

from .layout import Cluster, Ports


def etcd_argv(c: Cluster, binary: str, ports: Ports) -> list[str]:
    return [
        binary,
        "--name=node0",
        f"--data-dir={c.etcd_data}",
        f"--listen-client-urls=http://127.0.0.1:{ports['etcd_client']}",
        f"--advertise-client-urls=http://127.0.0.1:{ports['etcd_client']}",
        f"--listen-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
        f"--initial-cluster=node0=http://127.0.0.1:{ports['etcd_peer']}",
        "--unsafe-no-fsync",
        "--auto-compaction-retention=1",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]
