# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/schedule.py: the runs' order by hand, a run
never starts before its source, failures and cycles."""
import pytest

from mmscribble.benchmark.mscmr import rows, schedule

ROWS = rows.discover()


def _tasks(spec):
    return [dict(name=n, after=a) for n, a in spec]


def test_scheduler_one_thread_order_by_hand():
    # Equal costs: the longest chain first (a source with its dependent is
    # a chain of 2), then the given order; a source that is not among the
    # tasks (reused, or not requested) holds nothing back.
    tasks = _tasks([('pce0', None), ('urss0', None), ('cdsp0', 'pce0'),
                    ('spml0', 'stage1-0'), ('stage1-0', None),
                    ('crf0', 'gone')])
    ran = []
    started = schedule.run_scheduled(tasks, 1, lambda t: ran.append(t['name']))
    assert started == ran == [
        'pce0', 'stage1-0', 'urss0', 'cdsp0', 'spml0', 'crf0'
    ]


def test_scheduler_costs_longest_chain_first_by_hand():
    # Chains: S 2 + D 4 = 6 > L 5 > D 4 > T 1 (D ready once S has run).
    tasks = [
        dict(name='T', after=None, cost=1),
        dict(name='L', after=None, cost=5),
        dict(name='D', after='S', cost=4),
        dict(name='S', after=None, cost=2)
    ]
    assert schedule.run_scheduled(tasks, 1, lambda t: None) == [
        'S', 'L', 'D', 'T'
    ]
    # A chain of three counts all of it: A (1) -> B (1) -> C (10) is 12.
    tasks = [
        dict(name='X', after=None, cost=11),
        dict(name='A', after=None, cost=1),
        dict(name='B', after='A', cost=1),
        dict(name='C', after='B', cost=10)
    ]
    assert schedule.run_scheduled(tasks, 1, lambda t: None)[0] == 'A'
    # The table's rows carry their measured cost; a test-only row costs
    # its test.
    by_id = {r['id']: r for r in ROWS}
    assert by_id['pce']['cost'] == 1.0
    assert by_id['blpseg']['cost'] > by_id['pce-upernet']['cost'] > 1.0
    assert by_id['urss-crf']['cost'] == rows.TEST_ONLY_COST


def test_scheduler_two_threads_never_start_a_run_before_its_source():
    # Two threads, the source slower than the unrelated run: the
    # dependent starts only once its source has ended, and the other
    # thread goes on with the ready work meanwhile (no barrier between
    # trainings and the runs on their pseudo-labels).
    import threading
    import time
    events, lock = [], threading.Lock()
    src_may_end = threading.Event()

    def work(t):
        with lock:
            events.append(('start', t['name']))
        if t['name'] == 'src':
            src_may_end.wait(10)
        elif t['name'] == 'other2':
            src_may_end.set()
        time.sleep(0.01)
        with lock:
            events.append(('end', t['name']))

    tasks = _tasks([('src', None), ('dep', 'src'), ('other1', None),
                    ('other2', None)])
    schedule.run_scheduled(tasks, 2, work)
    assert sorted(n for e, n in events if e == 'end') == sorted(
        t['name'] for t in tasks)
    assert events.index(('end', 'src')) < events.index(('start', 'dep'))
    # both unrelated runs went while the source was still running
    assert events.index(('start', 'other2')) < events.index(('end', 'src'))


def test_scheduler_failed_source_releases_and_cycle_is_an_error():
    ran = []

    def work(t):
        ran.append(t['name'])
        if t['name'] == 'a':
            raise RuntimeError('a failed')

    with pytest.raises(RuntimeError, match='a failed'):
        schedule.run_scheduled(_tasks([('a', None)]), 1, work)
    # the table's runs report their own errors (they do not raise); a
    # dependent of a failed source still runs and says why itself
    ran.clear()
    schedule.run_scheduled(
        _tasks([('a', None), ('b', 'a')]), 2,
        lambda t: ran.append(t['name']))
    assert ran == ['a', 'b']
    with pytest.raises(RuntimeError, match='wait for each other'):
        schedule.run_scheduled(_tasks([('a', 'b'), ('b', 'a')]), 2, ran.append)

