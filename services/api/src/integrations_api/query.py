"""Unknown query parameters are refused (422 with `source.parameter`), like unknown body fields."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from integrations_api.errors import Problem, ValidationFailedError


def _query_aliases(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_aliases(sub)
    return names


_DECLARED: dict[str, frozenset[str]] = {}


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names (aliases) the route's handler and dependencies declare."""
    names = _DECLARED.get(route.unique_id)
    if names is None:
        names = _DECLARED[route.unique_id] = frozenset(_query_aliases(route.dependant))
    return names


async def reject_unknown_query(request: Request) -> None:
    """Refuse a request that carries a query parameter its operation does not define."""
    route = request.scope.get("route")
    allowed = declared_query_parameters(route) if isinstance(route, APIRoute) else frozenset()
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
    if unknown:
        raise ValidationFailedError(
            [Problem(f"{name}: is not a known query parameter", parameter=name) for name in unknown]
        )
