"""What `mqlab lesson` shows in the terminal: the list of lessons, a lesson's question, and
after the measurement its own table (the same one `compare`, `crash-test` or `sweep`
prints), the prediction beside the measured value, the verdict and the takeaway.

Built from lesson documents and settings with the words of `lessontext`; printed on
`render`'s console, like every other table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from mqlab.report import lessontext as words
from mqlab.report import render
from mqlab.report.i18n import mode_label, text

Doc = Mapping[str, Any]


def print_lessons(rows: Sequence[Doc], lang: str = "en") -> None:
    """The list, a few lines per lesson: its number and claim, its question, its commands
    (never wrapped: they are to be copied) and its chart."""
    out = render.console
    out.print(f"[bold]{escape(text('lesson.list.title', lang))}[/]")
    for row in rows:
        key, config = row["key"], row["config"]
        chart = words.chart_words(key, lang)
        chart += f" ({row['chart']})" if row["chart"] else f" ({text('lesson.chart.own', lang)})"
        question = f"{words.question(key, config, lang)} {words.ask(key, config, lang)}"
        out.print(f"\n[bold]{row['number']}. {escape(words.claim(key, lang))}[/]")
        out.print(Padding(escape(question), (0, 0, 0, 3)))
        for command in row["commands"]:
            out.print(f"   [cyan]$ {escape(command)}[/]", soft_wrap=True)
        out.print(
            Padding(f"[dim]{text('lesson.col.chart', lang)}: {escape(chart)}[/]", (0, 0, 0, 3))
        )
    out.print(f"\n[dim]{escape(text('lesson.list.hint', lang))}[/]")


def print_running(number: int, key: str, of: int, lang: str = "en") -> None:
    """While `mqlab slides` runs the lessons: which one runs now (on stderr)."""
    render.err_console.print(f"[bold]{number}/{of} {escape(words.title(number, key, lang))}[/]")


def print_question(number: int, key: str, config: Doc, asked: Doc, lang: str = "en") -> None:
    """The lesson's title, its question, and what the student is asked to predict."""
    render.console.print(f"\n[bold]{escape(words.title(number, key, lang))}[/]")
    render.console.print(
        f"[dim]{escape(words.source(key, lang))}[/]\n"
        f"{text('lesson.question', lang)}: {escape(words.question(key, config, lang))}"
    )
    render.console.print(f"[bold]{escape(words.ask(key, config, lang))}[/]")
    if asked["kind"] == "choice":
        render.console.print("  " + escape(words.options_line(list(asked["options"]), lang)))


def prompt(asked: Doc, lang: str) -> str:
    """The prompt's text: "Your prediction [0-40 jobs]"."""
    return f"{text('lesson.predict', lang)} {words.range_hint(asked, lang)}"


def print_bad_answer(asked: Doc, lang: str = "en") -> None:
    render.console.print(f"[yellow]{escape(words.bad_answer(asked, lang))}[/]")


def comparison_table(doc: Doc, lang: str) -> Table:
    """The prediction beside the measured value, on one row named by what it is."""
    table = Table()
    table.add_column("")
    table.add_column(text("lesson.you", lang), justify="right")
    table.add_column(text("lesson.measured", lang), justify="right", style="bold")
    you = escape(words.predicted(doc, lang))
    right = words.right(doc)
    if right is not None:
        mark = (
            "[green]✓ " + text("lesson.right", lang)
            if right
            else "[yellow]✗ " + text("lesson.wrong", lang)
        )
        you += f" {mark}[/]"
    table.add_row(escape(words.value_words(doc, lang)), you, escape(words.measured(doc, lang)))
    return table


def price_table(doc: Doc, lang: str) -> Table:
    """What each mode costs to run: processes, memory, start-up, the median answer."""
    table = Table(title=words.chart_words("price", lang), title_justify="left")
    table.add_column(text("col.mode", lang), style="bold")
    table.add_column("")  # the part: app server, workers, RabbitMQ; and its processes
    for key in ("slides.memory", "slides.startup", "col.response_p50"):
        table.add_column(text(key, lang), justify="right")
    for m in doc["result"]["modes"]:
        for i, part in enumerate(m["parts"]):
            processes = part["processes"]
            count = "-" if processes is None else _processes(processes, lang)
            table.add_row(
                mode_label(m["mode"], lang) if i == 0 else "",
                f"{text('slides.part.' + part['part'], lang)} · {count}",
                words.fmt(part["rss_mb"]),
                words.fmt(part["startup_s"]),
                words.fmt(m["summary"]["response_ms"]["p50"]) if i == 0 else "",
            )
    return table


def _processes(n: int, lang: str) -> str:
    key = "slides.processes.one" if n == 1 else "slides.processes"
    return text(key, lang).format(n=n)


def print_outcome(doc: Doc, lang: str = "en") -> None:
    """After the measurement: its own table, the prediction beside it, the takeaway."""
    result = doc["result"]
    core = doc["lesson"]["core"]
    if core == "compare":
        render.print_runs(result["runs"], lang)
    elif core == "crash-test":
        render.print_crash(result, lang)
    elif core == "sweep":
        render.print_sweep(result, lang)
    else:
        render.console.print(price_table(doc, lang))
        if result.get("calibration"):
            render.print_floors(result["calibration"], lang)
        for note in result.get("notes", []):
            render.console.print(f"[yellow]{escape(note)}[/]")
    render.console.print(comparison_table(doc, lang))
    colour = {"holds": "green", "partly": "yellow"}.get(doc["measured"]["verdict"], "red")
    render.console.print(
        f"[bold {colour}]{escape(words.verdict(doc, lang))}[/] · "
        f"[dim]{escape(words.took(doc, lang))}[/]"
    )
    render.console.print(
        f"[bold]{text('lesson.takeaway', lang)}:[/] {escape(words.takeaway(doc, lang))}"
    )
    note = words.busy(doc, lang)
    if note:
        render.console.print(f"[yellow]{escape(note)}[/]")
