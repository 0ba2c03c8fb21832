"""The rules behind clusters added from the UI: address classes, admins, visibility."""

from __future__ import annotations

import ipaddress

import pytest

from kubelantern.auth.admins import AdminRule, Person
from kubelantern.clusters.addpolicy import AddPolicy, AddPolicyError
from kubelantern.clusters.addresses import AddressRefused, address_class, check_addresses
from kubelantern.clusters.execplugin import passed_names, plugin_environment
from kubelantern.clusters.kubeconfig import ClusterConfig, ExecConfig
from kubelantern.clusters.store import ClusterStore
from kubelantern.clusters.visibility import SYSTEM, Viewer
from kubelantern.settings import Settings


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "loopback"),
        ("::", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "link-local"),
        ("100.100.100.200", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.1", "private"),
        ("100.64.1.1", "private"),
        ("fc00::1", "private"),
        ("224.0.0.1", "private"),
        ("240.0.0.1", "private"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classes(address: str, kind: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind


def test_one_refused_address_of_a_name_refuses_it() -> None:
    with pytest.raises(AddressRefused, match=r"evil.example \(127.0.0.1\) is a loopback"):
        check_addresses("evil.example", ["8.8.8.8", "127.0.0.1"], frozenset())
    check_addresses("ok.example", ["8.8.8.8", "127.0.0.1"], frozenset({"loopback"}))


def test_policy_defaults_follow_the_mode() -> None:
    assert AddPolicy.from_settings(Settings(), desktop=False).allow == frozenset()
    desktop = AddPolicy.from_settings(Settings(), desktop=True).allow
    assert {"exec", "loopback", "private", "files"} <= desktop
    none = Settings(added_cluster_allow=("none",))
    assert AddPolicy.from_settings(none, desktop=True).allow == frozenset()
    with pytest.raises(AddPolicyError, match="unknown everything"):
        AddPolicy.from_settings(Settings(added_cluster_allow=("everything",)), desktop=False)


def test_admins_are_named_users_and_groups() -> None:
    rule = AdminRule(["carol", "group:ops"], desktop=False)
    assert rule.viewer(Person("carol")).admin
    assert rule.viewer(Person("dave", ("devs", "ops"))).admin
    assert not rule.viewer(Person("alice", ("devs",))).admin
    assert not rule.viewer(Person("group:ops")).admin
    assert not rule.viewer(None).admin
    assert AdminRule(["*"], desktop=False).viewer(None).admin
    assert AdminRule([], desktop=True).viewer(None).admin
    assert not AdminRule([], desktop=False).names_anyone


def test_added_clusters_are_their_owners_until_shared() -> None:
    alice, carol = Viewer(person="alice"), Viewer(person="carol")
    admin, anonymous = Viewer(person="root", admin=True), Viewer()
    assert all(v.sees(None, False) for v in (alice, anonymous))  # the operator's clusters
    assert carol.sees("carol", False) and not alice.sees("carol", False)
    assert not anonymous.sees("", False)  # owner unknown: admins only
    assert admin.sees("carol", False) and SYSTEM.sees("carol", False)
    assert alice.sees("carol", True)
    assert carol.manages("carol") and admin.manages("carol")
    assert not alice.manages("carol") and not admin.manages(None)


def test_exec_plugins_get_only_what_is_named() -> None:
    environ = {"PATH": "/bin", "HOME": "/h", "SECRET": "x", "AWS_REGION": "eu", "AWSX": "y"}
    env = plugin_environment((("OWN", "1"),), environ, passed_names(("AWS_*", " ")))
    assert env == {"PATH": "/bin", "HOME": "/h", "AWS_REGION": "eu", "OWN": "1"}
    assert plugin_environment((), environ) == {"PATH": "/bin", "HOME": "/h"}


def test_each_app_passes_its_own_variables_to_exec_plugins() -> None:
    """--exec-credential-env is the app's, not the process's: two apps, two answers."""
    config = ClusterConfig(name="eks", server="https://127.0.0.1:1", exec=ExecConfig(command="aws"))
    stores = [ClusterStore(exec_env=names) for names in (("AWS_*",), ("GOOGLE_*", " "), ())]
    passed = []
    for store in stores:
        (cluster,) = [store.add(config)]
        assert cluster.config.exec is not None
        passed.append(cluster.config.exec.passed_env)
    assert passed == [("AWS_*",), ("GOOGLE_*",), ()]
    assert config.exec is not None and config.exec.passed_env == ()  # the input is unchanged
