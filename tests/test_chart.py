"""Charts from known result files: files, sizes, bar order and heights, Korean glyphs."""

from __future__ import annotations

import ast
import json
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mqlab.report import chart, i18n, sentences

try:
    from . import chartdata
except ImportError:  # tests/ collected as a plain directory
    import chartdata  # type: ignore[no-redef]

DOCS = {
    "run-broker": chartdata.run("broker"),
    "compare": chartdata.compare(),
    "crash": chartdata.crash_test(),
    "sweep": chartdata.sweep(),
    "crash-nodes": chartdata.crash_nodes(),
    "compare-price": chartdata.compare_price(),
}
CHARTS = {
    "run-broker": ["latency", "throughput", "timeline"],
    "compare": ["latency", "throughput", "timeline"],
    "crash": ["app-kill", "worker-kill", "timeline-app-kill", "timeline-worker-kill"],
    "sweep": ["throughput"],
    # the cluster: node faults as classic against quorum; the broker on two queue types
    "crash-nodes": ["node-kill", "node-loss", "timeline-node-kill", "timeline-node-loss"],
    "compare-price": ["latency", "throughput", "timeline", "replication"],
}


# Saving a slide (PNG and SVG, 1920 × 1080) is what costs: the file tests save one document
# in each language; test_chart_layout draws every chart of every kind, in both languages.
SAVED = {"en": "run-broker", "ko": "sweep"}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One document saved in each language: English beside its file, Korean into out/."""
    base = tmp_path_factory.mktemp("charts")
    paths = {}
    for stem in SAVED.values():
        paths[stem] = base / f"{stem}.json"
        paths[stem].write_text(json.dumps(DOCS[stem]), encoding="utf-8")
    en = chart.draw([paths[SAVED["en"]]])
    with warnings.catch_warnings(record=True) as caught:  # a missing Hangul glyph warns
        warnings.simplefilter("always")
        ko = chart.draw([paths[SAVED["ko"]]], base / "out", lang="ko")
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    return {"base": base, "en": en, "ko": ko, "glyph_warnings": glyphs}


def figures(doc: dict[str, Any], lang: str = "en") -> dict[str, Figure]:
    return dict(chart.charts_for(doc, lang))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def heights(ax: Axes) -> list[float]:
    return [round(p.get_height(), 6) for p in ax.patches]  # type: ignore[attr-defined]


def colours(ax: Axes) -> list[tuple[float, float, float]]:
    return [to_rgb(p.get_facecolor()) for p in ax.patches]


def xdata(line: Line2D) -> list[float]:
    return [float(x) for x in np.asarray(line.get_xdata())]


def mode_rgb(mode: str) -> tuple[float, float, float]:
    return to_rgb(chart.MODE_COLOURS[mode])


# ---------------------------------------------------------------- files


def test_draw_writes_png_and_svg_for_every_chart(drawn: dict[str, Any]) -> None:
    base: Path = drawn["base"]
    en, ko = SAVED["en"], SAVED["ko"]
    expected_en = {base / f"{en}-{name}.{ext}" for name in CHARTS[en] for ext in ("png", "svg")}
    expected_ko = {
        base / "out" / f"{ko}-{name}-ko.{ext}" for name in CHARTS[ko] for ext in ("png", "svg")
    }
    assert set(drawn["en"]) == expected_en
    assert set(drawn["ko"]) == expected_ko
    assert all(path.is_file() for path in expected_en | expected_ko)
    for key, names in CHARTS.items():  # every other document: the same charts, not saved
        assert [name for name, _ in built(key, "en")] == names, key


def test_png_is_at_least_1920_wide_and_16_by_9(drawn: dict[str, Any]) -> None:
    for path in drawn["en"] + drawn["ko"]:
        if path.suffix == ".png":
            width, height = png_size(path)
            assert width >= 1920, path
            assert width * 9 == height * 16, path


def test_svg_is_an_svg_document(drawn: dict[str, Any]) -> None:
    for path in drawn["ko"]:
        if path.suffix == ".svg":
            text = path.read_text(encoding="utf-8")
            assert "<svg" in text and text.rstrip().endswith("</svg>")


# ---------------------------------------------------------------- chart contents


def test_latency_bars_are_in_mode_order_with_the_measured_heights() -> None:
    fig = figures(chartdata.compare(order=("broker", "sync", "thread")))["latency"]
    ax = fig.axes[0]
    expected = [chartdata.RESPONSE[m][p] for m in chart.MODES for p in chart.PERCENTILES]
    assert heights(ax) == expected
    assert [c for c in colours(ax)] == [mode_rgb(m) for m in chart.MODES for _ in range(3)]
    assert ax.get_yscale() == "log"  # 300 ms against 2 ms
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "user waits" in labels[0] and "answered at once" in labels[2]


def test_a_percentile_spoiled_by_a_late_generator_says_so_on_the_slide() -> None:
    doc = chartdata.compare()
    thread = next(r for r in doc["runs"] if r["mode"] == "thread")
    p99 = thread["summary"]["response_ms"]["p99"]
    # the generator sent the p99 request late by more than 2 ms and 10% of the p99 itself
    thread["summary"]["generator_late_ms"] = {"p50": 0.1, "p95": 0.2, "p99": p99, "max": p99}
    ax = figures(doc)["latency"].axes[0]
    texts = [t.get_text() for t in ax.texts]
    late = [t for t in texts if t.endswith(chart.LATE_MARK)]
    assert late == [chart._fmt(p99) + chart.LATE_MARK]
    assert i18n.text("late") in ax.get_xlabel()  # the mark is explained on the slide


def test_latency_stays_linear_when_values_are_close() -> None:
    ax = figures(chartdata.run("broker"))["latency"].axes[0]
    assert ax.get_yscale() == "linear"
    assert heights(ax) == [4.0, 6.0, 9.0]


def test_throughput_bars_and_ideal_lines() -> None:
    left, right = figures(chartdata.compare())["throughput"].axes
    assert heights(left) == [chartdata.E2E[m][p] for m in chart.MODES for p in chart.PERCENTILES]
    assert heights(right) == [chartdata.THROUGHPUT[m] for m in chart.MODES]
    ideals = [
        seg[0][1]
        for coll in right.collections
        if isinstance(coll, LineCollection)
        for seg in coll.get_segments()
    ]
    assert ideals == [40.0, 20.0, 20.0]  # 8 server threads, then 4 workers, ÷ 200 ms


def test_ideal_is_w_over_scan_time() -> None:
    config = {"scan_ms": 200, "workers": 4, "server_threads": 8}
    assert chart.run_ideal("sync", config) == 40.0
    assert chart.run_ideal("broker", config) == 20.0
    assert chart.run_ideal("thread", {**config, "scan_ms": 0}) is None


def test_timeline_has_one_panel_per_mode_and_marks_events() -> None:
    fig = figures(chartdata.compare())["timeline"]
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == [i18n.mode_label(m) for m in chart.MODES]
    vertical = [x[0] for x in map(xdata, axes[2].lines) if len(x) == 2 and x[0] == x[1]]
    assert vertical == [5.0, 6.0]
    assert any("worker killed" in t.get_text() for t in axes[2].texts)
    assert axes[0].get_ylim() == axes[2].get_ylim()


def test_crash_bars_per_mode_and_safety_summed_over_trials() -> None:
    ax = figures(chartdata.crash_test())["worker-kill"].axes[0]
    by_metric = {c.get_label(): [round(b.get_height()) for b in c] for c in ax.containers}
    assert list(by_metric) == list(chart.CRASH_METRICS)
    # groups: thread, broker (default), broker (auto-ack); two trials each
    assert by_metric == {
        "accepted": [200, 200, 200],
        "delivered": [126, 200, 182],
        "lost": [74, 0, 18],
        "duplicates": [0, 5, 0],
        "failed": [0, 5, 0],
        "sent_anyway": [0, 2, 0],
        "told_truth": [126, 203, 182],  # users: the thread pool's 74 never heard
    }
    lost = next(c for c in ax.containers if c.get_label() == "lost")
    assert all(to_rgb(b.get_facecolor()) == (0.0, 0.0, 0.0) for b in lost)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].startswith("in-process async") and labels[2].endswith("auto-ack")


def test_crash_bars_show_failed_and_sent_anyway_beside_lost_and_duplicates() -> None:
    fig = figures(chartdata.crash_test())["worker-kill"]
    ax = fig.axes[0]
    order = [str(c.get_label()) for c in ax.containers]
    assert order.index("sent_anyway") == order.index("duplicates") + 2
    sent = next(c for c in ax.containers if c.get_label() == "sent_anyway")
    assert sent[1].get_hatch() == "xx"  # broker default: 1 + 1 over two trials
    bold = [t for t in ax.texts if t.get_text() == "2" and t.get_fontweight() == "bold"]
    assert bold  # a harm, labelled like lost
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[-3:] == ["failed", "told failed, sent anyway", "told the truth"]
    ko = dict(built("crash", "ko"))["worker-kill"]
    assert [t.get_text() for t in ko.legends[0].get_texts()][-2:] == [
        "실패 응답 후 발송됨",
        "사실대로 알림",
    ]


def test_crash_bars_show_the_users_told_the_truth_and_n_a_in_a_file_from_before() -> None:
    figs = dict(built("crash", "en"))
    ax = figs["worker-kill"].axes[0]
    order = [str(c.get_label()) for c in ax.containers]
    told = ax.containers[order.index("told_truth")]
    assert order.index("told_truth") > order.index("lost")
    assert [round(b.get_height()) for b in told] == [126, 203, 182]
    assert all(b.get_hatch() == "oo" for b in told)
    app = figs["app-kill"].axes[0]  # its broker row comes from a file before the users were asked
    told = next(c for c in app.containers if c.get_label() == "told_truth")
    assert [b.get_height() for b in told] == [0]
    assert [t.get_text() for t in app.texts].count(i18n.text("chart.na")) == 1


def test_a_crash_file_from_before_sent_anyway_draws_zero_bars() -> None:
    doc = chartdata.crash_test()
    for row in doc["rows"]:
        del row["sent_anyway"]
    ax = figures(doc)["worker-kill"].axes[0]
    sent = next(c for c in ax.containers if c.get_label() == "sent_anyway")
    assert [b.get_height() for b in sent] == [0, 0, 0]


def test_a_node_fault_sets_classic_against_quorum_and_when_each_accepted_again() -> None:
    figs = dict(built("crash-nodes", "en"))
    counts, back = figs["node-kill"].axes
    by = {c.get_label(): [round(b.get_height()) for b in c] for c in counts.containers}
    # three trials summed, per queue type: the two are never added together
    assert by["accepted"] == [549, 1764] and by["failed"] == [1251, 36]
    assert by["lost"] == [0, 0] and by["sent_anyway"] == [0, 3] and by["told_truth"] == [1800, 1797]
    ticks = counts.get_xticklabels()
    assert [t.get_text() for t in ticks] == ["classic queue", "quorum queue"]
    assert [to_rgb(t.get_color()) for t in ticks] == [
        to_rgb(chart.QUEUE_COLOURS[k]) for k in ("classic", "quorum")
    ]
    # seconds until signups were accepted again: the median of the trials that got there
    assert [round(p.get_height(), 1) for p in back.patches] == [9.8, 0.4]
    said = [" ".join(t.get_text().split()) for t in back.texts]
    assert said == ["9.8 never in 2 of 3", "0.4"]
    lost = next(c for c in figs["node-loss"].axes[0].containers if c.get_label() == "lost")
    assert [b.get_height() for b in lost] == [138, 0]
    # the timeline: a panel per queue type, its kill and restart as the node's, not by name
    panels = [ax for ax in figs["timeline-node-kill"].axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in panels] == [
        "classic queue · trial 1",
        "quorum queue · trial 1",
    ]
    assert [t.get_text().strip() for t in panels[0].texts] == [
        "cluster node killed",
        "cluster node restarted",
    ]
    loss = next(ax for ax in figs["timeline-node-loss"].axes if ax.get_visible())
    vertical = [x[0] for x in map(xdata, loss.lines) if len(x) == 2 and x[0] == x[1]]
    assert vertical == [3.0]  # the kill; its disk lost and the node forgotten: the same moment


def test_a_file_with_node_faults_and_others_draws_both() -> None:
    doc = chartdata.crash_test()
    nodes = chartdata.crash_nodes()
    doc["rows"] += nodes["rows"]
    doc["events"] += nodes["events"]
    names = [name for name, _ in chart.charts_for(doc, "en")]
    assert names == [*CHARTS["crash"], *CHARTS["crash-nodes"]]


def test_the_price_of_replication_sets_each_queue_types_confirm_beside_its_run() -> None:
    figs = dict(built("compare-price", "en"))
    confirm, answer, rate = figs["replication"].axes
    floors = [(p50, p50 * 2.4, p50 * 4.1) for p50 in (1.32, 2.53)]
    assert heights(confirm) == [round(v, 6) for f in floors for v in f]
    assert heights(answer) == [4.0, 6.0, 9.0, 5.2, 9.1, 14.0]
    assert heights(rate) == [18.6, 17.9]
    assert colours(rate) == [to_rgb(chart.QUEUE_COLOURS[k]) for k in ("classic", "quorum")]
    # the comparison's own slides say which broker group is which
    ticks = [t.get_text() for t in figs["latency"].axes[0].get_xticklabels()]
    assert [t.split("\n")[:2] for t in ticks] == [
        ["message broker", "classic queue"],
        ["message broker", "quorum queue"],
    ]
    assert "replication" not in dict(built("compare", "en"))  # one queue type: as before


def test_skipped_crash_rows_are_shown_as_skipped_with_the_note() -> None:
    figs = figures(chartdata.crash_test())
    ax = figs["app-kill"].axes[0]
    assert len(ax.patches) == len(chart.CRASH_METRICS)  # only broker's bars; sync drew none
    assert any(
        t.get_text().startswith("skipped") and "no queue to lose" in t.get_text() for t in ax.texts
    )
    panel = figs["timeline-app-kill"].axes[0]
    assert any("no queue to lose" in t.get_text() for t in panel.texts)


def test_sweep_lines_per_mode_and_scan_kind_with_ideal() -> None:
    ax = figures(chartdata.sweep())["throughput"].axes[0]
    lines = {str(line.get_label()): list(line.get_ydata()) for line in ax.lines}  # type: ignore[arg-type]
    assert lines["in-process async (threads) · CPU-bound"] == [4.8] * 4
    assert lines["message broker · CPU-bound"] == [w * 5 * 0.9 for w in chartdata.SWEEP_WORKERS]
    assert lines[i18n.text("chart.ideal")] == [w * 5.0 for w in chartdata.SWEEP_WORKERS]


# ---------------------------------------------------------------- slide rules


_BUILT: dict[tuple[str, str], list[tuple[str, Figure]]] = {}


def built(key: str, lang: str) -> list[tuple[str, Figure]]:
    """Every chart of DOCS[key] in `lang`, built once (not drawn, not saved) for the tests
    that only look at them."""
    if (key, lang) not in _BUILT:
        _BUILT[(key, lang)] = chart.charts_for(DOCS[key], lang)
    return _BUILT[(key, lang)]


def all_figures(lang: str) -> Iterator[tuple[str, Figure]]:
    for key in DOCS:
        yield from built(key, lang)


def captions(fig: Figure) -> list[str]:
    """The sentences under the axes, unwrapped, from the top down."""
    shown = [t for t in fig.texts if t.get_gid() == chart.CAPTION_GID]
    shown.sort(key=lambda t: -t.get_position()[1])
    return [" ".join(t.get_text().split()) for t in shown]


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_chart_ends_with_one_sentence_per_mode_from_the_tables_source(lang: str) -> None:
    """The slide lays out the sentences the terminal prints: the same words, one per mode
    (compare), per mode and safety setting (crash test), per line (sweep)."""
    expected: dict[str, list[str]] = {}
    for key, doc in DOCS.items():
        if doc["kind"] == "crash-test":
            for fault in {r["fault"] for r in doc["rows"]}:
                if fault in sentences.NODE_FAULTS:  # a sentence per queue type
                    said = sentences.node_meanings(doc, fault, lang)
                else:
                    said = sentences.crash_meanings(doc, fault, lang)
                expected[f"{key}/{fault}"] = expected[f"{key}/timeline-{fault}"] = said
        elif doc["kind"] == "sweep":
            expected[f"{key}/throughput"] = sentences.sweep_meanings(doc, lang)
        else:
            runs = [doc] if doc["kind"] == "run" else doc["runs"]
            for name in CHARTS[key]:
                expected[f"{key}/{name}"] = sentences.meanings(runs, lang)
            if "replication" in CHARTS[key]:  # what each queue type cost
                expected[f"{key}/replication"] = sentences.price_meanings(runs, lang)
    found = {f"{key}/{name}": captions(fig) for key in DOCS for name, fig in built(key, lang)}
    assert set(found) == set(expected)
    for name, said in expected.items():
        assert sorted(found[name]) == sorted(" ".join(s.split()) for s in said), name
    # in the order of the bars: sync, thread, broker
    assert [c.split(":")[0] for c in found["compare/latency"]] == [
        i18n.mode_label(m, lang) for m in chart.MODES
    ]


def test_fonts_are_big_enough_for_a_projector() -> None:
    px = chart.DPI / 72
    for name, fig in all_figures("en"):
        assert fig.get_size_inches()[0] * chart.DPI >= 1920, name
        assert float(fig.texts[0].get_fontsize()) * px >= 28, name  # the title
        sentences_ = [t for t in fig.texts if t.get_gid() == chart.CAPTION_GID]
        assert sentences_, name
        for t in sentences_:  # the sentences under the axes: never below 14 pt (23 px)
            assert float(t.get_fontsize()) >= chart.CAPTION_MIN_PT >= 14, name
        for ax in fig.axes:
            for tick in ax.xaxis.get_major_ticks() + ax.yaxis.get_major_ticks():
                assert float(tick.label1.get_fontsize()) * px >= 18, name


def test_a_mode_keeps_its_colour_on_every_chart() -> None:
    figs = figures(chartdata.compare())
    bars = [to_rgb(p.get_facecolor()) for p in figs["throughput"].axes[1].patches]
    assert bars == [mode_rgb(m) for m in chart.MODES]
    neutral = {to_rgb("black"), to_rgb(chart.INK)}
    lines = [
        {to_rgb(line.get_color()) for line in ax.lines} - neutral for ax in figs["timeline"].axes
    ]
    assert lines == [{colour} for colour in bars]
    crash = figures(chartdata.crash_test())["worker-kill"].axes[0]
    delivered = next(c for c in crash.containers if c.get_label() == "delivered")
    assert [to_rgb(b.get_facecolor()) for b in delivered] == [
        mode_rgb("thread"),
        mode_rgb("broker"),
        mode_rgb("broker"),
    ]


def test_korean_charts_use_a_hangul_font_and_miss_no_glyph(drawn: dict[str, Any]) -> None:
    family = chart._hangul_family()
    found = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert "nanum" in Path(found).name.lower() or family != "NanumGothic"
    for name, fig in all_figures("ko"):
        assert fig.texts[0].get_fontfamily()[0] == family, name
        assert all(t.get_fontfamily()[0] == family for t in fig.texts), name  # sentences too
    assert drawn["glyph_warnings"] == []  # drawing every Korean slide missed no glyph


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "change",
    [
        {"format_version": 2},
        {"format_version": None},
        {"format_version": True},
        {"kind": "benchmark"},
    ],
)
def test_unknown_format_version_or_kind_raises_one_line(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        chart.charts_for(chartdata.with_changes(chartdata.run("sync"), **change), "en")
    assert "\n" not in str(info.value)


def test_draw_refuses_a_future_file_and_broken_json(tmp_path: Path) -> None:
    future = tmp_path / "future.json"
    future.write_text(json.dumps(chartdata.with_changes(chartdata.run("sync"), format_version=2)))
    with pytest.raises(ValueError, match="format_version 2"):
        chart.draw([future])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json"):
        chart.draw([broken])
    assert not list(tmp_path.glob("*.png"))


def test_malformed_and_unknown_language_are_value_errors() -> None:
    with pytest.raises(ValueError, match="malformed compare"):
        chart.charts_for(
            {"format_version": 1, "kind": "compare", "config": {}, "runs": [{"mode": "sync"}]}, "en"
        )
    with pytest.raises(ValueError, match="unknown language"):
        chart.charts_for(chartdata.run("sync"), "fr")


def test_only_the_drawing_packages_import_matplotlib() -> None:
    charts = Path(chart.__file__).parent  # mqlab/report/chart/, every module of it
    slides = charts.parent / "slides"  # mqlab/report/slides/: the deck draws its pages
    package = charts.parents[1]  # all of mqlab, every folder
    for path in package.rglob("*.py"):
        if charts in path.parents or slides in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        ]
        names += [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        ]
        assert not [n for n in names if n.split(".")[0] == "matplotlib"], path.name


# ---------------------------------------------------------------- what the load was


def test_ideal_never_exceeds_the_rate_sent_nor_the_cores_for_cpu_scans() -> None:
    config = {"scan_ms": 200, "workers": 4, "server_threads": 8, "rate": 25}
    assert chart.run_ideal("sync", config) == 25.0  # 8 ÷ 0.2 s = 40, but only 25/s came
    assert chart.run_ideal("sync", {**config, "rate": 0}) == 40.0  # a spike: no cap
    cpu = {**config, "rate": 0, "scan_kind": "cpu"}
    assert chart.run_ideal("sync", cpu, cores=2) == 10.0  # two cores scan at once, not 8
    assert chart.run_ideal("sync", {**cpu, "scan_kind": "sleep"}, cores=2) == 40.0


def test_sweep_cpu_ideal_stops_at_the_recorded_cores() -> None:
    doc = chartdata.sweep()
    doc["points"] = [p for p in doc["points"] if p["scan_kind"] == "cpu"]  # a file from before
    doc["environment"] = {**doc["environment"], "cpu_count": 2}
    ax = figures(doc)["throughput"].axes[0]
    ideal = next(line for line in ax.lines if line.get_label() == i18n.text("chart.ideal"))
    assert list(ideal.get_ydata()) == [5.0, 10.0, 10.0, 10.0]  # type: ignore[arg-type]


def test_sync_timeline_shows_its_users_waiting_and_the_title_names_the_load() -> None:
    doc = chartdata.compare_long()  # sync: backlog 0 throughout, 2000 users in flight
    fig = figures(doc)["timeline"]
    sync = fig.axes[0]
    assert "2000" in sync.get_title(loc="right")
    assert max(max(line.get_ydata()) for line in sync.lines) == 2000  # type: ignore[type-var]
    assert "spike of 2000" in fig.texts[0].get_text()
    steady = figures(chartdata.compare())["timeline"]
    assert "spike" not in steady.texts[0].get_text()
    assert "50/s" in steady.texts[0].get_text()
    ko = figures(chartdata.compare(), "ko")["timeline"]
    assert "스파이크" not in ko.texts[0].get_text() and "초당 50건" in ko.texts[0].get_text()


def test_a_timeline_from_before_in_flight_draws_the_backlog() -> None:
    doc = chartdata.compare_long()
    for r in doc["runs"]:
        for row in r["timeline"]:
            del row["in_flight"]
    sync = figures(doc)["timeline"].axes[0]
    assert sync.get_title(loc="right") == ""  # backlog 0: no peak to show, and no error


def test_the_cores_a_run_could_use_come_before_the_machine_count() -> None:
    from mqlab.measure import environment

    assert chart.cores_of({"environment": {"cpu_count": 8, "cpu_usable": 2}}) == 2
    assert chart.cores_of({"environment": {"cpu_count": 8}}) == 8  # a file from before
    assert chart.cores_of({}) is None
    usable = environment.describe()["cpu_usable"]
    assert isinstance(usable, int) and 1 <= usable <= (environment.os.cpu_count() or usable)
