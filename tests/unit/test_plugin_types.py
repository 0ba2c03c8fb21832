"""ListTable (what column processors change) and the other plugin value types."""

from __future__ import annotations

import pytest

from kubelantern import DetailSection, ListColumn, ListRow, ListTable, Resource, SidebarItem

PODS = Resource("pods", "", "v1", "Pod", "pods", True)


def table() -> ListTable:
    columns = [ListColumn("Name"), ListColumn("Ready"), ListColumn("Age")]
    rows = [
        ListRow("a", "ns", ["a", "1/1", "5m"]),
        ListRow("bb", "ns", ["bb", "0/1", "1h"]),
    ]
    return ListTable(PODS, columns, rows)


def test_add_move_remove_reorder_keep_rows_aligned() -> None:
    t = table()
    t.add_column("Letters", lambda row: len(row.name), after="Name")
    assert t.column_names == ["Name", "Letters", "Ready", "Age"]
    assert [r.cells for r in t.rows] == [["a", 1, "1/1", "5m"], ["bb", 2, "0/1", "1h"]]
    assert t.rows[1].get("Letters") == 2
    t.move_column("Age", at=0)
    assert t.column_names == ["Age", "Name", "Letters", "Ready"]
    assert t.rows[0].cells == ["5m", "a", 1, "1/1"]
    t.remove_column("Ready")
    t.remove_column("Nope")
    t.reorder(["Name", "Letters"])
    assert t.column_names == ["Name", "Letters", "Age"]
    assert t.rows[0].cells == ["a", 1, "5m"] and t.rows[0].get("Age") == "5m"
    t.add_column(ListColumn("Last"), lambda row: "z", at=-1)
    t.add_column(ListColumn("First"), lambda row: "0", before="Name")
    assert t.column_names == ["First", "Name", "Letters", "Age", "Last"]


def test_a_failing_cell_function_changes_nothing() -> None:
    t = table()

    def boom(row: ListRow) -> int:
        raise ValueError(row.name)

    with pytest.raises(ValueError):
        t.add_column("Boom", boom)
    assert t.column_names == ["Name", "Ready", "Age"]
    assert t.rows[0].cells == ["a", "1/1", "5m"]


def test_unknown_column_names_the_columns() -> None:
    with pytest.raises(ValueError, match="columns are Name, Ready, Age"):
        table().move_column("Nope", at=0)


def test_small_values() -> None:
    assert DetailSection("Cost per month", plugin="cost").key() == "cost-cost-per-month"
    assert DetailSection("X", id="mine").key() == "mine"
    item = SidebarItem("Widgets dashboard", "/-/p/w/", plugin="w").to_dict()
    assert item["resource"] == "widgets-dashboard" and item["url"] == "/-/p/w/"
