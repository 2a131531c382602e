"""The production layout, for real: deploy/nginx/taskbridge.conf (the file an operator copies)
in a real nginx over TLS, in front of two ``taskbridge serve`` processes, beside one
``taskbridge dispatcher``, on PostgreSQL and Redis. It runs in ``make test``'s PostgreSQL pass,
and alone with ``make deploy-check``.

Only the values the site file lists as machine-specific are replaced (ports, certificate, host
name, log folder). The test's connections come from 127.0.0.2 (a client nginx sees) or 127.0.0.3
(a client talking to a server directly); nginx reaches the servers from 127.0.0.1, the one
address they trust. nginx runs as the test's own process (``-p``, ``daemon off``) on free
loopback ports: /etc/nginx and ports 80/443 are never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from standardwebhooks import Webhook

from taskbridge.config import Settings
from tests.conftest import clean_settings, is_postgres
from tests.deploy.test_deploy_files import dockerfile, exec_form, services
from tests.dispatch.receiver import Receiver, running_receiver
from tests.servers import (
    HANG_GUARD_SECONDS,
    SCRIPT,
    Server,
    client_from,
    failure_addresses,
    free_port,
    run_cli,
    server_env,
    start_server,
    stop,
    wait_for,
)
from tests.tls import self_signed_certificate

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "taskbridge.conf"
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
REDIS_URL = os.environ.get("TASKBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
pytestmark = [
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (apt-get install nginx; .ci/run installs it)"
    ),
    pytest.mark.skipif(
        not is_postgres(),
        reason="the production layout runs on PostgreSQL: make test's second pass, or "
        "make deploy-check",
    ),
]

CLIENT = "127.0.0.2"
"""Where the test's requests to nginx come from: an address the servers do not trust."""
STRANGER = "127.0.0.3"
"""Where the test's requests straight to a server come from."""
CODES = ["SALE_COMPLETED", "NOT_INTERESTED", "RESCHEDULE", "NO_CONTACT"]
PER_KEY = 50
"""The stack's per-key allowance a minute: low enough to spend in a test, high enough for every
other test's calls with one key or one person's token."""
METRICS_TOKEN = "prometheus-scrapes-with-this-token"


@dataclass(frozen=True)
class Stack:
    settings: Settings
    servers: list[Server]
    dispatcher: subprocess.Popen[bytes]
    https_url: str
    http_url: str
    tls: ssl.SSLContext
    access_log: Path
    logs: Path
    demo: dict[str, Any]


def render_site(replacements: dict[str, str]) -> str:
    """The operator's file with its machine-specific values replaced; each must be there."""
    text = SITE.read_text()
    for placeholder, value in replacements.items():
        assert placeholder in text, f"{SITE} no longer contains {placeholder!r}"
        text = text.replace(placeholder, value)
    directives = [line for line in text.splitlines() if not line.strip().startswith("#")]
    leftovers = [line for line in directives if re.search(r"example\.com|/etc/|/var/", line)]
    assert leftovers == [], "machine-specific values the test did not replace"
    return text


def write_nginx_conf(folder: Path, site: str) -> Path:
    """A main nginx.conf of the test's own, including the rendered site as nginx's would."""
    (folder / "taskbridge.conf").write_text(site)
    temp = {name: folder / "temp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True)
    # Run as root (CI), the worker processes would switch to `nobody`, who cannot enter
    # pytest's private temporary folders.
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "logs" / "error.log"} notice;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder / "taskbridge.conf"};
}}
"""
    )
    return conf


def start_nginx(folder: Path, conf: Path) -> subprocess.Popen[bytes]:
    """nginx in the foreground, after ``nginx -t`` accepted the configuration."""
    assert NGINX is not None
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    with (folder / "logs" / "nginx.stderr").open("wb") as stderr:
        return subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def wait_for_nginx(
    nginx: subprocess.Popen[bytes], https_url: str, tls: ssl.SSLContext, logs: Path
) -> None:
    def told() -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(logs.glob("*")))

    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while True:
        try:
            httpx.get(https_url + "/admin/login", verify=tls, timeout=2)
            return
        except httpx.TransportError:
            assert nginx.poll() is None, f"nginx exited: {told()}"
            assert time.monotonic() < deadline, f"nginx did not start: {told()}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(
    migrated_template: Path | str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("nginx")
    for sub in ("data", "logs", "tls"):
        (folder / sub).mkdir()
    settings = clean_settings(migrated_template, folder / "data")
    https_port, http_port = _two_free_ports()
    https_url = f"https://localhost:{https_port}"
    env = server_env(
        settings,
        TASKBRIDGE_FORWARDED_ALLOW_IPS="127.0.0.1",
        TASKBRIDGE_PUBLIC_URL=https_url,
        TASKBRIDGE_REDIS_URL=_reachable_redis(),
        TASKBRIDGE_RATE_LIMIT_PER_KEY=f"{PER_KEY}/minute",
        TASKBRIDGE_METRICS_TOKEN=METRICS_TOKEN,
        # The test's webhook receiver listens on loopback.
        TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS="true",
    )
    cert, key = self_signed_certificate(folder / "tls", "localhost", ("127.0.0.1",))
    tls = ssl.create_default_context(cafile=str(cert))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        servers: list[Server] = []
        for _ in range(2):
            servers.append(start_server(env, folder))
            processes.append(servers[-1].process)
        site = render_site(
            {
                "listen 443 ssl": f"listen 127.0.0.1:{https_port} ssl",
                "listen 80;": f"listen 127.0.0.1:{http_port};",
                "tasks.example.com": "localhost",
                "/etc/ssl/taskbridge/fullchain.pem": str(cert),
                "/etc/ssl/taskbridge/privkey.pem": str(key),
                "127.0.0.1:8001": f"127.0.0.1:{servers[0].port}",
                "127.0.0.1:8002": f"127.0.0.1:{servers[1].port}",
                "/var/log/nginx/": f"{folder / 'logs'}/",
            }
        )
        conf = write_nginx_conf(folder, site)
        wait_for(servers)
        processes.append(start_nginx(folder, conf))
        wait_for_nginx(processes[-1], https_url, tls, folder / "logs")
        dispatcher = start_dispatcher(env, folder / "logs")
        processes.append(dispatcher)
        demo = run_cli(env, "demo", "--json", "--base-url", https_url)
        assert demo.returncode == 0, demo.stderr
        yield Stack(
            settings=settings,
            servers=servers,
            dispatcher=dispatcher,
            https_url=https_url,
            http_url=f"http://127.0.0.1:{http_port}",
            tls=tls,
            access_log=folder / "logs" / "taskbridge.access.log",
            logs=folder / "logs",
            demo=json.loads(demo.stdout),
        )
    finally:
        stop(processes)


def _reachable_redis() -> str:
    """The Redis every server shares its rate-limit counters through (``.ci/run`` starts one)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): start redis-server")
    return REDIS_URL


def start_dispatcher(env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    """``taskbridge dispatcher``, the one process that pushes tasks on PostgreSQL."""
    with (logs / "dispatcher.log").open("wb") as stderr:
        return subprocess.Popen(
            [SCRIPT, "dispatcher"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def _two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def through_nginx(stack: Stack) -> httpx.Client:
    return client_from(CLIENT, verify=stack.tls, base_url=stack.https_url)


def test_the_integration_walkthrough_of_the_readme_through_nginx(stack: Stack) -> None:
    key = {"x-api-key": stack.demo["plaintextKey"]}
    with through_nginx(stack) as client:
        configs = client.get("/api/integration/task-result-type-configs", headers=key)
        assert configs.status_code == 200, configs.text
        assert [config["code"] for config in configs.json()] == CODES

        tasks = client.get(
            "/api/integration/activities/tasks",
            params={"status": "PENDING", "per_page": 5},
            headers=key,
        )
        assert tasks.status_code == 200, tasks.text
        task = tasks.json()["data"][0]

        now = dt.datetime.now(dt.UTC)
        submission = {
            "activity_id": task["id"],
            "commerce_external_id": task["commerceExternalId"],
            "occurred_at": (now - dt.timedelta(hours=1)).isoformat(),
            "status": "EFFECTIVE",
            "task_result": {"result": "Venta completada"},
        }
        label = client.post("/api/integration/activity-results/tasks", json=submission, headers=key)
        assert label.status_code == 400
        assert 'send the code "SALE_COMPLETED"' in label.json()["message"]

        submission["task_result"] = {
            "result": "RESCHEDULE",
            "future_scheduled_at": (now + dt.timedelta(days=9)).isoformat(),
        }
        headers = {**key, "Idempotency-Key": "visit-42"}
        # Sent twice: nginx spreads requests over both servers, and the replay is the same.
        first, again = (
            client.post("/api/integration/activity-results/tasks", json=submission, headers=headers)
            for _ in range(2)
        )
        assert first.status_code == 201, first.text
        assert first.json()["status"] == "EFFECTIVE"
        assert first.json()["followUpActivityId"]
        assert (again.status_code, again.json()) == (201, first.json())

    lines = stack.access_log.read_text().splitlines()
    upstreams = {match for line in lines for match in re.findall(r"upstream=(\S+)", line)}
    assert {f"127.0.0.1:{server.port}" for server in stack.servers} <= upstreams
    assert all(re.search(r"request_id=[0-9a-f]{32}$", line) for line in lines)


def test_every_cookie_set_through_nginx_is_secure(stack: Stack) -> None:
    admin = stack.demo["admin"]
    with through_nginx(stack) as client:
        page = client.get("/admin/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        signed_in = client.post(
            "/admin/login",
            data={"email": admin["email"], "password": admin["password"], "csrf_token": csrf[1]},
        )
        assert signed_in.status_code == 303, signed_in.text
        switched = client.post(
            "/admin/tenant",
            data={"tenant_id": stack.demo["tenant"]["id"], "csrf_token": csrf[1]},
        )
        assert switched.status_code == 303, switched.text
        dashboard = client.get("/admin/")
        assert dashboard.status_code == 200
        api = client.post("/api/auth/login", json=admin)
        assert api.status_code == 200, api.text
        refreshed = client.post("/api/auth/refresh")
        assert refreshed.status_code == 200, refreshed.text

    lines = [
        line
        for response in (page, signed_in, switched, api, refreshed)
        for line in response.headers.get_list("set-cookie")
    ]
    assert {line.split("=", 1)[0] for line in lines} == {
        "tb_csrf",
        "tb_session",
        "tb_tenant",
        "tb_refresh",
    }
    for line in lines:
        assert "secure" in (part.strip().lower() for part in line.split(";")), line
    assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_the_login_throttle_counts_the_address_nginx_saw(stack: Stack) -> None:
    account = "throttled@example.test"
    claimed = ["203.0.113.9", "198.51.100.1, 10.0.0.1", "127.0.0.1", "not an address"]
    with through_nginx(stack) as client:
        for value in claimed:
            response = client.post(
                "/api/auth/login",
                json={"email": account, "password": "wrong"},
                headers={"x-forwarded-for": value},
            )
            assert response.status_code == 401, response.text
        panel = client.get("/admin/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', panel.text)
        assert csrf is not None
        form = {"email": account, "password": "wrong", "csrf_token": csrf[1]}
        failed = client.post("/admin/login", data=form, headers={"x-forwarded-for": "192.0.2.1"})
        assert failed.status_code == 401
    # A client on the proxy's own address is still only that address (nginx replaces the
    # header: with $proxy_add_x_forwarded_for, the servers would take the claimed one).
    with client_from("127.0.0.1", verify=stack.tls, base_url=stack.https_url) as client:
        local = client.post(
            "/api/auth/login",
            json={"email": "local@example.test", "password": "wrong"},
            headers={"x-forwarded-for": "203.0.113.9"},
        )
        assert local.status_code == 401, local.text

    assert failure_addresses(stack.settings, account) == [CLIENT] * 5
    assert failure_addresses(stack.settings, "local@example.test") == ["127.0.0.1"]


def test_a_server_reached_directly_ignores_forwarding_headers_from_others(stack: Stack) -> None:
    account = "direct@example.test"
    for server in stack.servers:
        with client_from(STRANGER, base_url=server.url) as client:
            response = client.post(
                "/api/auth/login",
                json={"email": account, "password": "wrong"},
                headers={"x-forwarded-for": "203.0.113.50", "x-forwarded-proto": "https"},
            )
        assert response.status_code == 401, response.text

    assert failure_addresses(stack.settings, account) == [STRANGER] * 2


def test_plain_http_only_redirects_to_https(stack: Stack) -> None:
    with client_from(CLIENT, base_url=stack.http_url) as client:
        response = client.get("/admin/login?next=/admin/tasks", headers={"host": "localhost"})

    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/admin/login?next=/admin/tasks"
    assert "set-cookie" not in response.headers


def test_nginx_refuses_bodies_above_the_servers_limit(stack: Stack) -> None:
    key = {"x-api-key": stack.demo["plaintextKey"], "content-type": "application/json"}
    with through_nginx(stack) as client:
        response = client.post(
            "/api/integration/activity-results/tasks",
            content=b" " * (1024 * 1024 + 1),
            headers=key,
        )

    assert response.status_code == 413
    assert "nginx" in response.text


def test_health_and_readiness_answer_through_nginx(stack: Stack) -> None:
    with through_nginx(stack) as client:
        alive = client.get("/healthz")
        ready = client.get("/readyz")

    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_through_nginx_answer_the_token_only(stack: Stack) -> None:
    with through_nginx(stack) as client:
        anonymous = client.get("/metrics")
        wrong = client.get("/metrics", headers={"authorization": "Bearer not-the-token"})
        scraped = client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})

    assert (anonymous.status_code, anonymous.json()["statusCode"]) == (401, 401)
    assert wrong.status_code == 401
    assert scraped.status_code == 200, scraped.text
    assert "# TYPE " in scraped.text


def _with_port(argv: list[str], port: int) -> list[str]:
    """A container health check's command, run here: this Python, a server's port."""
    assert argv[0] == "python", argv
    return [sys.executable, *(word.replace(":8000/", f":{port}/") for word in argv[1:])]


def test_the_container_health_checks_pass_on_a_ready_server_and_fail_on_none(
    stack: Stack,
) -> None:
    (healthcheck,) = dockerfile("HEALTHCHECK")
    probes = {"Dockerfile": exec_form(healthcheck.split(" CMD ", 1)[1])}
    for name, service in services().items():
        if service.get("command", [])[1:2] == ["serve"]:
            probes[f"compose.yaml {name}"] = service["healthcheck"]["test"][1:]  # after "CMD"
    assert len(probes) == 3

    for where, argv in probes.items():
        for server in stack.servers:
            ran = subprocess.run(
                _with_port(argv, server.port), capture_output=True, timeout=60, check=False
            )
            assert ran.returncode == 0, f"{where}: {ran.stderr!r}"
        nobody = subprocess.run(
            _with_port(argv, free_port()), capture_output=True, timeout=60, check=False
        )
        assert nobody.returncode != 0, where


def _signed_in(client: httpx.Client, stack: Stack) -> dict[str, str]:
    """The demo administrator's bearer headers, signed in through nginx."""
    login = client.post("/api/auth/login", json=stack.demo["admin"])
    assert login.status_code == 200, login.text
    return {
        "authorization": f"Bearer {login.json()['accessToken']}",
        "x-tenant-id": stack.demo["tenant"]["id"],
    }


def _delivered(stack: Stack, receiver: Receiver, count: int) -> None:
    """Until the receiver got ``count`` requests; fails at once if the dispatcher exited."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    log = stack.logs / "dispatcher.log"
    while len(receiver.requests) < count:
        assert stack.dispatcher.poll() is None, f"dispatcher exited: {log.read_text()}"
        assert time.monotonic() < deadline, f"nothing delivered: {log.read_text()}"
        time.sleep(0.05)


def test_a_task_created_through_nginx_is_pushed_by_the_dispatcher(stack: Stack) -> None:
    scheduled = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    with running_receiver() as receiver, through_nginx(stack) as client:
        admin = _signed_in(client, stack)
        config = client.post(
            "/api/dispatch-configs",
            json={"channel": "CALLCENTER", "provider": "WEBHOOK", "endpoint_url": receiver.url},
            headers=admin,
        )
        assert config.status_code == 201, config.text
        created = client.post(
            "/api/activities/tasks",
            json={
                "reason": "Confirmar pedido",
                "channel": "CALLCENTER",
                "commerce_external_id": "COM-003",
                "operator_external_id": "OP-22",
                "scheduled_at": scheduled.isoformat(),
                "idempotency_key": "deploy-check-push",
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]

        _delivered(stack, receiver, 1)
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while (detail := client.get(f"/api/activities/{task_id}", headers=admin)).json().get(
            "internalStatus"
        ) != "DISPATCHED":
            assert time.monotonic() < deadline, detail.text
            time.sleep(0.2)

    (request,) = receiver.requests
    event = Webhook(config.json()["signingSecret"]).verify(request.body, request.headers)
    assert event["type"] == "task.created"
    assert event["data"]["id"] == task_id
    assert detail.json()["events"][-1]["actor"] == "dispatcher"


def test_a_keys_allowance_is_shared_by_both_servers_through_redis(stack: Stack) -> None:
    created = run_cli(
        server_env(stack.settings),
        *("apikey", "create", "--tenant", "demo", "--name", "allowance"),
        *("--permission", "VIEW_ACTIVITIES", "--json"),
    )
    assert created.returncode == 0, created.stderr
    key = {"x-api-key": json.loads(created.stdout)["plaintextKey"]}
    with through_nginx(stack) as client:
        spent = [client.get("/api/integration/me", headers=key) for _ in range(PER_KEY)]
        refused = client.get("/api/integration/me", headers=key)

    assert [r.status_code for r in spent] == [200] * PER_KEY
    assert refused.status_code == 429, refused.text
    assert refused.json()["statusCode"] == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"] == f'"per-key";q={PER_KEY};w=60'
    # Each server counted only what nginx sent it: the allowance held across both, so the
    # counter was Redis's, not a process's.
    lines = [
        line
        for line in stack.access_log.read_text().splitlines()
        if " /api/integration/me " in line
    ]
    served_by = {match for line in lines for match in re.findall(r"upstream=(\S+)", line)}
    assert {f"127.0.0.1:{server.port}" for server in stack.servers} <= served_by
