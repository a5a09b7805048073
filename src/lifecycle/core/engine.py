"""The engine the data stages run on: pandas in the stage's own process (the default), or Dask's
distributed scheduler for data that outgrows one process (`engine: dask` in params.yaml).

With Dask, a stage connects to the scheduler at DASK_SCHEDULER_ADDRESS (Dask's own setting, an
environment variable because the address belongs to a machine, not to the experiment), or else
starts a local cluster of LOCAL_WORKERS worker processes for the length of the stage. Either
engine writes the same files: row-wise work runs partition by partition, and every statistic is
computed exactly (one column at a time where an order statistic needs the whole column).
"""

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from lifecycle.core import extras
from lifecycle.core.errors import LifecycleError

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
LOCAL_WORKERS = 2


@contextlib.contextmanager
def dask_client() -> Iterator[Any]:
    """A Dask client: to the scheduler named in the environment, else to a local cluster."""
    extras.require("dask", "engine: dask")
    import dask
    from distributed import Client, LocalCluster

    # Text keeps the pandas engine's type (Dask would turn it into pandas' NA-based strings).
    with dask.config.set({"dataframe.convert-string": False}):
        address = os.environ.get(SCHEDULER_ENV)
        if address:
            with connect(address) as client:
                yield client
            return
        with LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            # Every worker registered before any work: a placement by worker (XGBoost's
            # partitions) must not see a cluster still starting on a busy machine.
            client.wait_for_workers(LOCAL_WORKERS)
            yield client


def connect(address: str) -> Any:
    """A client of the scheduler at `address`; an address Dask cannot parse, or a scheduler it
    cannot reach, is one error naming the variable."""
    from distributed import Client
    from distributed.comm import get_address_host_port

    where = f"{SCHEDULER_ENV}={address!r}"
    try:
        # Dask's own parser, before any client starts (a client that fails to start can leave
        # its event loop behind for the next)
        get_address_host_port(address)
    except ValueError as error:  # no port, unknown scheme, IPv6 without brackets
        raise LifecycleError(f"{where}: not a scheduler address ({error}); set it to the "
                             f"scheduler's, e.g. tcp://10.0.0.5:8786, or unset it to start a "
                             f"local cluster") from None
    try:
        return Client(address)
    except OSError as error:  # refused, or timed out
        raise LifecycleError(f"{where}: cannot reach the scheduler ({error}); start it, correct "
                             f"the address, or unset the variable to start a local "
                             f"cluster") from None
