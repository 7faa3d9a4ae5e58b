"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

Against a whole stack: submit through the form, watch the DAG reach completed on the same page (Server-Sent
Events, no reload), open a report in its sandboxed frame, follow the lineage to a report; sign in to a gateway
that asks for a token, and see another site's form refused. Screenshots of each step are saved in the test's tmp
folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import DEMO_REQUIREMENTS, Gateway, free_port, http, start_gateway

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
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
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
    lineage = gateway.get(f"/api/workflows/{workflow_id}/lineage")[1]
    use_cases = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#lineage td.use-case")]
    links = [link for requirement in lineage["requirements"] for link in requirement["links"]]
    assert use_cases == [f"{link['use_case_id']} {link['use_case_title']}" for link in links] and use_cases
    trace_rows = browser.find_elements(By.CSS_SELECTOR, "#trace tbody tr")
    assert len(trace_rows) == len(expected["tasks"])
    summary = gateway.get(f"/api/workflows/{workflow_id}/trace")[1]["summary"]
    shown_summary = browser.find_element(By.ID, "trace-summary").text
    assert f" · {summary['steps_completed']} steps · {summary['llm_calls']} LLM call" in shown_summary
    exports = [browser.find_element(By.ID, name).get_attribute("href") for name in ("trace-html", "trace-md")]
    base = f"{gateway.url}/api/workflows/{workflow_id}/trace"
    assert exports == [f"{base}.html", f"{base}.md?download=1"]

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


@pytest.fixture
def token_gateway(gateway: Gateway):
    """A second gateway process on the same stack, asking for a token (as it must off a loopback address)."""
    token = secrets.token_urlsafe(16)
    port = free_port()
    env = {**os.environ, "NATS_URL": gateway.stack.nats_url, "GAAI_HOME": str(gateway.home), "GAAI_WEB_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "gaai.web", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == f"gaai web: dashboard at http://127.0.0.1:{port}/"
    yield f"http://127.0.0.1:{port}", token
    process.terminate()
    process.communicate(timeout=10)


@pytest.fixture
def other_site():
    """A page on another origin whose form posts a submission to the URL given in ``?to=``, as a CSRF attack would."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = self.path.partition("?to=")[2]
            body = (
                f'<!doctype html><form id="attack" method="post" action="{target}" enctype="multipart/form-data">'
                '<input name="graph_name" value="ecommerce"><button id="send">send</button></form>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_token_form_signs_in_and_another_sites_form_is_refused(
    token_gateway, other_site: str, finished: dict, browser, tmp_path: Path
):
    url, token = token_gateway
    bearer = {"Authorization": f"Bearer {token}"}
    wait = WebDriverWait(browser, 30, poll_frequency=0.05)
    browser.delete_all_cookies()
    browser.get(url + "/")
    login = wait.until(expected_conditions.visibility_of_element_located((By.ID, "login")))
    refused = wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#view .error")))
    assert refused.text.startswith("unauthorized: ")
    assert not browser.find_elements(By.CSS_SELECTOR, "#workflows tbody tr")

    field = browser.find_element(By.ID, "token")
    field.send_keys("not-the-token")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait.until(lambda d: d.find_element(By.ID, "login-error").text == "wrong token")
    assert login.is_displayed() and browser.get_cookie("gaai_token") is None
    browser.save_screenshot(str(tmp_path / "1-wrong-token.png"))

    field.clear()
    field.send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait.until(expected_conditions.invisibility_of_element_located((By.ID, "login")))
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#workflows tbody tr"))
    status, listed = http("GET", url + "/api/workflows?limit=100", headers=bearer)
    assert status == 200
    assert [row.get_attribute("data-workflow-id") for row in rows] == [w["workflow_id"] for w in listed["workflows"]]
    assert finished["workflow_id"] in [w["workflow_id"] for w in listed["workflows"]]
    browser.save_screenshot(str(tmp_path / "2-signed-in.png"))
    cookie = browser.get_cookie("gaai_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "gaai_token" not in browser.execute_script("return document.cookie"), "page scripts cannot read the token"

    # Another origin on this machine is the same site, so the browser sends the cookie with its form; the gateway
    # refuses the request by its Origin, and no workflow is submitted.
    browser.get(f"{other_site}/?to={url}/api/workflows")
    browser.find_element(By.ID, "send").click()
    # The form's page is replaced by the gateway's answer: a body read just before that is gone when its text is.
    WebDriverWait(browser, 30, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "cross_origin" in d.find_element(By.TAG_NAME, "body").text
    )
    browser.save_screenshot(str(tmp_path / "3-other-site-refused.png"))
    assert http("GET", url + "/api/workflows?limit=100", headers=bearer)[1] == listed
    browser.delete_all_cookies()


def test_without_a_catalog_the_workflow_page_says_why_it_shows_no_lineage(browser, tmp_path: Path):
    """An orchestrator and the gateway alone: a cancelled workflow's page names the missing catalog."""
    alone = start_gateway(tmp_path / "home", agents=())
    try:
        status, reply = alone.post("/api/workflows", {"graph_name": "ecommerce", "documents": [{"content": "x"}]})
        assert status == 202, reply
        assert alone.post(f"/api/workflows/{reply['workflow_id']}/cancel", {})[0] == 200
        browser.get(f"{alone.url}/#/workflow/{reply['workflow_id']}")
        shown = WebDriverWait(browser, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "lineage-error"))
        )
        assert shown.text == (
            "The lineage is not available (no_catalog): no catalog is serving gaai.catalog.lineage; "
            "start one with 'gaai up' or 'gaai agent catalog'"
        )
        browser.save_screenshot(str(tmp_path / "no-catalog.png"))
    finally:
        alone.stack.stop()
