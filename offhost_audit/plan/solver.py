"""The planner's optimisation: which proxies to use, and which sources each one serves.

The model (README "Planning proxies"):

* ``sources``: each with a load ``l_s`` (tasks) and its eligible proxies ``E_s`` (verdict ready or
  ready with warnings, and a capacity of at least ``l_s``); it needs ``r_s`` of them
  (``--redundancy K``, or fewer when fewer exist: the caller reports those).
* ``proxies``: each with a capacity ``c_p`` (max tasks).
* Each of a source's ``r_s`` proxies must take its whole load alone (DECISIONS.md, "Planner"):
  the assignment reserves ``l_s`` on every one of them, ``sum_s l_s x_sp <= c_p y_p``. When any
  ``r_s - 1`` of them fail, the survivor already holds room for the whole load, so no per-failure
  scenario is needed; the price is that the room is reserved when nothing fails too.

Sources with the same eligible set and the same load are interchangeable, so they are solved as one
group ``g`` of ``n_g`` sources with an integer ``x_gp`` in ``[0, n_g]`` (how many of them ``p``
serves) instead of ``n_g`` binaries per proxy:

    phase 1   minimise  sum_p y_p
              s.t.      sum_{p in E_g} x_gp = r_g n_g          every source gets r_g proxies
                        x_gp <= n_g y_p                        only used proxies serve
                        sum_g l_g x_gp <= c_p y_p              capacity, each taking the load alone
    phase 2   minimise  U, the highest utilisation (load / capacity) of the proxies phase 1 chose
              s.t.      the same, with y fixed to phase 1's answer, and sum_g l_g x_gp <= c_p U

Lexicographic by two solves: the count is never traded for balance. Phase 2 keeps phase 1's
proxies (another set of the same size might balance better; searching it costs more than the
balance is worth) and starts from phase 1's assignment. A group's counts become sources by
dealing them round-robin (:func:`_deal`): the sources of a group in order, proxy ``p`` taking
``x_gp <= n_g`` consecutive slots of the ``r_g n_g``, and source ``i`` slots ``i, i + n_g, ...``;
a run of at most ``n_g`` slots never holds two slots of one source, so each source gets ``r_g``
different proxies.

When phase 1 is infeasible (no plan fits the max tasks), :func:`_overloaded` solves the same
model with an overload column ``o_p >= 0`` per proxy (``sum_g l_g x_gp <= c_p y_p + o_p``, every
link row present), minimising ``(P + 1) sum_p o_p + sum_p y_p``: the overload is a whole number at
the optimum and one task of it outweighs all ``P`` proxies, so this is the fewest tasks over the
max tasks, then the fewest proxies (status ``overloaded``).

Only groups with load 0 get the rows ``x_gp <= n_g y_p``: for the others the capacity row already
forbids ``x_gp > 0`` when ``y_p = 0``, and with 14,000 such rows the LP took 20 times as long for the
same bound (benchmarks/bench_plan.py).

HiGHS (``highspy``) solves both phases under one time limit: phase 1 may use 9/10 of it, phase 2
the rest. Phase 1 starts from the greedy answer when that one is complete, then solves the LP
relaxation (interior point), rounds its bound up (a count) and searches only the proxies the LP
leans on most, one more at a time (:func:`_lp_start`); an answer that meets the bound is proven
optimal and the full search is skipped, else it is the full search's start. The greedy answer
alone is given only when highspy cannot be imported or phase 1 ends without any feasible answer,
and is labelled as such (``method: greedy``). HiGHS checks its time limit between steps: on a
model without repeated eligibility (no groups) a step may overrun it (README, Performance).
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

PHASE1_SHARE = 0.9  # of the time limit; phase 2 gets what is left (at least MIN_PHASE2 s)
MIN_PHASE2 = 0.5
MIP_REL_GAP = 1e-4  # HiGHS's default relative gap: "optimal" means within it


class Group:
    """Interchangeable sources: the same eligible proxies (indexes, sorted) and the same load."""

    __slots__ = ("eligible", "load", "need", "members")

    def __init__(self, eligible: tuple[int, ...], load: int, need: int, members: list[int]) -> None:
        self.eligible = eligible
        self.load = load
        self.need = need  # proxies per source (r_g)
        self.members = members  # source indexes


class Phase:
    """One solve: its objective, status, value, bound and relative gap."""

    __slots__ = ("objective", "status", "value", "bound", "gap", "seconds")

    def __init__(self, objective: str, status: str, value: float | None, bound: float | None, seconds: float) -> None:
        self.objective = objective
        self.status = status
        self.value = value
        self.bound = bound
        self.gap = _gap(value, bound)
        self.seconds = seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "status": self.status,
            "value": _round(self.value),
            "bound": _round(self.bound),
            "gap": _round(self.gap),
            "seconds": round(self.seconds, 3),
        }


class Solution:
    """Which proxies serve which sources; how it was found."""

    __slots__ = ("assigned", "method", "status", "phases", "note", "seconds", "variables")

    def __init__(
        self,
        assigned: list[list[int]],
        method: str,
        status: str,
        phases: list[Phase],
        note: str | None,
        seconds: float,
        variables: int,
    ) -> None:
        self.assigned = assigned  # per source: proxy indexes
        self.method = method  # "milp" or "greedy"
        self.status = status  # "optimal", "time_limit", "infeasible", "greedy", "empty"
        self.phases = phases
        self.note = note  # why greedy, or what the status means
        self.seconds = seconds
        self.variables = variables

    @property
    def gap(self) -> float | None:
        """Phase 1's gap (the number of proxies): the figure the plan's promise rests on."""
        return self.phases[0].gap if self.phases else None


def groups(eligible: list[tuple[int, ...]], loads: list[int], need: list[int]) -> list[Group]:
    """Sources with identical eligibility, load and need, grouped (in first-seen order)."""
    by: dict[tuple[tuple[int, ...], int, int], Group] = {}
    for s, (e, load, r) in enumerate(zip(eligible, loads, need)):
        g = by.get((e, load, r))
        if g is None:
            g = by[(e, load, r)] = Group(e, load, r, [])
        g.members.append(s)
    return list(by.values())


def solve(
    eligible: list[tuple[int, ...]],
    loads: list[int],
    need: list[int],
    capacity: list[int],
    *,
    time_limit: float = 10.0,
    solver: str = "highs",
) -> Solution:
    """Assign each source ``need[s]`` different proxies from ``eligible[s]`` within ``capacity``,
    fewest proxies first, then the lowest peak utilisation. Sources with ``need`` 0 get none.
    ``solver="greedy"`` forces the fallback (tests; the CLI never asks for it)."""
    start = time.perf_counter()
    gs = [g for g in groups(eligible, loads, need) if g.need > 0]
    if not gs:
        return Solution([[] for _ in loads], "milp", "empty", [], "nothing to assign", 0.0, 0)
    if solver == "greedy":
        return _greedy(gs, len(loads), capacity, start, "asked for the greedy heuristic")
    try:
        import highspy  # noqa: F401  # a dependency; the fallback covers a broken install
    except ImportError:
        return _greedy(
            gs, len(loads), capacity, start, "highspy is not installed: greedy heuristic, no optimality claim"
        )
    return _milp(gs, len(loads), capacity, time_limit, start)


class _Model:
    """The phase 1 model in HiGHS: y per proxy (``used`` order), then x per (group, proxy) in ``xs``;
    ``elastic``: plus an overload column per proxy (tasks beyond its max tasks)."""

    def __init__(self, gs: list[Group], capacity: list[int], *, elastic: bool = False) -> None:
        import highspy
        import numpy as np

        self.used = used = sorted({p for g in gs for p in g.eligible})
        self.col_y = col_y = {p: i for i, p in enumerate(used)}
        self.xs = xs = [(gi, p) for gi, g in enumerate(gs) for p in g.eligible]  # (group, proxy)
        self.ny, self.nx = ny, nx = len(used), len(xs)
        self.h = h = _highs()
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("random_seed", 1)
        inf = highspy.kHighsInf
        upper = np.concatenate([np.ones(ny), np.array([len(gs[gi].members) for gi, _ in xs], dtype=float)])
        h.addVars(ny + nx, np.zeros(ny + nx), upper)
        h.changeColsIntegrality(
            ny + nx, np.arange(ny + nx, dtype=np.int32), np.full(ny + nx, highspy.HighsVarType.kInteger)
        )
        # elastic: one task over outweighs every proxy (ny + 1 > any count): overload first, then count
        h.changeColsCost(ny, np.arange(ny, dtype=np.int32), np.ones(ny))
        total = float(sum(g.load * g.need * len(g.members) for g in gs))
        if elastic:
            h.addVars(ny, np.zeros(ny), np.full(ny, total))
            h.changeColsCost(ny, np.arange(ny + nx, 2 * ny + nx, dtype=np.int32), np.full(ny, float(ny + 1)))
        rows = _Rows()
        self.by_proxy: dict[int, list[int]] = {}
        by_group: dict[int, list[int]] = {}
        for j, (gi, p) in enumerate(xs):
            by_group.setdefault(gi, []).append(ny + j)
            self.by_proxy.setdefault(p, []).append(j)
        for gi, g in enumerate(gs):  # cover: sum_p x_gp = r_g n_g
            k = float(g.need * len(g.members))
            rows.add(k, k, by_group[gi], [1.0] * len(by_group[gi]))
        for j, (gi, p) in enumerate(xs):  # link x_gp - n_g y_p <= 0, for load 0 only: the capacity rows link the rest
            if gs[gi].load and not elastic:  # (as rows they made the LP 20x slower for the same bound)
                continue
            rows.add(-inf, 0.0, [ny + j, col_y[p]], [1.0, -float(len(gs[gi].members))])
        for p in used:  # capacity: sum_g l_g x_gp - c_p y_p (- overload_p) <= 0
            js = self.by_proxy[p]
            cols = [ny + j for j in js] + [col_y[p]] + ([ny + nx + col_y[p]] if elastic else [])
            vals = [float(gs[xs[j][0]].load) for j in js] + [-float(capacity[p])] + ([-1.0] if elastic else [])
            rows.add(-inf, 0.0, cols, vals)
        rows.flush(h)


def _overloaded(gs: list[Group], n_sources: int, capacity: list[int], time_limit: float, start: float) -> Solution:
    """No plan fits the max tasks (proven): the plan with the fewest tasks over them, then the fewest
    proxies (one MILP, weighted so that one task over outweighs every proxy)."""
    m = _Model(gs, capacity, elastic=True)
    m.h.setOptionValue("mip_rel_gap", 0.0)  # a whole-number objective: exact, not within 1e-4 of 201,000
    m.h.setOptionValue("mip_abs_gap", 0.999)
    m.h.setOptionValue("time_limit", max(0.05, time_limit - (time.perf_counter() - start)))
    t = time.perf_counter()
    m.h.run()
    ph = _phase(m.h, "overload_then_proxies", time.perf_counter() - t, integral=True)
    if not _has_solution(m.h):
        return Solution(
            [[] for _ in range(n_sources)],
            "milp",
            "infeasible",
            [ph],
            _INFEASIBLE,
            time.perf_counter() - start,
            m.ny + m.nx,
        )
    values = list(m.h.getSolution().col_value)
    over = round(sum(values[m.ny + m.nx :]))
    note = f"{_INFEASIBLE}: this plan needs the fewest tasks beyond them ({over:,} in all)"
    return Solution(
        _deal(gs, n_sources, m.xs, values, m.ny),
        "milp",
        "overloaded",
        [ph],
        note,
        time.perf_counter() - start,
        m.ny + m.nx,
    )


_INFEASIBLE = "no plan fits the proxies' max tasks with this redundancy (HiGHS proved it)"


def _milp(gs: list[Group], n_sources: int, capacity: list[int], time_limit: float, start: float) -> Solution:
    import highspy
    import numpy as np

    m = _Model(gs, capacity)
    h, used, col_y, xs, ny, nx, by_proxy = m.h, m.used, m.col_y, m.xs, m.ny, m.nx, m.by_proxy
    inf = highspy.kHighsInf
    seed = _greedy(gs, n_sources, capacity, start, "")
    complete = all(len(seed.assigned[s]) == g.need for g in gs for s in g.members)
    greedy_start = _counts(seed.assigned, gs, xs, ny, col_y) if complete else None
    limit1 = max(0.05, time_limit * PHASE1_SHARE)
    t = time.perf_counter()
    first, lp_bound = _lp_start(
        h, ny, [capacity[p] for p in used], t + limit1 * 0.85, limit1 * 0.15, highspy, greedy_start
    )
    if first is not None and lp_bound is not None and round(sum(first[:ny])) <= lp_bound:
        values = first  # the LP bound proves it: no search needed
        p1 = Phase("proxies", "optimal", float(round(sum(first[:ny]))), float(lp_bound), time.perf_counter() - t)
    else:
        h.setOptionValue("time_limit", max(0.05, limit1 - (time.perf_counter() - t)))
        h.run()
        p1 = _phase(h, "proxies", time.perf_counter() - t, integral=True)
        if lp_bound is not None and p1.bound is not None and lp_bound > p1.bound:
            p1 = Phase("proxies", p1.status, p1.value, float(lp_bound), p1.seconds)
        if not _has_solution(h):
            if p1.status == "infeasible":
                return _overloaded(gs, n_sources, capacity, time_limit, start)
            return _greedy(
                gs,
                n_sources,
                capacity,
                start,
                f"HiGHS found no feasible plan within {limit1:.1f} s ({p1.status}): greedy heuristic, no optimality claim",
                [p1],
            )
        values = list(h.getSolution().col_value)

    # phase 2: the proxies phase 1 chose, the lowest peak utilisation among them
    u = ny + nx
    h.addVar(0.0, 1.0)
    h.changeColsCost(ny, np.arange(ny, dtype=np.int32), np.zeros(ny))
    h.changeColCost(u, 1.0)
    chosen = np.array([round(v) for v in values[:ny]], dtype=float)
    h.changeColsBounds(ny, np.arange(ny, dtype=np.int32), chosen, chosen)
    rows = _Rows()
    for p in used:
        if capacity[p] > 0 and chosen[col_y[p]]:
            js = by_proxy[p]
            rows.add(
                -inf, 0.0, [ny + j for j in js] + [u], [float(gs[xs[j][0]].load) for j in js] + [-float(capacity[p])]
            )
    rows.flush(h)
    h.setSolution(_as_highs(values + [_peak(values, xs, gs, ny, capacity)], highspy))
    h.setOptionValue("time_limit", max(MIN_PHASE2, time_limit - (time.perf_counter() - start)))
    t = time.perf_counter()
    h.run()
    p2 = _phase(h, "peak_utilisation", time.perf_counter() - t)
    if _has_solution(h):
        values = list(h.getSolution().col_value)
    status = "optimal" if p1.status == "optimal" and p2.status == "optimal" else "time_limit"
    note = None
    if p1.status != "optimal":
        note = (
            f"time limit: the number of proxies is within {p1.gap:.1%} of the best possible"
            if p1.gap is not None
            else "time limit: no bound yet, so how far the number of proxies is from the best is unknown"
        )
    elif p2.status != "optimal":
        note = "time limit: the number of proxies is optimal; the balance between them may improve with more time"
    return Solution(
        _deal(gs, n_sources, xs, values, ny),
        "milp",
        status,
        [p1, p2],
        note,
        time.perf_counter() - start,
        ny + nx,
    )


def _lp_start(
    h: Any, ny: int, caps: list[int], deadline: float, slice_: float, highspy: Any, best: list[float] | None
) -> tuple[list[float] | None, int | None]:
    """Give phase 1 a good first answer: solve the LP relaxation (its bound, rounded up: a count),
    then the MIP over the ``bound`` proxies the LP answer leans on most (at most ``slice_`` seconds),
    then over every proxy the LP answer uses (until ``deadline``): much smaller searches than the
    whole model, stopped as soon as an answer meets the bound. The best of those and ``best`` (the
    greedy answer, or None) becomes the full model's start. Returns it and the LP bound: an answer
    that meets the bound is optimal.
    """
    import numpy as np

    def left() -> float:
        return deadline - time.perf_counter()

    def count(values: list[float] | None) -> int:
        return ny + 1 if values is None else round(sum(values[:ny]))

    h.setOptionValue("solve_relaxation", True)
    h.setOptionValue("time_limit", max(0.05, left()))
    h.setOptionValue("solver", "ipm")  # measured: 1.5-2x the simplex's speed on these relaxations
    h.run()
    h.setOptionValue("solver", "choose")
    h.setOptionValue("solve_relaxation", False)
    bound = None
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        y = list(h.getSolution().col_value)[:ny]
        bound = max(1, math.ceil(float(h.getInfo().objective_function_value) - 1e-6))  # a count: round up
        idx = np.arange(ny, dtype=np.int32)
        top = sorted(range(ny), key=lambda i: (-round(y[i], 6), -caps[i], i))[:bound]
        tries = [  # (proxies allowed, seconds): the n the LP leans on most, then every one it uses
            ([1.0 if i in set(top) else 0.0 for i in range(ny)], slice_),
            ([1.0 if v > 1e-6 else 0.0 for v in y], left()),
        ]
        for upper, seconds in tries:
            if left() <= 0.05 or count(best) <= bound:
                break
            h.changeColsBounds(ny, idx, np.zeros(ny), np.array(upper))
            h.setOptionValue("time_limit", max(0.05, min(left(), seconds)))
            h.run()
            if _has_solution(h):
                found = list(h.getSolution().col_value)
                best = found if count(found) < count(best) else best
        h.changeColsBounds(ny, idx, np.zeros(ny), np.ones(ny))
    if best is not None:
        h.setSolution(_as_highs(best, highspy))
    return best, bound


def _as_highs(values: list[float], highspy: Any) -> Any:
    sol = highspy.HighsSolution()
    sol.col_value = values
    sol.value_valid = True
    return sol


def _counts(
    assigned: list[list[int]], gs: list[Group], xs: list[tuple[int, int]], ny: int, col_y: dict[int, int]
) -> list[float]:
    """A source-level assignment as the model's column values (y, then x)."""
    x: dict[tuple[int, int], int] = {}
    for gi, g in enumerate(gs):
        for s in g.members:
            for p in assigned[s]:
                x[(gi, p)] = x.get((gi, p), 0) + 1
    y = [0.0] * ny
    for _, p in x:
        y[col_y[p]] = 1.0
    return y + [float(x.get(k, 0)) for k in xs]


_quiet = False  # the banner was swallowed: HiGHS prints it once per process


def _highs() -> Any:
    """A silent HiGHS instance. The first one in a process prints a banner from C++ straight to
    file descriptor 1, which would corrupt ``plan --format json`` (or a TUI's screen): stdout is
    pointed at /dev/null while it is made (and C's buffer flushed there), that first time only."""
    import highspy

    global _quiet
    if _quiet:
        h = highspy.Highs()
    else:
        import ctypes

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
            ctypes.CDLL(None).fflush(None)
            _quiet = True
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


class _Rows:
    """Rows gathered in CSR form, added to HiGHS in one call."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.starts: list[int] = []
        self.index: list[int] = []
        self.value: list[float] = []

    def add(self, lo: float, hi: float, cols: list[int], vals: list[float]) -> None:
        self.lower.append(lo)
        self.upper.append(hi)
        self.starts.append(len(self.index))
        self.index += cols
        self.value += vals

    def flush(self, h: Any) -> None:
        import numpy as np

        if self.lower:
            h.addRows(
                len(self.lower),
                np.array(self.lower),
                np.array(self.upper),
                len(self.index),
                np.array(self.starts, dtype=np.int32),
                np.array(self.index, dtype=np.int32),
                np.array(self.value),
            )


def _phase(h: Any, objective: str, seconds: float, *, integral: bool = False) -> Phase:
    """The solve's outcome. ``integral``: the objective takes whole values (a count), so the bound
    rounds up. An answer that meets its bound (within HiGHS's relative gap) is optimal, even when
    HiGHS stopped at the time limit before saying so."""
    import highspy

    st = h.getModelStatus()
    ms = highspy.HighsModelStatus
    status = {
        ms.kOptimal: "optimal",
        ms.kTimeLimit: "time_limit",
        ms.kInfeasible: "infeasible",
        ms.kInterrupt: "interrupted",
    }.get(st, h.modelStatusToString(st).lower().replace(" ", "_"))
    info = h.getInfo()
    has = _has_solution(h)
    value = float(info.objective_function_value) if has else None
    raw = float(info.mip_dual_bound)
    bound = None if abs(raw) >= 1e30 else (math.ceil(raw - 1e-6) if integral else raw)
    if status == "optimal" and value is not None and bound is None:
        bound = value
    phase = Phase(objective, status, value, bound, seconds)
    if has and phase.gap is not None and phase.gap <= MIP_REL_GAP:
        phase.status = "optimal"
    return phase


def _has_solution(h: Any) -> bool:
    return int(h.getInfo().primal_solution_status) == 2  # kSolutionStatusFeasible


def _peak(values: list[float], xs: list[tuple[int, int]], gs: list[Group], ny: int, capacity: list[int]) -> float:
    load: dict[int, float] = {}
    for j, (gi, p) in enumerate(xs):
        load[p] = load.get(p, 0.0) + gs[gi].load * round(values[ny + j])
    return max((v / capacity[p] for p, v in load.items() if capacity[p] > 0), default=0.0)


def _deal(gs: list[Group], n_sources: int, xs: list[tuple[int, int]], values: list[float], ny: int) -> list[list[int]]:
    """Each group's counts dealt to its sources round-robin (see the module docstring)."""
    counts: dict[int, list[tuple[int, int]]] = {}
    for j, (gi, p) in enumerate(xs):
        c = round(values[ny + j])
        if c > 0:
            counts.setdefault(gi, []).append((p, c))
    out: list[list[int]] = [[] for _ in range(n_sources)]
    for gi, g in enumerate(gs):
        slots = [p for p, c in counts.get(gi, []) for _ in range(c)]
        n = len(g.members)
        for i, s in enumerate(g.members):
            out[s] = sorted(slots[i::n])
    return out


def _greedy(
    gs: list[Group], n_sources: int, capacity: list[int], start: float, note: str, phases: list[Phase] | None = None
) -> Solution:
    """The labelled fallback: hardest sources first (fewest eligible, then largest load); each takes
    the open proxies with the most room left, else opens the largest eligible proxy. No optimality
    claim; a source that does not fit keeps fewer proxies than it needs (the caller reports it)."""
    room = list(capacity)
    opened: set[int] = set()
    out: list[list[int]] = [[] for _ in range(n_sources)]
    order = sorted(((s, g) for g in gs for s in g.members), key=lambda sg: (len(sg[1].eligible), -sg[1].load, sg[0]))
    for s, g in order:
        fits = [p for p in g.eligible if room[p] >= g.load]
        pick = sorted((p for p in fits if p in opened), key=lambda p: (-room[p], p))[: g.need]
        if len(pick) < g.need:
            fresh = sorted((p for p in fits if p not in opened), key=lambda p: (-capacity[p], p))
            pick += fresh[: g.need - len(pick)]
        for p in pick:
            room[p] -= g.load
            opened.add(p)
        out[s] = sorted(pick)
    short = sum(1 for s, g in order if len(out[s]) < g.need)
    status = "greedy"
    if short:
        note += f"; {short:,} source(s) could not get all the proxies they need"
    return Solution(out, "greedy", status, phases or [], note, time.perf_counter() - start, 0)


def _gap(value: float | None, bound: float | None) -> float | None:
    if value is None or bound is None:
        return None
    if abs(value) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else None
    return max(0.0, (value - bound) / abs(value))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
