"""Where the health check proves that the payment path's writes work: one item of the payments
table and one object of the receipts bucket per region (``payments.health``). The template
grants the health function's role exactly these (templates/service.py) and expires the
object's old versions (templates/storage.py), so they are defined once, here."""

HEALTH_ITEM_PREFIX = "health#"
HEALTH_OBJECT_PREFIX = "health/"


def health_item_key(region: str) -> str:
    """``health#<region>``: the item the region's health checks write (not a payment key:
    those are ``payment#``, ``idem#`` and ``merchant-key#``)."""
    return f"{HEALTH_ITEM_PREFIX}{region}"


def health_object_key(region: str) -> str:
    """``health/<region>``: the object the region's health checks write (receipts live under
    ``receipts/``, the only prefix the bucket replicates)."""
    return f"{HEALTH_OBJECT_PREFIX}{region}"
