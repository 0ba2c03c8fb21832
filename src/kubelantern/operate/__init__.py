"""Writes: the YAML editor, create from YAML, object actions, drain, audit, read-only.

Every write goes out with the signed-in person's credentials, so the API
server's RBAC decides; Kubelantern only offers what a SelfSubjectAccessReview
allows, validates with a server-side dry run first, refuses everything when a
read-only switch is on, and records each attempt in the audit log.
"""
