"""The workbench in a real browser: Chromium driven by Selenium through the steps a business user
takes (issue 16, point 5). Run by Tests/EndToEndTests/StudioBrowserTests.swift, which starts
`redress studio` on a copy of rules/shop and works out what the command line says for the same
input; this script fails (exit 1, with the step and the reason) when the page says otherwise.
A screenshot of each step is written to --screenshots.
"""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

MISSPELT = "# S1: the mission sentence, verbatim (anonymous rule `mission:1`)\n" \
           "when shipment.dealy > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ruleset", required=True, help="the rule set's directory (to read what was saved)")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--chromedriver", required=True)
    parser.add_argument("--expected-total", required=True, help="what `redress simulate` prints as the projected cost")
    parser.add_argument("--expected-delta", required=True, help="what `redress diff` prints as the cost's change")
    parser.add_argument("--markup-file", required=True, help="a rule file whose name is markup, to be shown as text")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1100",
                 "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    step_number = [0]

    def step(name):
        step_number[0] += 1
        print(f"step {step_number[0]}: {name}", flush=True)

    def shot(name):
        driver.save_screenshot(os.path.join(args.screenshots, f"{step_number[0]:02d}-{name}.png"))

    def wait_for(condition, what, timeout=60):
        # A list the page renders again while a condition reads it (the problems, as the checker
        # answers) leaves the condition holding elements that are gone: asked again at the next
        # poll, not a failure (it failed a CI run once: StaleElementReferenceException).
        try:
            return WebDriverWait(driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
        except TimeoutException:
            shot("failed")
            status = driver.find_element(By.ID, "status").text
            raise AssertionError(f"timed out waiting for {what} (status line: {status!r})")

    def text_of(element_id):
        return driver.find_element(By.ID, element_id).text

    def open_file(name):
        buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, "#file-list button") if b.get_attribute("data-file") == name]
        assert buttons, f"{name} is not in the list of rule files"
        buttons[0].click()
        wait_for(lambda: text_of("current-file") == name, f"{name} in the editor")

    def tab(name):
        driver.find_element(By.CSS_SELECTOR, f'.tabs button[data-tab="{name}"]').click()

    try:
        step("open the workbench")
        driver.get(args.url)
        wait_for(lambda: text_of("status").startswith("Opened"), "the rule set to open")
        names = [b.get_attribute("data-file") for b in driver.find_elements(By.CSS_SELECTOR, "#file-list button")]
        assert "mission.rules" in names and "delivery.rules" in names, f"rule files listed: {names}"
        # A file named like markup is shown as its name, and nothing of it runs.
        assert args.markup_file in names, f"{args.markup_file!r} not listed as text: {names}"
        shown = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#file-list button")]
        assert any(text.startswith(args.markup_file) for text in shown), f"the markup file name is not shown as text: {shown}"
        assert len(driver.find_elements(By.TAG_NAME, "script")) == 1, "a script element was added to the page"
        shot("opened")

        step("type the mission rule with a misspelt field")
        open_file("mission.rules")
        source = driver.find_element(By.ID, "source")
        source.click()
        source.send_keys(Keys.CONTROL, "a")
        source.send_keys(Keys.DELETE)
        source.send_keys(MISSPELT)
        assert source.get_attribute("value") == MISSPELT, f"the editor holds {source.get_attribute('value')!r}"

        def misspelling_reported():
            for item in driver.find_elements(By.CSS_SELECTOR, "#problems li.error"):
                if "E0201" in item.text and "did you mean `shipment.delay`?" in item.text and "mission.rules:2:6" in item.text:
                    return item
            return None
        problem = wait_for(misspelling_reported, "the diagnostic with its suggestion")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#highlight .d-error"), "the misspelt field underlined")
        underlined = driver.find_element(By.CSS_SELECTOR, "#highlight .d-error").text
        assert "shipment.dealy" in underlined, f"underlined: {underlined!r}"
        shot("diagnostic")

        step("apply the suggested fix")
        problem.find_element(By.CSS_SELECTOR, "button.apply-fix").click()
        wait_for(lambda: "shipment.delay > 2d" in source.get_attribute("value"), "the fix in the editor")
        wait_for(lambda: not misspelling_reported() and "(none)" in text_of("problem-count"), "the problem list to clear")
        assert "dealy" not in source.get_attribute("value")
        shot("fixed")

        step("complete a field after its entity")
        original = source.get_attribute("value")
        source.send_keys(Keys.CONTROL, Keys.END)
        typed = "when customer."
        source.send_keys(typed)
        wait_for(lambda: driver.find_element(By.ID, "completion").is_displayed(), "the completion list")
        labels = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#completion li")]
        assert any(label.startswith("tier") for label in labels), f"completions after `customer.`: {labels}"
        shot("completion")
        source.send_keys(Keys.ESCAPE)
        source.send_keys(Keys.BACKSPACE * len(typed))
        assert source.get_attribute("value") == original, "the typed text was not taken back"
        wait_for(lambda: "(none)" in text_of("problem-count"), "the problem list to clear again")

        step("run the rule tests")
        tab("tests")
        driver.find_element(By.ID, "run-tests").click()
        wait_for(lambda: "passed" in text_of("tests-summary"), "the test results")
        summary = text_of("tests-summary")
        assert summary.endswith(" 0 failed") and not summary.startswith("0 passed"), f"tests: {summary}"
        shot("tests")

        step("run a simulation")
        tab("simulate")
        driver.find_element(By.ID, "run-simulate").click()
        wait_for(lambda: text_of("sim-total") != "", "the simulation's total")
        total = text_of("sim-total")
        assert total == args.expected_total, f"the page says {total!r}, `redress simulate` says {args.expected_total!r}"
        bars = driver.find_elements(By.CSS_SELECTOR, "#chart-rules svg rect")
        assert bars, "no chart of the cost by rule"
        shot("simulation")

        step("explain an event of the history")
        tab("explain")
        driver.find_element(By.ID, "explain-id").send_keys("h1")
        driver.find_element(By.ID, "run-explain").click()
        wait_for(lambda: text_of("explain-summary").startswith("Explaining line 1 of"), "the explanation")
        assert driver.find_elements(By.CSS_SELECTOR, "#explain-results li"), "no rule explained"
        shot("explain")

        step("sweep a parameter")
        tab("sweep")
        driver.find_element(By.CSS_SELECTOR, '#sweep-parameter option[value="late_threshold"]').click()
        values = driver.find_element(By.ID, "sweep-values")
        values.clear()
        values.send_keys("1d,2d,4d")
        driver.find_element(By.ID, "run-sweep").click()
        wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#sweep-table tr")) == 4, "the sweep's table")
        assert driver.find_elements(By.CSS_SELECTOR, "#chart-sweep svg polyline"), "no cost curve"
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#sweep-table tr")][1:]
        assert [row.split()[0] for row in rows] == ["1d", "2d", "4d"], rows
        shot("sweep")

        step("change a threshold and see the diff's cost")
        open_file("delivery.rules")
        source = driver.find_element(By.ID, "source")
        value = source.get_attribute("value")
        start = value.index("param late_threshold = 2d") + len("param late_threshold = ")
        source.click()
        driver.execute_script("arguments[0].setSelectionRange(arguments[1], arguments[2])", source, start, start + 2)
        source.send_keys("4d")
        assert "param late_threshold = 4d" in source.get_attribute("value")
        tab("diff")
        driver.find_element(By.ID, "run-diff").click()
        wait_for(lambda: text_of("diff-cost").startswith("Cost:"), "the diff's cost")
        cost = text_of("diff-cost")
        assert f"({args.expected_delta}" in cost, f"the page says {cost!r}, `redress diff` says the change is {args.expected_delta!r}"
        changes = text_of("diff-changes")
        assert "late_threshold" in changes and "2d" in changes and "4d" in changes, f"changes: {changes!r}"
        shot("diff")

        step("save and find the file changed on disk")
        driver.find_element(By.ID, "save-button").click()
        wait_for(lambda: text_of("status").startswith("Saved"), "the save")
        assert text_of("status") == "Saved delivery.rules", text_of("status")
        with open(os.path.join(args.ruleset, "delivery.rules"), encoding="utf-8") as saved:
            assert "param late_threshold = 4d" in saved.read(), "delivery.rules on disk does not have the new threshold"
        with open(os.path.join(args.ruleset, "mission.rules"), encoding="utf-8") as saved:
            assert "shipment.delay > 2d" in saved.read()
        shot("saved")
        print("the walkthrough passed", flush=True)
        return 0
    except AssertionError as failure:
        print(f"FAILED at step {step_number[0]}: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
