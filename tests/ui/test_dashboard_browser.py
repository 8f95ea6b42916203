"""The dashboard in a real browser (Chromium through Playwright), on runs recorded by a real
worker: what each page draws is checked against what the database holds."""
from __future__ import annotations

import json

import pytest

from ui_fixtures import TOY_TASKS, query, screenshot

pytestmark = pytest.mark.slow

# The ARC palette as a browser reports it: colour 0..9
RGB = ["rgb(0, 0, 0)", "rgb(0, 116, 217)", "rgb(255, 65, 54)", "rgb(46, 204, 64)", "rgb(255, 220, 0)",
       "rgb(170, 170, 170)", "rgb(240, 18, 190)", "rgb(255, 133, 27)", "rgb(127, 219, 255)",
       "rgb(135, 12, 37)"]


def _cells(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector + " i", "els => els.map(e => getComputedStyle(e).backgroundColor)")


def test_runs_page_lists_the_recorded_runs(operator, server, recorded):
    home, main, other = recorded
    operator.goto(server + "/ui/")
    for run_id in (main, other):
        [(name, status, solved, n_tasks)] = query(
            home, "SELECT name, status, n_solved, n_tasks FROM run_summary WHERE run_id = ?", run_id)
        row = operator.locator(f"tr[data-run='{run_id}']")
        assert row.locator("td.status").inner_text() == status == "done"
        assert name in row.inner_text()
        assert row.locator("td.solved").inner_text() == f"{solved}/{n_tasks}"
        assert int(row.locator(".progress span[data-status=done]").get_attribute("data-n")) == n_tasks
    screenshot(operator, "runs")


def test_run_page_table_and_charts_match_the_database(operator, server, recorded):
    home, main, _ = recorded
    operator.goto(f"{server}/ui/runs/{main}")
    tasks = query(home, "SELECT task_id, first_solved_epoch, score, epochs_run FROM task_results "
                        "WHERE run_id = ? ORDER BY task_id", main)
    assert operator.locator("table.tasks tbody tr").count() == len(tasks) == 2
    # solved by epoch: one bar per epoch, each the tasks with a right program by then
    epochs = max(t[3] for t in tasks)
    bars = operator.locator("svg.by-epoch g.bar")
    assert bars.count() == epochs
    for e in range(epochs):
        want = sum(1 for t in tasks if t[1] is not None and t[1] <= e)
        assert bars.nth(e).get_attribute("data-value") == str(want)
    # pass@n ends at the tasks that ever had a right program
    curve = operator.locator("svg.curve")
    assert curve.get_attribute("data-final") == str(sum(1 for t in tasks if t[1] is not None))
    # the error mix adds up to every prediction
    errors = operator.eval_on_selector_all("svg.errors g.bar", "gs => gs.map(g => +g.dataset.value)")
    [(predictions,)] = query(home, "SELECT COUNT(*) FROM prediction_log WHERE run_id = ?", main)
    assert sum(errors) == predictions > 0
    assert operator.locator("svg.phases g.bar").count() == 3
    screenshot(operator, "run")
    # filter: solved only
    operator.click("a[data-filter=solved]")
    assert operator.locator("table.tasks tbody tr").count() == sum(1 for t in tasks if t[2] == 1)
    # submission.json is a link that answers with every task
    with operator.expect_download() as download:
        operator.click("text=submission.json")
    assert set(json.loads(open(download.value.path()).read())) == {t[0] for t in tasks}


def test_task_page_draws_the_grids_in_the_arc_palette(operator, server, recorded):
    home, main, _ = recorded
    task_id = "toy-1-tile"
    task = json.loads(TOY_TASKS.read_text())[task_id]
    operator.goto(f"{server}/ui/runs/{main}/tasks/{task_id}")
    train, tests = task["train"], task["test"]
    assert operator.locator("#train .grid").count() == 2 * len(train)
    # every cell of every train grid has the colour of its value
    for i, pair in enumerate(train):
        for j, key in enumerate(("input", "output")):
            got = _cells(operator, f"#train .pair[data-pair='{i}'] > figure:nth-of-type({j + 1}) .grid")
            assert got == [RGB[v] for row in pair[key] for v in row], (i, key)
    test_input = _cells(operator, "#test .pair[data-test='0'] > figure:first-child .grid")
    assert test_input == [RGB[v] for row in tests[0]["input"] for v in row]
    # the attempts as recorded, the expected output (an operator may see it)
    [(attempt_1,)] = query(home, "SELECT a.attempt_1 FROM attempts a JOIN jobs j ON j.id = a.job_id "
                                 "JOIN tasks t ON t.id = j.task_pk WHERE j.run_id = ? AND t.task_id = ?",
                           main, task_id)
    if attempt_1 is not None:
        got = _cells(operator, "#test .pair[data-test='0'] .attempts > figure:nth-of-type(1) .grid")
        assert got == [RGB[v] for row in json.loads(attempt_1) for v in row]
    solutions = json.loads((TOY_TASKS.parent / "toy_solutions.json").read_text())[task_id]
    assert _cells(operator, "#test .expected .grid") == [RGB[v] for row in solutions[0] for v in row]
    # the best program's code, highlighted
    code = operator.locator("article.program .code").first.inner_text()
    [(best,)] = query(home, "SELECT code FROM prediction_log WHERE run_id = ? AND task_id = ? AND "
                            "sample_index = ?", main, task_id,
                      int(operator.locator("article.program").first.get_attribute("data-sample")))
    assert code.strip() == best.strip() and "def transform" in code
    assert operator.locator("table.epochs tbody tr").count() == query(
        home, "SELECT COUNT(*) FROM epoch_stats WHERE run_id = ? AND task_id = ?", main, task_id)[0][0]
    screenshot(operator, "task")


ANSWER_GRIDS = """fs => fs.filter(f => f.querySelector('.grid') &&
    /^(expected|attempt [12]|test output)/.test((f.querySelector('figcaption') || {}).textContent || '')).length"""


def test_the_reader_never_sees_a_test_output(reader, operator, server, recorded):
    _, main, _ = recorded
    solutions = json.loads((TOY_TASKS.parent / "toy_solutions.json").read_text())
    for task_id in ("toy-1-tile", "toy-2-flip_horizontal"):
        url = f"{server}/ui/runs/{main}/tasks/{task_id}"
        operator.goto(url)
        reader.goto(url)
        n_tests = len(solutions[task_id])
        # the same page less every grid that answers a test input: the expected output, the
        # attempts and the programs' test outputs (a right one is the expected output)
        assert operator.locator(".expected .grid").count() == n_tests
        assert reader.locator(".expected").count() == 0
        answers = operator.eval_on_selector_all("figure.grid-box", ANSWER_GRIDS)
        assert answers >= 2 * n_tests
        assert reader.eval_on_selector_all("figure.grid-box", ANSWER_GRIDS) == 0
        assert reader.locator(".grid").count() == operator.locator(".grid").count() - answers
        captions = reader.eval_on_selector_all("figcaption", "fs => fs.map(f => f.textContent)")
        assert not any("expected" in c for c in captions)
        assert "operator only" in reader.inner_text("main")
    assert "reader" in reader.inner_text("header .who")


def test_compare_page_splits_the_tasks(operator, server, recorded):
    home, main, other = recorded
    operator.goto(f"{server}/ui/compare?a={main}&b={other}")
    solved = {run: {t for (t,) in query(home, "SELECT task_id FROM task_results WHERE run_id = ? AND score = 1", run)}
              for run in (main, other)}
    assert int(operator.inner_text("#only_a .n")) == len(solved[main] - solved[other])
    assert int(operator.inner_text("#only_b .n")) == len(solved[other] - solved[main])
    assert int(operator.inner_text("#both .n")) == len(solved[main] & solved[other])
    assert operator.locator("table.compare-table tbody tr").count() == 2
    screenshot(operator, "compare")


def test_a_missing_run_is_a_404_page(operator, server):
    response = operator.goto(f"{server}/ui/runs/987654")
    assert response.status == 404
    assert "run 987654 not found" in operator.inner_text("main")


def test_docs_lists_the_endpoints_offline(browser, server):
    """Swagger UI's files come from the API itself: with every other host blocked, /docs still
    draws the endpoints."""
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent)")
    assert {"/runs", "/runs/{run_id}", "/runs/{run_id}/submission", "/health"} <= {p.replace("\u200b", "") for p in paths}
    assert outside == []
    context.close()
