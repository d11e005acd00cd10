"""``kg serve`` as a real process on a loopback port, and the ``kg`` commands that go through it.

Two servers are started for the whole module (the model takes seconds to load): one on a knowledge base
of four seeds, to which the fifth is then added through ``kg build --store`` and compared with a local
build of all five; and one started over a stale ``serve.json``, with arrival validation made to fail
for articles named ``nonconforming-*`` (the seeds all conform), which is then stopped with SIGTERM.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.kb import KnowledgeBase
from kg.queries import list_queries, run_on_store
from kg.serve import SERVE_FILE, Served, ServerClient, served_store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
DEVSET = sorted((ROOT / "devset" / "articles").glob("*.txt"))
PARAMS = {"place": "baghdad", "entity": "us-embassy-baghdad"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_START_SECONDS = 180.0  # model load on a busy two-core machine
_STOP_SECONDS = 60.0

# Runs the kg command, then says on stderr which spaCy modules the process imported.
_REPORTS_IMPORTS = """
import sys
from kg.cli import app
try:
    app(sys.argv[1:], prog_name="kg")
    code = 0
except SystemExit as stop:
    code = stop.code
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("spacy", "thinc"))
print("LOADED:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""

# `kg serve` whose arrival validation fails for articles named nonconforming-*: a real server process,
# with the one function no real article can be made to fail replaced (as tests/test_update.py does).
_FAILS_ARRIVALS = """
import sys
from kg import pipeline
from kg.validate import Report, ValidationResult

original = pipeline._validate_arrivals
failing = Report(
    conforms=False,
    results=(ValidationResult("https://kg.example.org/id/x", None, None, "The evidence is missing.",
                              "Violation", None),),
    graph=None,
)

def validate_arrivals(kb, ids):
    reports = original(kb, [i for i in ids if not i.startswith("nonconforming")])
    reports.update({i: failing for i in ids if i.startswith("nonconforming")})
    return reports

pipeline._validate_arrivals = validate_arrivals
from kg.cli import app
app(sys.argv[1:], prog_name="kg")
"""


# ---------------------------------------------------------------- helpers


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    store: Path
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def kg(*args: object) -> tuple[int, str, str]:
    """The kg command in this process (clients of a served store load no model)."""
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    code, out, err = result.exit_code, result.stdout, result.stderr
    del result
    gc.collect()  # a failed in-process run's traceback may hold a local store open
    return code, out, err


def kg_process(*args: object, script: str = _REPORTS_IMPORTS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *(str(arg) for arg in args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def start_server(store: Path, *args: object, script: str | None = None) -> Server:
    """``kg serve --store STORE`` on any free loopback port; returns once it answers."""
    log = store.parent / f"{store.name}-serve.log"
    command = ["-m", "kg.cli"] if script is None else ["-c", script]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *command, "serve", "--store", str(store), "--port", "0", *map(str, args)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-800:]
            pytest.fail(f"kg serve exited with {process.returncode}: {tail}")
        try:
            announced = json.loads((store / SERVE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            announced = {}
        if announced.get("pid") == process.pid and served_store(store) is not None:
            return Server(process, store, announced["url"], log)
        time.sleep(0.1)
    stop_server(process)
    pytest.fail(f"kg serve did not start: {log.read_text(errors='replace')[-800:]}")


def stop_server(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_SECONDS)
    return process.returncode


def http(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request, errors included."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with _NO_PROXY.open(request, timeout=120) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def sparql_get(url: str, query: str, accept: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Accept": accept} if accept else {}
    return http(f"{url}/sparql?{urllib.parse.urlencode({'query': query})}", headers=headers)


def ask(url: str, query: str) -> bool:
    status, _, body = sparql_get(url, query)
    assert status == 200, body
    return json.loads(body)["boolean"]


def holds_file(url: str, name: str) -> bool:
    return ask(url, f'ASK {{ ?a <https://kg.example.org/ontology#fileName> "{name}" }}')


def count_triples(url: str) -> int:
    status, _, body = sparql_get(url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert status == 200, body
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def summary_numbers(stderr: str) -> str:
    """The counts of ``kg build``'s summary line, without its time and destination."""
    line = next(line for line in stderr.splitlines() if "articles " in line and "triples " in line)
    return line[line.index("articles ") :].rsplit(";", 1)[0]


def loaded_modules(stderr: str) -> list[str]:
    """The spaCy modules a process run with ``_REPORTS_IMPORTS`` imported."""
    line = next(line for line in stderr.splitlines() if line.startswith("LOADED:"))
    return [name for name in line[len("LOADED:") :].split(",") if name]


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kg: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def build_store(folder: Path, files: list[Path]) -> Path:
    """A knowledge base of ``files``, built in this process and closed again."""
    from kg.pipeline import build_into

    kb = KnowledgeBase(folder)
    build_into(kb, files)
    del kb
    gc.collect()
    return folder


# ---------------------------------------------------------------- the served knowledge base


@pytest.fixture(scope="module")
def local5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five seeds built locally: what the served store must equal once the fifth is added."""
    return build_store(tmp_path_factory.mktemp("local5") / "kb", SEEDS)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``kg serve`` on a knowledge base of the first four seeds, watching a folder."""
    folder = tmp_path_factory.mktemp("served")
    store = build_store(folder / "kb", SEEDS[:4])
    (folder / "inbox").mkdir()
    server = start_server(store, "--watch", folder / "inbox", "--poll", "0.2")
    yield server
    stop_server(server.process)


@pytest.fixture(scope="module")
def delegated(served: Server) -> subprocess.CompletedProcess[str]:
    """The fifth seed added through ``kg build --store`` in a process of its own."""
    return kg_process("build", SEEDS[4], "--store", served.store)


def test_serve_announces_itself_in_serve_json_and_health(served: Server) -> None:
    announced = json.loads((served.store / SERVE_FILE).read_text(encoding="utf-8"))
    assert announced["pid"] == served.process.pid and announced["url"] == served.url
    status, media, body = http(f"{served.url}/health")
    health = json.loads(body)
    assert status == 200 and media == "application/json"
    assert health["pid"] == served.process.pid
    assert Path(health["store"]) == served.store.resolve()
    assert health["articles"] >= 4 and "fr_core_news_sm" in health["model"]
    assert json.loads(http(served.url + "/")[2])["pid"] == served.process.pid


def test_serve_delegated_build_loads_no_model_and_prints_the_local_summary(
    delegated: subprocess.CompletedProcess[str], local5: Path, tmp_path: Path
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    assert loaded_modules(delegated.stderr) == [], "the delegated build imported spaCy"
    # the same counts as a local build of the same articles into a store
    local = tmp_path / "kb"
    code, _, err = kg("build", *SEEDS, "--store", local)
    assert code == 0, err
    assert summary_numbers(delegated.stderr) == summary_numbers(err)
    assert "articles 5 (skipped 0)" in delegated.stderr


def test_serve_store_equals_a_local_build_for_every_stored_query(
    served: Server,
    delegated: subprocess.CompletedProcess[str],
    local5: Path,
    compare_stored_queries: Callable,
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    server = served_store(served.store)
    assert server is not None
    endpoint = ServerClient(server).endpoint()
    kb = KnowledgeBase.open_existing(local5)
    try:
        compared, with_rows, differ = compare_stored_queries(
            endpoint, lambda query, params, kb=kb: run_on_store(kb, query, params), PARAMS
        )
    finally:
        del kb
        gc.collect()
    assert compared >= 12 and with_rows >= 8
    assert differ == []


def test_serve_kg_query_goes_through_the_server_with_the_same_output(
    served: Server, delegated: subprocess.CompletedProcess[str], local5: Path
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    for query in list_queries():
        params = [f"--param={p.name}={PARAMS[p.name]}" for p in query.params if p.required]
        for fmt in ("table", "csv"):
            code, out, err = kg("query", query.name, "--store", served.store, "-f", fmt, *params)
            assert code == 0, err
            local = kg("query", query.name, "--store", local5, "-f", fmt, *params)
            assert (code, err) == (local[0], local[2])
            # unordered queries may list rows in another order: two stores, two physical layouts
            assert sorted(out.splitlines()) == sorted(local[1].splitlines()), query.name
    code, out, _ = kg("query", "timeline", "--store", served.store, "-f", "json")
    assert code == 0 and out == kg("query", "timeline", "--store", local5, "-f", "json")[1]  # ORDER BY


def test_serve_export_and_validate_go_through_the_server(
    served: Server, delegated: subprocess.CompletedProcess[str], local5: Path
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    code, out, err = kg("export", "--store", served.store, "-f", "nt")
    assert code == 0, err
    assert out == kg("export", "--store", local5, "-f", "nt")[1]
    code, out, err = kg("export", "--store", served.store, "--events")
    assert code == 0 and out == kg("export", "--store", local5, "--events")[1]
    code, out, err = kg("validate", "--store", served.store)
    assert code == 0, out + err


def test_serve_validates_the_store_it_holds_as_a_local_validation_does(
    served: Server, delegated: subprocess.CompletedProcess[str], local5: Path, tmp_path: Path
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    shapes = tmp_path / "killed.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix kg: <https://kg.example.org/ontology#> .\n"
        "<urn:x:Killed> a sh:NodeShape ; sh:targetClass kg:Attack ;\n"
        '  sh:property [ sh:path kg:killedCount ; sh:minCount 1 ; sh:message "no death toll" ] .\n',
        encoding="utf-8",
    )
    for engine in ("sparql", "pyshacl"):
        served_run = kg(
            "validate", "--store", served.store, "--shapes", shapes, "-f", "json", "--engine", engine
        )
        local_run = kg("validate", "--store", local5, "--shapes", shapes, "-f", "json", "--engine", engine)
        assert served_run[0] == local_run[0] == 1, served_run[2]
        assert json.loads(served_run[1]) == json.loads(local_run[1])
        assert "no death toll" in served_run[1]
    code, _, err = kg("validate", "--store", served.store, "--engine", "nonsense")
    assert code == 2 and "nonsense" in err
    status, media, body = http(f"{served.url}/validate")  # what `kg validate --store` asks the server
    assert status == 200 and media == "application/json"
    assert json.loads(body)["conforms"] is True
    status, _, body = http(f"{served.url}/validate", data=b"not n-triples", method="POST")
    assert status == 400 and b"N-Triples" in body


def test_serve_keeps_the_triple_count_of_a_full_count(
    served: Server, delegated: subprocess.CompletedProcess[str]
) -> None:
    assert delegated.returncode == 0, delegated.stderr
    stats = json.loads(http(f"{served.url}/stats")[2])
    assert stats["triples"] == count_triples(served.url)
    assert stats["articles"] == 5 and stats["events"] > 0 and stats["entities"]


# ---------------------------------------------------------------- the SPARQL endpoint


EVENTS = "SELECT ?e WHERE { ?e a <https://kg.example.org/ontology#Attack> } ORDER BY ?e"


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        (None, "application/sparql-results+json", b'"bindings"'),
        ("application/sparql-results+json", "application/sparql-results+json", b'"bindings"'),
        ("application/json", "application/sparql-results+json", b'"bindings"'),
        ("application/sparql-results+xml", "application/sparql-results+xml", b"<sparql"),
        ("text/csv", "text/csv", b"e\r\n"),
        ("text/tab-separated-values", "text/tab-separated-values", b"?e\n"),
        ("text/html, text/*;q=0.5", "text/csv", b"e\r\n"),
        ("text/csv;q=0.2, application/xml;q=0.9", "application/sparql-results+xml", b"<sparql"),
    ],
)
def test_serve_sparql_negotiates_result_formats(
    served: Server, accept: str | None, media: str, marker: bytes
) -> None:
    status, content_type, body = sparql_get(served.url, EVENTS, accept)
    assert status == 200 and content_type == media
    assert marker in body and b"/event/" in body


def test_serve_sparql_accepts_the_three_protocol_forms(served: Server) -> None:
    by_get = sparql_get(served.url, EVENTS)
    form = urllib.parse.urlencode({"query": EVENTS}).encode()
    by_form = http(f"{served.url}/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"})
    by_body = http(f"{served.url}/sparql", EVENTS.encode(), {"Content-Type": "application/sparql-query"})
    assert by_get[0] == by_form[0] == by_body[0] == 200
    assert by_get[2] == by_form[2] == by_body[2]
    assert json.loads(by_get[2])["results"]["bindings"]


def test_serve_sparql_graphs_and_booleans(served: Server) -> None:
    construct = "CONSTRUCT { ?e a ?t } WHERE { ?e a ?t } LIMIT 5"
    for accept, media in [
        (None, "application/n-triples"),
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/sparql-results+json, application/n-triples;q=0.9", "application/n-triples"),
    ]:
        status, content_type, body = sparql_get(served.url, construct, accept)
        assert (status, content_type) == (200, media) and body
    status, _, body = sparql_get(served.url, construct, "text/csv")
    assert status == 406 and b"n-triples" in body
    assert ask(served.url, "ASK { ?s ?p ?o }") is True
    status, content_type, body = sparql_get(served.url, "ASK { ?s ?p ?o }", "application/sparql-results+xml")
    assert status == 200 and b"<boolean>true</boolean>" in body


@pytest.mark.parametrize(
    ("form", "headers", "target"),
    [
        ({"update": "DROP ALL"}, {"Content-Type": "application/x-www-form-urlencoded"}, "/sparql"),
        (None, {"Content-Type": "application/sparql-update"}, "/sparql"),
        ({"query": "DROP ALL"}, {"Content-Type": "application/x-www-form-urlencoded"}, "/sparql"),
        (
            {"query": "PREFIX x: <http://x/#>\nINSERT DATA { x:a x:b x:c }"},
            {"Content-Type": "application/x-www-form-urlencoded"},
            "/sparql",
        ),
        ({"update": "DROP ALL"}, {"Content-Type": "application/x-www-form-urlencoded"}, "/update"),
    ],
)
def test_serve_sparql_refuses_updates(
    served: Server, form: dict[str, str] | None, headers: dict[str, str], target: str
) -> None:
    before = count_triples(served.url)
    body = urllib.parse.urlencode(form).encode() if form is not None else b"DROP ALL"
    status, media, message = http(served.url + target, body, headers)
    assert 400 <= status < 500 and media == "text/plain"
    text = message.decode()
    assert text.count("\n") == 1 and "read only" in text
    assert count_triples(served.url) == before


def test_serve_sparql_request_may_name_its_dataset(served: Server) -> None:
    events_graph = "https://kg.example.org/id/graph/events"
    attack = "ASK { ?e a <https://kg.example.org/ontology#Attack> }"
    named = urllib.parse.urlencode({"query": attack, "default-graph-uri": events_graph})
    assert json.loads(http(f"{served.url}/sparql?{named}")[2])["boolean"] is True
    only_named = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }", "named-graph-uri": events_graph})
    assert json.loads(http(f"{served.url}/sparql?{only_named}")[2])["boolean"] is False  # empty default
    form = urllib.parse.urlencode({"query": attack, "named-graph-uri": events_graph}).encode()
    posted = http(f"{served.url}/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert json.loads(posted[2])["boolean"] is False


def test_serve_answers_kg_query_endpoint_at_its_base_url(served: Server) -> None:
    code, out, err = kg("query", "timeline", "--endpoint", served.url, "-f", "csv")
    assert code == 0, err
    assert out == kg("query", "timeline", "--store", served.store, "-f", "csv")[1]


def test_serve_sparql_errors_are_one_line(served: Server) -> None:
    status, _, body = sparql_get(served.url, "SELECT * WHERE { ?s ?p }")
    assert status == 400 and body.decode().startswith("query does not parse: error at 1:")
    assert body.decode().count("\n") == 1
    status, _, body = sparql_get(served.url, "SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }")
    assert status == 403 and b"SERVICE" in body
    assert http(f"{served.url}/sparql")[0] == 400  # no query at all
    assert http(f"{served.url}/nothing-here")[0] == 404


# ---------------------------------------------------------------- articles through the server


def test_serve_bad_article_is_one_line_and_exit_2(served: Server, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    code, _, err = kg("build", empty, "--store", served.store, "--strict")
    assert code == 2 and one_line_error(err).endswith(f"{empty}: file is empty")
    code, _, err = kg("build", tmp_path / "missing.txt", "--store", served.store)
    assert code == 2 and "no such file" in one_line_error(err)
    code, _, err = kg("build", empty, "--store", served.store, "-q")  # not strict: skipped, named
    assert code == 0 and err.strip() == f"kg: skipped {empty}: file is empty"
    # the HTTP API itself
    status, media, body = http(f"{served.url}/articles?name=empty.txt", b"  \n", method="POST")
    assert (status, media) == (400, "text/plain") and body.decode() == "empty.txt: file is empty\n"
    status, _, body = http(f"{served.url}/articles?name=x.txt", b"\x00\x01binary" * 10, method="POST")
    assert status == 400 and b"binary" in body and body.count(b"\n") == 1
    for name in ("", "../x.txt", ".hidden.txt", "a/b.txt"):
        query = urllib.parse.urlencode({"name": name})
        assert http(f"{served.url}/articles?{query}", b"text", method="POST")[0] == 400


def test_serve_build_of_a_known_article_and_ignored_options(served: Server, tmp_path: Path) -> None:
    output = tmp_path / "kg.nt"
    code, _, err = kg("build", SEEDS[0], "--store", served.store, "--workers", "2", "-o", output)
    assert code == 0, err
    assert "--workers is ignored" in err and "1 already there" in err
    assert output.read_text(encoding="utf-8") == kg("export", "--store", served.store, "-f", "nt")[1]


def test_serve_refuses_a_second_server_on_the_same_store(served: Server) -> None:
    code, _, err = kg("serve", "--store", served.store)
    assert code == 2 and "already served" in one_line_error(err) and served.url in err


def test_serve_queries_answer_during_an_add(served: Server) -> None:
    """A long article (the French dev-set articles end to end) is added while queries keep answering."""
    text = "published: 2024-02-01\n\n" + "\n\n".join(path.read_text(encoding="utf-8") for path in DEVSET[:8])
    outcome: dict[str, object] = {}

    def add() -> None:
        outcome["answer"] = http(f"{served.url}/articles?name=long-read.txt", text.encode(), method="POST")

    adding = threading.Thread(target=add)
    adding.start()
    answered_while_writing = 0
    while adding.is_alive():
        writing = json.loads(http(f"{served.url}/health")[2])["writing"]
        status, _, body = sparql_get(served.url, EVENTS)
        assert status == 200 and json.loads(body)["results"]["bindings"]
        if writing and json.loads(http(f"{served.url}/health")[2])["writing"]:
            answered_while_writing += 1
    adding.join()
    status, _, body = outcome["answer"]  # type: ignore[misc]
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "added" and answer["added"] == ["long-read"]
    assert answer["store"]["articles"] >= 6 and answer["seconds"] > 0
    assert answered_while_writing >= 1
    assert holds_file(served.url, "long-read.txt")


def test_serve_watch_picks_up_a_dropped_file(served: Server) -> None:
    inbox = served.store.parent / "inbox"
    article = DEVSET[9]
    shutil.copyfile(article, inbox / article.name)
    deadline = time.monotonic() + 120
    while not holds_file(served.url, article.name):
        assert time.monotonic() < deadline, served.log_text()[-800:]
        time.sleep(0.1)
    deadline = time.monotonic() + 10
    while f"watch: added {inbox / article.name}" not in served.log_text():
        assert time.monotonic() < deadline, served.log_text()[-800:]
        time.sleep(0.1)


# ---------------------------------------------------------------- stale announcements, stopping


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_serve_stale_serve_json_is_ignored_by_clients(local5: Path) -> None:
    announcement = local5 / SERVE_FILE
    try:
        for stale in (
            {"url": "http://127.0.0.1:9", "pid": _dead_pid()},
            {"url": "http://127.0.0.1:9", "pid": os.getpid()},  # alive, but nothing answers there
            {"url": "not a url", "pid": "x"},
        ):
            announcement.write_text(json.dumps(stale), encoding="utf-8")
            assert served_store(local5) is None
            code, out, err = kg("query", "events", "--store", local5, "-f", "csv")
            assert code == 0 and out.count("\n") > 1, err
    finally:
        announcement.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server started over a stale serve.json, whose arrival validation fails nonconforming-* articles."""
    store = build_store(tmp_path_factory.mktemp("strict") / "kb", SEEDS[:1])
    (store / SERVE_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": _dead_pid()}))
    server = start_server(store, script=_FAILS_ARRIVALS)
    yield server
    stop_server(server.process)


def test_serve_replaces_a_stale_serve_json(strict_server: Server) -> None:
    announced = json.loads((strict_server.store / SERVE_FILE).read_text(encoding="utf-8"))
    assert announced["pid"] == strict_server.process.pid
    assert served_store(strict_server.store) == Served(
        strict_server.url, strict_server.process.pid, strict_server.store
    )


def test_serve_nonconforming_article_exits_1_and_stays(strict_server: Server, tmp_path: Path) -> None:
    article = tmp_path / "nonconforming-taji.txt"
    shutil.copyfile(SEEDS[1], article)
    result = kg_process("build", article, "--store", strict_server.store)
    assert result.returncode == 1, result.stderr
    assert "kg: nonconforming-taji on arrival: Does not conform: 1 violation on 1 node." in result.stderr
    assert "kg:   Violation: https://kg.example.org/id/x : The evidence is missing." in result.stderr
    assert summary_numbers(result.stderr).startswith("articles 2 (skipped 0)")
    assert holds_file(strict_server.url, article.name)  # kept: its facts are still worth querying


def test_serve_remove_goes_through_the_server(strict_server: Server, tmp_path: Path) -> None:
    article = tmp_path / "removable.txt"
    shutil.copyfile(SEEDS[2], article)
    code, _, err = kg("build", article, "--store", strict_server.store)
    assert code == 0 and holds_file(strict_server.url, article.name), err
    code, _, err = kg("remove", article.name, "--store", strict_server.store)  # a rewrite, while served
    assert code == 0, err
    assert not holds_file(strict_server.url, article.name)
    code, _, err = kg("remove", "no-such-article.txt", "--store", strict_server.store)
    assert code == 2 and "not in the knowledge base" in one_line_error(err)


def test_serve_sigterm_removes_serve_json_and_frees_the_store(strict_server: Server) -> None:
    assert stop_server(strict_server.process) == 0
    assert not (strict_server.store / SERVE_FILE).exists()
    assert "stopped" in strict_server.log_text()
    kb = KnowledgeBase.open_existing(strict_server.store)
    try:
        assert kb.stored_hash("nonconforming-taji") is not None
        assert kb.stored_hash("removable") is None
    finally:
        del kb
        gc.collect()
    code, out, err = kg("query", "events", "--store", strict_server.store, "-f", "csv")  # local again
    assert code == 0 and out.count("\n") > 1, err


# ---------------------------------------------------------------- the watcher's rule, without a server


class _Recorder:
    """Stands for the server: records the files the watcher takes."""

    closing = False

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.lines: list[str] = []

    def add_file(self, path: Path) -> object:
        from kg.serve import Outcome

        self.taken.append(path.name)
        return Outcome(path.name, path.stem, "added")

    def log(self, line: str) -> None:
        self.lines.append(line)


def test_serve_watcher_takes_a_file_once_it_has_stopped_changing(tmp_path: Path) -> None:
    from kg.serve import _Watcher

    app = _Recorder()
    watcher = _Watcher(app, tmp_path, poll=1.0)  # type: ignore[arg-type]
    old = time.time() - 60
    moved = tmp_path / "moved.txt"
    moved.write_text("published: 2024-01-01\n\nUne roquette.", encoding="utf-8")
    os.utime(moved, (old, old))  # moved in whole: written a while ago
    growing = tmp_path / "growing.txt"
    growing.write_text("published: 2024-01-01\n\nUne roq", encoding="utf-8")  # being written now
    (tmp_path / ".partial.txt").write_text("hidden temporary", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"not an article")
    wait = watcher.scan()
    assert app.taken == ["moved.txt"]
    assert wait is not None and 0 < wait <= watcher.settle
    growing.write_text("published: 2024-01-01\n\nUne roquette a visé la base.", encoding="utf-8")
    assert watcher.scan() is not None and app.taken == ["moved.txt"]  # written again: still waiting
    os.utime(growing, (old, old))
    assert watcher.scan() is None and app.taken == ["moved.txt", "growing.txt"]
    os.utime(moved, (old + 1, old + 1))  # touched, same bytes: not sent again
    watcher.scan()
    assert app.taken == ["moved.txt", "growing.txt"]
    moved.write_text("published: 2024-01-02\n\nDeux roquettes.", encoding="utf-8")
    os.utime(moved, (old + 2, old + 2))  # new content: sent again (the server replaces the article)
    watcher.scan()
    assert app.taken == ["moved.txt", "growing.txt", "moved.txt"]
    assert app.lines == [f"watch: added {name} (0 event(s) reported; 0.00s)" for name in app.taken]


def test_serve_accept_header_negotiation() -> None:
    import pyoxigraph as ox

    from kg.serve import _GRAPH_FORMATS, _RESULT_FORMATS, _negotiate

    results = ox.QueryResultsFormat
    assert _negotiate(None, _RESULT_FORMATS) is results.JSON
    assert _negotiate("*/*", _RESULT_FORMATS) is results.JSON
    assert _negotiate("text/csv, */*;q=0.1", _RESULT_FORMATS) is results.CSV
    assert _negotiate("application/xml;q=0.5, application/json;q=0.4", _RESULT_FORMATS) is results.XML
    assert _negotiate("text/*", _RESULT_FORMATS) is results.CSV
    assert _negotiate("text/csv;q=0, text/*", _RESULT_FORMATS) is results.TSV
    assert _negotiate("image/png", _RESULT_FORMATS) is None
    assert _negotiate("text/turtle, application/n-triples;q=0.9", _GRAPH_FORMATS) is ox.RdfFormat.TURTLE
    assert _negotiate("application/sparql-results+json, */*;q=0.1", _GRAPH_FORMATS) is ox.RdfFormat.N_TRIPLES
