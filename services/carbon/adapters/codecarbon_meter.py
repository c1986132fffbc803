"""The CodeCarbon energy meter: services.runtime.energy.EnergyMeter over an OfflineEmissionsTracker.

One meter per process; start it once (the first tracker probes the hardware: ~1.5 s wall, ~0.6 s
CPU in lscpu/cpuinfo subprocesses), read it from any thread, stop it at exit. It reports machine
energy before PUE (the reporter applies PUE and the grid intensity). Every use of CodeCarbon's
private API is in this file, marked `# private API`: 3.3.2 has no public pull reading.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from typing import Any

from contracts.events.carbon import PowerMethod
from services.carbon.domain import MeterUnavailableError
from services.runtime.energy import ComponentReading, EnergyReading

NEVER = 10**9  # seconds: CodeCarbon's own measuring timer never fires; read() measures instead
ABSENT = ComponentReading(0.0, 0.0, "none", "no GPU found")

# CodeCarbon CPU modes -> (our method, words on it)
CPU_MODES: dict[str, tuple[PowerMethod, str]] = {
    "intel_rapl": ("rapl", "RAPL energy counters"),
    "intel_power_gadget": ("rapl", "Intel Power Gadget (RAPL)"),
    "windows_emi": ("rapl", "Windows EMI energy counters"),
    "cpu_load": ("cpu_load_estimate", "TDP {tdp} W x (0.1 + 0.9 x load^3), CPU {model}"),
    "constant": ("tdp_estimate", "constant 50% of TDP {tdp} W, CPU {model}"),
}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CodeCarbonMeter:
    def __init__(self, *, tracking_mode: str = "machine", gpu_ids: list[int] | None = None) -> None:
        self.tracking_mode = tracking_mode
        self.gpu_ids = gpu_ids
        self._tracker: Any = None
        self._methods: dict[str, tuple[PowerMethod, str | None]] = {}
        self._lock = threading.Lock()  # serialises measurements (read/stop) across threads
        self._overhead_lock = threading.Lock()
        self._overhead_cpu = 0.0  # CPU seconds spent by the meter itself, all its threads
        self._last: EnergyReading | None = None

    @property
    def overhead_cpu_seconds(self) -> float:
        """CPU time the meter used: start-up probe (incl. its subprocesses), samples and reads."""
        return self._overhead_cpu

    def start(self) -> None:
        """Start measuring (idempotent: a running meter keeps its origin)."""
        with self._lock:
            if self._tracker is not None:
                return
            thread_cpu, children_cpu = time.thread_time(), _children_cpu_seconds()
            self._tracker = self._started_tracker()
            self._methods = self._describe(self._tracker._hardware)  # private API: the hardware objects
            spent = time.thread_time() - thread_cpu + _children_cpu_seconds() - children_cpu
            self._add_overhead(spent)

    def read(self) -> EnergyReading:
        """Cumulative energy since start(), measured now."""
        with self._lock:
            return self._measure()

    def stop(self) -> EnergyReading:
        """The last cumulative reading; the meter can be started again afterwards (new origin)."""
        with self._lock:
            reading = self._measure()
            started = time.thread_time()
            self._tracker.stop()
            self._tracker = None
            self._add_overhead(time.thread_time() - started)
            return reading

    def _started_tracker(self) -> Any:
        from codecarbon import OfflineEmissionsTracker

        tracker = OfflineEmissionsTracker(
            measure_power_secs=NEVER,
            output_methods=[],  # no files, no API: the reporter publishes events instead
            log_level="error",
            pue=1.0,  # PUE is applied once, by the reporter
            tracking_mode=self.tracking_mode,
            gpu_ids=self.gpu_ids,
            allow_multiple_runs=True,
            project_name="greentune",
        )
        monitor = tracker._scheduler_monitor_power  # private API: the 1 s power-sampling timer
        monitor.function = self._timed(monitor.function)
        tracker.start()  # CodeCarbon swallows exceptions here: check that it really started
        if tracker._start_time is None:  # private API
            raise MeterUnavailableError("CodeCarbon's tracker did not start; run with log_level=debug to see why")
        return tracker

    def _measure(self) -> EnergyReading:
        if self._tracker is None:
            raise MeterUnavailableError("the energy meter is not running: call start() first")
        started = time.thread_time()
        self._tracker._measure_power_and_energy()  # private API: take a sample now
        data = self._tracker._prepare_emissions_data()  # private API: cumulative totals
        reading = EnergyReading(
            duration_seconds=float(data.duration),
            cpu=self._component("cpu", float(data.cpu_energy), float(data.duration)),
            gpu=self._component("gpu", float(data.gpu_energy), float(data.duration)),
            ram=self._component("ram", float(data.ram_energy), float(data.duration)),
        )
        self._add_overhead(time.thread_time() - started)
        return reading

    def _component(self, name: str, kwh: float, seconds: float) -> ComponentReading:
        if name not in self._methods:
            return ABSENT
        method, detail = self._methods[name]
        return ComponentReading(kwh, kwh * 3.6e6 / seconds if seconds > 0 else 0.0, method, detail)

    def _describe(self, hardware: list[Any]) -> dict[str, tuple[PowerMethod, str | None]]:
        from codecarbon.external.hardware import CPU, GPU
        from codecarbon.external.ram import RAM

        methods: dict[str, tuple[PowerMethod, str | None]] = {}
        for item in hardware:
            if isinstance(item, CPU):
                methods["cpu"] = _cpu_method(item)
            elif isinstance(item, GPU):
                names = ", ".join(d["name"] for d in item.devices.get_gpu_details())
                methods["gpu"] = ("nvml", f"GPU energy counters ({names})")
            elif isinstance(item, RAM):
                methods["ram"] = ("constant_estimate", "CodeCarbon RAM power model from installed memory size")
            else:
                raise MeterUnavailableError(f"CodeCarbon measures {item!r}, which greentune cannot label yet")
        return methods

    def _timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._add_overhead(time.thread_time() - started)

        return timed

    def _add_overhead(self, seconds: float) -> None:
        with self._overhead_lock:
            self._overhead_cpu += seconds


def _cpu_method(cpu: Any) -> tuple[PowerMethod, str | None]:
    mode = cpu._mode  # private API: how CodeCarbon measures this CPU
    if mode not in CPU_MODES:
        raise MeterUnavailableError(f"CodeCarbon CPU mode {mode!r} has no greentune label; add it to CPU_MODES")
    method, detail = CPU_MODES[mode]
    generic = " (generic TDP: CPU model unknown to CodeCarbon)" if getattr(cpu, "_is_generic_tdp", False) else ""
    return method, detail.format(tdp=cpu._tdp, model=cpu._model) + generic
