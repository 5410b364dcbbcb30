"""Paging every console list the same way: one page of a query, in the shape the pager macro reads."""

from __future__ import annotations

import math

from flask import request, url_for

PAGE_SIZE = 25
# Far beyond any real list; keeps OFFSET small enough for every database.
MAX_PAGE = 10**6


class Page:
    """One page of a query that has ``paginate(number, size)`` and ``count()`` (a peewee
    query, or the exception queue), in the shape the ``pager`` macro reads."""

    def __init__(self, query, endpoint: str, *, size: int = PAGE_SIZE, param: str = "page", **view_args):
        self.number = min(max(request.args.get(param, 1, type=int) or 1, 1), MAX_PAGE)
        self.total = query.count()
        self.pages = max(math.ceil(self.total / size), 1)
        self.items = list(query.paginate(self.number, size)) if self.number <= self.pages else []
        self._endpoint, self._param, self._view_args = endpoint, param, view_args

    def url(self, number: int) -> str:
        # The same filters on every page; empty fields are left out of the link.
        args = {name: [v for v in values if v] for name, values in request.args.to_dict(flat=False).items()}
        args = {name: values for name, values in args.items() if values}
        args[self._param] = number
        return url_for(self._endpoint, **self._view_args, **args)
