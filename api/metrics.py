"""Metrics in the Prometheus text format (exposition format 0.0.4), without a library.

Each front-end process counts its requests (by method, route and status) and their
latency (a histogram by route), and keeps a few gauges (requests waiting for a thread,
on-demand OCSP requests in progress, database pool use, whether it leads). A server has
several worker processes; each writes its numbers to a file in a directory the server
made (every second, and when asked), and ``GET /metrics`` in any of them adds up the
files of the live ones: counters and histograms summed, per-process gauges summed.
What is read from stored state (projection lag, CRL ages, OCSP response ages,
certificate counts) is added by api/observability.py at scrape time.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["Metrics", "Sample", "render"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = "certledger_http_requests_total"
LATENCY = "certledger_http_request_duration_seconds"

# (name, labels, value); a family's kind and help come from _HELP
Sample = tuple[str, dict[str, str], float]
_HELP: dict[str, tuple[str, str]] = {
    REQUESTS: ("counter", "HTTP requests answered, by method, route and status"),
    LATENCY: ("histogram", "seconds from a complete request to its answer, by route"),
}


class Metrics:
    """This process's request counters, latency histograms and gauges. Thread-safe
    enough: increments happen on the event loop; gauges are read when published."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = {}  # route -> bucket counts..., sum, count
        self.gauges: dict[str, Callable[[], Iterable[Sample]]] = {}
        self._lock = threading.Lock()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0.0] * (len(BUCKETS) + 3)  # +Inf, sum, count
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        counts[-2] += seconds
        counts[-1] += 1

    def gauge(self, name: str, kind: str, text: str,
              collect: Callable[[], Iterable[Sample]]) -> None:
        """A gauge this process reports (summed over the processes of a server)."""
        _HELP.setdefault(name, (kind, text))
        self.gauges[name] = collect

    def samples(self) -> list[Sample]:
        samples: list[Sample] = [
            (REQUESTS, {"method": m, "route": r, "status": s}, float(count))
            for (m, r, s), count in list(self.requests.items())]
        for route, counts in list(self.latency.items()):
            total = 0.0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=False):
                total += count
                samples.append((LATENCY + "_bucket", {"route": route, "le": _number(bound)},
                                total))
            samples.append((LATENCY + "_sum", {"route": route}, counts[-2]))
            samples.append((LATENCY + "_count", {"route": route}, counts[-1]))
        for collect in list(self.gauges.values()):
            try:
                samples.extend(collect())
            except Exception:  # a gauge that cannot be read now is left out
                continue
        return samples

    def publish(self) -> None:
        """Write this process's samples where the server's other processes read them."""
        if self.directory is None:
            return
        path = self.directory / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps([list(sample) for sample in self.samples()]))
        temporary.replace(path)

    def server_samples(self) -> list[Sample]:
        """The samples of every live process of this server, added up (this one's live)."""
        if self.directory is None:
            return self.samples()
        with self._lock:
            self.publish()
            merged: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
            for path in self.directory.glob("*.json"):
                if not _alive(int(path.stem)):
                    path.unlink(missing_ok=True)
                    continue
                try:
                    samples = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                for name, labels, value in samples:
                    merged[(name, tuple(sorted(labels.items())))] += value
        return [(name, dict(labels), value) for (name, labels), value in merged.items()]

    def start_publishing(self, every: float = 1.0) -> None:
        if self.directory is None:
            return

        def run() -> None:
            while True:
                time.sleep(every)
                try:
                    self.publish()
                except OSError:
                    pass

        threading.Thread(target=run, name="metrics-publish", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _number(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(samples: Iterable[Sample], helps: dict[str, tuple[str, str]] | None = None) -> str:
    """The samples as Prometheus text, grouped by family with HELP and TYPE lines."""
    helps = {**_HELP, **(helps or {})}
    families: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        name = sample[0]
        family = next((name.removesuffix(s) for s in ("_bucket", "_sum", "_count")
                       if name.endswith(s) and name.removesuffix(s) in helps), name)
        families[family].append(sample)
    lines: list[str] = []
    for family in sorted(families):
        kind, text = helps.get(family, ("gauge", family))
        lines += [f"# HELP {family} {text}", f"# TYPE {family} {kind}"]
        for name, labels, value in families[family]:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {_number(value)}" if inner
                         else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"
