"""Grid stores: :mod:`.memory` (one process) and :mod:`.redis` (shared,
durable). Both provide naclgrid.interfaces.IGridStore."""


def store_for(connection, namespace="ng:", clock=None):
    """Build the store matching a gridhost ``StoreConnection``."""
    if connection.kind == "memory":
        from naclgrid.stores.memory import MemoryGridStore
        return MemoryGridStore()
    from naclgrid.stores.redis import RedisGridStore
    return RedisGridStore(connection, namespace=namespace, clock=clock)
