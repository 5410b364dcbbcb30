"""Key rotation: every encrypted column re-encrypted with the current SECRET_KEY."""

from __future__ import annotations

from flux_recon.core.secret_box import SecretBox
from flux_recon.models import ALL_MODELS
from flux_recon.models.base import encrypted_columns
from flux_recon.models.transactions import write_transaction


def rotate_stored_secrets(box: SecretBox) -> int:
    """Re-encrypt every encrypted column with the current key, in one transaction."""
    counted = 0
    with write_transaction():
        for model, column in encrypted_columns(ALL_MODELS):
            for row in model.select(model.id, column).where(column.is_null(False)):
                model.update({column: box.rotate(getattr(row, column.name))}).where(model.id == row.id).execute()
                counted += 1
    return counted
