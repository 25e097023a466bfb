"""Running a graph of tasks on worker threads: each task starts once its prerequisites allow, in priority order.

A task is (hard prerequisites, soft prerequisites, job): it starts once the hard ones succeeded and the soft ones
finished; a failed hard prerequisite skips it. Ctrl-C stops new tasks and waits for the running ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from juniper_release.verify.runstate import _Run

_Task = tuple[set[str], set[str], Callable[[], bool]]
"""(prerequisites that must succeed, prerequisites that need only have finished, job)."""


def _tracked(run_: _Run, job: Callable[[], bool]) -> bool:
    """Run ``job`` counted in ``run_.active``, so an interrupted run can wait for every job that started.

    The pool alone cannot say: Ctrl-C landing inside ``pool.submit`` leaves a started worker thread untracked, and
    the job would outlive the run.
    """
    with run_.idle:
        run_.active += 1
    try:
        return job()
    finally:
        with run_.idle:
            run_.active -= 1
            run_.idle.notify_all()


def _schedule(
    run_: _Run, tasks: Mapping[str, _Task], priorities: Mapping[str, tuple[int, int, str]], jobs: int
) -> None:
    """Run ``tasks`` (id -> hard prerequisites, soft prerequisites, job) on ``jobs`` threads.

    A task starts once its hard prerequisites succeeded and its soft ones finished; a failed hard prerequisite skips it.
    """
    pending = dict(tasks)
    done: dict[str, bool] = {}
    running: dict[Future[bool], str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            while pending or running:
                for task_id in _ready(run_, pending, done, priorities, jobs - len(running)):
                    running[pool.submit(_tracked, run_, pending.pop(task_id)[2])] = task_id
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task_id = running.pop(future)
                    done[task_id] = _outcome(run_, task_id, future)
        except KeyboardInterrupt:
            # Nothing new starts (a job checks run_.stopping first, a command refuses once interrupted); the running
            # jobs' children got the signal too (SIGTERM is passed on to them). Wait for the running jobs to end.
            run_.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            with run_.idle:
                run_.log(f"interrupted: stopping {run_.active} running job(s) ...")
                run_.idle.wait_for(lambda: run_.active == 0)
            raise


def _ready(
    run_: _Run,
    pending: dict[str, _Task],
    done: dict[str, bool],
    priorities: Mapping[str, tuple[int, int, str]],
    slots: int,
) -> list[str]:
    """Tasks to start now (at most ``slots``), by ``priorities``; tasks behind a failed hard prerequisite are skipped.

    Skipping marks the task done (failed), which may skip others in turn: repeat until nothing changes.
    """
    priority = priorities.__getitem__
    ready: list[str] = []
    changed = True
    while changed:
        changed = False
        for task_id in sorted(set(pending) - set(ready), key=priority):
            hard, soft, _ = pending[task_id]
            failed = sorted(p for p in hard if done.get(p) is False)
            if failed:
                del pending[task_id]
                done[task_id] = False
                changed = True
                _mark_skipped(run_, task_id, failed)
            elif all(done.get(p) for p in hard) and all(p in done for p in soft) and len(ready) < slots:
                ready.append(task_id)
    return ready


def _outcome(run_: _Run, task_id: str, future: Future[bool]) -> bool:
    try:
        return future.result()
    except Exception as exc:  # a bug in a job: report it, keep the others going
        run_.say(task_id.split(":", 1)[1], f"internal error: {exc!r}")
        return False


def _mark_skipped(run_: _Run, task_id: str, failed: list[str]) -> None:
    kind, name = task_id.split(":", 1)
    result = run_.results.get(name)
    if kind != "verify" or result is None or result.status != "pending":
        return
    culprits = sorted({f.split(":", 1)[1] for f in failed} - {name})
    if culprits:
        run_.skip_behind(name, culprits)
    else:
        result.status = "skipped"
        run_.say(name, f"skipped: {result.reason}")
