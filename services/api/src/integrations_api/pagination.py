"""`page[offset]` / `page[limit]` parameters and the links between pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from integrations_api.errors import Problem, ValidationFailedError
from integrations_api.state import services_of

MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class Page:
    """Which slice of a collection a request asks for."""

    offset: int
    limit: int

    def _link(self, path: str, offset: int) -> str:
        return f"{path}?page[offset]={offset}&page[limit]={self.limit}"

    def links(self, path: str, *, total: int | None, has_next: bool) -> dict[str, str]:
        """`first`, `prev`, `next` and (when the total is known) `last`; absent when moot."""
        links = {"first": self._link(path, 0)}
        if self.offset > 0:
            links["prev"] = self._link(path, max(self.offset - self.limit, 0))
        if has_next:
            links["next"] = self._link(path, self.offset + self.limit)
        if total is not None and total > self.limit:
            links["last"] = self._link(path, (total - 1) // self.limit * self.limit)
        return links


async def page_params(
    request: Request,
    offset: Annotated[
        int,
        Query(alias="page[offset]", ge=0, le=MAX_OFFSET, description="Records to skip."),
    ] = 0,
    limit: Annotated[
        int | None, Query(alias="page[limit]", ge=1, description="Records per page.")
    ] = None,
) -> Page:
    """The requested page, with the configured default and maximum limit."""
    settings = services_of(request).settings.pagination
    if limit is not None and limit > settings.max_limit:
        raise ValidationFailedError(
            [Problem(f"page[limit]: must be at most {settings.max_limit}", parameter="page[limit]")]
        )
    return Page(offset=offset, limit=limit or settings.default_limit)


PageDep = Annotated[Page, Depends(page_params)]
