"""A flask-smorest pager that pages in the database (LIMIT/OFFSET + COUNT), not in Python."""

from __future__ import annotations

from flask_smorest import Page

# A page beyond any real data is empty; this bound keeps OFFSET inside a 64-bit integer.
MAX_OFFSET = 2**53


class PeeweePage(Page):
    @property
    def items(self):
        if self.page_params.first_item > MAX_OFFSET:
            return []
        return list(self.collection.paginate(self.page_params.page, self.page_params.page_size))

    @property
    def item_count(self):
        return self.collection.count()
