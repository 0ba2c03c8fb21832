"""The activity store is bounded per identity and in identities."""

from __future__ import annotations

from kubelantern.operate.audit import ActivityStore, Entry


def entry(n: int, name: str = "x") -> Entry:
    return Entry(f"2026-01-01T00:00:{n:02d}", "u", "c", "scale", "pods", "ns", name, "ok", 200)


def test_newest_first_and_bounded_per_identity() -> None:
    store = ActivityStore(per_identity=3, identities=10)
    for n in range(5):
        store.add("c", "alice", entry(n))
    assert [e.time[-2:] for e in store.recent([("c", "alice")])] == ["04", "03", "02"]
    assert store.recent([("c", "bob")]) == []


def test_least_recently_written_identity_goes_first() -> None:
    store = ActivityStore(per_identity=5, identities=2)
    store.add("c", "a", entry(1))
    store.add("c", "b", entry(2))
    store.add("c", "a", entry(3))
    store.add("c", "c", entry(4))  # evicts b, written longest ago
    assert store.recent([("c", "b")]) == []
    assert len(store.recent([("c", "a"), ("c", "c")])) == 3
