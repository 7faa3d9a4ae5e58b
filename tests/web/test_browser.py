"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

Against a whole stack: submit through the form, watch the DAG reach completed on the same page (Server-Sent
Events, no reload), open a report in its sandboxed frame, follow the lineage to a report. Screenshots of each
step are saved in the test's tmp folder.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from .conftest import DEMO_REQUIREMENTS, Gateway

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra has it)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def test_submit_watch_the_dag_complete_live_then_read_a_report_and_its_lineage(
    gateway: Gateway, browser, tmp_path: Path
):
    wait = WebDriverWait(browser, 60, poll_frequency=0.05)
    browser.get(gateway.url + "/#/submit")
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#graph option[value=ecommerce]")))
    document = tmp_path / "requirements.md"
    document.write_text(DEMO_REQUIREMENTS)
    Select(browser.find_element(By.ID, "graph")).select_by_value("ecommerce")
    browser.find_element(By.ID, "documents").send_keys(str(document))
    amount = browser.find_element(By.ID, "max-executions")
    amount.clear()
    amount.send_keys("2")
    browser.execute_script("window.gaaiSamePage = true")  # gone if anything reloads the page
    browser.save_screenshot(str(tmp_path / "1-submit.png"))
    browser.find_element(By.ID, "submit").click()

    wait.until(lambda driver: "#/workflow/" in driver.current_url)
    workflow_id = browser.current_url.rsplit("/", 1)[1]
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#dag g.node")))
    shown = []  # the workflow status the page shows, sampled while it runs
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown.append(browser.find_element(By.ID, "workflow-status").text)
        if shown[-1] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    browser.save_screenshot(str(tmp_path / "2-dag.png"))
    assert shown[-1] == "completed", shown[-1]
    assert shown[0] != "completed", "the workflow finished before the page showed it, so nothing moved live"
    assert browser.execute_script("return window.gaaiSamePage === true"), "the page was reloaded"
    expected = gateway.get(f"/api/workflows/{workflow_id}")[1]
    nodes = wait.until(lambda d: _all_completed(d, len(expected["tasks"])))
    assert sorted(nodes) == sorted(t["task_id"] for t in expected["tasks"])

    report_links = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "a.report-link"))
    assert [link.text for link in report_links] == [r["title"] for r in expected["reports"]]
    report_links[0].click()
    frame = browser.find_element(By.ID, "report-frame")
    assert frame.get_attribute("sandbox") == ""
    browser.switch_to.frame(frame)
    heading = wait.until(expected_conditions.presence_of_element_located((By.TAG_NAME, "h1"))).text
    browser.switch_to.default_content()
    assert expected["reports"][0]["title"] in heading
    browser.save_screenshot(str(tmp_path / "3-report.png"))

    lineage_links = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#lineage a.lineage-report"))
    target = lineage_links[-1]
    template_id = target.get_attribute("data-template-id")
    target.click()
    wait.until(lambda d: d.find_element(By.ID, "report-frame").get_attribute("src").endswith(f"/{template_id}/html"))
    browser.save_screenshot(str(tmp_path / "4-lineage.png"))
    requirement_rows = browser.find_elements(By.CSS_SELECTOR, "#lineage tr.requirement")
    assert {row.get_attribute("data-requirement-id") for row in requirement_rows} == {
        c["requirement_id"] for c in expected["coverage"]
    }
    trace_rows = browser.find_elements(By.CSS_SELECTOR, "#trace tbody tr")
    assert len(trace_rows) == len(expected["tasks"])

    browser.get(gateway.url + "/#/")
    row = wait.until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-workflow-id='{workflow_id}']"))
    )
    assert "completed" in row.text
    browser.save_screenshot(str(tmp_path / "5-workflows.png"))


def _all_completed(driver, count: int) -> list[str] | bool:
    nodes = driver.find_elements(By.CSS_SELECTOR, "#dag g.node")
    if len(nodes) != count or any(n.get_attribute("data-status") != "completed" for n in nodes):
        return False
    return [n.get_attribute("data-task-id") for n in nodes]


def test_the_graphs_page_shows_the_store(gateway: Gateway, browser, tmp_path: Path):
    browser.get(gateway.url + "/#/graphs")
    card = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "section.graph[data-graph=ecommerce]"))
    )
    graph = next(g for g in gateway.get("/api/graphs")[1]["graphs"] if g["name"] == "ecommerce")
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in card.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert rows[: len(graph["vertex_collections"])] == [
        [name, "vertices", f"{count:,}", ""] for name, count in graph["vertex_collections"].items()
    ]
    assert [row[:3] for row in rows[len(graph["vertex_collections"]) :]] == [
        [name, "edges", f"{count:,}"] for name, count in graph["edge_collections"].items()
    ]
    browser.save_screenshot(str(tmp_path / "graphs.png"))
