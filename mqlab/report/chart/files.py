"""Result files in, slide files out: read and check a result, pick its charts, save them.

`draw` is what `mqlab chart` calls; `charts_for` returns the figures without saving them
(the tests look at those). Reading and the format checks are `mqlab.measure.results`'
own; this module adds only what is chart-specific: which kinds have charts, a JSON `true`
refused as a version, and a `BadChart` (a ValueError) naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from mqlab.errors import BadInput
from mqlab.measure import results
from mqlab.report import i18n
from mqlab.report.chart.nodes import crash_test_charts
from mqlab.report.chart.runs import run_charts
from mqlab.report.chart.style import DPI, BadChart, Chart, Result, families, rc
from mqlab.report.chart.sweep import sweep_charts

FORMAT_VERSION = results.FORMAT_VERSION
KINDS = ("run", "compare", "crash-test", "sweep")  # the kinds with charts (not bench, calibration)


def draw(paths: Sequence[Path], out_dir: Path | None = None, lang: str = "en") -> list[Path]:
    """Draw every chart of every result file; return the PNG and SVG files written.

    Files go to `out_dir`, or beside each result file when it is None, named
    `<result stem>-<chart>.png|svg` (`-<chart>-ko` for Korean).
    """
    i18n.check_lang(lang)
    written: list[Path] = []
    for path in paths:
        result = load(path)
        try:
            charts = charts_for(result, lang)
        except BadChart as exc:
            raise BadChart(f"{path}: {exc}") from exc
        target = out_dir if out_dir is not None else path.parent
        target.mkdir(parents=True, exist_ok=True)
        suffix = "" if lang == "en" else f"-{lang}"
        for name, fig in charts:
            written += _save(fig, target / f"{path.stem}-{name}{suffix}", lang)
    return written


def charts_for(result: Result, lang: str) -> list[Chart]:
    """(name, figure) for each chart a result holds; figures are not saved."""
    i18n.check_lang(lang)
    kind = validate(result)["kind"]
    builders: dict[str, Callable[[Result, str], list[Chart]]] = {
        "run": run_charts,
        "compare": run_charts,
        "crash-test": crash_test_charts,
        "sweep": sweep_charts,
    }
    with matplotlib.rc_context(rc(lang)):
        try:
            charts = builders[kind](result, lang)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise BadChart(f"malformed {kind} result ({type(exc).__name__}: {exc})") from exc
        for _, fig in charts:
            for ax in fig.axes:
                ax.tick_params(which="both", labelfontfamily=families(lang))
    return charts


def _save(fig: Figure, base: Path, lang: str) -> list[Path]:
    png = base.with_name(base.name + ".png")
    svg = base.with_name(base.name + ".svg")
    with matplotlib.rc_context(rc(lang)):
        fig.savefig(png, format="png", dpi=DPI)
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


def load(path: Path) -> Result:
    """Read and check one result file; anything unreadable is one ValueError line."""
    try:
        data = results.load(path)
    except BadInput as exc:
        # results names the file when it cannot read it, not when it refuses the version
        message = str(exc)
        raise BadChart(message if str(path) in message else f"{path}: {message}") from exc
    return validate(data, str(path))


def validate(result: object, source: str = "result") -> Result:
    """Refuse what this version cannot draw: an unknown format_version or kind (results.check),
    a kind without charts, and a version of JSON `true` (which Python counts as 1)."""
    if not isinstance(result, dict):
        raise BadChart(f"{source}: not an mqlab result (expected a JSON object)")
    version = result.get("format_version")
    if isinstance(version, bool):
        raise BadChart(
            f"{source}: unsupported result format_version {version!r} "
            f"(this mqlab reads {FORMAT_VERSION})"
        )
    try:
        results.check(result)
    except BadInput as exc:
        raise BadChart(f"{source}: {exc}") from exc
    if result["kind"] not in KINDS:
        raise BadChart(f"{source}: a {result['kind']} result has no charts ({', '.join(KINDS)} do)")
    return result
