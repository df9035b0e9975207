"""The compiled form of :class:`sim.radio.base.Machine`: every device's RRC machine, device by device.

The fast engine hands over a chunk's radio transfers as ``[row, k]`` arrays (each row one
device, made of a few runs of columns, each in time order, ``inf`` where there is no transfer).
The *kernel* (``sim.radio.kernel.rows``) merges each row's runs and walks its transfers in time
order with the same decisions, in the same order and with the same float arithmetic as the scalar
machine's ``data``: apply the demotions due at or before the transfer (:func:`settle`), wait for a
promotion in progress, promote if the state needs it, then replace the pending demotions (each
radio's ``transfer``, the one piece of its compiled form, which the closed loop's engine steps
too). Kernels are compiled with Numba (cached on disk after the first run), so a transfer costs
nanoseconds instead of a Python call.

Records come out device by device, each device's in time order: the metrics need not sort them
to know how long each state lasted (until the device's next record). The pieces every kernel
shares are here; a chain of pending demotions is held in three small 2-D arrays (time, procedure,
state; one row per machine) with a head and a length.

Upkeep: a state may have a periodic update (a periodic tracking/routing-area update or
registration in idle, a cell or RNA update in CELL_PCH or RRC_INACTIVE), a spec's ``upkeep``:
``(state, procedure, period)`` triples. Its timer starts when the state is entered and restarts
at each update; leaving the state stops it. :func:`keep` writes the updates due in the current
state; an update due at the same time as the demotion or transfer that leaves the state comes
first (as a demotion due then comes before the transfer), one due at the run's end never happens.
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.datamodel import models, register_default
from numba.core.imputils import impl_ret_borrowed
from numba.core.typing.templates import AbstractTemplate, infer, signature
from numba.extending import intrinsic, lower_builtin

CODE = np.int16  # procedure, state and app codes
PROMOTIONS = 2  # records one transfer's promotion makes at most (paging included), beside paging's repeats

jit = njit(cache=True, nogil=True)  # compiled once per machine, then loaded from the on-disk cache
part = njit(cache=True, inline="always")  # a piece inlined into every kernel that uses it


class Borrowed(types.Array):
    """The type of a borrowed array (:func:`borrow`): an array with no owner, which Numba never counts
    references to. An ordinary array's every pass into a call, or out of a tuple, calls the reference counting,
    even for no owner (a NULL meminfo, a call that does nothing): a function taking a tuple of thirty arrays
    made sixty such calls on entry and exit. What an operation makes of a borrowed array (a slice, a copy) is an
    ordinary array."""

    def __init__(self, dtype, ndim: int, layout: str, readonly: bool = False, aligned: bool = True):
        super().__init__(dtype, ndim, layout, readonly=readonly, aligned=aligned,
                         name=f"borrowed({dtype}, {ndim}d, {layout})")

    def copy(self, dtype=None, ndim=None, layout=None, readonly=None, aligned=None) -> types.Array:
        return types.Array(self.dtype if dtype is None else dtype, self.ndim if ndim is None else ndim,
                           self.layout if layout is None else layout,
                           readonly=not self.mutable if readonly is None else readonly,
                           aligned=self.aligned if aligned is None else aligned)


@register_default(Borrowed)
class _BorrowedModel(models.ArrayModel):
    """An array's data model, with no reference to count (its meminfo field is not one to follow)."""

    def has_nrt_meminfo(self) -> bool:
        return False

    def traverse(self, builder) -> list:
        return []


def _borrowed_value(context, builder, ty, value):
    """An array value's copy with no owner (a NULL meminfo and parent): :func:`_view` of all of it."""
    src = context.make_array(ty)(context, builder, value=value)
    return _view(context, builder, ty, _lent(ty), value, context.get_constant(types.intp, 0),
                 cgutils.unpack_tuple(builder, src.shape), cgutils.unpack_tuple(builder, src.strides))


def _lent(ty: types.Type) -> types.Type:
    """The type of ``ty`` borrowed: an array's :class:`Borrowed`, anything else as it is."""
    if isinstance(ty, types.Array) and not isinstance(ty, Borrowed):
        return Borrowed(ty.dtype, ty.ndim, ty.layout, readonly=not ty.mutable, aligned=ty.aligned)
    return ty


@intrinsic
def borrow(typingctx, arr):
    """``arr`` without its owner (a NULL meminfo), typed :class:`Borrowed`: the same data, shape and strides, but
    passing it on costs no reference counting. Numba counts references with atomic operations (about 50 ns per
    array for each call it is passed through, measured), which in a loop of small steps costs more than the
    steps: hot loops borrow their arrays once, at the top, from arrays their caller keeps alive."""
    if not isinstance(arr, types.Array):
        return None
    return _lent(arr)(arr), lambda context, builder, signature, args: _borrowed_value(context, builder, arr, args[0])


def _borrowed_tuple(context, builder, tup: types.BaseTuple, out: types.BaseTuple, value, counted: bool):
    """Tuple ``value`` of type ``tup`` as ``out``: each array borrowed, each other member as it is (a new reference
    to it if ``counted``)."""
    members = []
    for i, ty in enumerate(tup.types):
        member = builder.extract_value(value, i)
        if isinstance(ty, types.Array) and not isinstance(ty, Borrowed):
            member = _borrowed_value(context, builder, ty, member)
        elif counted:
            context.nrt.incref(builder, ty, member)
        members.append(member)
    return context.make_tuple(builder, out, members)


def _lent_tuple(tup: types.BaseTuple) -> types.BaseTuple:
    """The type of ``tup`` with its arrays borrowed."""
    return types.BaseTuple.from_types([_lent(ty) for ty in tup.types])


@intrinsic
def borrow_all(typingctx, tup):
    """A tuple with each of its arrays borrowed (:func:`borrow`), its other members as they are."""
    if not isinstance(tup, types.BaseTuple):
        return None
    out = _lent_tuple(tup)
    return out(tup), lambda context, builder, signature, args: _borrowed_tuple(context, builder, tup, out, args[0],
                                                                               True)


class Lent(types.Type):
    """The type of :func:`lend`'s result: a pointer to a tuple (``tup``) kept in the frame of the function that
    lent it. It passes into a call as one machine word; ``lent[k]`` (``k`` a constant) loads the member."""

    def __init__(self, tup: types.BaseTuple):
        self.tup = tup
        super().__init__(name=f"lent({tup})")


@register_default(Lent)
class _LentModel(models.PrimitiveModel):
    """A pointer to the tuple's value."""

    def __init__(self, dmm, fe_type: Lent):
        super().__init__(dmm, fe_type, dmm.lookup(fe_type.tup).get_value_type().as_pointer())


@intrinsic
def lend(typingctx, tup):
    """``tup`` with each array borrowed (:func:`borrow_all`), stored in this function's frame and passed on as a
    pointer to it (:class:`Lent`): valid while this function runs, so only for the calls it makes. A tuple of
    tables passed as a value costs every call a copy of every member (the closed loop's thirty-eight arrays: some
    250 machine words, five calls an event); the pointer costs one, and each member is loaded where it is used
    (the closed loop behind a finite MME: 1.8 times as fast). Its other members are not counted: the caller's
    tuple keeps them alive."""
    if not isinstance(tup, types.BaseTuple):
        return None
    inner = _lent_tuple(tup)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once_value(builder, _borrowed_tuple(context, builder, tup, inner, args[0], False))
    return Lent(inner)(tup), codegen


@infer
class _LentItem(AbstractTemplate):
    """The type of ``lent[k]``, ``k`` a constant: the tuple's member."""
    key = "static_getitem"

    def generic(self, args, kws):
        lent, k = args
        if isinstance(lent, Lent) and isinstance(k, int) and 0 <= k < len(lent.tup):
            return signature(lent.tup.types[k], *args)


@lower_builtin("static_getitem", Lent, types.IntegerLiteral)
def _lent_item(context, builder, sig, args):
    """``lent[k]``: the member loaded from the tuple, a new reference (as a tuple's member is)."""
    k = args[1]
    value = builder.load(cgutils.gep_inbounds(builder, args[0], 0, k))
    return impl_ret_borrowed(context, builder, sig.return_type, value)


def _view(context, builder, src_ty, out_ty, value, offset, shape, strides):
    """A view of array ``value`` with no owner, from element ``offset`` on, of ``shape`` and ``strides``."""
    src = context.make_array(src_ty)(context, builder, value=value)
    out = context.make_array(out_ty)(context, builder)
    out.meminfo = cgutils.get_null_value(out.meminfo.type)
    out.parent = cgutils.get_null_value(out.parent.type)
    out.nitems = functools.reduce(builder.mul, shape)
    out.itemsize = src.itemsize
    out.data = cgutils.gep_inbounds(builder, src.data, offset)
    out.shape = cgutils.pack_array(builder, shape)
    out.strides = cgutils.pack_array(builder, strides)
    return out._getvalue()


@intrinsic
def columns(typingctx, arr, first, width):
    """``arr[:, first:first + width]`` of a 2-D array, borrowed (:func:`borrow`): a slice is an ordinary array,
    counted as it is passed on."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C"):
        return None
    out_ty = Borrowed(arr.dtype, 2, "A")

    def codegen(context, builder, signature, args):
        value, at, n = args
        src = context.make_array(arr)(context, builder, value=value)
        rows = cgutils.unpack_tuple(builder, src.shape)[0]
        return _view(context, builder, arr, out_ty, value, at, [rows, n], cgutils.unpack_tuple(builder, src.strides))
    return out_ty(arr, types.intp, types.intp), codegen


@intrinsic
def column(typingctx, arr, j):
    """``arr[:, j]`` of a 2-D array with no owner (:func:`columns`)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C"):
        return None
    out_ty = Borrowed(arr.dtype, 1, "A")

    def codegen(context, builder, signature, args):
        value, at = args
        src = context.make_array(arr)(context, builder, value=value)
        rows = cgutils.unpack_tuple(builder, src.shape)[0]
        return _view(context, builder, arr, out_ty, value, at, [rows], cgutils.unpack_tuple(builder, src.strides)[:1])
    return out_ty(arr, types.intp), codegen


@njit(cache=True, inline="always")
def put(recs, n: int, t: float, proc: int, owner: int, state: int) -> int:
    """Write record ``n``; returns the next ``n``."""
    rec_t, rec_proc, rec_owner, rec_state = recs
    rec_t[n] = t
    rec_proc[n] = proc
    rec_owner[n] = owner
    rec_state[n] = state
    return n + 1


@njit(cache=True, inline="always")
def _head(t, r: int, h: int, stop: int) -> int:
    """The first column from ``h`` on (before ``stop``) with a transfer."""
    while h < stop and t[r, h] == np.inf:
        h += 1
    return h


@njit(cache=True, inline="always")
def space(runs, t, chain: int):
    """Scratch arrays: for :func:`merge`, each run's head column and head time, and a row's order; for
    :func:`fire`, one row of a chain of ``chain`` pending demotions (time, procedure, state)."""
    return ((np.empty(runs.size, dtype=np.int64), np.empty(runs.size), np.empty(t.shape[1], dtype=np.int64)),
            (np.empty((1, chain)), np.empty((1, chain), dtype=np.int64), np.empty((1, chain), dtype=np.int64)))


@njit(cache=True, inline="always")
def merge(t, r: int, runs, heads, head_t, order) -> int:
    """Row ``r``'s transfers in time order: their columns into ``order``; returns how many.

    The row is made of runs (columns ``runs[j]`` to ``runs[j + 1]``), each in time order but for
    ``inf`` entries (no transfer); ties go to the earlier column, as a stable sort of the row would."""
    n_runs = runs.size - 1
    for j in range(n_runs):
        heads[j] = h = _head(t, r, runs[j], runs[j + 1])
        head_t[j] = t[r, h] if h < runs[j + 1] else np.inf
    m = 0
    while True:
        best, best_t = 0, head_t[0]
        for j in range(1, n_runs):  # selects, not branches: which run is next is unpredictable
            earlier = head_t[j] < best_t
            best = j if earlier else best
            best_t = head_t[j] if earlier else best_t
        if best_t == np.inf:
            return m
        order[m] = heads[best]
        m += 1
        heads[best] = h = _head(t, r, heads[best] + 1, runs[best + 1])
        head_t[best] = t[r, h] if h < runs[best + 1] else np.inf


@njit(cache=True)
def updates(last: float, period: float, until: float, strict: bool) -> int:
    """How many periodic updates fall due by ``until`` (strictly before, if ``strict``), the timer last
    started at ``last``; each restarts it, so the updates are at ``last + period``, ``+ period``, ...
    (one float addition each, as both machine forms then step ``last``)."""
    k, at = 0, last + period
    while (at < until) if strict else (at <= until):
        k += 1
        at += period
    return k


@njit(cache=True)
def start(key: int, device: int, upkeep, idle: int) -> float:
    """When the idle state's update timer last started before ``t = 0``: a phone idle at the start is
    in steady state, its timer at a uniform phase (a counter-based draw, as :func:`paging_repeats`), so
    that a population's periodic updates do not all fall at one instant."""
    for i in range(len(upkeep)):
        state, _, period = upkeep[i]
        if state == idle and period != np.inf:
            return -_uniform(key ^ PHASE_STREAM, device, 0) * period
    return 0.0


@njit(cache=True, inline="always")
def keep(recs, n: int, state: int, last: float, until: float, strict: bool, upkeep, owner: int
         ) -> tuple[int, float]:
    """Write ``state``'s periodic updates due by ``until`` (:func:`updates`) for ``owner``; returns ``n``
    and when the timer last started."""
    for i in range(len(upkeep)):
        s, proc, period = upkeep[i]
        if s == state:
            for _ in range(updates(last, period, until, strict)):
                last += period
                n = put(recs, n, last, proc, owner, state)
    return n, last


@njit(cache=True, inline="always")
def fire(recs, n: int, owner: int, state: int, chain, row: int, head: int, size: int, t: float, strict: bool,
         last: float, upkeep, keeper: int) -> tuple[int, int, int, float]:
    """Apply the pending demotions (``chain``'s row ``row``) due at or before ``t`` (strictly before, if
    ``strict``), in chain order, each state's periodic updates (owned by ``keeper``) before it is left;
    returns ``n``, the state, the chain's new head and when the update timer last started."""
    due, due_proc, due_state = chain
    while head < size and (due[row, head] < t if strict else due[row, head] <= t):
        at = due[row, head]
        n, last = keep(recs, n, state, last, at, False, upkeep, keeper)
        state, last = due_state[row, head], at
        n = put(recs, n, at, due_proc[row, head], owner, state)
        head += 1
    n, last = keep(recs, n, state, last, t, strict, upkeep, keeper)
    return n, state, head, last


@njit(cache=True, inline="always")
def settle(recs, n: int, owner: int, state: int, chain, row: int, head: int, size: int, t: float, ready: float,
           last: float, upkeep, keeper: int) -> tuple[int, int, int, float, float]:
    """Before a transfer requested at ``t``: apply the demotions and periodic updates due by then; a transfer
    arriving during a promotion waits for it. Returns ``n``, the state, the chain's head, when the transfer
    starts and when the update timer last started."""
    n, state, head, last = fire(recs, n, owner, state, chain, row, head, size, t, False, last, upkeep, keeper)
    return n, state, head, t if t >= ready else ready, last


@njit(cache=True, inline="always")
def promote(recs, n: int, t: float, proc: int, to_state: int, app: int, delay_s: float) -> tuple[int, float]:
    """Record promotion ``proc`` to ``to_state`` for ``app``; returns ``n`` and when the promotion ends."""
    n = put(recs, n, t, proc, app, to_state)
    return n, t + delay_s


PHASE_STREAM = 0x7A3412  # xor-ed into the run's key for the update timers' phases, apart from the paging draws


@njit(cache=True, inline="always")
def _uniform(key: int, device: int, n: int) -> float:
    """Uniform on [0, 1) (53 bits): SplitMix64 of ``key``, ``device`` and ``n``."""
    x = (np.uint64(key) + np.uint64(device) * np.uint64(0x9E3779B97F4A7C15)
         + np.uint64(n) * np.uint64(0xD1B54A32D192ED03))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return float(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def paging_repeats(key: int, device: int, page: int, answer_probability: float, repetitions: int) -> int:
    """How many further whole-area attempts the ``page``-th page of ``device`` takes: the attempts
    that go unanswered before one is answered (each answered with ``answer_probability``), at most
    ``repetitions``.

    A counter-based draw (SplitMix64 of the run's ``key``, the device and the page's number), so
    that the scalar machines, the compiled kernels and any split into chunks or workers draw the
    same: nothing depends on the order in which devices are simulated."""
    if answer_probability >= 1.0 or repetitions == 0:
        return 0
    u = _uniform(key, device, page)
    unanswered, all_fail = 0, 1.0 - answer_probability  # P(the first k attempts all fail) = q^k
    while unanswered < repetitions and u < all_fail:
        unanswered += 1
        all_fail *= 1.0 - answer_probability
    return unanswered


@njit(cache=True, inline="always")
def page(recs, n: int, t: float, paging: int, app: int, state: int, area, key: int, device: int, pages: int
         ) -> tuple[int, int]:
    """Record ``paging`` for ``app``'s data (from ``state``) and its repeats (``area``: the repeat's
    procedure, the answer probability, the most repetitions); returns ``n`` and the device's pages so far."""
    repeat, answer_probability, repetitions = area
    n = put(recs, n, t, paging, app, state)
    for _ in range(paging_repeats(key, device, pages, answer_probability, repetitions)):
        n = put(recs, n, t, repeat, app, state)
    return n, pages + 1
