"""A local HTTP server that checks requests against Grafana's documented HTTP API.

It serves the endpoints that pyproton_ml.grafana uses, with the status codes and
reply bodies of Grafana's docs (docs/sources/developers/http_api/dashboard.md,
folder.md and data_source.md in grafana/grafana):

- ``GET /api/folders/:uid`` returns 200 or 404; ``POST /api/folders`` returns 200, 400 or 409.
- ``GET /api/datasources/uid/:uid`` returns 200 or 404; ``POST /api/datasources`` returns 200
  or 409; ``PUT /api/datasources/uid/:uid`` returns 200 or 404.
- ``POST /api/dashboards/db`` returns 200, 400 or 412.

Every endpoint returns 401 without ``Authorization: Bearer <token>``. A request that
breaks the contract gets 400 and is recorded in ``violations``. Tests can make the
next request to a route fail with ``fail_next``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_UID_LENGTH = 40
_UID = re.compile(r"[A-Za-z0-9\-_]+")


@dataclass
class RecordedRequest:
    """One request as the server received it, without the Authorization header."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ContractState:
    """Objects stored by the server, and what it saw."""

    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    failures: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)


class GrafanaContractServer:
    """Run the contract server on 127.0.0.1 at an ephemeral port, in a daemon thread."""

    def __init__(self, token: str) -> None:
        self.state = ContractState(token=token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.state))
        self._thread = threading.Thread(target=self._server.serve_forever, name="grafana-contract", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GrafanaContractServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        """Reply to the next ``method path`` request with this status and JSON body."""
        with self.state.lock:
            self.state.failures[f"{method} {path}"] = (status, body)

    def __enter__(self) -> GrafanaContractServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _handler_for(state: ContractState) -> type[BaseHTTPRequestHandler]:
    class Handler(_ContractHandler):
        pass

    Handler.state = state
    return Handler


class _ContractHandler(BaseHTTPRequestHandler):
    state: ContractState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay silent: pytest shows the recorded requests when a test fails."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body, body_error = self._read_body()
        headers = {key: value for key, value in self.headers.items() if key.lower() != "authorization"}
        with self.state.lock:
            self.state.requests.append(RecordedRequest(method, self.path, headers, body))

        if self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._reply(401, {"message": "Unauthorized"})
            return
        if body_error:
            self._violation(body_error)
            return

        with self.state.lock:
            failure = self.state.failures.pop(f"{method} {self.path}", None)
        if failure is not None:
            self._reply(*failure)
            return

        route = _ROUTES.get((method, _route_key(self.path)))
        if route is None:
            self._reply(404, {"message": "Not found"})
            return
        with self.state.lock:
            status, reply = route(self.state, self.path, body)
        if status == 400 and reply.get("violation"):
            self.state.violations.append(reply["message"])
        self._reply(status, {key: value for key, value in reply.items() if key != "violation"})

    def _read_body(self) -> tuple[Any, str | None]:
        length = int(self.headers.get("Content-Length") or 0)
        if length == 0:
            return None, None
        raw = self.rfile.read(length)
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return None, f"{self.command} {self.path}: body without Content-Type application/json"
        try:
            return json.loads(raw), None
        except ValueError:
            return None, f"{self.command} {self.path}: body is not valid JSON"

    def _violation(self, message: str) -> None:
        self.state.violations.append(message)
        self._reply(400, {"message": message})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _route_key(path: str) -> str:
    path = path.split("?", 1)[0]
    for prefix in ("/api/folders/", "/api/datasources/uid/"):
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + ":uid"
    return path


def _bad(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"message": message, "violation": True}


def _uid_problem(uid: Any, kind: str) -> str | None:
    if not isinstance(uid, str) or not _UID.fullmatch(uid):
        return f"{kind} uid {uid!r} is not a string of letters, digits, '-' and '_'"
    if len(uid) > MAX_UID_LENGTH:
        return f"{kind} uid {uid!r} is longer than {MAX_UID_LENGTH} characters"
    return None


def _next_id(state: ContractState) -> int:
    state.next_id += 1
    return state.next_id


def _get_folder(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    uid = path.rsplit("/", 1)[1]
    folder = state.folders.get(uid)
    return (200, folder) if folder else (404, {"message": "folder not found"})


def _create_folder(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"]:
        return _bad("POST /api/folders needs a JSON object with a non-empty title")
    uid = body.get("uid")
    if uid is not None and (problem := _uid_problem(uid, "folder")):
        return _bad(problem)
    if uid in state.folders or any(folder["title"] == body["title"] for folder in state.folders.values()):
        return 409, {"message": "a folder with the same name already exists"}

    folder_uid = uid or f"generated{state.next_id}"
    folder = {"id": _next_id(state), "uid": folder_uid, "title": body["title"], "url": f"/dashboards/f/{folder_uid}/", "version": 1}
    state.folders[folder_uid] = folder
    return 200, folder


def _get_datasource(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    uid = path.rsplit("/", 1)[1]
    datasource = state.datasources.get(uid)
    return (200, _public_datasource(datasource)) if datasource else (404, {"message": "Data source not found"})


def _create_datasource(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    problem = _datasource_problem(body)
    if problem:
        return _bad(problem)
    if any(existing["name"] == body["name"] for existing in state.datasources.values()):
        return 409, {"message": "data source with the same name already exists"}
    uid = body.get("uid") or f"generated{state.next_id}"
    if uid in state.datasources:
        return 409, {"message": "data source with the same uid already exists"}

    stored = {**body, "id": _next_id(state), "uid": uid, "version": 1}
    state.datasources[uid] = stored
    return 200, {"datasource": _public_datasource(stored), "id": stored["id"], "message": "Datasource added", "name": stored["name"]}


def _update_datasource(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    uid = path.rsplit("/", 1)[1]
    if uid not in state.datasources:
        return 404, {"message": "Data source not found"}
    problem = _datasource_problem(body)
    if problem:
        return _bad(problem)

    previous = state.datasources[uid]
    stored = {**body, "id": previous["id"], "uid": uid, "version": previous["version"] + 1}
    state.datasources[uid] = stored
    return 200, {"datasource": _public_datasource(stored), "id": stored["id"], "message": "Datasource updated", "name": stored["name"]}


def _datasource_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "data source body is not a JSON object"
    for key in ("name", "type", "access"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"data source body has no {key!r} string"
    if "uid" in body and (problem := _uid_problem(body["uid"], "data source")):
        return problem
    for key in ("jsonData", "secureJsonData"):
        if key in body and not isinstance(body[key], dict):
            return f"data source {key} is not a JSON object"
    return None


def _public_datasource(stored: dict[str, Any]) -> dict[str, Any]:
    """Return the data source as Grafana shows it: secrets only as secureJsonFields flags."""
    public = {key: value for key, value in stored.items() if key != "secureJsonData"}
    public["secureJsonFields"] = {key: True for key in stored.get("secureJsonData", {})}
    return public


def _save_dashboard(state: ContractState, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
        return _bad("POST /api/dashboards/db needs a JSON object with a 'dashboard' object")
    dashboard = body["dashboard"]
    if "overwrite" in body and not isinstance(body["overwrite"], bool):
        return _bad(f"overwrite {body['overwrite']!r} is not a boolean")
    if not isinstance(dashboard.get("title"), str) or not dashboard["title"]:
        return _bad("dashboard has no title")
    uid = dashboard.get("uid")
    if uid is not None and (problem := _uid_problem(uid, "dashboard")):
        return _bad(problem)
    folder_uid = body.get("folderUid")
    if folder_uid is not None and folder_uid not in state.folders:
        return 400, {"message": "folder not found"}

    uid = uid or f"generated{state.next_id}"
    existing = state.dashboards.get(uid)
    if existing is not None and not body.get("overwrite", False):
        return 412, {"message": "A dashboard with the same uid already exists", "status": "name-exists"}

    version = existing["version"] + 1 if existing else 1
    dashboard_id = existing["id"] if existing else _next_id(state)
    state.dashboards[uid] = {"id": dashboard_id, "version": version, "folderUid": folder_uid, "dashboard": dashboard}
    slug = re.sub(r"[^a-z0-9]+", "-", dashboard["title"].lower()).strip("-")
    return 200, {"id": dashboard_id, "slug": slug, "status": "success", "uid": uid, "url": f"/d/{uid}/{slug}", "version": version}


_ROUTES = {
    ("GET", "/api/folders/:uid"): _get_folder,
    ("POST", "/api/folders"): _create_folder,
    ("GET", "/api/datasources/uid/:uid"): _get_datasource,
    ("POST", "/api/datasources"): _create_datasource,
    ("PUT", "/api/datasources/uid/:uid"): _update_datasource,
    ("POST", "/api/dashboards/db"): _save_dashboard,
}
