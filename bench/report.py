"""
Reporting: the results tables, the ratios, the plot and the profile summary.

Used by ``bench/run.py``; also runnable on a saved result to redraw the plot
or re-summarise a py-spy profile:

    .venv/bin/python bench/report.py bench/results/<run>.json --plot docs/benchmarks.png
    .venv/bin/python bench/report.py --profile bench/results/<run>-project.pyspy.txt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def label(run: dict) -> str:
    return f"{run['target']} x{run['processes']}"


# Targets the others are compared with: the tutorial-style baseline (message
# figures) and the do-nothing consumer (connects and memory).
BASELINE = "baseline"
CEILING = "ceiling"


def _pairing(run: dict) -> tuple:
    """Runs with the same key ran in the same repeat of the same invocation."""
    return (run.get("batch"), run.get("repeat", 0), run["processes"])


def _same_repeat(runs: list[dict], target: str) -> dict:
    return {_pairing(run): run for run in runs if run["target"] == target}


def _of_ceiling(run: dict, ceilings: dict) -> tuple[float | None, float | None]:
    """This run's connects/s as a percentage of the ceiling's in the same repeat, and its KB/socket as a multiple."""
    ceiling = ceilings.get(_pairing(run))
    if ceiling is None or run["target"] == CEILING:
        return None, None
    connects, ceiling_connects = run["connect"]["connects_per_s"], ceiling["connect"]["connects_per_s"]
    return (
        round(100 * connects / ceiling_connects, 1) if connects is not None and ceiling_connects else None,
        _ratio(run["memory"]["kb_per_socket"], ceiling["memory"]["kb_per_socket"]),
    )


def _loadgen_cpu(cpu: dict) -> str:
    """The load generator's CPU; with several processes, the busiest one's in brackets."""
    total = _fmt(cpu.get("loadgen_percent"))
    if cpu.get("loadgen_processes", 1) > 1:
        return f"{total} ({_fmt(cpu.get('loadgen_busiest_percent'))})"
    return total


CONNECT_HEADER = [
    "target", "procs", "sockets", "connected", "connects/s", "% of ceiling", "handshake p50 ms",
    "handshake p99 ms", "KB/socket", "x ceiling", "server CPU%", "loadgen CPU%",
]  # fmt: skip


def connect_rows(runs: list[dict]) -> list[list[str]]:
    """One row per run: opening the sockets, and what each costs the server in memory."""
    ceilings = _same_repeat(runs, CEILING)
    rows = []
    for run in runs:
        connect = run["connect"]
        percent, times = _of_ceiling(run, ceilings)
        cpu = connect.get("cpu", {})
        rows.append(
            [
                run["target"],
                str(run["processes"]),
                _fmt(connect["sockets"]),
                _fmt(connect["connected"]),
                _fmt(connect["connects_per_s"]),
                "-" if percent is None else f"{percent:.1f} %",
                _fmt(connect["handshake_ms"]["p50"]),
                _fmt(connect["handshake_ms"]["p99"]),
                _fmt(run["memory"]["kb_per_socket"]),
                "-" if times is None else f"{times:.2f}x",
                _fmt(cpu.get("server_percent")),
                _loadgen_cpu(cpu) if cpu else "-",
            ]
        )
    return rows


LOAD_HEADER = [
    "target", "procs", "phase", "msgs/s", "deliveries/s", "p50 ms", "p99 ms", "max ms", "lost", "unacked",
    "server CPU%", "server ms/msg", "loadgen CPU%", "DB+Redis CPU%", "other CPU%",
]  # fmt: skip


def server_ms_per_message(phase: dict) -> float | None:
    """
    Server CPU per message sent (ms): what a saturated server's throughput
    follows. The same code reads up to twice as much on one day as on
    another on this kind of shared virtual machine, with nothing else running
    in it (docs/benchmarks.md, "The two harnesses"): read deliveries/s
    together with it, and compare targets within one invocation.
    """
    percent, rate = phase.get("cpu", {}).get("server_percent"), phase.get("messages_per_s")
    return round(10 * percent / rate, 2) if percent is not None and rate else None


def load_rows(runs: list[dict]) -> list[list[str]]:
    """One row per message phase; a target without one (the ceiling) gets a row of "-"."""
    rows = []
    for run in runs:
        if not run["phases"]:
            rows.append([run["target"], str(run["processes"])] + ["-"] * (len(LOAD_HEADER) - 2))
        for phase in run["phases"]:
            latency = phase["latency_ms"]
            cpu = phase["cpu"]
            rows.append(
                [
                    run["target"],
                    str(run["processes"]),
                    phase["phase"],
                    _fmt(phase["messages_per_s"]),
                    _fmt(phase["deliveries_per_s"]),
                    _fmt(latency["p50"]),
                    _fmt(latency["p99"]),
                    _fmt(latency["max"]),
                    _fmt(phase["lost"]),
                    _fmt(phase["ack_timeouts"] + phase["unacked_at_end"]),
                    _fmt(cpu.get("server_percent")),
                    _fmt(server_ms_per_message(phase), 2),
                    _loadgen_cpu(cpu) if cpu else "-",
                    _fmt(cpu.get("db_and_redis_percent")),
                    _fmt(cpu.get("background_percent")),
                ]
            )
    return rows


IDLE_HEADER = [
    "target", "procs", "sockets", "connected", "connects/s", "% of ceiling", "handshake p50 ms",
    "handshake p99 ms", "RSS before MB", "RSS after MB", "KB/socket", "x ceiling", "closed while idle",
    "probe lost", "probe p50 ms", "probe p99 ms",
]  # fmt: skip


def idle_rows(runs: list[dict]) -> list[list[str]]:
    ceilings = _same_repeat(runs, CEILING)
    rows = []
    for run in runs:
        memory = run["memory"]
        probe = run["phases"][0] if run["phases"] else {}
        percent, times = _of_ceiling(run, ceilings)
        rows.append(
            [
                run["target"],
                str(run["processes"]),
                _fmt(run["connect"]["sockets"]),
                _fmt(run["connect"]["connected"]),
                _fmt(run["connect"]["connects_per_s"]),
                "-" if percent is None else f"{percent:.1f} %",
                _fmt(run["connect"]["handshake_ms"]["p50"]),
                _fmt(run["connect"]["handshake_ms"]["p99"]),
                _fmt(memory["rss_before_bytes"] / 2**20),
                _fmt(memory["rss_after_bytes"] / 2**20),
                _fmt(memory["kb_per_socket"]),
                "-" if times is None else f"{times:.2f}x",
                _fmt(run["closed_while_idle"]),
                _fmt(probe.get("lost")),
                _fmt(probe.get("latency_ms", {}).get("p50")),
                _fmt(probe.get("latency_ms", {}).get("p99")),
            ]
        )
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _max_phase(run: dict) -> dict | None:
    return next((p for p in run["phases"] if p["phase"] == "max"), None)


def _figures(run: dict) -> dict:
    """The headline figures of one run (its max phase for load runs)."""
    phase = _max_phase(run) or (run["phases"][0] if run["phases"] else {})
    return {
        "deliveries_per_s": phase.get("deliveries_per_s") if run.get("mode") != "idle" else None,
        "p99_latency": phase.get("latency_ms", {}).get("p99") if run.get("mode") != "idle" else None,
        "connects_per_s": run["connect"]["connects_per_s"],
        "handshake_p50": run["connect"]["handshake_ms"]["p50"],
        "kb_per_socket": run["memory"]["kb_per_socket"],
        "lost": phase.get("lost"),
    }


def _median(values: list) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _spread(values: list) -> dict | None:
    """Median, lowest and highest of the values that exist."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": round(_median(present), 2), "min": min(present), "max": max(present), "n": len(present)}


def ratios(runs: list[dict]) -> dict:
    """
    Every target against the baseline (deliveries/s, connects/s, memory, p99)
    and against the ceiling (connects/s as a percentage of its, memory as a
    multiple of its), at each process count; and each target's scaling. Each
    ratio is taken within a repeat (the targets ran one after the other) and,
    with several repeats, given as the median and spread of those ratios.
    """
    baselines = _same_repeat(runs, BASELINE)
    ceilings = _same_repeat(runs, CEILING)
    out: dict = {"over_baseline": {}, "of_ceiling": {}, "scaling": {}}
    grouped: dict = {}
    for run in runs:
        grouped.setdefault((run["target"], run["processes"]), []).append(run)
    for (target, processes), mine in grouped.items():
        name = f"{target} x{processes}"
        if target not in (BASELINE, CEILING):
            pairs = [(_figures(run), _figures(baselines[_pairing(run)])) for run in mine if _pairing(run) in baselines]
            entry = {
                figure: _pick([_ratio(a[figure], b[figure]) for a, b in pairs])
                for figure in ("deliveries_per_s", "connects_per_s", "kb_per_socket", "p99_latency")
            }
            entry = {k: v for k, v in entry.items() if v is not None}
            if entry:
                out["over_baseline"][name] = entry
        if target != CEILING:
            shares = [_of_ceiling(run, ceilings) for run in mine if _pairing(run) in ceilings]
            entry = {
                "connects_percent": _pick([percent for percent, _ in shares]),
                "kb_per_socket": _pick([times for _, times in shares]),
            }
            entry = {k: v for k, v in entry.items() if v is not None}
            if entry:
                out["of_ceiling"][name] = entry
    for target in sorted({t for t, _ in grouped}):
        if target == CEILING:
            continue
        counts = sorted(p for t, p in grouped if t == target)
        first = {(run.get("batch"), run.get("repeat", 0)): run for run in grouped[(target, counts[0])]}
        for processes in counts[1:]:
            value = _pick([
                _ratio(_figures(run)["deliveries_per_s"], _figures(first[key])["deliveries_per_s"])
                for run in grouped[(target, processes)]
                if (key := (run.get("batch"), run.get("repeat", 0))) in first
            ])  # fmt: skip
            if value is not None:
                out["scaling"][f"{target} x{processes} / x{counts[0]}"] = value
    return out


def _pick(values: list):
    """One value as is; several as their spread (median, min, max); None if none."""
    present = [v for v in values if v is not None]
    if len(present) <= 1:
        return present[0] if present else None
    return _spread(present)


SUMMARY_HEADER = [
    "target", "procs", "runs", "deliveries/s median (range)", "connects/s", "handshake p50 ms", "KB/socket",
    "p99 ms (max phase)", "lost",
]  # fmt: skip


def summary_rows(runs: list[dict]) -> list[list[str]]:
    """Per target and process count: each figure's median and range over the repeats."""
    grouped: dict = {}
    for run in runs:
        grouped.setdefault((run["target"], run["processes"]), []).append(_figures(run))
    rows = []
    for (target, processes), figures in grouped.items():
        row = [target, str(processes), str(len(figures))]
        for name in ("deliveries_per_s", "connects_per_s", "handshake_p50", "kb_per_socket", "p99_latency"):
            spread = _spread([f[name] for f in figures])
            row.append("-" if spread is None else f"{_fmt(spread['median'])} ({_fmt(spread['min'])}-{_fmt(spread['max'])})")
        lost = [f["lost"] for f in figures if f["lost"] is not None]
        row.append(_fmt(sum(lost)) if lost else "-")
        rows.append(row)
    return rows


def _ratio(a, b) -> float | None:
    if a is None or b in (None, 0):
        return None
    return round(a / b, 2)


def ratio_lines(result: dict) -> list[str]:
    lines = []
    for name, entry in result.get("over_baseline", {}).items():
        target, _, processes = name.rpartition(" ")
        parts = [f"{figure} {_ratio_text(value)}" for figure, value in entry.items()]
        lines.append(f"{target} / baseline ({processes}): " + ", ".join(parts))
    for name, entry in result.get("of_ceiling", {}).items():
        target, _, processes = name.rpartition(" ")
        parts = []
        if "connects_percent" in entry:
            parts.append("connects/s " + _ratio_text(entry["connects_percent"], unit=" %") + " of the ceiling's")
        if "kb_per_socket" in entry:
            parts.append("KB/socket " + _ratio_text(entry["kb_per_socket"]) + " the ceiling's")
        lines.append(f"{target} / ceiling ({processes}): " + ", ".join(parts))
    for name, value in result.get("scaling", {}).items():
        lines.append(f"scaling {name}: deliveries/s {_ratio_text(value)}")
    return lines


def _ratio_text(value, unit: str = "x") -> str:
    if isinstance(value, dict):
        return f"{value['median']}{unit} (median of {value['n']}, {value['min']}-{value['max']}{unit})"
    return f"{value}{unit}"


def plot_title(result: dict) -> str:
    config, machine, services = result["config"], result["machine"], result["services"]
    database = services["database"].split(" (")[0]
    source = " ".join(dict.fromkeys(result.get("source", "").split()))  # "git x x" -> "git x"
    return (
        f"{config['rooms']} rooms x {config['members']} members, S={config['senders']}, "
        f"W={config['window']}, T={config['seconds']:g} s; {database}, "
        f"{services['channel_layer']}; daphne; {machine['cpus']} CPUs ({source})"
    )


COLOURS = {"project": "tab:blue", "original": "tab:cyan", "baseline": "tab:grey", "ceiling": "tab:green"}


def _median_bars(axis, groups: dict, value, ylabel: str, title: str) -> None:
    """One bar per target and process count: the median over its runs, the range as an error bar."""
    names = list(groups)
    values = [[value(run) or 0 for run in groups[name]] for name in names]
    medians = [_median(v) for v in values]
    errors = [[m - min(v) for m, v in zip(medians, values)], [max(v) - m for m, v in zip(medians, values)]]
    repeated = any(len(v) > 1 for v in values)
    bars = axis.bar(
        names, medians, color=[COLOURS.get(groups[name][0]["target"], "tab:purple") for name in names],
        yerr=errors if repeated else None, capsize=3,
    )  # fmt: skip
    axis.bar_label(bars, labels=[f"{m:,.0f}" for m in medians], fontsize=8, label_type="center")
    axis.set_ylabel(ylabel)
    axis.set_title(title + ("\n(median, range over the repeats)" if repeated else ""), fontsize=10)
    axis.tick_params(axis="x", labelsize=8, labelrotation=30)


def plot(runs: list[dict], path: Path, title: str = "") -> None:
    """Deliveries/s, latency percentiles and connects/s per target and process count (medians over repeats)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    load_runs = [run for run in runs if any(p["phase"] == "max" for p in run["phases"])]
    if not load_runs:
        return
    by_label: dict = {}
    for run in load_runs:
        by_label.setdefault(label(run), []).append(run)
    figure, (left, middle, right) = plt.subplots(
        1, 3, figsize=(14, 4.4), gridspec_kw={"width_ratios": [1, 1.6, 1]}
    )

    _median_bars(
        left, by_label, lambda run: _max_phase(run)["deliveries_per_s"],
        "deliveries / s (higher is better)", "Throughput, window W (max phase)",
    )  # fmt: skip

    series = []
    for name, group in by_label.items():
        for phase_name in ("max", "half"):
            phases = [p for run in group for p in run["phases"] if p["phase"] == phase_name]
            if phases:
                latency = {key: _median([p["latency_ms"][key] for p in phases]) for key in ("p50", "p99", "max")}
                series.append((f"{name.replace(' ', chr(10))} {phase_name}", latency))
    width = 0.27
    positions = range(len(series))
    for offset, (key, colour) in zip(
        (-width, 0, width), (("p50", "tab:green"), ("p99", "tab:orange"), ("max", "tab:red"))
    ):
        values = [max(entry[1][key] or 0, 0.01) for entry in series]
        middle.bar([x + offset for x in positions], values, width, label=key, color=colour)
    middle.set_xticks(list(positions), [entry[0] for entry in series], fontsize=7)
    middle.set_yscale("log")
    middle.set_ylabel("send to receipt, ms (log; lower is better)")
    middle.set_title("Latency: max phase, and paced at half its rate", fontsize=10)
    middle.legend(fontsize=8)

    # Connects: every run, the ceiling (which sends nothing) included.
    connect_runs: dict = {}
    for run in runs:
        if run.get("mode") != "idle":
            connect_runs.setdefault(label(run), []).append(run)
    concurrency = {run["connect"].get("concurrency") for group in connect_runs.values() for run in group}
    in_flight = f"{concurrency.pop()} handshakes in flight" if len(concurrency) == 1 else "handshakes in flight as set"
    _median_bars(
        right, connect_runs, lambda run: run["connect"]["connects_per_s"],
        "sockets opened / s (higher is better)", f"Connects, {in_flight}",
    )  # fmt: skip

    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- py-spy ------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail if marker == "site-packages/" else "stdlib/" + tail.split("/", 1)[-1]
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['func']} ({_short_path(match['file'])})"


def _package(frame_name: str) -> str:
    match = re.search(r"\(([^)]*)\)$", frame_name)
    path = match[1] if match else frame_name
    if path.startswith("stdlib/"):
        return "stdlib/" + path.split("/")[1].removesuffix(".py")
    return path.split("/")[0].removesuffix(".py")


def profile_summary(raw_path: Path, top: int = 10) -> dict:
    """Top frames by own samples and by inclusive samples, and own samples per package."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    packages: Counter = Counter()
    threads: Counter = Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        thread = next((f for f in frames if f.startswith("thread ")), "thread ?")
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += samples
        # Name a thread by what it runs: the event loop or the sync_to_async worker.
        threads["event loop" if any("Server.run (daphne" in f for f in frames) else
                "worker threads" if any("_worker (" in f for f in frames) else thread] += samples
        own[frames[-1]] += samples
        packages[_package(frames[-1])] += samples
        for frame in set(frames):
            inclusive[frame] += samples

    def share(counter: Counter) -> list[dict]:
        return [
            {"frame": name, "samples": n, "percent": round(100 * n / total, 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "own": share(own),
        "inclusive": share(inclusive),
        "packages": share(packages),
        "threads": share(threads),
    }


def profile_text(summary: dict) -> str:
    out = [f"{summary['samples']} samples (active threads only)"]
    for key, title in (
        ("threads", "thread"),
        ("own", "own time"),
        ("packages", "own time by package"),
        ("inclusive", "inclusive"),
    ):
        out.append(f"top by {title}:")
        out += [f"  {item['percent']:5.1f}%  {item['frame']}" for item in summary.get(key, [])]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="*", type=Path, help="result JSON files from bench/run.py")
    parser.add_argument("--plot", type=Path, help="write the PNG here")
    parser.add_argument("--profile", type=Path, help="summarise a py-spy raw profile")
    args = parser.parse_args()
    runs = []
    title = ""
    for batch, path in enumerate(args.results):
        result = json.loads(path.read_text())
        for run in result["runs"]:
            run["batch"] = batch  # ratios pair runs of the same file and repeat only
        runs += result["runs"]
        title = title or plot_title(result)
    if runs:
        load = [r for r in runs if r["mode"] == "load"]
        idle = [r for r in runs if r["mode"] == "idle"]
        if load:
            print(text_table(CONNECT_HEADER, connect_rows(load)))
            print()
            print(text_table(LOAD_HEADER, load_rows(load)))
        if idle:
            print(text_table(IDLE_HEADER, idle_rows(idle)))
        for group in (load, idle):
            if group:
                print("\n".join(ratio_lines(ratios(group))))
        if args.plot:
            plot(load, args.plot, title=title)
    if args.profile:
        print(profile_text(profile_summary(args.profile)))


if __name__ == "__main__":
    main()
