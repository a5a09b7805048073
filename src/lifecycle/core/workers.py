"""Independent pieces of a stage's work shared among single-threaded worker processes, one per
thread OpenMP may use here: OMP_NUM_THREADS when set, else the cores. With one, the stage's
own process does the work, as it would without this module.

Every piece is computed exactly as it would be in the stage's own process, so the results are
the same to the bit for any number of workers. Processes rather than threads, because pandas
and scikit-learn's Python code holds the GIL; one thread each, because with several a tree
model's every prediction is a parallel region whose barriers dominate on busy cores.
"""

import contextlib
import importlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

Item = TypeVar("Item")
Result = TypeVar("Result")

# Rows times pieces below which the stage's own process does the work: a worker's start-up
# (about 2 s, mostly imports) then costs more than it takes over. A table of 1,319 rows took
# evaluate 7.7 s in one process and 10.9 s with two workers; the flights' 82,599 test rows
# (bootstrap 8.3 M, importance 1.0 M) went from 55 s to 38-43 s.
WORTH_A_WORKER = 500_000


def count(pieces: int, rows: int) -> int:
    """How many workers share `pieces` pieces of work on `rows` rows each: one per OpenMP
    thread, at most one per piece, and 1 (the stage's own process) for little work."""
    if pieces * rows < WORTH_A_WORKER:
        return 1
    threads = max((pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "openmp"), default=1)
    return max(1, min(threads, pieces))


# Workers being started ahead of their work (`start`): the work waits for them.
_starting: list[threading.Thread] = []


def start(pieces: int, rows: int, modules: Sequence[str]) -> None:
    """Start now, in the background, the workers that `shared` will give `pieces` pieces of
    work on `rows` rows each, every one importing `modules`: their start-up (about 2 s, mostly
    imports) then overlaps what the stage does before the work. Nothing when the stage's own
    process will do it."""
    workers = count(pieces, rows)
    if workers > 1:
        thread = threading.Thread(target=_start, args=(workers, tuple(modules)))
        thread.start()
        _starting.append(thread)


def _start(workers: int, modules: tuple[str, ...]) -> None:
    # Joblib reuses the pool its next call asks for: as many workers, one thread each. Not
    # `single_threaded`: its thread limit holds in the whole process, the stage's work too.
    with parallel_config(backend="loky", inner_max_num_threads=1), \
            contextlib.suppress(Exception):  # the work, in these workers or others, will say
        Parallel(n_jobs=workers)(delayed(_import)(modules) for _ in range(workers))


def _import(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One OpenMP thread in this process, and in the worker processes joblib starts within
    (those `start` began, once they are ready)."""
    while _starting:
        _starting.pop().join()
    with threadpool_limits(limits=1, user_api="openmp"), \
            parallel_config(backend="loky", inner_max_num_threads=1):
        yield


def shared(work: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item],
           rows: int) -> list[Result]:
    """`work` applied to consecutive shares of `items` (each item's work on `rows` rows), one
    share per worker, its results in the items' order. `work` maps a share to one result per
    item; each worker receives its share and `work`'s arguments once, so a large argument is
    copied once per worker."""
    workers = count(len(items), rows)
    bounds = [len(items) * worker // workers for worker in range(workers + 1)]
    with single_threaded():
        if workers == 1:
            return work(items)
        results = Parallel(n_jobs=workers)(delayed(work)(items[start:end])
                                           for start, end in itertools.pairwise(bounds))
    return [result for share_results in results for result in share_results]
