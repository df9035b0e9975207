"""The scenario file format: one pydantic model per TOML table.

Every field states its unit in its name and has a documented default (see README, "Scenario
reference"). ``extra="forbid"`` everywhere, so a misspelled key is an error, never ignored.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sim.radio.profiles import RADIOS

PUSH_APP = "os-push"  # pseudo-app that owns the OS shared push channel's heartbeat
NETWORK_APP = "network"  # pseudo-app that owns network-driven procedures (re-attaches after outages and restarts)
# pseudo-app that owns idle/PCH/INACTIVE upkeep (periodic TAU/RAU/registration, cell and RNA updates)
MOBILITY_APP = "mobility"
VOICE_APP = "voice"  # pseudo-app that owns voice calls' signalling (their setup, or the reject that refused it)
SMS_APP = "sms"  # pseudo-app that owns short messages' signalling ([sms], off by default)
# after the scenario's apps, in this order: their app codes (sim.radio.tables.MOBILITY_OFFSET,
# sim.engine.connections.Codes, sim.metrics.reduce.Reducer.apps)
PSEUDO_APPS = (PUSH_APP, NETWORK_APP, MOBILITY_APP, VOICE_APP, SMS_APP)

# Bounds that keep every total within 64 bits: the budget (sim.scenario.budget) admits at most
# about 10^12 transfers in a run, so 10^6 bytes a transfer keep byte totals below 2^63 (9.2e18).
MAX_BYTES = 10**6
MAX_DEVICES = 10**9
MAX_COUNT = 10**6  # beats, attempts, servers, queue places: far beyond any real setting
MAX_NAME = 100  # characters in a name (apps, groups, the scenario: a folder name)
PART_DEVICES = 16384  # the fewest devices of a closed loop's partition (Scenario.partitions): long runs, state in cache

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Bytes = Annotated[int, Field(ge=0, le=MAX_BYTES)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Radio = Literal["umts", "lte", "nr"]
# A name shown in tables, plots and the terminal: printable characters only (no newlines or
# terminal escapes), so it always shows literally on one line.
LABEL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
Label = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=LABEL_PATTERN)]
# The scenario's name is its results folder's name (results/<name>/): a safe file name that
# is not "." or ".." and cannot reach outside results/.
FOLDER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
FolderName = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=FOLDER_PATTERN)]


def _at_least(minimum: float) -> AfterValidator:
    """A floor on a ``Positive`` float that keeps an engine's loops finite; a value <= 0 is still
    reported as not positive, as for every ``Positive`` field."""
    def floor(value: float) -> float:
        if value < minimum:
            raise ValueError(f"Input should be greater than or equal to {minimum:g}")
        return value
    return AfterValidator(floor)


# Documented floors (why each: at its fields, and docs/model.md §12)
AtLeast1ms = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(0.001)]
AtLeast100ms = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(0.1)]
AtLeast200ms = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(0.2)]
AtLeast1s = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(1.0)]
AtLeast4s = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(4.0)]
AtLeast1PerKs = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _at_least(0.001)]  # a rate: once in 1,000 s


class _Model(BaseModel):
    # strict: a count is an integer (not true, not "100"), a number is a number (not "0.5")
    model_config = ConfigDict(extra="forbid", strict=True)


class Simulation(_Model):
    duration_s: Positive = 3600.0
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    # assumption: 1 ms, far below any RRC timer (the shortest, an LTE promotion, is 0.26 s); finer
    # bins only multiply the time series (see MAX_BINS in sim/scenario/budget.py)
    bin_s: AtLeast1ms = 60.0
    # "des": event by event (SimPy); "fast": vectorised, open loop and feedback per device; "auto": fast for those
    engine: Literal["auto", "des", "fast"] = "auto"

    @model_validator(mode="after")
    def _bin_fits(self) -> "Simulation":
        if self.bin_s > self.duration_s:
            raise ValueError("bin_s must not exceed duration_s")
        return self


class Tcp(_Model):
    """How the phones' TCP retransmits what nobody answers (docs/model.md §6): the SYNs of a connect
    attempt, the segments of a send on a connection that is gone, and how long the app waits for an
    answer before it reconnects. Every SYN and retransmitted segment is a radio transfer."""

    # false: no TCP retransmission at all, the model before network.tcp: a connect attempt is one SYN
    # waiting retry.attempt_timeout_s, and a send on a connection the NAT dropped reconnects at once
    retransmit: bool = True
    # page: RFC 6298 (2.1) sets the RTO to 1 s until an RTT is measured (RFC 1122 had 3 s); Linux
    # TCP_TIMEOUT_INIT = 1 s. Doubled at each retransmission: RFC 6298 (5.5). At least 0.2 s, as rto_s.
    syn_rto_s: AtLeast200ms = 1.0
    # page: Linux ip-sysctl tcp_syn_retries, default 6: SYNs after 1, 3, 7, 15, 31, 63 s, the connect
    # gives up at 127 s. At least 1, at most 127: the bounds ip-sysctl documents.
    syn_retries: Annotated[int, Field(ge=1, le=127)] = 6
    # The RTO of an established connection: Linux's floor TCP_RTO_MIN = 200 ms (ip-sysctl, tcp(7); RFC
    # 6298 (2.4) asks 1 s), taken as the RTO itself: assumption (RTO = SRTT + 4 RTTVAR, and a phone's RTT
    # is small beside 200 ms once connected). At least 0.2 s, TCP_RTO_MIN: no RTO is shorter.
    rto_s: AtLeast200ms = 0.2
    # page: Linux ip-sysctl tcp_retries2, default 15: from a 200 ms RTO, TCP gives up after 924.6 s
    # (RFC 1122 4.2.3.5 asks at least 100 s). At most 255: assumption (bounds a send's retransmissions).
    retries: Annotated[int, Field(ge=0, le=255)] = 15
    # page: Linux TCP_RTO_MAX = 120 s (ip-sysctl tcp_retries2's arithmetic); RFC 6298 (2.5) allows any
    # maximum of at least 60 s. Not below syn_rto_s or rto_s (checked).
    rto_max_s: AtLeast200ms = 120.0
    # code: Tencent Mars LongLink::__NoopReq (mars/stn/src/longlink.cc): a heartbeat (noop) with no answer
    # in 10 s (2 s in the foreground) ends the link, and the client reconnects. Used for any send nothing
    # answers. At least 0.2 s, TCP_RTO_MIN: no client can tell a send failed sooner.
    app_timeout_s: AtLeast200ms = 10.0

    @model_validator(mode="after")
    def _max_above_initial(self) -> "Tcp":
        if self.rto_max_s < max(self.syn_rto_s, self.rto_s):
            raise ValueError("rto_max_s must not be below syn_rto_s or rto_s")
        return self


class Network(_Model):
    radio: Radio = "lte"
    # Carrier NAT/firewall idle timeout; None = no NAT. page: Wang et al. SIGCOMM 2011 (minutes to ~1 h).
    # Minimum 1 s: assumption (RFC 5382 REQ-5 asks >= 2 h 4 min of a TCP NAT; carriers use minutes).
    nat_timeout_s: AtLeast1s | None = None
    tcp: Tcp = Tcp()
    # Per-radio overrides of built-in profile parameters, validated against the profile.
    overrides: dict[Radio, dict[str, Any]] = {}


class Heartbeat(_Model):
    policy: Literal["fixed", "adaptive", "none"] = "none"
    # required for "fixed"; minimum 0.1 s: assumption (IM heartbeats are minutes apart: ten a second
    # is a unit mistake; the budget, sim/scenario/budget.py, refuses what is still too dense)
    interval_s: AtLeast100ms | None = None
    # uniform +/- fraction of each interval; at most 0.5: the jitter draws are sized for the shortest
    # possible interval, interval x (1 - jitter), so near 1 they grow without bound (assumption:
    # clients that jitter do so by a few tens of per cent)
    jitter: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    # assumption: about one small TCP/TLS segment each way (the example figures).
    up_bytes: Bytes = 70
    down_bytes: Bytes = 60
    # fixed only: the heartbeat timer restarts at each of the app's messages (either way), as a client
    # that beats only after interval_s of silence on its connection does (a mitigation). assumption:
    # false, the timer runs regardless (the model before; no client's rule is published)
    restart_on_traffic: bool = False
    # adaptive ("Tencent Mars smart heartbeat"), code: Tencent/mars mars/stn/config.h (2018 values)
    # minimum 0.1 s for both, as interval_s (assumption); Mars MinHeartInterval is 210 s
    min_interval_s: AtLeast100ms = 210.0
    max_interval_s: AtLeast100ms = 600.0
    step_s: AtLeast100ms = 60.0  # HeartStep; minimum 0.1 s, as interval_s (assumption)
    margin_s: NonNegative = 20.0  # SuccessStep: settle this far below the last interval that survived
    probe_beats: Count = 5  # BaseSuccCount: successes before probing up
    # NetStableTestCount: beats at the minimum after connecting
    warmup_beats: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 3
    max_failures: Count = 2  # MaxHeartFailCount

    @model_validator(mode="after")
    def _complete(self) -> "Heartbeat":
        if self.policy == "fixed" and self.interval_s is None:
            raise ValueError("interval_s is required when policy = \"fixed\"")
        if self.policy == "adaptive" and self.min_interval_s > self.max_interval_s:
            raise ValueError("min_interval_s must not exceed max_interval_s")
        # a beat that reaches the top settles at max_interval_s - margin_s: below min_interval_s (even
        # negative) the next beat comes back at once, forever (the SimPy engine spun until out of memory)
        if self.policy == "adaptive" and self.max_interval_s - self.margin_s < self.min_interval_s:
            raise ValueError("max_interval_s - margin_s (the interval it settles at) must not be below min_interval_s")
        return self


class Messages(_Model):
    per_hour: NonNegative = 0.0  # Poisson rate of user messages per device
    up_bytes: Bytes = 0
    down_bytes: Bytes = 0
    # assumption: half the messages are received (mobile-terminated: paging when idle).
    incoming_share: Probability = 0.5


class Reconnect(_Model):
    """What re-establishing a dropped connection sends: TCP + TLS handshake + login.

    assumption (no figure in the reference): 3-way handshake, a full TLS handshake with a
    ~4 kB certificate chain, one login request and response.
    """

    up_bytes: Bytes = 1200
    down_bytes: Bytes = 5000
    up_packets: Count = 6
    down_packets: Count = 5


class TraceTraffic(_Model):
    """An app whose sends replay a flow of a packet capture (sim.trace.replay), each device from its own phase."""

    trace: Annotated[str, Field(min_length=1, max_length=4096)]  # the capture; relative to the scenario file
    flow: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] = "*"  # which flows: "ADDR:PORT/PROTO", * for any


class App(_Model):
    name: Label
    connection: Literal["own", "push"] = "own"  # "push": the OS shared push channel (its heartbeat replaces the app's)
    heartbeat: Heartbeat = Heartbeat()
    messages: Messages = Messages()
    reconnect: Reconnect = Reconnect()
    traffic: TraceTraffic | None = None  # its sends from a capture instead of heartbeat and messages

    @model_validator(mode="after")
    def _trace_alone(self) -> "App":
        if self.traffic is not None and (self.connection != "own" or self.heartbeat.policy != "none"
                                         or self.messages.per_hour > 0):
            raise ValueError("an app with traffic from a trace sends what the capture holds: it has its own "
                             "connection, no heartbeat and no messages")
        return self


class Doze(_Model):
    """Android Doze (docs/model.md §5): a stationary phone with its screen off defers network access to
    maintenance windows whose spacing grows. page: reference §5 (developer.android.com, community
    measurements): enters after about 1 h idle; windows after 1, 2 and 4 h, then every 6 h; 5-10 min each."""

    # seconds from the run's start (taken as the screen going off) to entering Doze. page: about 1 h
    enter_after_s: NonNegative = 3600.0
    # the gaps before each maintenance window, from entering or the last window's end; the last repeats. page
    intervals_s: Annotated[list[AtLeast1s], Field(min_length=1, max_length=100)] = [3600.0, 7200.0, 14400.0, 21600.0]
    # how long a window lasts. page: 5-10 min; the shorter: assumption
    window_s: AtLeast1s = 300.0


class Group(_Model):
    name: Label
    devices: Annotated[int, Field(ge=1, le=MAX_DEVICES)]
    radio: Radio | None = None  # defaults to network.radio
    apps: dict[Label, Probability] = {}  # install probability per device
    # page: Android GCM/FCM heartbeat 28 min on mobile (android-arsenal "Pacemaker"; Docomo 2012).
    # minimum 0.1 s, as an app's heartbeat interval_s (assumption)
    push_interval_s: AtLeast100ms = 1680.0
    # assumption: the push heartbeat is as small as an IM heartbeat.
    push_up_bytes: Bytes = 70
    push_down_bytes: Bytes = 60
    # The OS batches the apps' wake-up alarms (fixed heartbeats and the push channel's) into windows of
    # this length: an alarm fires at the first window boundary at or after its time, so alarms of several
    # apps that fall in one window share one wake-up. page: Android's AlarmManager from API 19 delivers
    # inexact alarms "batched together ... so the system wakes the device once" and never before their
    # time (developer.android.com AlarmManager, "Schedule alarms"). None: exact alarms (the model before).
    # Minimum 0.1 s, as an interval (assumption).
    alarm_window_s: AtLeast100ms | None = None
    # Doze on every phone of the group (a mitigation; None: never, the model before)
    doze: Doze | None = None


class NodeCapacity(_Model):
    """One kind of control-plane node (RNC, eNB, MME, ...) with finite processing capacity.

    Each instance is a FIFO queue of signalling procedures in front of ``servers`` processors
    (``sim.controlplane.node``); a procedure of m messages holds one for m / messages_per_s.
    """

    # what one processor of one instance handles; absent: the default in sim/profiles/controlplane.toml.
    # At least 0.001 (one message in 1,000 s; assumption: real nodes handle thousands a second): a
    # procedure holds a processor for messages / messages_per_s, which a denormal rate makes infinite
    messages_per_s: AtLeast1PerKs | None = None
    # devices per instance; absent: that file's default, else one instance serves everyone
    devices_per_node: Annotated[int, Field(ge=1, le=MAX_DEVICES)] | None = None
    servers: Count = 1
    queue_limit: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None  # procedures that may wait; None: no limit
    # a procedure still waiting this long is rejected; minimum 0.1 s: assumption (a procedure's
    # service takes milliseconds; the reject it causes waits reject_wait_s)
    guard_s: AtLeast100ms | None = None
    # "fifo": one queue in arrival order; "priority": served by establishment cause (TS 36.331;
    # the order in sim.controlplane.node.CAUSES, from TS 36.413 OverloadAction). Default fifo: the model
    # before causes (assumption: a node's admission policy is the operator's; none is published).
    admission: Literal["fifo", "priority"] = "fifo"
    # under priority: the share of places (servers + queue_limit) held for voice calls and emergency
    # (trunk reservation). assumption: 0, none; set it with a queue_limit.
    reserved_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @model_validator(mode="after")
    def _reservation_needs_places(self) -> "NodeCapacity":
        if self.reserved_share and (self.admission != "priority" or self.queue_limit is None):
            raise ValueError("reserved_share: needs admission = \"priority\" and a queue_limit")
        return self


class ControlPlane(_Model):
    """Capacity of the nodes that need it; nodes not listed have unlimited capacity."""

    nodes: dict[str, NodeCapacity] = {}
    # RRC connection reject wait time before the device tries again. TS 36.331 waitTime is
    # 1..16 s (so at least 1 s); assumption: 2 s.
    reject_wait_s: AtLeast1s = 2.0
    # assumption: attempts per send before the app gives up on it (T300/N300 style)
    max_attempts: Count = 3


# Call types (docs/model.md §10): "cs" a circuit-switched leg (UMTS), "csfb" an LTE phone's CS call
# by fallback to 3G, "volte" a VoLTE (VoNR on NR) leg, "callback" an app's request after which the
# network calls both parties (two mobile-terminated CS legs), "voip" over-the-top voice over data.
CallType = Literal["cs", "csfb", "volte", "callback", "voip"]
CALL_TYPES: tuple[str, ...] = get_args(CallType)
# which radios each call type runs on (the CS types need a CS domain: UMTS, or LTE by fallback)
CALL_RADIOS: dict[str, tuple[str, ...]] = {"cs": ("umts",), "csfb": ("lte",), "volte": ("lte", "nr"),
                                           "callback": ("umts", "lte"), "voip": RADIOS}
# what calls.per_hour places on each radio: the native voice call whose setup is its profile's
# call_setup row (the single call type before types existed)
NATIVE_CALL = {"umts": "cs", "lte": "volte", "nr": "volte"}
# A VoIP call's voice: a 20 ms frame each way (reference §6), sent as one radio transfer a second
# each way: as the frames, it keeps the radio connected (any inactivity timer is longer than 1 s:
# the shortest built-in, UMTS T1 and the fast dormancy timer, are 5 s) at a fiftieth of the events.
VOIP_BATCH_S = 1.0


class Calls(_Model):
    """Voice calls: they compete with data for the same control plane (the London 2009 symptom)."""

    # Poisson call attempts per device per hour, each the radio's native call (NATIVE_CALL). page:
    # the Vodafone traffic model's 0.9 BHCA per subscriber (Huawei RNC dimensioning); default 0: no calls.
    per_hour: NonNegative = 0.0
    # Poisson calls per device per hour of each call type, beside per_hour's; default: none.
    per_hour_by_type: dict[CallType, NonNegative] = {}
    # Mean of the exponential call duration (it matters to voip, whose frames hold the radio). page:
    # Vodafone, 15 markets, "around one minute and forty seconds" (The Register, 30 Jan 2013); CTIA
    # US 2011 1.78 min. The exponential holding time is the Erlang model's (assumption). Minimum 1 s: assumption.
    mean_duration_s: AtLeast1s = 100.0
    # assumption: a call whose setup has not completed this long after the attempt fails. Minimum
    # 1 s: assumption (a call setup's signalling alone takes a few hundred ms).
    setup_guard_s: AtLeast1s = 10.0


# The services a device places through the control plane outside its apps' data, each drawn as a
# Poisson stream (sim.population.draws) and decided like a call (sim.engine.des._calls): the call types,
# then a short message sent (mobile-originated) or received (mobile-terminated). Their log codes.
SMS_TYPES: tuple[str, ...] = ("sms_mo", "sms_mt")
SERVICE_TYPES: tuple[str, ...] = (*CALL_TYPES, *SMS_TYPES)
SERVICE_APP: tuple[str, ...] = (VOICE_APP,) * len(CALL_TYPES) + (SMS_APP,) * len(SMS_TYPES)  # owner of each


class Sms(_Model):
    """Short messages (docs/model.md §10): signalling only (no radio data; the phone's RRC state stays),
    owned by the ``sms`` pseudo-app. Off by default."""

    # Poisson short messages per device per hour, sent or received (as BHCA counts call legs, each
    # device's own leg); default 0: none. The 2009-2013 smartphone populations of the built-in
    # scenarios predate any figure we could source for them, so the rate is the user's to set.
    per_hour: NonNegative = 0.0
    # share of them mobile-terminated, which pages the phone first. assumption: as many received as sent.
    mobile_terminated_share: Probability = 0.5


class Retry(_Model):
    """How an app's client retries connecting to its server after losing it."""

    policy: Literal["immediate", "fixed", "exponential"] = "exponential"
    # Each wait below is at least 0.2 s, Linux's minimum TCP retransmission timeout (TCP_RTO_MIN;
    # RFC 6298 2.4 sets 1 s and allows a lower floor): no client can tell an attempt failed sooner.
    # code: Tencent Mars config.h kLonglinkConnTimeout: a connect attempt gets no answer for 10 s (its SYN
    # retransmitted meanwhile by network.tcp; TCP's own give-up, 127 s by default, ends it if sooner)
    attempt_timeout_s: AtLeast200ms = 10.0
    # code: Mars kLonglinkConnInteral 2.5 s between connect attempts (used by "fixed")
    interval_s: AtLeast200ms = 2.5
    # "exponential": the first wait, doubled after each failure (assumption)
    initial_s: AtLeast200ms = 2.5
    max_s: AtLeast200ms = 300.0  # "exponential": the longest wait (assumption)
    jitter: bool = False  # "exponential": wait a uniform random share of the backoff ("full jitter")
    # what a failed attempt sends, and each retransmission of it: a TCP SYN of 60 B, derived: IPv4 header
    # 20 B (RFC 791) + TCP header 20 B (RFC 9293) + options 20 B (MSS 4, SACK-permitted 2, timestamps 10,
    # window scale 3: RFC 9293, 2018, 7323; one NOP), as Linux sends them
    syn_up_bytes: Bytes = 60


class ServerOutage(_Model):
    """An app's server is unreachable from ``start_s`` to ``end_s``: its clients' sends go
    unanswered, they notice at their next send and retry by ``retry`` until it is back."""

    kind: Literal["server_outage"]
    app: str
    start_s: NonNegative
    end_s: Positive
    retry: Retry = Retry()


class HeartbeatChange(_Model):
    """An app update: from ``at_s`` every device beats at ``interval_s`` (a fixed heartbeat)."""

    kind: Literal["heartbeat_change"]
    app: str
    at_s: NonNegative
    interval_s: AtLeast100ms  # minimum 0.1 s, as heartbeat.interval_s


class NatChange(_Model):
    """The carrier changes its NAT idle timeout at ``at_s`` (absent: no NAT from then on)."""

    kind: Literal["nat_change"]
    at_s: NonNegative
    nat_timeout_s: AtLeast1s | None = None  # minimum 1 s, as network's


class AccessBarring(_Model):
    """Access class barring (TS 36.331 ac-BarringFactor / ac-BarringTime): from ``start_s`` to
    ``end_s`` each new connection attempt is barred with probability ``barred_share``; a barred
    device waits (0.7 + 0.6 x U) x ``barring_time_s`` and tries again."""

    kind: Literal["access_barring"]
    start_s: NonNegative
    end_s: Positive
    barred_share: Probability
    # TS 36.331 ac-BarringTime: 4 .. 512 s (so at least 4 s); assumption: the shortest
    barring_time_s: AtLeast4s = 4.0


class CoreOverload(_Model):
    """The core node is overloaded (MME overload start, TS 36.413): from ``start_s`` to
    ``end_s`` it rejects new service requests (promotions that reach the core) with an extended
    wait time before the device may try again (TS 24.301 T3346)."""

    kind: Literal["core_overload"]
    start_s: NonNegative
    end_s: Positive
    # assumption (TS 24.301 allows up to 30 min); at least 1 s: TS 36.331 extendedWaitTime is 1 .. 1800 s
    extended_wait_s: AtLeast1s = 60.0


class RanOutage(_Model):
    """A RAN node (RNC, eNB or gNB) is down from ``start_s`` to ``end_s``: its devices lose
    radio and IP connections; at recovery every one of them re-attaches at once."""

    kind: Literal["ran_outage"]
    node: str
    instance: Annotated[int, Field(ge=0, le=MAX_DEVICES)] | None = None  # None: every instance (see devices_per_node)
    start_s: NonNegative
    end_s: Positive


class CoreRestart(_Model):
    """A core node (SGSN, MME or AMF) restarts at ``at_s`` and loses the contexts of the devices it
    served: their connections are released, the gateways delete their PDN connections (so every IP
    connection is lost), and each device must attach again (``docs/model.md`` §10).

    ``on_demand``: a device finds out at its next own contact, a service request or periodic update
    the core rejects as "implicitly detached" (TS 24.301 §5.6.1.5, §5.5.3.2.5, cause #10), and then
    attaches; mobile-terminated data cannot reach it until then (the core cannot page a device it has
    no context for). ``immediate``: every device attaches at once, spread uniformly over ``spread_s``.
    A rejected attach is retried after the radio's retry timers (T3411 / T3402 in the profile), or,
    with ``backoff``, after the T3346 back-off the core's reject carries (TS 24.301 §5.3.9)."""

    kind: Literal["core_restart"]
    node: str
    instance: Annotated[int, Field(ge=0, le=MAX_DEVICES)] | None = None  # None: every instance (see devices_per_node)
    at_s: NonNegative
    # page: after a restart the core learns of a device only when the device contacts it (TS 23.007 §25's
    # paging with IMSI on downlink data is optional and not modelled); "immediate": every device at once
    reattach: Literal["on_demand", "immediate"] = "on_demand"
    # "immediate": attaches uniform over [at_s, at_s + spread_s]. assumption: 0, all at the restart (no
    # 3GPP procedure makes every device attach at once: it stands for the worst case)
    spread_s: NonNegative = 0.0
    # NAS back-off: the core answers attach attempts it rejects (a limited core node's queue limit or guard
    # time) with EMM cause #22 and a T3346 drawn uniformly from [t3346_min_s, t3346_max_s], "so that deferred
    # requests are not synchronised" (TS 23.012; TS 23.401 §4.3.7.4.2.4, recalled). page: Cisco StarOS SGSN `gmm t3346`
    # defaults 15 and 30 min; Cisco's AMF 900 s plus a random offset. At least 1 s: assumption (GPRS timer 3
    # counts in 2 s units at the finest, TS 24.008 §10.5.7.4a; a zero T3346 would mean no back-off).
    backoff: bool = False
    t3346_min_s: AtLeast1s = 900.0
    t3346_max_s: AtLeast1s = 1800.0  # at least t3346_min_s (checked in sim.scenario.loader, with its path)


# the nodes an outage or restart may take down, per event kind: what the error message calls them, their names
OUTAGE_NODES: dict[str, tuple[str, tuple[str, ...]]] = {"ran_outage": ("RAN", ("RNC", "eNB", "gNB")),
                                                         "core_restart": ("core", ("SGSN", "MME", "AMF"))}
EVENTS = (ServerOutage, HeartbeatChange, NatChange, AccessBarring, CoreOverload, RanOutage, CoreRestart)
Event = Annotated[ServerOutage | HeartbeatChange | NatChange | AccessBarring | CoreOverload | RanOutage
                  | CoreRestart, Field(discriminator="kind")]
# the tags pydantic puts in an event's error path (events[0].server_outage.start_s), left out of ours
EVENT_KINDS = tuple(get_args(e.model_fields["kind"].annotation)[0] for e in EVENTS)


class Provenance(_Model):
    """Written into ``scenario.resolved.toml``; ignored by the model."""

    software_version: str | None = None
    created_utc: str | None = None
    wall_time_s: float | None = None


# the per-device table: "auto" is CSV up to sim.outputs.tables.CSV_MAX_DEVICES devices, Parquet above
DeviceTable = Literal["auto", "csv", "parquet", "none"]


class Battery(_Model):
    """The phone's battery, for the battery-life estimate (docs/model.md §8): life = capacity x voltage /
    (other power + the radio's mean power)."""

    # assumption: a smartphone cell of the 2013-2016 phones the scenarios model (no figure in the reference)
    capacity_mah: Positive = 3000.0
    # assumption: a Li-ion cell's nominal voltage
    voltage_v: Positive = 3.7
    # what the phone draws apart from the radio (screen off, CPU mostly asleep). assumption: 80 mW, as the
    # G1 battery validation case's (sim.validation.cases.G1_OTHER_POWER_MW)
    other_power_mw: NonNegative = 80.0


class Outputs(_Model):
    """What a run writes beyond the small tables."""

    devices: DeviceTable = "auto"
    # a message delivered later than this after it was generated counts as delayed (summary.json delivery.
    # share_delayed). assumption: 10 s, issue 16's threshold (a chat message a user waits for, not a figure)
    delivery_threshold_s: NonNegative = 10.0


class Scenario(_Model):
    name: FolderName
    description: Annotated[str, Field(max_length=10_000)] = ""
    simulation: Simulation = Simulation()
    network: Network = Network()
    apps: list[App] = []
    groups: Annotated[list[Group], Field(min_length=1)]
    controlplane: ControlPlane = ControlPlane()
    calls: Calls = Calls()
    sms: Sms = Sms()
    battery: Battery = Battery()
    events: list[Event] = []
    outputs: Outputs = Outputs()
    provenance: Provenance | None = None

    @model_validator(mode="after")
    def _call_types_fit(self) -> "Scenario":
        """Each call type only on the radios that carry it; the data call types (their signalling
        comes from the RRC machines) in the open loop, and one of them per run (both are the voice
        pseudo-app's, so a run with both could not tell their RRC signalling apart)."""
        used = [t for t, rate in self.calls.per_hour_by_type.items() if rate > 0]
        for g in self.groups:
            radio = g.radio or self.network.radio
            for t in used:
                if radio not in CALL_RADIOS[t]:
                    raise ValueError(f"calls.per_hour_by_type.{t}: group {g.name!r} is {radio}; {t} calls "
                                     f"need {' or '.join(CALL_RADIOS[t])}")
        data_types = [t for t in used if t in ("callback", "voip")]
        if len(data_types) > 1:
            raise ValueError("calls.per_hour_by_type: callback and voip in one run are not supported (run each)")
        if data_types and self.closed_loop():
            raise ValueError(f"calls.per_hour_by_type.{data_types[0]}: {data_types[0]} calls need the open loop "
                             f"(no limited nodes, no events)")
        return self

    def closed_loop(self) -> list[str]:
        """Why the network pushes back on the devices (finite capacity, events); empty: open loop."""
        reasons = []
        if self.controlplane.nodes:
            reasons.append("finite capacity at " + ", ".join(self.controlplane.nodes))
        if self.events:
            reasons.append("events (" + ", ".join(dict.fromkeys(e.kind for e in self.events)) + ")")
        rach = [r for r in dict.fromkeys(g.radio or self.network.radio for g in self.groups)
                if _enabled(self.network.overrides.get(r, {}).get("rach"))]
        if rach:  # the built-in profiles have it off: only an override turns it on
            reasons.append("random access (" + ", ".join(rach) + ")")
        return reasons


    def per_device_feedback(self) -> bool:
        """Whether the closed loop's only feedback is each device's own (server outages, heartbeat and NAT
        changes, no limited node, no random access, no adaptive heartbeat): then the fast engine runs it."""
        return (bool(self.events) and len(self.closed_loop()) == 1  # the events are its only reason
                and all(e.kind in PER_DEVICE_EVENTS for e in self.events)
                and all(a.heartbeat.policy != "adaptive" for a in self.apps))


    def partitions(self) -> list[tuple[int, int]]:
        """Device ranges ``[lo, hi)`` that share no limited node's instance, each a closed loop of its own (the
        compiled closed loop runs them apart, in worker processes if asked: ``sim.split``). They end at multiples
        of every limited node's ``devices_per_node`` (a node with one instance for all couples the whole
        population), at least ``PART_DEVICES`` apart; they depend on the scenario alone, never on the workers."""
        n_dev = sum(g.devices for g in self.groups)
        per = [cap.devices_per_node for cap in self.controlplane.nodes.values()]
        if None in per:
            return [(0, n_dev)]
        step = math.lcm(*per)
        step *= -(-PART_DEVICES // step)
        return [(lo, min(lo + step, n_dev)) for lo in range(0, n_dev, step)]

    def uncompiled(self) -> str | None:
        """What of this closed loop the compiled closed-loop engine (``sim.engine.closed``) does not model yet;
        None: all of it (or it is an open loop, or its feedback is per device alone). Of the events it models
        those whose feedback is each device's own (``PER_DEVICE_EVENTS``: server outages with their clients'
        retries and reconnects, app updates, NAT changes), the overload controls (access barring, core
        overload), RAN outages (up to 62) and core restarts, through the limited nodes."""
        if not self.closed_loop() or self.per_device_feedback():
            return None
        others = [e.kind for e in self.events if e.kind not in CLOSED_EVENTS]
        if others:
            return "events (" + ", ".join(dict.fromkeys(others)) + ")"
        if sum(e.kind == "ran_outage" for e in self.events) > 62:  # a bit each per device (sim.engine.closed)
            return "events (more than 62 ran_outage)"
        if any(r.startswith("random access") for r in self.closed_loop()):
            return "random access"
        if len({g.radio or self.network.radio for g in self.groups}) > 1:
            return "several radios in one run"
        if any(a.heartbeat.policy == "adaptive" for a in self.apps):
            return "adaptive heartbeats"
        if any(a.traffic is not None for a in self.apps):
            return "capture replays"
        if any(self.calls.per_hour_by_type.get(t, 0.0) > 0 for t in ("callback", "voip")):
            return "call-back and VoIP calls"
        return None


# events whose feedback is per device: a client's own outage, retries and reconnect; its app's or NAT's timers
PER_DEVICE_EVENTS = ("server_outage", "heartbeat_change", "nat_change")
# events the compiled closed loop models behind limited nodes (Scenario.uncompiled): those, the overload controls,
# RAN outages (up to 62 a run) and core restarts
CLOSED_EVENTS = (*PER_DEVICE_EVENTS, "access_barring", "core_overload", "ran_outage", "core_restart")


def _enabled(table: Any) -> bool:
    """Whether a profile override's ``rach`` table turns random access on (a malformed one is the
    profile validation's to report)."""
    return isinstance(table, dict) and table.get("enabled") is True


__all__ = ["Scenario", "App", "Group", "Heartbeat", "Messages", "Reconnect", "Network", "Tcp", "Simulation",
           "PUSH_APP", "NETWORK_APP", "MOBILITY_APP", "VOICE_APP", "SMS_APP", "PSEUDO_APPS",
           "RADIOS"]
