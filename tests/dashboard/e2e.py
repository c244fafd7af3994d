#!/usr/bin/env python3
"""End-to-end test of `tqn dashboard` in a real browser (Debian's chromium + chromium-driver,
driven by selenium), against a private redis-server filled and drained by real workers: the PHP
think-queue 3.x worker stand-in on the shim (bench/php/mixed-worker.php, extension loaded) and the
Rust worker (examples/worker.rs).

Checks: the numbers on the page equal what Redis holds; a dead job retried from the page shows up
as ready within 2 s without a reload; a payload holding <script>/<img onerror> stays text (no
script runs); /metrics passes `promtool check metrics` and its counters match what the workers
did; actions need the page's token; --read-only refuses them; the password never reaches the page.

Run by scripts/test-dashboard.sh (make test-dashboard, part of make test), which builds what it
needs and passes the paths in the environment: TQN, RUST_WORKER, PHP_EXT, and optionally
SCREENSHOT (a PNG path to save the queue page to).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TQN = os.environ["TQN"]
RUST_WORKER = os.environ["RUST_WORKER"]
PHP_EXT = os.environ["PHP_EXT"]
PASSWORD = "s3cret-dashboard-pw"
XSS_NAME = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok -", what, flush=True)


def wait_until(what, cond, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # the page may be between two renders
            last = e
        time.sleep(step)
    raise Fail(f"timed out: {what} (last: {last!r})")


class Redis:
    def __init__(self, workdir):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--requirepass", PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"
        wait_until("redis-server answers", lambda: self.cmd("PING") == "PONG")

    def cmd(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", PASSWORD, *args],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def tqn(redis, *args):
    return subprocess.run([TQN, "--url", redis.url, "--dialect", "v3", *args], capture_output=True, text=True, check=True)


def fill_and_drain(redis):
    # queue "web": 30 jobs pushed natively, run by PHP's think-queue 3.x worker on the shim
    tqn(redis, "push", "web", "app\\job\\Hello", "--data", '{"n":1}', "--repeat", "30")
    env = dict(os.environ, REDIS_PORT=str(redis.port), REDIS_PASSWORD=PASSWORD)
    php = subprocess.run(["php", "-d", f"extension={PHP_EXT}", os.path.join(ROOT, "bench/php/mixed-worker.php"), "web"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    check(php.returncode == 0, f"the PHP worker drained `web` (exit {php.returncode}: {php.stderr[-500:]})")
    # queue "rust": good jobs, a job no handler knows whose name is an XSS attempt (buried to the
    # dead-letter list by the Rust worker), a flaky one; then more jobs left waiting
    tqn(redis, "push", "rust", "app\\job\\Hello", "--repeat", "12")
    tqn(redis, "push", "rust", XSS_NAME, "--data", '{"html":"<b>bold</b></pre><script>window.__xss=3</script>"}')
    tqn(redis, "push", "rust", "app\\job\\Flaky", "--data", '{"until":2}')
    worker = subprocess.run([RUST_WORKER, redis.url, "v3", "rust", "--tries", "3"], capture_output=True, text=True)
    check(worker.returncode == 0, f"the Rust worker drained `rust` ({worker.stderr[-300:]})")
    tqn(redis, "push", "rust", "app\\job\\Hello", "--repeat", "7")
    tqn(redis, "push", "rust", "app\\job\\Hello", "--delay", "3600", "--repeat", "2")


def browser():
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=opts)


def http(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def start_dashboard(redis, port, audit, *extra):
    proc = subprocess.Popen([TQN, "--url", redis.url, "dashboard", "--listen", f"127.0.0.1:{port}",
                             "--audit-log", audit, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # 401 when it runs with --token: it answers all the same
    wait_until("the dashboard answers", lambda: http(f"http://127.0.0.1:{port}/api/overview")[0] in (200, 401))
    return proc


def main():
    work = tempfile.mkdtemp(prefix="tqn-dash-")
    redis = Redis(work)
    procs = []
    driver = None
    try:
        fill_and_drain(redis)
        port = free_port()
        audit = os.path.join(work, "audit.log")
        procs.append(start_dashboard(redis, port, audit))
        base = f"http://127.0.0.1:{port}"

        # --- the JSON API and /metrics
        status, body = http(base + "/api/overview")
        overview = {(q["queue"], q["dialect"]): q for q in json.loads(body)["queues"]}
        check(("web", "v3") in overview and ("rust", "v3") in overview, "both queues are found")
        check(PASSWORD not in body, "the password is not in the API")
        status, metrics = http(base + "/metrics")
        check(status == 200 and PASSWORD not in metrics, "/metrics answers without the password")
        prom = os.path.join(work, "metrics.txt")
        with open(prom, "w") as f:
            f.write(metrics)
        promtool = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
        check(promtool.returncode == 0, f"promtool check metrics: {promtool.stdout}{promtool.stderr}")
        check('thinkqueue_jobs_processed_total{queue="web",dialect="v3",job_name="app\\\\job\\\\Hello"} 30' in metrics,
              "30 jobs processed on `web`, by the PHP worker, counted")
        check('thinkqueue_jobs_processed_total{queue="rust",dialect="v3",job_name="app\\\\job\\\\Hello"} 12' in metrics,
              "12 jobs processed on `rust`, by the Rust worker, counted")
        check('thinkqueue_jobs_released_total{queue="rust",dialect="v3",job_name="app\\\\job\\\\Flaky"} 1' in metrics,
              "the flaky job's release counted")
        check('thinkqueue_job_wait_seconds_count{queue="web",dialect="v3",job_name="app\\\\job\\\\Hello"} 30' in metrics,
              "natively pushed jobs have a wait time")
        # rdb_changes_since_last_save counts every write (the server never saves: --save '')
        changes = lambda: [l for l in redis.cmd("INFO", "persistence").splitlines() if l.startswith("rdb_changes_since_last_save:")]
        before = changes()
        for _ in range(3):
            http(base + "/metrics")
            http(base + "/api/overview")
        check(before and changes() == before, f"scrapes and page reads write nothing to Redis ({before})")

        # --- actions need the page's token
        status, _ = http(base + "/api/action", b'{"action":"migrate","queue":"rust","dialect":"v3"}',
                         {"Content-Type": "application/json"})
        check(status == 403, "an action without the page's token is refused")

        # --- the page
        driver = browser()
        driver.get(base + "/")
        row = wait_until("the overview table", lambda: driver.find_element(By.CSS_SELECTOR, 'tr[data-queue="rust"][data-dialect="v3"]'))
        cells = {c.get_attribute("data-field"): c.text for c in row.find_elements(By.CSS_SELECTOR, "td[data-field]")}
        want = {
            "ready": redis.cmd("LLEN", "{queues:rust}"),
            "delayed": redis.cmd("ZCARD", "{queues:rust}:delayed"),
            "reserved": redis.cmd("ZCARD", "{queues:rust}:reserved"),
            "dead": redis.cmd("LLEN", "{queues:rust}:dead"),
        }
        check(all(cells[k] == v for k, v in want.items()), f"overview row equals Redis: page {cells}, Redis {want}")
        check(want["ready"] == "7" and want["delayed"] == "2" and want["dead"] == "1", "Redis holds what the scenario left")
        check(PASSWORD not in driver.page_source, "the password is not in the page")

        driver.get(base + "/#/queue/v3/rust")
        driver.find_element(By.ID, "tab-dead").click()
        pre = wait_until("the dead job's payload", lambda: driver.find_element(By.CSS_SELECTOR, '#joblist[data-state="dead"] pre.payload'))
        check("<script>window.__xss=2</script>" in pre.text and "<img src=x" in pre.text, "the XSS payload is shown as text")
        check(driver.execute_script("return window.__xss === undefined"), "no script of the payload ran")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#joblist img, #joblist script, #joblist b")) == 0,
              "no element was made from the payload")
        if os.environ.get("SCREENSHOT"):
            driver.find_element(By.ID, "tab-ready").click()
            time.sleep(1.5)
            driver.save_screenshot(os.environ["SCREENSHOT"])
            driver.find_element(By.ID, "tab-dead").click()
            wait_until("the dead list again", lambda: driver.find_element(By.CSS_SELECTOR, '#joblist[data-state="dead"] button.retry'))

        # retry the dead job from the page: it shows up as ready within 2 s, without a reload
        driver.execute_script("window.__noReload = 1")
        ready_card = lambda: driver.find_element(By.CSS_SELECTOR, '.card[data-field="ready"] b').text
        wait_until("the ready card", lambda: ready_card() == "7")
        driver.find_element(By.CSS_SELECTOR, '#joblist[data-state="dead"] button.retry').click()
        alert = wait_until("the confirmation", lambda: driver.switch_to.alert)
        clicked = time.monotonic()
        alert.accept()
        wait_until("the retried job in the ready count", lambda: ready_card() == "8", timeout=2.0)
        took = time.monotonic() - clicked
        check(True, f"the retried job showed up as ready after {took:.2f} s")
        check(driver.execute_script("return window.__noReload === 1"), "the page was not reloaded")
        check(redis.cmd("LLEN", "{queues:rust}") == "8" and redis.cmd("LLEN", "{queues:rust}:dead") == "0",
              "Redis: the dead job is back in the ready list")
        with open(audit) as f:
            lines = [json.loads(line) for line in f]
        check(any(l["action"]["action"] == "retry_dead" and l["outcome"].get("moved") == 1 for l in lines),
              "the retry is in the audit log")
        check(driver.execute_script("return window.__xss === undefined"), "still no script of the payload ran")

        # the workers page and a live worker
        env = dict(os.environ, REDIS_PORT=str(redis.port))
        worker = subprocess.Popen([RUST_WORKER, redis.url, "v3", "idle", "--daemon"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(worker)
        driver.get(base + "/#/workers")
        wait_until("the Rust worker in the workers list",
                   lambda: any(str(worker.pid) in r.text for r in driver.find_elements(By.CSS_SELECTOR, "tr.worker")), timeout=10)
        check(True, "a running worker is listed with its pid")

        # read-only mode refuses actions and shows no buttons
        ro_port = free_port()
        procs.append(start_dashboard(redis, ro_port, audit, "--read-only"))
        driver.get(f"http://127.0.0.1:{ro_port}/#/queue/v3/rust")
        wait_until("the read-only page", lambda: driver.find_element(By.ID, "mode").text == "read-only")
        check(len(driver.find_elements(By.ID, "purge")) == 0, "read-only: no action buttons")
        token = driver.find_element(By.CSS_SELECTOR, 'meta[name="tqn-token"]').get_attribute("content")
        status, _ = http(f"http://127.0.0.1:{ro_port}/api/action", b'{"action":"purge","queue":"rust","dialect":"v3"}',
                         {"Content-Type": "application/json", "X-TQN-Token": token})
        check(status == 403 and redis.cmd("LLEN", "{queues:rust}") == "8", "read-only: a purge is refused and changes nothing")

        # anything but loopback needs a token
        out = subprocess.run([TQN, "--url", redis.url, "dashboard", "--listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=20)
        check(out.returncode != 0 and "--token" in out.stderr, "a non-loopback address without --token is refused")
        tok_port = free_port()
        procs.append(start_dashboard(redis, tok_port, audit, "--token", "0123456789abcdef-token"))
        status, _ = http(f"http://127.0.0.1:{tok_port}/api/overview")
        check(status == 401, "with --token, a request without it is refused")
        status, _ = http(f"http://127.0.0.1:{tok_port}/metrics", headers={"Authorization": "Bearer 0123456789abcdef-token"})
        check(status == 200, "with --token, a bearer token is accepted")
        print("dashboard e2e: all checks passed", flush=True)
        return 0
    except Fail as e:
        print("FAIL -", e, flush=True)
        for p in procs:
            if p.stderr and p.poll() is not None:
                print(p.stderr.read()[-2000:])
        return 1
    finally:
        if driver is not None:
            driver.quit()
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
