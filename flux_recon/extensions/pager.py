"""A flask-smorest pager that pages in the database (LIMIT/OFFSET + COUNT), not in Python."""

from __future__ import annotations

from flask_smorest import Page


class PeeweePage(Page):
    @property
    def items(self):
        return list(self.collection.paginate(self.page_params.page, self.page_params.page_size))

    @property
    def item_count(self):
        return self.collection.count()
