"""A flask-smorest pager that pages in the database (LIMIT/OFFSET + COUNT), not in Python."""

from __future__ import annotations

from flask_smorest import Page

# A page beyond any real data is empty; this bound keeps OFFSET inside a 64-bit integer.
MAX_OFFSET = 2**53


class PeeweePage(Page):
    def fetch(self, page):
        """The rows of one page's query; a subclass may load more along with them."""
        return list(page)

    @property
    def items(self):
        if self.page_params.first_item > MAX_OFFSET:
            return []
        return self.fetch(self.collection.paginate(self.page_params.page, self.page_params.page_size))

    @property
    def item_count(self):
        return self.collection.count()
