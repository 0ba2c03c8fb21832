"""The local test control plane behind ``testenv/cluster``, split by concern.

``testenv/cluster`` is the command (its flags and output are the interface
that ``make demo``, ``make test`` and the test fixtures use); this package is
its implementation:

* ``common``: failures, logging, polling and atomic file writes;
* ``layout``: names, users, ports and where a cluster keeps its state;
* ``processes``: our processes in /proc, free ports, locks, starting and stopping;
* ``binaries``: the cached Go binaries (``testenv/build``);
* ``certs``: the cluster CA and every certificate (openssl CLI);
* ``kubeconfig``: kubeconfigs for users and components;
* ``client``: a small synchronous Kubernetes client (server-side apply);
* ``etcd``, ``apiserver``, ``kwok``: each component's command line and config;
* ``bootstrap``: the namespaces, RBAC, ServiceAccount and nodes ``up`` creates;
* ``seed``: ``seed``, applying testenv/seed and waiting for the workloads;
* ``lifecycle``: ``up``, ``down`` and ``status``;
* ``cli``: the argument parser and the small commands.
"""
