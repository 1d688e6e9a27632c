# Copyright (c) mmscribble contributors. All rights reserved.
"""Run the table's (row, seed) runs on a few threads, each once the run
whose checkpoint it reads has ended, longest chain first."""
import threading


def run_scheduled(tasks, jobs, work):
    """Run ``tasks`` on ``jobs`` threads, each when the task it waits for
    has ended, longest chain first.

    A task is a dict with ``name``, ``after`` (the name of the task it
    needs, or ``None``; one that is not among ``tasks``, already done or
    not requested, does not hold it back) and ``cost`` (its expected time,
    any unit; 1 if absent). A free thread takes the ready task with the
    longest chain: its cost plus the costs of the tasks that wait for it,
    directly or not (critical-path list scheduling; equal chains in the
    given order). Unlike waiting for every training to end before the runs
    on their pseudo-labels or checkpoints start, a long two-stage row
    starts early and no thread idles while a ready run waits behind an
    unrelated one; the costs keep a long run from being the last one
    started while the other thread has nothing left. The costs only order
    the runs: a wrong one costs wall time, never a result. A task that
    ends is done, whatever its outcome: the table's runs catch their own
    errors and their dependents report why they cannot run. An exception
    out of ``work`` stops the scheduling (running tasks finish) and is
    raised.

    Returns:
        list: the names in the order they started.
    """
    names = {t['name'] for t in tasks}
    waits = {
        t['name']: t['after'] if t['after'] in names else None
        for t in tasks
    }
    cost = {t['name']: float(t.get('cost', 1.0)) for t in tasks}
    chain = {}

    def chain_of(name, seen=()):
        if name not in chain:
            if name in seen:
                raise RuntimeError(f'tasks wait for each other: {seen}')
            chain[name] = cost[name] + sum(
                chain_of(n, seen + (name, ))
                for n, w in waits.items() if w == name)
        return chain[name]

    for t in tasks:
        chain_of(t['name'])
    pending = list(tasks)
    done, started = set(), []
    cond = threading.Condition()

    def take():
        ready = [
            t for t in pending
            if waits[t['name']] is None or waits[t['name']] in done
        ]
        if not ready:  # (no cycle: chain_of checked) a source runs
            return None
        # max keeps the first of equal chains
        best = max(ready, key=lambda t: chain[t['name']])
        pending.remove(best)
        started.append(best['name'])
        return best

    errors = []

    def worker():
        while True:
            with cond:
                while True:
                    if not pending or errors:
                        return
                    task = take()
                    if task is not None:
                        break
                    cond.wait()
            try:
                work(task)
            except Exception as e:  # noqa: B902 - re-raised after the join
                with cond:
                    errors.append(e)
            finally:
                with cond:
                    done.add(task['name'])
                    cond.notify_all()

    threads = [
        threading.Thread(target=worker)
        for _ in range(max(1, min(jobs, len(tasks))))
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return started
