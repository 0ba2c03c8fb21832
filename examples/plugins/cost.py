"""Estimated monthly cost of Deployments and StatefulSets, as a list column.

cost = replicas x sum over containers of (CPU request x price per core-month
+ memory request x price per GiB-month), with the prices as plugin settings:

    kubelantern serve --plugins-dir examples/plugins \\
        --plugin-setting cost.cpu_per_core_month=25 \\
        --plugin-setting cost.memory_per_gib_month=3.5

The column needs the pod template of each row, which a server-side Table does
not carry, so the processor asks for whole objects (``objects=True``): the
list is still one request to the API server, made with the user's credentials.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubelantern import (
    ColumnProcessor,
    Context,
    Kubelantern,
    ListColumn,
    ListRow,
    ListTable,
    Setting,
    hookimpl,
    parse_quantity,
)

NAME = "cost"
GIB = Decimal(2**30)


@hookimpl
def register_plugin_settings() -> list[Setting]:
    return [
        Setting("cpu_per_core_month", "Price of one CPU core for a month.", 25.0, type="float"),
        Setting("memory_per_gib_month", "Price of 1 GiB of memory for a month.", 3.5, "float"),
        Setting("currency", "Currency shown in the column name.", "USD"),
    ]


def monthly_cost(obj: dict[str, Any], cpu_price: float, memory_price: float) -> float:
    """What the requests of one workload cost a month, all replicas together."""
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas", 1)
    pod = (spec.get("template") or {}).get("spec") or {}
    cores = Decimal(0)
    memory = Decimal(0)
    for container in pod.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cores += parse_quantity(requests.get("cpu"))
        memory += parse_quantity(requests.get("memory"))
    per_replica = cores * Decimal(str(cpu_price)) + memory / GIB * Decimal(str(memory_price))
    return round(float(per_replica * int(replicas or 0)), 2)


def add_cost(ctx: Context, table: ListTable) -> None:
    settings = ctx.plugin_settings(NAME)
    cpu, memory = settings["cpu_per_core_month"], settings["memory_per_gib_month"]

    def cell(row: ListRow) -> float:
        return monthly_cost(row.object, cpu, memory)

    column = ListColumn(
        f"Cost/month ({settings['currency']})",
        type="number",
        description="Estimated from CPU and memory requests x replicas (plugin cost)",
    )
    table.add_column(column, cell, before="Age" if "Age" in table.column_names else None)


@hookimpl
def register_column_processors(kl: Kubelantern) -> list[ColumnProcessor]:
    return [
        ColumnProcessor(
            add_cost,
            resources=("deployments.apps", "statefulsets.apps"),
            objects=True,
            name="monthly cost",
        )
    ]
