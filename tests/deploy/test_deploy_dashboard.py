"""The Grafana dashboard queries only metrics that the services export."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import CHART, REPO, Render, by_kind

pytestmark = pytest.mark.unit

DASHBOARD = CHART / "dashboards" / "integrations-dashboard.json"
DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info)\(\s*\"([a-zA-Z_:][\w:]*)\"")
SELECTOR = re.compile(r"\b([a-zA-Z_:][\w:]*)\{")


def exported_series() -> set[str]:
    """Every series name the services' prometheus_client definitions produce."""
    names: set[str] = set()
    for path in [*REPO.glob("libs/*/src/**/*.py"), *REPO.glob("services/*/src/**/*.py")]:
        for kind, name in DEFINITION.findall(path.read_text()):
            if kind == "Counter":
                names.add(f"{name.removesuffix('_total')}_total")
            elif kind == "Info":
                names.add(f"{name}_info")
            elif kind in ("Histogram", "Summary"):
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
            else:
                names.add(name)
    return names


def panels() -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [p for p in document["panels"] if p["type"] != "row"]


def test_deploy_dashboard_queries_exported_metrics() -> None:
    exported = exported_series()
    assert "integrations_build_info" in exported
    queried = {
        name
        for panel in panels()
        for target in panel["targets"]
        for name in SELECTOR.findall(target["expr"])
    }
    assert len(queried) >= 15
    assert queried - exported == set()


def test_deploy_dashboard_panels_are_well_formed() -> None:
    document = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in document["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), panel["title"]
            assert 'namespace=~"$namespace"' in expr, panel["title"]


def test_deploy_dashboard_ships_in_an_optional_config_map(render: Render) -> None:
    assert [m for m in by_kind(render(), "ConfigMap") if "dashboard" in m["metadata"]["name"]] == []
    manifests = render(values={"metrics.grafanaDashboard.enabled": True})
    (config_map,) = [
        m for m in by_kind(manifests, "ConfigMap") if "dashboard" in m["metadata"]["name"]
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(config_map["data"]["integrations-dashboard.json"])
    assert shipped == json.loads(DASHBOARD.read_text())
